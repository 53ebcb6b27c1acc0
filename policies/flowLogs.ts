// Traffic through interface endpoints is recorded: the endpoint's VPC, or every one of its
// subnets, has a flow log that records all traffic (trafficType ALL).
//
// ENI-level flow logs do not count. An endpoint has one ENI per subnet, AWS replaces them when
// the subnets change, and their IDs are unknown until the endpoint exists; a VPC or subnet flow
// log covers every ENI, present and future, and can be checked before anything is deployed.
import * as aws from "@pulumi/aws";
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { Reference, peek, referenceOf, referencedTargets, resourcesOfType, sameTarget } from "./references";

interface Coverage {
    covered: boolean;
    unresolved?: Error;
}

/**
 * An endpoint's subnets: its own `subnetIds` and `subnetConfigurations`, and the subnets that
 * aws.ec2.VpcEndpointSubnetAssociation resources add to it (each one another ENI of the endpoint).
 */
function subnetsCovered(
    endpoint: PolicyResource,
    logged: readonly Reference[],
    subnets: readonly PolicyResource[],
    associations: readonly PolicyResource[],
    endpoints: readonly PolicyResource[],
): Coverage {
    const fromIds = referenceOf(endpoint, "subnetIds", subnets);
    const fromConfigurations = referenceOf(endpoint, "subnetConfigurations", subnets, (c) => c.subnetId);
    let unresolved = fromIds.unresolved ?? fromConfigurations.unresolved;
    const identities = [...fromIds.identities, ...fromConfigurations.identities];
    for (const association of associations) {
        const of = referenceOf(association, "vpcEndpointId", endpoints);
        if (!referencedTargets(of, endpoints).includes(endpoint)) {
            // An association whose endpoint is unknown might be this endpoint's.
            unresolved ??= of.unresolved;
            continue;
        }
        const subnet = referenceOf(association, "subnetId", subnets);
        unresolved ??= subnet.unresolved;
        identities.push(...subnet.identities);
    }
    if (identities.length === 0) {
        return { covered: false, unresolved };
    }
    const covered = identities.every((identity) =>
        logged.some((reference) => sameTarget({ keys: identity, identities: [identity] }, reference)),
    );
    return { covered: covered && !unresolved, unresolved };
}

export const interfaceEndpointFlowLogs: StackValidationPolicy = {
    name: "interface-endpoint-flow-logs",
    description:
        "Every interface VPC endpoint's VPC, or each of its subnets, has a VPC flow log with trafficType ALL (ACCEPT- or REJECT-only and ENI-level flow logs do not count).",
    enforcementLevel: "mandatory",
    severity: "medium",
    tags: ["logging", "privatelink"],
    remediationSteps:
        "Create an aws.ec2.FlowLog with vpcId set to the endpoint's VPC (or one per endpoint subnet with subnetId), " +
        "delivering to CloudWatch Logs or S3.",
    validateStack: (args, reportViolation) => {
        const endpoints = resourcesOfType(args.resources, aws.ec2.VpcEndpoint).filter((endpoint) => {
            const type = peek(() => endpoint.props.vpcEndpointType as unknown);
            // An unknown type is judged like an interface endpoint: unknowns below end in the SDK's advisory.
            return !type.known || type.value === "Interface";
        });
        if (endpoints.length === 0) {
            args.notApplicable("Policy only applies to stacks with an interface VPC endpoint");
        }
        // A flow log that records only ACCEPT or REJECT misses the other half of the endpoint's traffic.
        let unknownTrafficType: Error | undefined;
        const flowLogs = resourcesOfType(args.resources, aws.ec2.FlowLog).filter((flowLog) => {
            const trafficType = peek(() => flowLog.props.trafficType as unknown);
            if (!trafficType.known) {
                unknownTrafficType ??= trafficType.error;
                return false;
            }
            return String(trafficType.value).toUpperCase() === "ALL";
        });
        const vpcs = resourcesOfType(args.resources, aws.ec2.Vpc);
        const associations = resourcesOfType(args.resources, aws.ec2.VpcEndpointSubnetAssociation);
        const subnets = resourcesOfType(args.resources, aws.ec2.Subnet);
        const vpcLogs = flowLogs.map((flowLog) => referenceOf(flowLog, "vpcId", vpcs));
        const subnetLogs = flowLogs.map((flowLog) => referenceOf(flowLog, "subnetId", subnets));
        // A flow log whose target is unknown might be the one that covers an endpoint.
        const unknownFlowLog = [...vpcLogs, ...subnetLogs].find((reference) => reference.unresolved)?.unresolved;
        let unresolved: Error | undefined;
        for (const endpoint of endpoints) {
            const type = peek(() => endpoint.props.vpcEndpointType as unknown);
            const vpc = referenceOf(endpoint, "vpcId", vpcs);
            if (vpcLogs.some((logged) => sameTarget(vpc, logged))) {
                continue;
            }
            const bySubnet = subnetsCovered(endpoint, subnetLogs, subnets, associations, endpoints);
            if (bySubnet.covered) {
                continue;
            }
            const undecided = (type.known ? undefined : type.error) ?? vpc.unresolved ?? bySubnet.unresolved ?? unknownFlowLog ?? unknownTrafficType;
            if (undecided) {
                unresolved ??= undecided;
                continue;
            }
            reportViolation(
                `Interface endpoint '${endpoint.name}' has no flow log recording all traffic on its VPC or on all of its subnets; add an aws.ec2.FlowLog with vpcId set to the endpoint's VPC and trafficType "ALL".`,
                endpoint.urn,
            );
        }
        if (unresolved) {
            throw unresolved;
        }
    },
};

export const flowLogPolicies = [interfaceEndpointFlowLogs];
