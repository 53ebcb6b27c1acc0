// Arguments of the PrivateLink components that the component tests start from: one VPC, two
// subnets, a service on 443 for the platform's account, and an endpoint to it. Each test overrides
// what it is about.
import { type PrivateLinkEndpointArgs } from "../../components/privatelink/privateLinkEndpoint";
import { type PrivateLinkServiceArgs } from "../../components/privatelink/privateLinkService";
import { platformAccount } from "./pulumi";

export const vpcId = "vpc-0a1b2c3d4e5f60718";
export const subnetIds = ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60719"];

export function serviceArgs(overrides: Partial<PrivateLinkServiceArgs> = {}): PrivateLinkServiceArgs {
    return { vpcId, subnetIds, listeners: [{ port: 443 }], targets: ["i-0a1b2c3d4e5f60718"], allowedPrincipals: [platformAccount], ...overrides };
}

export function endpointArgs(overrides: Partial<PrivateLinkEndpointArgs> = {}): PrivateLinkEndpointArgs {
    return {
        vpcId,
        subnetIds,
        serviceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f60718",
        ports: [443],
        sourceSecurityGroupIds: ["sg-0a1b2c3d4e5f60718"],
        dns: { zoneName: "privatelink.firefly.internal", recordName: "acme" },
        ...overrides,
    };
}
