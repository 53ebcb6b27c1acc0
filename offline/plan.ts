import type { RecordedResource } from "./runProgram";
import { SimulatedDeployment } from "./simulate";

/**
 * The offline plan: what each stack would create, as a tree of components and resources with
 * the properties that matter for private connectivity, plus the deployment sequence that led
 * there. Rendered as text for people and as JSON for tools.
 */
export interface PlanResource {
    urn: string;
    type: string;
    name: string;
    parent?: string;
    /** URNs of the resource's own aliases (earlier names or types whose state it takes over). */
    aliases?: string[];
    /** The few inputs worth reading in review (see keyProperties). */
    properties: Record<string, unknown>;
    /** Every input, for `--json` consumers. */
    inputs: Record<string, unknown>;
}

export interface StackPlan {
    stack: string;
    resources: PlanResource[];
    outputs: Record<string, unknown>;
}

export interface Plan {
    passes: number;
    sequence: Array<{ pass: number; stack: string; resources: number; outputsChanged: boolean }>;
    stacks: StackPlan[];
}

/** Inputs shown for each resource type: the settings a reviewer of private connectivity checks. */
const keyProperties: Record<string, string[]> = {
    "aws:lb/loadBalancer:LoadBalancer": ["loadBalancerType", "internal", "subnets", "securityGroups"],
    "aws:lb/listener:Listener": ["port", "protocol", "sslPolicy", "certificateArn"],
    "aws:lb/targetGroup:TargetGroup": ["port", "protocol", "targetType", "healthCheck"],
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": ["targetId", "port"],
    "aws:ec2/vpcEndpointService:VpcEndpointService": ["acceptanceRequired", "allowedPrincipals", "privateDnsName", "supportedRegions"],
    "aws:ec2/vpcEndpointConnectionAccepter:VpcEndpointConnectionAccepter": ["vpcEndpointId"],
    "aws:ec2/vpcEndpointConnectionNotification:VpcEndpointConnectionNotification": ["connectionEvents"],
    "aws:ec2/vpcEndpoint:VpcEndpoint": ["vpcEndpointType", "serviceName", "subnetIds", "securityGroupIds", "privateDnsEnabled"],
    "aws:ec2/securityGroup:SecurityGroup": ["description", "ingress", "egress"],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ["ipProtocol", "fromPort", "toPort", "referencedSecurityGroupId", "cidrIpv4", "cidrIpv6"],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ["ipProtocol", "fromPort", "toPort", "referencedSecurityGroupId", "cidrIpv4", "cidrIpv6"],
    "aws:ec2/flowLog:FlowLog": ["subnetId", "vpcId", "trafficType", "logDestinationType"],
    "aws:cloudwatch/logGroup:LogGroup": ["retentionInDays"],
    "aws:cloudwatch/metricAlarm:MetricAlarm": ["metricName", "threshold", "comparisonOperator"],
    "aws:route53/zone:Zone": ["name", "vpcs"],
    "aws:route53/record:Record": ["name", "type", "aliases"],
    "aws:lambda/function:Function": ["runtime", "vpcConfig"],
    "aws:lambda/invocation:Invocation": ["input"],
    "pulumi:pulumi:StackReference": ["name"],
};

export function buildPlan(deployment: SimulatedDeployment): Plan {
    const stacks = [...deployment.final.entries()].map(([stack, run]) => ({
        stack,
        resources: run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map(toPlanResource),
        outputs: run.outputs,
    }));
    return {
        passes: deployment.passes,
        sequence: deployment.updates.map((u) => ({
            pass: u.pass,
            stack: u.stack,
            // Counted as in the per-stack listing: the stack resource itself is not one of them.
            resources: u.run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").length,
            outputsChanged: u.outputsChanged,
        })),
        stacks,
    };
}

function toPlanResource(r: RecordedResource): PlanResource {
    const properties: Record<string, unknown> = {};
    for (const key of keyProperties[r.type] ?? []) {
        if (r.inputs[key] !== undefined) properties[key] = r.inputs[key];
    }
    return {
        urn: r.urn,
        type: r.type,
        name: r.name,
        ...(r.parent && !r.parent.includes("pulumi:pulumi:Stack::") ? { parent: r.parent } : {}),
        ...(r.aliases.length > 0 ? { aliases: r.aliases } : {}),
        properties,
        inputs: r.inputs,
    };
}

/** The plan as an indented tree per stack, components first, like `pulumi preview`. */
export function renderPlan(plan: Plan): string {
    const lines: string[] = [];
    lines.push(`Deployment sequence (converged after ${plan.passes} passes; each line is one \`pulumi up\`):`);
    for (const step of plan.sequence) {
        lines.push(`  pass ${step.pass}  ${step.stack.padEnd(20)} ${String(step.resources).padStart(3)} resources  ${step.outputsChanged ? "outputs changed" : "no change"}`);
    }
    for (const stack of plan.stacks) {
        lines.push("", `Stack ${stack.stack}: ${stack.resources.length} resources`);
        const children = new Map<string | undefined, PlanResource[]>();
        for (const r of stack.resources) {
            const list = children.get(r.parent) ?? [];
            list.push(r);
            children.set(r.parent, list);
        }
        // Components first, then by type and name: stable, and reads like the architecture.
        const isComponent = (r: PlanResource) => !r.type.includes("/") && !r.type.startsWith("pulumi:");
        for (const list of children.values()) {
            list.sort((a, b) => Number(isComponent(b)) - Number(isComponent(a)) || a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
        }
        const walk = (parent: string | undefined, indent: string) => {
            const list = children.get(parent) ?? [];
            list.forEach((r, i) => {
                const last = i === list.length - 1;
                const props = Object.entries(r.properties)
                    .map(([k, v]) => `${k}=${formatValue(v)}`)
                    .join(" ");
                lines.push(`${indent}${last ? "└─" : "├─"} ${r.type}  ${r.name}${props ? `  ${props}` : ""}`);
                walk(r.urn, `${indent}${last ? "   " : "│  "}`);
            });
        };
        walk(undefined, "  ");
        lines.push("  outputs:");
        for (const [key, value] of Object.entries(stack.outputs)) lines.push(`    ${key}: ${formatValue(value, 160)}`);
    }
    return lines.join("\n");
}

function formatValue(value: unknown, max = 80): string {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
