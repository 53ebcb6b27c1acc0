// The execute-api interface endpoint a PrivateApi creates, through the one interface-endpoint
// builder (shared/interfaceEndpoint.ts): its own security group (443 from the callers only, one rule
// each), the endpoint in that group only, and flow logs of its subnets. The rules and flow logs come
// once the arguments that decide them resolve, when those are Outputs.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { createInterfaceEndpoint, type EndpointRule } from "../shared/interfaceEndpoint";
import { endpointGroupDescription, type CheckedEndpoint } from "./privateApiChecks";
import { isPlain } from "../shared/validation";
import { executeApiEndpointPolicy } from "./privateApiPolicy";
import type { ApiEnvironment } from "./privateApiRoutes";

/** The account, partition and region the API is created in (from the provider). */
export interface Environment extends ApiEnvironment {
    accountId: pulumi.Output<string>;
    dnsSuffix: pulumi.Output<string>;
    reverseDnsPrefix: pulumi.Output<string>;
}

export interface ApiEndpoint {
    securityGroup: aws.ec2.SecurityGroup;
    endpoint: aws.ec2.VpcEndpoint;
}

/** Creates the endpoint's resources as children of `component` (shared/interfaceEndpoint.ts). */
export function createApiEndpoint(
    component: pulumi.Resource,
    name: string,
    endpoint: CheckedEndpoint,
    tags: pulumi.Input<Record<string, pulumi.Input<string>>>,
    env: Environment,
): ApiEndpoint {
    // One rule per caller group or CIDR, named by it (by index for elements that are Outputs).
    const rules = endpoint.sources.mapResolved(({ securityGroupIds, cidrs }): EndpointRule[] =>
        [
            ...securityGroupIds.map((id, i) => ({ key: typeof id === "string" ? id : `sg-${i}`, peer: { referencedSecurityGroupId: id } })),
            ...cidrs.map((cidr, i) => ({ key: typeof cidr === "string" ? cidr : `cidr-${i}`, peer: { cidrIpv4: cidr } })),
        ].map(({ key, peer }) => ({ name: `${name}-endpoint-https-from-${key}`, direction: "ingress", port: 443, peer, description: "HTTPS to the private API" })),
    );
    const { securityGroup, endpoint: vpcEndpoint } = createInterfaceEndpoint(component, {
        securityGroup: { name: `${name}-endpoint-sg`, description: endpointGroupDescription(name) },
        rules,
        endpoint: {
            name: `${name}-endpoint`,
            vpcId: endpoint.vpcId,
            serviceName: pulumi.interpolate`${env.reverseDnsPrefix}.${env.region}.execute-api`,
            subnetIds: endpoint.subnetIds,
            privateDnsEnabled: endpoint.privateDnsEnabled,
            // Default: invoke this account's APIs only (also when `policy` resolves to nothing).
            policy: isPlain(endpoint.policy) ? (endpoint.policy ?? defaultPolicy(env)) : pulumi.output(endpoint.policy).apply((policy) => policy ?? defaultPolicy(env)),
        },
        flowLogs: endpoint.flowLogs.mapResolved((settings) => (settings === undefined ? false : { name: `${name}-endpoint-flow-logs`, settings })),
        tags,
    });
    return { securityGroup, endpoint: vpcEndpoint };
}

function defaultPolicy(env: Environment): pulumi.Output<string> {
    return pulumi.all([env.partition, env.region, env.accountId]).apply(([part, reg, account]) => JSON.stringify(executeApiEndpointPolicy(part, reg, account)));
}
