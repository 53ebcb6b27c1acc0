// The execute-api interface endpoint a PrivateApi creates: its own security group (443 from the
// callers only, one rule each), the endpoint in that group only, and flow logs of its subnets.
//
// The same resources, names and arguments as `createInterfaceEndpoint` (shared/interfaceEndpoint.ts)
// builds, but from arguments that may be Outputs: the security group and the endpoint are created at
// once (subnet IDs and the VPC are handed to AWS as they are, so a preview shows them), while the
// rules (named by the callers' group IDs and CIDRs) and the flow logs (one per subnet, named by its ID)
// are created once the lists that decide them resolve, when they are Outputs. With plain lists
// (elements may be Outputs, named by index as before) everything is created at construction.
// TODO(integration): fold back into createInterfaceEndpoint once it takes Input lists.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EndpointFlowLogs } from "../privatelink/endpointFlowLogs";
import type { CheckedEndpoint } from "./privateApiChecks";
import { isPlain } from "../shared/validation";
import { Known } from "../shared/known";
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

/** Creates the endpoint's resources as children of `component`. */
export function createApiEndpoint(
    component: pulumi.Resource,
    name: string,
    endpoint: CheckedEndpoint,
    tags: pulumi.Input<Record<string, pulumi.Input<string>>>,
    env: Environment,
): ApiEndpoint {
    const opts = { parent: component };
    // Created without inline rules: the provider then removes AWS's default allow-all egress, and
    // every rule is its own resource.
    const securityGroup = new aws.ec2.SecurityGroup(
        `${name}-endpoint-sg`,
        { vpcId: endpoint.vpcId, description: `execute-api endpoint of private API ${name}: HTTPS from its callers only`, tags },
        opts,
    );
    endpoint.sources.mapResolved(({ securityGroupIds, cidrs }) => {
        const sources = [
            ...securityGroupIds.map((id, i) => ({ key: typeof id === "string" ? id : `sg-${i}`, peer: { referencedSecurityGroupId: id } })),
            ...cidrs.map((cidr, i) => ({ key: typeof cidr === "string" ? cidr : `cidr-${i}`, peer: { cidrIpv4: cidr } })),
        ];
        for (const { key, peer } of sources) {
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-endpoint-https-from-${key}`,
                { securityGroupId: securityGroup.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, description: "HTTPS to the private API", ...peer, tags },
                opts,
            );
        }
    });
    const vpcEndpoint = new aws.ec2.VpcEndpoint(
        `${name}-endpoint`,
        {
            vpcId: endpoint.vpcId,
            // Explicit: the provider's default type is Gateway.
            vpcEndpointType: "Interface",
            serviceName: pulumi.interpolate`${env.reverseDnsPrefix}.${env.region}.execute-api`,
            subnetIds: endpoint.subnetIds,
            // Explicit: without it AWS attaches the VPC's default security group.
            securityGroupIds: [securityGroup.id],
            privateDnsEnabled: endpoint.privateDnsEnabled,
            ipAddressType: "ipv4",
            // Default: invoke this account's APIs only (also when `policy` resolves to nothing).
            policy: isPlain(endpoint.policy) ? (endpoint.policy ?? defaultPolicy(env)) : pulumi.output(endpoint.policy).apply((policy) => policy ?? defaultPolicy(env)),
            tags,
        },
        opts,
    );
    // One flow log per subnet, named by its ID: created when the settings, the subnet list and the
    // tags (EndpointFlowLogs takes them plain) are known; at construction for plain arguments.
    endpoint.flowLogs.mapResolved((settings) => {
        if (settings === undefined) return;
        Known.fromLists([endpoint.subnetIds], ([subnetIds]) =>
            Known.of(tags)
                .map((plainTags) => {
                    new EndpointFlowLogs(`${name}-endpoint-flow-logs`, { ...settings, subnetIds: subnetIds!, tags: plainTags }, opts);
                })
                .asInput(),
        );
    });
    return { securityGroup, endpoint: vpcEndpoint };
}

function defaultPolicy(env: Environment): pulumi.Output<string> {
    return pulumi.all([env.partition, env.region, env.accountId]).apply(([part, reg, account]) => JSON.stringify(executeApiEndpointPolicy(part, reg, account)));
}
