// Hosts that run the tunnel connector (and any other EC2 host in the stack): IMDSv2 only, a
// metadata hop limit of 1, no public IP, and connector security groups with no ingress at all,
// because the connector only dials out.
import * as aws from "@pulumi/aws";
import {
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
    validateResourceOfType,
} from "@pulumi/policy";
import { CONNECTOR_ROLE_TAG_KEY, CONNECTOR_ROLE_TAG_VALUE } from "./conventions";
import { peek, referenceOf, referencedTargets, resourcesOfType } from "./references";
import { configOf } from "./ruleConfig";
import { ec2UserDataNoCredentials } from "./userData";

interface MetadataOptions {
    httpEndpoint?: string;
    httpTokens?: string;
    httpPutResponseHopLimit?: number;
}

type MetadataCheck = (kind: string, options: MetadataOptions | undefined, args: ResourceValidationArgs, reportViolation: ReportViolation) => void;

/**
 * One metadata-options check for every resource that launches EC2 instances with options of its
 * own: instances, spot instance requests, launch templates, launch configurations, spot fleet
 * launch specifications and EC2 Image Builder infrastructure configurations. Auto Scaling groups,
 * EC2 Fleets and spot fleets with launchTemplateConfigs launch from templates, which are checked
 * as launch templates.
 */
function forEveryHost(check: MetadataCheck): ResourceValidation[] {
    return [
        validateResourceOfType(aws.ec2.Instance, (instance, args, reportViolation) => {
            // An instance launched from a template without its own options takes the template's, which the check covers too.
            if (instance.launchTemplate !== undefined && instance.metadataOptions === undefined) {
                return;
            }
            check("Instance", instance.metadataOptions, args, reportViolation);
        }),
        validateResourceOfType(aws.ec2.SpotInstanceRequest, (request, args, reportViolation) => {
            if (request.launchTemplate !== undefined && request.metadataOptions === undefined) {
                return;
            }
            check("Spot instance request", request.metadataOptions, args, reportViolation);
        }),
        validateResourceOfType(aws.ec2.LaunchTemplate, (template, args, reportViolation) =>
            check("Launch template", template.metadataOptions, args, reportViolation),
        ),
        validateResourceOfType(aws.ec2.LaunchConfiguration, (configuration, args, reportViolation) =>
            check("Launch configuration", configuration.metadataOptions, args, reportViolation),
        ),
        validateResourceOfType(aws.ec2.SpotFleetRequest, (fleet, args, reportViolation) => {
            if ((fleet.launchSpecifications ?? []).length > 0) {
                reportViolation(
                    `Spot fleet request '${args.name}' launches instances from launchSpecifications, which cannot set metadata options; use launchTemplateConfigs with a launch template that sets metadataOptions.httpTokens "required" and httpPutResponseHopLimit 1.`,
                );
            }
        }),
        validateResourceOfType(aws.imagebuilder.InfrastructureConfiguration, (configuration, args, reportViolation) =>
            check("Image Builder infrastructure configuration", configuration.instanceMetadataOptions, args, reportViolation),
        ),
    ];
}

const checkImdsV2: MetadataCheck = (kind, options, { name }, reportViolation) => {
    if (options?.httpEndpoint === "disabled") {
        return;
    }
    if (options?.httpTokens !== "required") {
        reportViolation(
            `${kind} '${name}' allows IMDSv1 (metadataOptions.httpTokens is ${options?.httpTokens === undefined ? "unset" : `"${options.httpTokens}"`}); set metadataOptions.httpTokens to "required".`,
        );
    }
};

export const ec2ImdsV2Required: ResourceValidationPolicy = {
    name: "ec2-imdsv2-required",
    description:
        "Every resource that launches EC2 instances (instances, spot requests and fleets, launch templates and configurations, Image Builder) requires IMDSv2 session tokens (checkov CKV_AWS_79).",
    enforcementLevel: "mandatory",
    severity: "high",
    tags: ["connector", "checkov:CKV_AWS_79"],
    remediationSteps: "Set metadataOptions: { httpTokens: \"required\", httpPutResponseHopLimit: 1 } (or httpEndpoint: \"disabled\").",
    validateResource: forEveryHost(checkImdsV2),
};

interface HopLimitConfig {
    maxHopLimit: number;
}

const hopLimitSchema: PolicyConfigSchema = {
    properties: {
        maxHopLimit: {
            type: "integer",
            minimum: 1,
            maximum: 64,
            default: 1,
            description: "Highest allowed metadata response hop limit; 2 lets containers on the host reach IMDS.",
        },
    },
};

const checkHopLimit: MetadataCheck = (kind, options, args, reportViolation) => {
    if (options?.httpEndpoint === "disabled") {
        return;
    }
    const { maxHopLimit } = configOf<HopLimitConfig>(hopLimitSchema, args);
    const hopLimit = options?.httpPutResponseHopLimit;
    if (hopLimit === undefined) {
        reportViolation(
            `${kind} '${args.name}' leaves metadataOptions.httpPutResponseHopLimit unset, which is 2 on AMIs that default to IMDSv2; set it to ${maxHopLimit}.`,
        );
    } else if (hopLimit > maxHopLimit) {
        reportViolation(
            `${kind} '${args.name}' has metadataOptions.httpPutResponseHopLimit ${hopLimit}, so IMDS tokens reach beyond the host; set it to ${maxHopLimit}.`,
        );
    }
};

export const ec2ImdsHopLimit: ResourceValidationPolicy = {
    name: "ec2-imds-hop-limit",
    description:
        "Every resource that launches EC2 instances (instances, spot requests and fleets, launch templates and configurations, Image Builder) sets the metadata response hop limit to 1 (checkov CKV_AWS_341).",
    enforcementLevel: "mandatory",
    severity: "medium",
    tags: ["connector", "checkov:CKV_AWS_341"],
    remediationSteps:
        "Set metadataOptions.httpPutResponseHopLimit: 1. Raise maxHopLimit in the policy config only for hosts whose containers need IMDS.",
    configSchema: hopLimitSchema,
    validateResource: forEveryHost(checkHopLimit),
};

export const ec2NoPublicIp: ResourceValidationPolicy = {
    name: "ec2-no-public-ip",
    description: "EC2 instances, spot requests and fleets, launch templates and launch configurations do not ask for a public IP address (checkov CKV_AWS_88).",
    enforcementLevel: "mandatory",
    severity: "high",
    tags: ["connector", "network-exposure", "checkov:CKV_AWS_88"],
    remediationSteps:
        "Remove associatePublicIpAddress (or set it to false) and reach the internet through a NAT gateway; the connector only dials out.",
    validateResource: [
        validateResourceOfType(aws.ec2.Instance, (instance, args, reportViolation) => {
            if (instance.associatePublicIpAddress === true) {
                reportViolation(`Instance '${args.name}' gets a public IP address; set associatePublicIpAddress: false and route egress through NAT.`);
            }
        }),
        validateResourceOfType(aws.ec2.LaunchTemplate, (template, args, reportViolation) => {
            // The launch template API takes this flag as the string "true"/"false".
            if ((template.networkInterfaces ?? []).some((nic) => String(nic.associatePublicIpAddress).toLowerCase() === "true")) {
                reportViolation(
                    `Launch template '${args.name}' gives instances a public IP address; set networkInterfaces[].associatePublicIpAddress to "false" and route egress through NAT.`,
                );
            }
        }),
        validateResourceOfType(aws.ec2.SpotInstanceRequest, (request, args, reportViolation) => {
            if (request.associatePublicIpAddress === true) {
                reportViolation(`Spot instance request '${args.name}' gets a public IP address; set associatePublicIpAddress: false and route egress through NAT.`);
            }
        }),
        validateResourceOfType(aws.ec2.SpotFleetRequest, (fleet, args, reportViolation) => {
            if ((fleet.launchSpecifications ?? []).some((specification) => specification.associatePublicIpAddress === true)) {
                reportViolation(
                    `Spot fleet request '${args.name}' gives instances a public IP address; set launchSpecifications[].associatePublicIpAddress to false and route egress through NAT.`,
                );
            }
        }),
        validateResourceOfType(aws.ec2.LaunchConfiguration, (configuration, args, reportViolation) => {
            if (configuration.associatePublicIpAddress === true) {
                reportViolation(
                    `Launch configuration '${args.name}' gives instances a public IP address; set associatePublicIpAddress: false and route egress through NAT.`,
                );
            }
        }),
    ],
};

/**
 * Whether a security group carries the connector role tag, in `tags` or in `tagsAll` (which also
 * holds provider default tags). `tagsAll` is often unknown before creation: unknown counts as untagged.
 */
function isConnectorGroup(props: Record<string, unknown>): boolean {
    for (const property of ["tags", "tagsAll"]) {
        const tags = property === "tags" ? { known: true as const, value: props.tags } : peek(() => props[property]);
        if (tags.known && tags.value !== null && typeof tags.value === "object") {
            const value = peek(() => (tags.value as Record<string, unknown>)[CONNECTOR_ROLE_TAG_KEY]);
            if (value.known && value.value === CONNECTOR_ROLE_TAG_VALUE) {
                return true;
            }
        }
    }
    return false;
}

export const connectorSecurityGroupNoIngress: ResourceValidationPolicy = {
    name: "connector-security-group-no-ingress",
    description: `Security groups tagged ${CONNECTOR_ROLE_TAG_KEY}=${CONNECTOR_ROLE_TAG_VALUE} have no inline ingress rules.`,
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["connector", "network-exposure"],
    remediationSteps:
        "Remove every ingress rule from the connector's security group; the connector opens outbound SSH connections and needs no inbound path.",
    validateResource: validateResourceOfType(aws.ec2.SecurityGroup, (group, args, reportViolation) => {
        if (!isConnectorGroup(args.props) || (group.ingress ?? []).length === 0) {
            return;
        }
        reportViolation(
            `Connector security group '${args.name}' has ${group.ingress?.length} ingress rule(s); remove them, as the connector only makes outbound connections.`,
        );
    }),
};

function isIngressRule(resource: PolicyResource): boolean {
    if (resource.isType(aws.vpc.SecurityGroupIngressRule)) {
        return true;
    }
    if (resource.isType(aws.ec2.SecurityGroupRule)) {
        const type = peek(() => resource.props.type as unknown);
        return !type.known || type.value === "ingress";
    }
    return false;
}

export const connectorSecurityGroupNoIngressRules: StackValidationPolicy = {
    name: "connector-security-group-no-ingress-rules",
    description: `No aws.vpc.SecurityGroupIngressRule or ingress aws.ec2.SecurityGroupRule attaches to a security group tagged ${CONNECTOR_ROLE_TAG_KEY}=${CONNECTOR_ROLE_TAG_VALUE}.`,
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["connector", "network-exposure"],
    remediationSteps: "Delete the ingress rule resources that target the connector's security group.",
    validateStack: (args, reportViolation) => {
        const groups = resourcesOfType(args.resources, aws.ec2.SecurityGroup);
        const connectorGroups = groups.filter((group) => isConnectorGroup(group.props));
        if (connectorGroups.length === 0) {
            args.notApplicable("Policy only applies to stacks with a connector security group");
        }
        let unresolved: Error | undefined;
        for (const rule of args.resources.filter(isIngressRule)) {
            const type = peek(() => rule.props.type as unknown);
            if (!type.known) {
                unresolved ??= type.error;
                continue;
            }
            const reference = referenceOf(rule, "securityGroupId", groups);
            for (const group of referencedTargets(reference, connectorGroups)) {
                reportViolation(
                    `Ingress rule '${rule.name}' opens connector security group '${group.name}'; delete it, as the connector only makes outbound connections.`,
                    rule.urn,
                );
            }
            unresolved ??= reference.unresolved;
        }
        if (unresolved) {
            throw unresolved;
        }
    },
};

export const connectorHostPolicies = [
    ec2ImdsV2Required,
    ec2ImdsHopLimit,
    ec2NoPublicIp,
    ec2UserDataNoCredentials,
    connectorSecurityGroupNoIngress,
    connectorSecurityGroupNoIngressRules,
];
