// Interface endpoints get their own security groups, and no security group opens ingress to the
// whole internet except on ports the user lists (the SSH relay's 22).
import * as aws from "@pulumi/aws";
import { PolicyConfigSchema, ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
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
                "Ports that may accept traffic from 0.0.0.0/0 or ::/0, each optionally limited to the named security groups " +
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

/** IPv4 or IPv6 "everywhere": any CIDR with prefix length 0. */
function isAnywhere(cidr: string): boolean {
    return /\/0$/.test(cidr.trim());
}

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
    for (const rule of rules) {
        const anywhere = rule.sources.filter(isAnywhere);
        if (anywhere.length === 0 || isExcepted(rule, args.name, allowedPublicIngress)) {
            continue;
        }
        reportViolation(
            `${kind} '${args.name}' allows ingress from ${anywhere.join(" and ")} on ${describePorts(rule)}; narrow the source to the clients that need it, or list this port for '${args.name}' under allowedPublicIngress in this policy's config.`,
        );
    }
}

export const securityGroupNoPublicIngress: ResourceValidationPolicy = {
    name: "security-group-no-public-ingress",
    description:
        "No security group or security group rule admits traffic from 0.0.0.0/0 or ::/0, except on ports listed in the policy config.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["network-exposure"],
    remediationSteps:
        "Use the client CIDRs or a source security group instead of 0.0.0.0/0 / ::/0. For a port that must be public " +
        "(the SSH relay's 22), add { port, resourceNames } to allowedPublicIngress in the policy pack config.",
    configSchema: noPublicIngressSchema,
    validateResource: [
        validateResourceOfType(aws.ec2.SecurityGroup, (group, args, reportViolation) => {
            const rules = (group.ingress ?? []).map((ingress) => ({
                sources: [...(ingress.cidrBlocks ?? []), ...(ingress.ipv6CidrBlocks ?? [])],
                protocol: ingress.protocol,
                fromPort: ingress.fromPort,
                toPort: ingress.toPort,
            }));
            checkIngress("Security group", rules, args, reportViolation);
        }),
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

export const interfaceEndpointPolicies = [interfaceEndpointSecurityGroups, securityGroupNoPublicIngress];
