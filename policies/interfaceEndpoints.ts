// Interface endpoints get their own security groups, and no security group opens ingress to the
// whole internet except on ports the user lists (the SSH relay's 22).
import * as aws from "@pulumi/aws";
import { PolicyConfigSchema, PolicyResource, ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { admitsTheInternet, isPrivateCidr } from "./cidrs";
import { Reference, peek, referenceOf, referencedTargets, resourcesOfType } from "./references";
import { configOf, portNumber } from "./ruleConfig";

export const interfaceEndpointSecurityGroups: ResourceValidationPolicy = {
    name: "interface-endpoint-security-groups",
    description: "Interface VPC endpoints name their security groups instead of falling back to the VPC's default group.",
    enforcementLevel: "mandatory",
    severity: "high",
    tags: ["privatelink", "network-exposure"],
    remediationSteps:
        "Create a security group for the endpoint that admits only the clients that need it, and pass it in securityGroupIds.",
    validateResource: validateResourceOfType(aws.ec2.VpcEndpoint, (endpoint, args, reportViolation) => {
        if (endpoint.vpcEndpointType !== "Interface") {
            return;
        }
        if ((endpoint.securityGroupIds ?? []).length === 0) {
            reportViolation(
                `Interface endpoint '${args.name}' names no security groups, so AWS attaches the VPC's default group; set securityGroupIds to a group made for this endpoint.`,
            );
        }
    }),
};

interface PublicIngressException {
    port: number;
    protocol: "tcp" | "udp";
    resourceNames?: string[];
}

interface NoPublicIngressConfig {
    allowedPublicIngress: PublicIngressException[];
}

const noPublicIngressSchema: PolicyConfigSchema = {
    properties: {
        allowedPublicIngress: {
            type: "array",
            default: [],
            description:
                "Ports that may accept traffic from the internet (e.g. 0.0.0.0/0 or ::/0), each optionally limited to the named security groups " +
                "or rules (Pulumi resource names), e.g. [{ \"port\": 22, \"resourceNames\": [\"relay-sg\"] }].",
            items: {
                type: "object",
                additionalProperties: false,
                required: ["port"],
                properties: {
                    port: portNumber(),
                    protocol: { enum: ["tcp", "udp"], default: "tcp" },
                    resourceNames: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1 },
                },
            },
        },
    },
};

/** tcp/udp by name or number, "all" for -1; anything else (icmp, ...) as given. */
function normaliseProtocol(protocol: string): string {
    const lower = String(protocol).toLowerCase();
    return ({ "6": "tcp", "17": "udp", "-1": "all" } as Record<string, string>)[lower] ?? lower;
}

interface IngressRule {
    sources: string[];
    protocol: string;
    fromPort?: number;
    toPort?: number;
}

function describePorts(rule: IngressRule): string {
    const protocol = normaliseProtocol(rule.protocol);
    if (protocol === "all") return "all ports and protocols";
    if (rule.fromPort === rule.toPort) return `${protocol} port ${rule.fromPort}`;
    return `${protocol} ports ${rule.fromPort}-${rule.toPort}`;
}

function isExcepted(rule: IngressRule, resourceName: string, exceptions: readonly PublicIngressException[]): boolean {
    const protocol = normaliseProtocol(rule.protocol);
    return exceptions.some(
        (exception) =>
            (exception.protocol ?? "tcp") === protocol &&
            rule.fromPort === exception.port &&
            rule.toPort === exception.port &&
            (exception.resourceNames === undefined || exception.resourceNames.includes(resourceName)),
    );
}

function checkIngress(
    kind: string,
    rules: readonly IngressRule[],
    args: { name: string; getConfig<T extends object>(): T },
    reportViolation: (message: string) => void,
): void {
    const { allowedPublicIngress } = configOf<NoPublicIngressConfig>(noPublicIngressSchema, args);
    const judged = rules.filter((rule) => !isExcepted(rule, args.name, allowedPublicIngress));
    let reported = false;
    for (const rule of judged) {
        if (!admitsTheInternet(rule.sources)) {
            continue;
        }
        reported = true;
        reportViolation(
            `${kind} '${args.name}' allows ingress from ${publicSources(rule.sources).join(" and ")} on ${describePorts(rule)}; narrow the source to the clients that need it, or list this port for '${args.name}' under allowedPublicIngress in this policy's config.`,
        );
    }
    // Blocks that are each narrow enough can still add up to the internet (0.0.0.0/1 + 128.0.0.0/1).
    const allSources = judged.flatMap((rule) => rule.sources);
    if (!reported && admitsTheInternet(allSources)) {
        reportViolation(
            `${kind} '${args.name}' allows ingress from ${publicSources(allSources).join(", ")} on ${judged.map(describePorts).join(", ")}, which together admit the internet; narrow the sources to the clients that need them.`,
        );
    }
}

function publicSources(sources: readonly string[]): string[] {
    return [...new Set(sources.filter((cidr) => !isPrivateCidr(cidr)))];
}

export const securityGroupNoPublicIngress: ResourceValidationPolicy = {
    name: "security-group-no-public-ingress",
    description:
        "No security group (default groups included) or security group rule admits the internet: more than a /16 of public IPv4 or a /32 of public IPv6 addresses, counting the union of its CIDRs, except on ports listed in the policy config.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["network-exposure"],
    remediationSteps:
        "Use the client CIDRs or a source security group instead of 0.0.0.0/0 / ::/0. For a port that must be public " +
        "(the SSH relay's 22), add { port, resourceNames } to allowedPublicIngress in the policy pack config.",
    configSchema: noPublicIngressSchema,
    validateResource: [
        ...[aws.ec2.SecurityGroup, aws.ec2.DefaultSecurityGroup].map((cls) =>
            validateResourceOfType(cls, (group, args, reportViolation) => {
                const rules = (group.ingress ?? []).map((ingress) => ({
                    sources: [...(ingress.cidrBlocks ?? []), ...(ingress.ipv6CidrBlocks ?? [])],
                    protocol: ingress.protocol,
                    fromPort: ingress.fromPort,
                    toPort: ingress.toPort,
                }));
                checkIngress(cls === aws.ec2.DefaultSecurityGroup ? "Default security group" : "Security group", rules, args, reportViolation);
            }),
        ),
        validateResourceOfType(aws.vpc.SecurityGroupIngressRule, (rule, args, reportViolation) => {
            const sources = [rule.cidrIpv4, rule.cidrIpv6].filter((cidr): cidr is string => typeof cidr === "string");
            checkIngress(
                "Security group ingress rule",
                [{ sources, protocol: rule.ipProtocol, fromPort: rule.fromPort, toPort: rule.toPort }],
                args,
                reportViolation,
            );
        }),
        validateResourceOfType(aws.ec2.SecurityGroupRule, (rule, args, reportViolation) => {
            if (rule.type !== "ingress") {
                return;
            }
            const sources = [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])];
            checkIngress(
                "Security group rule",
                [{ sources, protocol: rule.protocol, fromPort: rule.fromPort, toPort: rule.toPort }],
                args,
                reportViolation,
            );
        }),
    ],
};


/** The CIDRs of each prefix list the stack creates: its inline `entries` and its aws.ec2.ManagedPrefixListEntry resources. */
function prefixListCidrs(resources: readonly PolicyResource[], lists: readonly PolicyResource[]): { cidrs: Map<PolicyResource, string[]>; unresolved?: Error } {
    const cidrs = new Map<PolicyResource, string[]>();
    let unresolved: Error | undefined;
    for (const list of lists) {
        const own = peek(() => ((list.props.entries as Array<{ cidr?: unknown }> | undefined) ?? []).map((entry) => entry.cidr));
        if (!own.known) {
            unresolved ??= own.error;
            cidrs.set(list, []);
            continue;
        }
        cidrs.set(list, own.value.filter((cidr): cidr is string => typeof cidr === "string"));
    }
    for (const entry of resourcesOfType(resources, aws.ec2.ManagedPrefixListEntry)) {
        const of = referenceOf(entry, "prefixListId", lists);
        const targets = referencedTargets(of, lists);
        if (targets.length === 0) unresolved ??= of.unresolved;
        const cidr = peek(() => entry.props.cidr as unknown);
        for (const list of targets) {
            if (!cidr.known) unresolved ??= cidr.error;
            else if (typeof cidr.value === "string") cidrs.get(list)?.push(cidr.value);
        }
    }
    return { cidrs, ...(unresolved ? { unresolved } : {}) };
}

export const securityGroupNoPublicPrefixList: StackValidationPolicy = {
    name: "security-group-no-public-prefix-list",
    description:
        "No security group ingress admits a prefix list created in the stack (aws.ec2.ManagedPrefixList entries and aws.ec2.ManagedPrefixListEntry resources) " +
        "whose CIDRs together admit the internet, by security-group-no-public-ingress's measure.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["network-exposure"],
    remediationSteps: "Keep public ranges out of prefix lists used as ingress sources: list the clients' CIDRs, or use a source security group.",
    validateStack: (args, reportViolation) => {
        const lists = resourcesOfType(args.resources, aws.ec2.ManagedPrefixList);
        if (lists.length === 0) {
            args.notApplicable("Policy only applies to stacks that create a managed prefix list");
        }
        const { cidrs, unresolved: listsUnresolved } = prefixListCidrs(args.resources, lists);
        let unresolved = listsUnresolved;
        const admitting: Array<[PolicyResource, Reference]> = [];
        for (const group of resourcesOfType(args.resources, aws.ec2.SecurityGroup, aws.ec2.DefaultSecurityGroup)) {
            admitting.push([group, referenceOf(group, "ingress", lists, (rule) => rule.prefixListIds)]);
        }
        for (const rule of resourcesOfType(args.resources, aws.vpc.SecurityGroupIngressRule)) {
            admitting.push([rule, referenceOf(rule, "prefixListId", lists)]);
        }
        for (const rule of resourcesOfType(args.resources, aws.ec2.SecurityGroupRule)) {
            const type = peek(() => rule.props.type as unknown);
            if (type.known && type.value !== "ingress") continue;
            if (!type.known) unresolved ??= type.error;
            admitting.push([rule, referenceOf(rule, "prefixListIds", lists)]);
        }
        for (const [resource, reference] of admitting) {
            for (const list of referencedTargets(reference, lists)) {
                const listed = cidrs.get(list) ?? [];
                if (!admitsTheInternet(listed)) continue;
                reportViolation(
                    `'${resource.name}' admits prefix list '${list.name}', whose entries (${publicSources(listed).join(", ")}) together admit the internet; ` +
                        "list the clients' CIDRs in it instead, or use a source security group.",
                    resource.urn,
                );
            }
        }
        if (unresolved) {
            throw unresolved;
        }
    },
};

export const interfaceEndpointPolicies = [interfaceEndpointSecurityGroups, securityGroupNoPublicIngress, securityGroupNoPublicPrefixList];
