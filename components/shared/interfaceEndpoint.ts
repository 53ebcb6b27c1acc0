// The one way our components build an Interface VPC endpoint: its own security group whose every
// rule is a separate resource, the endpoint in that group only, and flow logs for its subnets.
// PrivateLinkEndpoint (to a customer's endpoint service) and PrivateApi (to execute-api) differ only
// in the names, rules, service and policy they pass in. The rules and the flow-log settings may be
// Known later (they come from arguments that arrived as Outputs): the security group and the endpoint
// are created at once, the rules and flow logs then, with the same names.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EndpointFlowLogs, FlowLogSettings } from "../privatelink/endpointFlowLogs";
import { Known } from "./known";

/** One rule of the endpoint's security group. */
export interface EndpointRule {
    /** Resource name of the rule, unique within the component. */
    name: string;
    direction: "ingress" | "egress";
    port: number;
    /** The other side: a security group or an IPv4 range. */
    peer: { referencedSecurityGroupId: pulumi.Input<string> } | { cidrIpv4: pulumi.Input<string> };
    description: string;
}

export interface InterfaceEndpointArgs {
    securityGroup: { name: string; description: string };
    rules: EndpointRule[] | Known<EndpointRule[]>;
    endpoint: {
        name: string;
        vpcId: pulumi.Input<string>;
        serviceName: pulumi.Input<string>;
        serviceRegion?: pulumi.Input<string>;
        subnetIds: pulumi.Input<pulumi.Input<string>[]>;
        /**
         * Leave undefined when `aws.vpc.EndpointPrivateDns` manages the setting: both writing it makes
         * a perpetual diff (the provider's documentation says so).
         */
        privateDnsEnabled?: pulumi.Input<boolean>;
        policy?: pulumi.Input<string>;
    };
    /** Flow logs of the endpoint's subnets, or `false` when they are logged elsewhere. */
    flowLogs: FlowLogSpec | Known<FlowLogSpec>;
    tags: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The flow logs' resource name and settings, or `false` when the subnets are logged elsewhere. */
export type FlowLogSpec = false | { name: string; settings: FlowLogSettings };

export interface InterfaceEndpoint {
    securityGroup: aws.ec2.SecurityGroup;
    endpoint: aws.ec2.VpcEndpoint;
    /** The flow logs, once their settings are known (undefined with `false`). */
    flowLogs: Known<EndpointFlowLogs | undefined>;
}

/** Creates the endpoint's resources as children of `parent`. */
export function createInterfaceEndpoint(parent: pulumi.Resource, args: InterfaceEndpointArgs): InterfaceEndpoint {
    const opts = { parent };
    const { tags } = args;
    // Created without inline rules: the provider then removes AWS's default allow-all egress, and
    // every rule is its own resource.
    const securityGroup = new aws.ec2.SecurityGroup(
        args.securityGroup.name,
        { vpcId: args.endpoint.vpcId, description: args.securityGroup.description, tags },
        opts,
    );
    const rules = args.rules instanceof Known ? args.rules : Known.now(args.rules);
    rules.mapResolved((list) => list.map((rule) => {
        const ruleArgs = {
            securityGroupId: securityGroup.id,
            ipProtocol: "tcp",
            fromPort: rule.port,
            toPort: rule.port,
            description: rule.description,
            ...rule.peer,
            tags,
        };
        return rule.direction === "ingress"
            ? new aws.vpc.SecurityGroupIngressRule(rule.name, ruleArgs, opts)
            : new aws.vpc.SecurityGroupEgressRule(rule.name, ruleArgs, opts);
    }));
    const endpoint = new aws.ec2.VpcEndpoint(
        args.endpoint.name,
        {
            vpcId: args.endpoint.vpcId,
            // Explicit: the provider's default type is Gateway.
            vpcEndpointType: "Interface",
            serviceName: args.endpoint.serviceName,
            serviceRegion: args.endpoint.serviceRegion,
            subnetIds: args.endpoint.subnetIds,
            // Explicit: without it AWS attaches the VPC's default security group.
            securityGroupIds: [securityGroup.id],
            privateDnsEnabled: args.endpoint.privateDnsEnabled,
            ipAddressType: "ipv4",
            policy: args.endpoint.policy,
            tags,
        },
        opts,
    );
    // EndpointFlowLogs takes the subnet list and tags as Inputs itself (one flow log per subnet,
    // named by its ID, once an Output list resolves).
    const flowLogs = (args.flowLogs instanceof Known ? args.flowLogs : Known.now(args.flowLogs)).mapResolved((spec) =>
        spec === false ? undefined : new EndpointFlowLogs(spec.name, { ...spec.settings, subnetIds: args.endpoint.subnetIds, tags }, opts),
    );
    return { securityGroup, endpoint, flowLogs };
}
