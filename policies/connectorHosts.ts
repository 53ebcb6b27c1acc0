// Hosts that run the tunnel connector (and any other EC2 host in the stack): IMDSv2 only, a
// metadata hop limit of 1, no public IP, and connector security groups with no ingress at all,
// because the connector only dials out.
import * as aws from "@pulumi/aws";
import {
    PolicyConfigSchema,
    PolicyProviderResource,
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
    validateResourceOfType,
} from "@pulumi/policy";
import { CONNECTOR_ROLE_TAG_KEY, CONNECTOR_ROLE_TAG_VALUE } from "./conventions";
import { Peeked, peek, referenceOf, referencedTargets, resourcesOfType } from "./references";
import { isPrivateCidr } from "./cidrs";
import { configOf, portList } from "./ruleConfig";
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
    description:
        "EC2 instances, spot requests and fleets, launch templates and launch configurations do not ask for a public IP address, and no Elastic IP is attached to an instance (checkov CKV_AWS_88).",
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
        // An Elastic IP is a public address too, whichever resource attaches it to an instance.
        // (One for a NAT gateway or a load balancer's subnet mapping names no instance.)
        validateResourceOfType(aws.ec2.Eip, (eip, args, reportViolation) => {
            if (eip.instance !== undefined && eip.instance !== "") {
                reportViolation(`Elastic IP '${args.name}' gives an instance a public IP address; remove it and route egress through NAT.`);
            }
        }),
        validateResourceOfType(aws.ec2.EipAssociation, (association, args, reportViolation) => {
            if (association.instanceId !== undefined && association.instanceId !== "") {
                reportViolation(`Elastic IP association '${args.name}' gives an instance a public IP address; remove it and route egress through NAT.`);
            }
        }),
    ],
};

function tagValue(tags: unknown): unknown {
    return tags !== null && typeof tags === "object" ? (tags as Record<string, unknown>)[CONNECTOR_ROLE_TAG_KEY] : undefined;
}

/** The provider's `defaultTags.tags`, which the engine may send as a JSON string. */
function defaultTagValue(defaultTags: unknown): unknown {
    const parsed: unknown = typeof defaultTags === "string" && defaultTags !== "" ? JSON.parse(defaultTags) : defaultTags;
    return parsed !== null && typeof parsed === "object" ? tagValue((parsed as { tags?: unknown }).tags) : undefined;
}

/**
 * Whether a resource carries the connector role tag: in its own `tags` (which win), in its
 * provider's default tags, or in `tagsAll`. Unknown when the deciding value is unknown during a
 * preview, so the rule reports what would make it judgeable instead of passing silently (a host
 * marked only through provider default tags whose provider config is not yet known, say).
 */
export function connectorRoleOf(props: Record<string, unknown>, provider: PolicyProviderResource | undefined): Peeked<boolean> {
    const own = peek(() => tagValue(props.tags));
    if (!own.known) return own;
    if (own.value !== undefined) return { known: true, value: own.value === CONNECTOR_ROLE_TAG_VALUE };
    if (provider) {
        const defaults = peek(() => defaultTagValue(provider.props.defaultTags));
        if (!defaults.known) return defaults;
        if (defaults.value !== undefined) return { known: true, value: defaults.value === CONNECTOR_ROLE_TAG_VALUE };
    }
    const all = peek(() => tagValue(props.tagsAll));
    if (!all.known) {
        // With the provider's default tags known, tagsAll holds nothing the two reads above did not.
        return provider ? { known: true, value: false } : all;
    }
    return { known: true, value: all.value === CONNECTOR_ROLE_TAG_VALUE };
}

/**
 * Whether an Auto Scaling group in the stack launches this template and tags its instances as
 * connectors (`tags[]` with `propagateAtLaunch`): the usual way to tag an Auto Scaling group's
 * instances, which then are connector hosts as much as if the template tagged them.
 */
function taggedByItsGroups(template: PolicyResource, resources: readonly PolicyResource[]): Peeked<boolean> {
    for (const group of resourcesOfType(resources, aws.autoscaling.Group)) {
        const direct = referenceOf(group, "launchTemplate", [template], (spec) => spec.id ?? spec.name);
        const mixed = referenceOf(group, "mixedInstancesPolicy", [template], (policy) => {
            const spec = (policy.launchTemplate as { launchTemplateSpecification?: { launchTemplateId?: unknown; launchTemplateName?: unknown } } | undefined)?.launchTemplateSpecification;
            return spec?.launchTemplateId ?? spec?.launchTemplateName;
        });
        if (referencedTargets(direct, [template]).length === 0 && referencedTargets(mixed, [template]).length === 0) continue;
        const tags = peek(() => group.props.tags as unknown);
        if (!tags.known) return tags;
        const propagated = (Array.isArray(tags.value) ? (tags.value as Array<{ key?: unknown; value?: unknown; propagateAtLaunch?: unknown }>) : []).some(
            (tag) => tag.key === CONNECTOR_ROLE_TAG_KEY && tag.value === CONNECTOR_ROLE_TAG_VALUE && tag.propagateAtLaunch === true,
        );
        if (propagated) return { known: true, value: true };
    }
    return { known: true, value: false };
}

/** A launch template's tags for the instances it launches (`tagSpecifications[resourceType=instance]`). */
function instanceTagsOf(props: Record<string, unknown>): Peeked<boolean> {
    const specifications = peek(() => props.tagSpecifications as unknown);
    if (!specifications.known) return specifications;
    for (const specification of Array.isArray(specifications.value) ? (specifications.value as unknown[]) : []) {
        const value = peek(() => {
            const spec = specification as { resourceType?: unknown; tags?: unknown };
            return spec.resourceType === "instance" ? tagValue(spec.tags) : undefined;
        });
        if (!value.known) return value;
        if (value.value === CONNECTOR_ROLE_TAG_VALUE) return { known: true, value: true };
    }
    return { known: true, value: false };
}

export const connectorSecurityGroupNoIngress: ResourceValidationPolicy = {
    name: "connector-security-group-no-ingress",
    description: `Security groups tagged ${CONNECTOR_ROLE_TAG_KEY}=${CONNECTOR_ROLE_TAG_VALUE} (in tags, provider default tags or tagsAll) have no inline ingress rules.`,
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["connector", "network-exposure"],
    remediationSteps:
        "Remove every ingress rule from the connector's security group; the connector opens outbound SSH connections and needs no inbound path.",
    validateResource: validateResourceOfType(aws.ec2.SecurityGroup, (group, args, reportViolation) => {
        if ((group.ingress ?? []).length === 0) {
            return;
        }
        const role = connectorRoleOf(args.props, args.provider);
        if (!role.known) {
            throw role.error;
        }
        if (role.value) {
            reportViolation(
                `Connector security group '${args.name}' has ${group.ingress?.length} ingress rule(s); remove them, as the connector only makes outbound connections.`,
            );
        }
    }),
};

function isRuleOfType(resource: PolicyResource, type: "ingress" | "egress"): boolean {
    if (resource.isType(type === "ingress" ? aws.vpc.SecurityGroupIngressRule : aws.vpc.SecurityGroupEgressRule)) {
        return true;
    }
    if (resource.isType(aws.ec2.SecurityGroupRule)) {
        const ruleType = peek(() => resource.props.type as unknown);
        return !ruleType.known || ruleType.value === type;
    }
    return false;
}

/** Host resources that name their security groups, and where. */
const hostGroupProperties: Array<[ResourceClass, Array<[string, ((element: Record<string, unknown>) => unknown)?]>]> = [
    [aws.ec2.Instance, [["vpcSecurityGroupIds"]]],
    [aws.ec2.SpotInstanceRequest, [["vpcSecurityGroupIds"]]],
    [aws.ec2.LaunchTemplate, [["vpcSecurityGroupIds"], ["networkInterfaces", (nic) => nic.securityGroups]]],
];

type ResourceClass = Parameters<PolicyResource["isType"]>[0];

interface ConnectorGroups {
    /** Connector security groups, each with why: its own tag or the connector host it is attached to. */
    groups: Map<PolicyResource, { taggedItself: boolean; host?: PolicyResource }>;
    /** Security groups whose role is unknown during the preview. */
    undecided: Map<PolicyResource, Error>;
    /** Set when a connector host's security groups, or a host's role, are unknown and nothing explains them. */
    unresolved?: Error;
    /** Connector hosts that name no security group at all: AWS gives them the VPC's default group. */
    ungrouped: PolicyResource[];
}

/**
 * Whether a host names no security group in any of its group properties (nor a network interface
 * of its own, whose groups would decide). Unknown while one of those is unknown at preview.
 */
function namesNoGroup(host: PolicyResource, properties: ReadonlyArray<[string, ((element: Record<string, unknown>) => unknown)?]>): Peeked<boolean> {
    // Groups named by name count too: `securityGroups` (instances, spot requests), `securityGroupNames` (launch templates).
    const lists: Array<[string, ((element: Record<string, unknown>) => unknown)?]> = [...properties, ["securityGroups"], ["securityGroupNames"]];
    for (const [property, pick] of lists) {
        const value = peek(() => host.props[property] as unknown);
        if (!value.known) return value;
        const items = Array.isArray(value.value) ? (value.value as unknown[]) : [];
        if (!pick) {
            if (items.length > 0) return { known: true, value: false };
            continue;
        }
        for (const item of items) {
            const element = peek(() => item as Record<string, unknown>);
            if (!element.known) return element;
            const nic = element.value ?? {};
            if (nic.networkInterfaceId !== undefined) return { known: true, value: false }; // an existing interface brings its own groups
            const groups = peek(() => pick(nic));
            if (!groups.known) return groups;
            if (Array.isArray(groups.value) && groups.value.length > 0) return { known: true, value: false };
        }
    }
    const attached = peek(() => host.props.networkInterfaces as unknown);
    if (host.isType(aws.ec2.Instance) && attached.known && Array.isArray(attached.value) && attached.value.length > 0) {
        return { known: true, value: false }; // interfaces attached by ID bring their own groups
    }
    return { known: true, value: true };
}

/**
 * Every security group of a connector: tagged as one, or attached to an instance, spot request or
 * launch template tagged as one (an untagged group on a connector host opens the host all the same).
 */
export function connectorGroupsOf(resources: readonly PolicyResource[]): ConnectorGroups {
    const securityGroups = resourcesOfType(resources, aws.ec2.SecurityGroup);
    const result: ConnectorGroups = { groups: new Map(), undecided: new Map(), ungrouped: [] };
    for (const group of securityGroups) {
        const role = connectorRoleOf(group.props, group.provider);
        if (!role.known) result.undecided.set(group, role.error);
        else if (role.value) result.groups.set(group, { taggedItself: true });
    }
    for (const [cls, properties] of hostGroupProperties) {
        for (const host of resourcesOfType(resources, cls)) {
            let role = connectorRoleOf(host.props, host.provider);
            if (role.known && !role.value && host.isType(aws.ec2.LaunchTemplate)) {
                role = instanceTagsOf(host.props);
            }
            if (role.known && !role.value && host.isType(aws.ec2.LaunchTemplate)) {
                role = taggedByItsGroups(host, resources);
            }
            if (!role.known) {
                result.unresolved ??= role.error;
                continue;
            }
            if (!role.value) continue;
            const none = namesNoGroup(host, properties);
            if (!none.known) result.unresolved ??= none.error;
            else if (none.value) result.ungrouped.push(host);
            for (const [property, pick] of properties) {
                const reference = referenceOf(host, property, securityGroups, pick);
                result.unresolved ??= reference.unresolved;
                for (const group of referencedTargets(reference, securityGroups)) {
                    if (!result.groups.has(group)) result.groups.set(group, { taggedItself: false, host });
                    result.undecided.delete(group);
                }
            }
        }
    }
    return result;
}

export const connectorSecurityGroupNoIngressRules: StackValidationPolicy = {
    name: "connector-security-group-no-ingress-rules",
    description:
        `No ingress reaches a connector: no aws.vpc.SecurityGroupIngressRule or ingress aws.ec2.SecurityGroupRule attaches to a connector security group ` +
        `(tagged ${CONNECTOR_ROLE_TAG_KEY}=${CONNECTOR_ROLE_TAG_VALUE}, or attached to an instance, spot request or launch template so tagged), ` +
        "and an untagged group on a connector host has no inline ingress either.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["connector", "network-exposure"],
    remediationSteps:
        "Delete the ingress rule resources that target the connector's security groups, and the inline ingress of any group attached to a connector host.",
    validateStack: (args, reportViolation) => {
        const { groups, undecided, unresolved: hostsUnresolved, ungrouped } = connectorGroupsOf(args.resources);
        if (groups.size === 0 && undecided.size === 0 && ungrouped.length === 0 && !hostsUnresolved) {
            args.notApplicable("Policy only applies to stacks with a connector security group or host");
        }
        let unresolved: Error | undefined = hostsUnresolved;
        for (const host of ungrouped) {
            reportViolation(
                `Connector host '${host.name}' names no security group, so AWS puts it in the VPC's default group, whose default rule admits all traffic from the group's other members; ` +
                    "give it a dedicated security group without ingress (vpcSecurityGroupIds).",
                host.urn,
            );
        }
        for (const [group, why] of groups) {
            if (why.taggedItself || !why.host) continue;
            const ingress = peek(() => group.props.ingress as unknown);
            if (!ingress.known) {
                unresolved ??= ingress.error;
            } else if (Array.isArray(ingress.value) && ingress.value.length > 0) {
                reportViolation(
                    `Security group '${group.name}' is attached to connector host '${why.host.name}' and has ${ingress.value.length} ingress rule(s); remove them, as the connector only makes outbound connections.`,
                    group.urn,
                );
            }
        }
        for (const [group, error] of undecided) {
            const ingress = peek(() => group.props.ingress as unknown);
            if (!ingress.known || (Array.isArray(ingress.value) && ingress.value.length > 0)) unresolved ??= error;
        }
        const candidates = [...groups.keys(), ...undecided.keys()];
        const allGroups = resourcesOfType(args.resources, aws.ec2.SecurityGroup);
        for (const rule of args.resources.filter((resource) => isRuleOfType(resource, "ingress"))) {
            const type = peek(() => rule.props.type as unknown);
            if (!type.known) {
                unresolved ??= type.error;
                continue;
            }
            const reference = referenceOf(rule, "securityGroupId", allGroups);
            for (const group of referencedTargets(reference, candidates)) {
                const error = undecided.get(group);
                if (error) {
                    unresolved ??= error;
                    continue;
                }
                reportViolation(
                    `Ingress rule '${rule.name}' opens connector security group '${group.name}'; delete it, as the connector only makes outbound connections.`,
                    rule.urn,
                );
            }
            if (candidates.length > 0) unresolved ??= reference.unresolved;
        }
        if (unresolved) {
            throw unresolved;
        }
    },
};

interface ConnectorEgressConfig {
    relaySshPorts: number[];
}

const connectorEgressSchema: PolicyConfigSchema = {
    properties: {
        relaySshPorts: portList([22], "TCP ports the connector's relays listen on for SSH; egress to the internet may use these, 443 (HTTPS) and 53 (DNS)."),
    },
};

/** One egress permission, whichever resource wrote it; destinations that are security groups are inside the VPC and need no field. */
interface EgressPermission {
    protocol: string;
    fromPort?: number;
    toPort?: number;
    /** CIDR blocks, each read on its own (an unknown one stays unknown without hiding the others). */
    cidrs: Array<Peeked<unknown>>;
    /** Prefix lists, which may hold public ranges. */
    prefixLists: boolean;
}

function normaliseProtocol(protocol: unknown): string {
    const lower = String(protocol).toLowerCase();
    return ({ "6": "tcp", "17": "udp", "-1": "all" } as Record<string, string>)[lower] ?? lower;
}

function inlineEgress(group: PolicyResource): Peeked<EgressPermission[]> {
    return peek(() =>
        ((group.props.egress as Record<string, unknown>[] | undefined) ?? []).map((rule) => ({
            protocol: normaliseProtocol(rule.protocol),
            fromPort: rule.fromPort as number | undefined,
            toPort: rule.toPort as number | undefined,
            cidrs: [...peekEach(() => rule.cidrBlocks), ...peekEach(() => rule.ipv6CidrBlocks)],
            prefixLists: ((rule.prefixListIds as unknown[] | undefined) ?? []).length > 0,
        })),
    );
}

function ruleEgress(rule: PolicyResource): Peeked<EgressPermission> {
    return peek(() => {
        const props = rule.props;
        if (rule.isType(aws.vpc.SecurityGroupEgressRule)) {
            return {
                protocol: normaliseProtocol(props.ipProtocol),
                fromPort: props.fromPort as number | undefined,
                toPort: props.toPort as number | undefined,
                cidrs: ["cidrIpv4", "cidrIpv6"].map((key) => peek(() => props[key])).filter((c) => !c.known || c.value !== undefined),
                // An unknown prefix list ID is still a prefix list.
                prefixLists: present(() => props.prefixListId),
            };
        }
        return {
            protocol: normaliseProtocol(props.protocol),
            fromPort: props.fromPort as number | undefined,
            toPort: props.toPort as number | undefined,
            cidrs: [...peekEach(() => props.cidrBlocks), ...peekEach(() => props.ipv6CidrBlocks)],
            prefixLists: present(() => props.prefixListIds),
        };
    });
}

/** Each element of a list, read one by one so that one unknown element does not hide the others. */
function peekEach(read: () => unknown): Array<Peeked<unknown>> {
    const list = peek(read);
    if (!list.known) return [list];
    const values = Array.isArray(list.value) ? (list.value as unknown[]) : [];
    const result: Array<Peeked<unknown>> = [];
    // Not values.map: map reads every element itself, and an unknown one would throw outside peek.
    for (let index = 0; index < values.length; index++) result.push(peek(() => values[index]));
    return result;
}

/** Whether a value is set: unknown counts as set, a list must be non-empty. */
function present(read: () => unknown): boolean {
    const value = peek(read);
    if (!value.known) return true;
    return Array.isArray(value.value) ? value.value.length > 0 : value.value !== undefined && value.value !== null;
}

/** Why an egress permission goes beyond what a connector needs, or undefined when it does not. */
function egressProblem(permission: EgressPermission, relaySshPorts: readonly number[]): { problem?: string; unknown?: Error } {
    const { protocol, fromPort, toPort } = permission;
    if (protocol === "all" || (protocol !== "tcp" && protocol !== "udp")) {
        return { problem: `allows ${protocol === "all" ? "every protocol and port" : `protocol ${protocol}`}` };
    }
    const ports = fromPort === toPort ? `${protocol} port ${fromPort}` : `${protocol} ports ${fromPort}-${toPort}`;
    if (fromPort === undefined || toPort === undefined || (fromPort <= 1 && toPort >= 65535)) {
        return { problem: `allows every ${protocol} port` };
    }
    if (fromPort !== toPort) {
        // Each of the connector's needs is one port (a relay's SSH, 443, 53, a route's target).
        return { problem: `allows ${ports}, a range where each need is one port` };
    }
    const publicAllowed =
        fromPort === toPort &&
        ((protocol === "tcp" && (relaySshPorts.includes(fromPort) || fromPort === 443)) || fromPort === 53);
    if (publicAllowed) {
        return {};
    }
    // Elsewhere only private destinations: the routes' targets.
    if (permission.prefixLists) {
        return { problem: `allows ${ports} to a prefix list, which may hold public addresses` };
    }
    for (const cidr of permission.cidrs) {
        if (!cidr.known) return { unknown: cidr.error };
        if (typeof cidr.value === "string" && !isPrivateCidr(cidr.value)) {
            return { problem: `allows ${ports} to ${cidr.value}` };
        }
    }
    return {};
}

export const connectorEgressRestricted: StackValidationPolicy = {
    name: "connector-egress-restricted",
    description:
        "A connector's security groups let it reach the internet only over SSH to its relays (relaySshPorts), HTTPS (443) and DNS (53); " +
        "other TCP/UDP ports only to private addresses (its routes' targets), never every port or protocol.",
    enforcementLevel: "mandatory",
    severity: "high",
    tags: ["connector", "network-exposure"],
    remediationSteps:
        "Replace wide egress on the connector's security group with one rule per need: TCP to the relays' SSH port, TCP 443 (AWS APIs), " +
        "UDP/TCP 53 to the resolver, and each route target's private address and port.",
    configSchema: connectorEgressSchema,
    validateStack: (args, reportViolation) => {
        const { groups, undecided, unresolved: hostsUnresolved } = connectorGroupsOf(args.resources);
        if (groups.size === 0 && undecided.size === 0 && !hostsUnresolved) {
            args.notApplicable("Policy only applies to stacks with a connector security group or host");
        }
        const { relaySshPorts } = configOf<ConnectorEgressConfig>(connectorEgressSchema, args);
        let unresolved: Error | undefined = hostsUnresolved;
        const judge = (group: PolicyResource, source: string, urn: string, permission: EgressPermission): void => {
            const verdict = egressProblem(permission, relaySshPorts);
            if (verdict.unknown) {
                unresolved ??= verdict.unknown;
            } else if (verdict.problem) {
                const undecidedGroup = undecided.get(group);
                if (undecidedGroup) {
                    unresolved ??= undecidedGroup;
                    return;
                }
                reportViolation(
                    `${source} ${verdict.problem} from connector security group '${group.name}'; a connector needs only SSH to its relays, HTTPS, DNS and its routes' private targets, so narrow it to those.`,
                    urn,
                );
            }
        };
        const candidates = [...groups.keys(), ...undecided.keys()];
        for (const group of candidates) {
            const egress = inlineEgress(group);
            if (!egress.known) {
                unresolved ??= undecided.get(group) ?? egress.error;
                continue;
            }
            for (const permission of egress.value) judge(group, `Inline egress of '${group.name}'`, group.urn, permission);
        }
        const allGroups = resourcesOfType(args.resources, aws.ec2.SecurityGroup);
        for (const rule of args.resources.filter((resource) => isRuleOfType(resource, "egress"))) {
            const reference = referenceOf(rule, "securityGroupId", allGroups);
            const targets = referencedTargets(reference, candidates);
            if (targets.length === 0) {
                if (candidates.length > 0) unresolved ??= reference.unresolved;
                continue;
            }
            const type = peek(() => rule.props.type as unknown);
            const permission = ruleEgress(rule);
            if (!type.known || !permission.known) {
                unresolved ??= !type.known ? type.error : permission.known ? undefined : permission.error;
                continue;
            }
            for (const group of targets) judge(group, `Egress rule '${rule.name}'`, rule.urn, permission.value);
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
    connectorEgressRestricted,
];
