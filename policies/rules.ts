// Every rule of the pack, in report order. index.ts hands this list to the real analyzer and
// offline.ts evaluates it without the CLI; tests import the rule modules and this list, never
// index.ts (constructing a PolicyPack starts a gRPC server).
import { Policies } from "@pulumi/policy";
import { apiGatewayPolicies } from "./apiGateway";
import { connectorHostPolicies } from "./connectorHosts";
import { endpointServicePolicies } from "./endpointServices";
import { flowLogPolicies } from "./flowLogs";
import { interfaceEndpointPolicies } from "./interfaceEndpoints";
import { loadBalancerPolicies } from "./loadBalancers";
import { publicFrontPolicies } from "./publicFronts";
import { tlsPolicies } from "./tls";

export const allPolicies: Policies = [
    ...endpointServicePolicies,
    ...loadBalancerPolicies,
    ...tlsPolicies,
    ...apiGatewayPolicies,
    ...interfaceEndpointPolicies,
    ...connectorHostPolicies,
    ...flowLogPolicies,
    ...publicFrontPolicies,
];
