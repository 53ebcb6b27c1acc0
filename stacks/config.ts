import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

/**
 * Stack configuration, validated in one place. Every key is documented in the README
 * ("Configuration"); the schemas here decide what is accepted, and an error names the full
 * config key (`private-connectivity:privateLink.listeners[0].port`) and what is expected.
 * Value checks that a component also makes (port ranges, ID formats) are left to the component,
 * whose message names its own argument; this layer checks shape and type.
 */

const fullyQualifiedStack = z
    .string()
    .regex(/^[\w.-]+\/[\w.-]+\/[\w.-]+$/, "must be a fully qualified stack name: <organization>/<project>/<stack>");
const dnsLabel = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be one lower-case DNS label, e.g. acme");

const common = {
    role: z.enum(["customer", "firefly"]),
    customerName: dnsLabel,
    vpcId: z.string(),
    subnetIds: z.array(z.string()).min(1, "must list at least one subnet"),
};

const listener = z.strictObject({
    port: z.number().int(),
    protocol: z.enum(["TCP", "TLS"]).optional(),
    targetPort: z.number().int().optional(),
    targetProtocol: z.enum(["TCP", "TLS"]).optional(),
    certificateArn: z.string().optional(),
    sslPolicy: z.string().optional(),
    healthCheck: z
        .strictObject({
            protocol: z.enum(["TCP", "HTTP", "HTTPS"]).optional(),
            port: z.number().int().optional(),
            path: z.string().optional(),
            intervalSeconds: z.union([z.literal(10), z.literal(30)]).optional(),
            healthyThreshold: z.number().int().optional(),
            unhealthyThreshold: z.number().int().optional(),
        })
        .optional(),
});

export const customerConfigSchema = z.strictObject({
    ...common,
    role: z.literal("customer"),
    /** The platform's AWS account IDs: the only principals allowed to create endpoints. */
    platformAccountIds: z.array(z.string()).min(1, "must list the platform's AWS account ID"),
    /** The firefly stack whose `endpointIds` output this stack accepts. */
    fireflyStack: fullyQualifiedStack.optional(),
    /** Endpoint IDs to accept when the firefly stack cannot be read from this backend. */
    acceptEndpointIds: z.array(z.string()).optional(),
    privateLink: z.strictObject({
        listeners: z.array(listener).min(1, "must list at least one port"),
        targetType: z.enum(["instance", "ip"]).optional(),
        targets: z.array(z.string()).min(1, "must list at least one target"),
        privateDnsName: z.string().optional(),
        verifyPrivateDns: z.boolean().optional(),
        supportedRegions: z.array(z.string()).optional(),
        notificationTopicArn: z.string().optional(),
    }),
});

export const fireflyConfigSchema = z
    .strictObject({
        ...common,
        role: z.literal("firefly"),
        /** The customer stack whose `endpointServiceName` this stack connects to. */
        customerStack: fullyQualifiedStack.optional(),
        /** The service name, when the customer stack cannot be read from this backend. */
        endpointServiceName: z.string().optional(),
        serviceRegion: z.string().optional(),
        /** Ports to open; default: the customer stack's `servicePorts`. */
        endpointPorts: z.array(z.number().int()).min(1).optional(),
        sourceSecurityGroupIds: z.array(z.string()).min(1, "must list the platform services' security groups"),
        privateZoneName: z.string().default("privatelink.firefly.internal"),
        privateZoneId: z.string().optional(),
        flowLogRetentionDays: z.number().int().default(365),
        enablePrivateDns: z.boolean().default(false),
        connectivityCheck: z
            .strictObject({
                runFrom: z.enum(["lambda", "runner", "off"]).default("lambda"),
                port: z.number().int().optional(),
                servername: z.string().optional(),
                httpHeadPath: z.union([z.string(), z.literal(false)]).optional(),
                rejectUnauthorized: z.boolean().optional(),
            })
            .default({ runFrom: "lambda" }),
    })
    .refine((c) => (c.customerStack === undefined) !== (c.endpointServiceName === undefined), {
        message: "set exactly one of customerStack (read the service name from the customer stack) or endpointServiceName",
        path: ["customerStack"],
    });

export type CustomerConfig = z.infer<typeof customerConfigSchema>;
export type FireflyConfig = z.infer<typeof fireflyConfigSchema>;
export type StackConfig = CustomerConfig | FireflyConfig;

/** Raised for invalid stack configuration; lists every problem, each with its full key. */
export class StackConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "StackConfigError";
    }
}

const keysBySchema = (schema: z.ZodType): string[] => {
    const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
    return shape ? Object.keys(shape) : [];
};

/**
 * Reads and validates this project's configuration. `raw` maps keys without the project prefix
 * to their values (strings as Pulumi stores them; structured values as JSON text).
 */
export function parseStackConfig(raw: Record<string, string>, project: string): StackConfig {
    const values: Record<string, unknown> = {};
    for (const [key, text] of Object.entries(raw)) values[key] = decode(text);
    const role = values.role;
    if (role !== "customer" && role !== "firefly") {
        throw new StackConfigError([
            `${project}:role must be "customer" or "firefly" (got ${role === undefined ? "nothing" : JSON.stringify(role)}); set it with \`pulumi config set role customer\``,
        ]);
    }
    const schema = role === "customer" ? customerConfigSchema : fireflyConfigSchema;
    const parsed = schema.safeParse(values);
    if (!parsed.success) {
        throw new StackConfigError(parsed.error.issues.map((issue) => describeIssue(project, issue)));
    }
    return parsed.data;
}

/** The configuration of the running stack (Pulumi's config for this project). */
export function loadStackConfig(): StackConfig {
    const project = pulumi.getProject();
    const prefix = `${project}:`;
    const raw: Record<string, string> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = value;
    }
    return parseStackConfig(raw, project);
}

/** Config keys each role accepts (for docs and tests). */
export const configKeys = {
    customer: keysBySchema(customerConfigSchema),
    firefly: keysBySchema(fireflyConfigSchema),
};

function decode(text: string): unknown {
    // Pulumi hands structured values (lists, objects, numbers, booleans) over as JSON text.
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

function describeIssue(project: string, issue: z.core.$ZodIssue): string {
    const [head, ...rest] = issue.path;
    const key = head === undefined ? project : `${project}:${String(head)}`;
    const path = rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
    if (issue.code === "unrecognized_keys") {
        const where = head === undefined ? "" : `${key}${path}: `;
        return `${where}unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(head === undefined ? `${project}:${k}` : k)).join(", ")}; check the spelling against the README's configuration table`;
    }
    return `${key}${path}: ${issue.message}`;
}
