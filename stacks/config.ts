import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { methods } from "../components/api/privateApiRoutes";
import { patterns } from "../components/shared/validation";
import { dynamicSchema, hostPortText, publicKeyLine, routeSchema } from "../connector/spec";

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
const dnsLabel = z.string().regex(patterns.dnsLabel, "must be one lower-case DNS label, e.g. acme");

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
            intervalSeconds: z.number().int().min(5).max(300).optional(),
            healthyThreshold: z.number().int().optional(),
            unhealthyThreshold: z.number().int().optional(),
        })
        .optional(),
});

const apiMethod = z.enum(methods);
const apiIntegration = z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("AWS_PROXY"), functionArn: z.string(), timeoutMilliseconds: z.number().int().optional() }),
    z.strictObject({
        type: z.literal("HTTP_PROXY"),
        uri: z.string(),
        httpMethod: apiMethod.optional(),
        vpcLinkId: z.string().optional(),
        timeoutMilliseconds: z.number().int().optional(),
    }),
    z.strictObject({ type: z.literal("MOCK"), statusCode: z.number().int().optional(), responseBody: z.string().optional() }),
]);
const apiRoute = z.strictObject({
    path: z.string(),
    method: apiMethod,
    integration: apiIntegration,
    authorization: z.union([z.enum(["AWS_IAM", "NONE"]), z.strictObject({ authorizer: z.string(), scopes: z.array(z.string()).optional() })]).optional(),
    requestSchema: z.record(z.string(), z.unknown()).optional(),
});
const apiAuthorizer = z.discriminatedUnion("type", [
    z.strictObject({
        type: z.literal("TOKEN"),
        functionArn: z.string(),
        identitySource: z.string().optional(),
        identityValidationExpression: z.string().optional(),
        resultTtlSeconds: z.number().int().optional(),
    }),
    z.strictObject({ type: z.literal("REQUEST"), functionArn: z.string(), identitySource: z.string(), resultTtlSeconds: z.number().int().optional() }),
    z.strictObject({
        type: z.literal("COGNITO_USER_POOLS"),
        userPoolArns: z.array(z.string()).min(1),
        identitySource: z.string().optional(),
        resultTtlSeconds: z.number().int().optional(),
    }),
]);

/**
 * A private REST API (components/api/privateApi.ts) reached through an execute-api interface endpoint
 * in this stack's VPC and subnets (unless overridden). Values are checked again, in depth, by the
 * component; this schema checks shape so a typo names its config key.
 */
const privateApi = z
    .strictObject({
        /** The switch: false keeps the settings but creates nothing. */
        enabled: z.boolean().default(true),
        /** Component name; default `<customerName>-api` (customer) or `<customerName>-workers-api` (firefly). */
        name: dnsLabel.optional(),
        description: z.string().optional(),
        /** Create an execute-api endpoint (default). false: only `existingEndpointIds` reach the API. */
        createEndpoint: z.boolean().default(true),
        vpcId: z.string().optional(),
        subnetIds: z.array(z.string()).min(1).optional(),
        /** Callers allowed on 443 of the endpoint. Firefly default: sourceSecurityGroupIds. */
        callerSecurityGroupIds: z.array(z.string()).optional(),
        callerCidrs: z.array(z.string()).optional(),
        privateDnsEnabled: z.boolean().optional(),
        existingEndpointIds: z.array(z.string()).optional(),
        allowedPrincipals: z.array(z.string()).optional(),
        stageName: z.string().optional(),
        throttling: z.strictObject({ rateLimit: z.number().optional(), burstLimit: z.number().int().optional() }).optional(),
        accessLogRetentionInDays: z.number().int().optional(),
        executionLogLevel: z.enum(["OFF", "ERROR", "INFO"]).optional(),
        securityPolicy: z.string().optional(),
        endpointAccessMode: z.enum(["STRICT", "BASIC"]).optional(),
        manageAccountCloudWatchRole: z.boolean().optional(),
        customDomain: z
            .strictObject({ domainName: z.string(), certificateArn: z.string(), basePath: z.string().optional(), privateZoneId: z.string().optional() })
            .optional(),
        routes: z.array(apiRoute).min(1, "must list at least one route"),
        authorizers: z.record(z.string(), apiAuthorizer).optional(),
    })
    .refine((api) => api.createEndpoint || (api.existingEndpointIds?.length ?? 0) > 0, {
        message: "with createEndpoint: false, list the execute-api endpoints that may reach the API in existingEndpointIds",
        path: ["existingEndpointIds"],
    });

export type PrivateApiConfig = z.infer<typeof privateApi>;

/**
 * The tunnel connector (components/tunnel/tunnelConnector.ts) on the customer side. Route and relay values
 * are checked in depth by the agent's own config schema inside the component.
 */
const tunnelConnector = z.strictObject({
    /** The switch: false keeps the settings but creates nothing. */
    enabled: z.boolean().default(true),
    /** Component name; default `<customerName>-tunnel`. */
    name: dnsLabel.optional(),
    count: z.number().int().optional(),
    /** Private subnets of the hosts; default the stack's subnetIds. */
    subnetIds: z.array(z.string()).min(1).optional(),
    instanceType: z.string().optional(),
    amiId: z.string().optional(),
    user: z.string().optional(),
    /** Relays; default the firefly stack's tunnelRelay output (fireflyStack). */
    relays: z
        .array(
            z.strictObject({
                host: z.string(),
                port: z.number().int().optional(),
                hostKeys: z.array(z.string()).min(1, "pin at least one relay host key"),
                cidrs: z.array(z.string()).optional(),
                name: z.string().optional(),
            }),
        )
        .min(1)
        .optional(),
    /** Routes and the dynamic route: the agent's own schemas (connector/spec), so errors name this stack's keys. */
    routes: z.array(routeSchema).default([]),
    dynamic: dynamicSchema.optional(),
    targetCidrs: z.array(z.string()).optional(),
    dnsResolverCidrs: z.array(z.string()).optional(),
    awsApiEgress: z
        .strictObject({ cidrBlocks: z.array(z.string()).optional(), prefixListIds: z.array(z.string()).optional(), securityGroupIds: z.array(z.string()).optional() })
        .optional(),
    /** The agent's key and certificate: secret values (pulumi config set --secret --path) or existing secrets' ARNs. */
    identity: z.union([
        z.strictObject({ privateKeySecretArn: z.string(), certificateSecretArn: z.string(), kmsKeyArn: z.string().optional() }),
        z.strictObject({ privateKey: z.string(), certificate: z.string(), kmsKeyArn: z.string().optional() }),
    ]),
    logRetentionInDays: z.number().int().optional(),
    /** SNS topic told when no agent is ready. */
    alarmTopicArn: z.string().optional(),
});

/** The SSH relay (components/tunnel/tunnelRelay.ts) on the firefly side. */
const tunnelRelay = z.strictObject({
    enabled: z.boolean().default(true),
    /** Component name; default `relay` (the policy config's exceptions name `relay-nlb` and `relay-ssh-from-anywhere`). */
    name: dnsLabel.default("relay"),
    /** Public subnets for the internet-facing NLB, one per AZ. */
    publicSubnetIds: z.array(z.string()).min(1, "must list the public subnets of the relay's NLB"),
    /** Private subnets of the relay hosts; default the stack's subnetIds. */
    subnetIds: z.array(z.string()).min(1).optional(),
    count: z.number().int().optional(),
    instanceType: z.string().optional(),
    amiId: z.string().optional(),
    /** The platform user CA's public key (ssh-ed25519 AAAA…). */
    userCaPublicKey: z.string(),
    customers: z
        .array(
            z.strictObject({
                name: z.string(),
                principal: z.string(),
                listen: z.array(hostPortText()).min(1),
                permitOpen: z.array(hostPortText()).optional(),
            }),
        )
        .min(1, "must list at least one customer"),
    /**
     * Keys the relays refuse: public key or certificate lines (a certificate line refuses its key).
     * Checked here with the relay generator's own schema so that the error names this key
     * (TunnelRelay checks them again, with the CA guard, but names only its own argument).
     */
    revokedKeys: z.array(publicKeyLine({ certificates: true, fix: "paste the agent's agent_key.pub or agent_key-cert.pub line" })).optional(),
    /** Who may reach customers' forwarded ports (through the internal platform NLB); default sourceSecurityGroupIds. */
    platformSecurityGroupIds: z.array(z.string()).optional(),
    gatewayPorts: z.enum(["no", "clientspecified"]).optional(),
    hairpinTargetCidrs: z.array(z.string()).optional(),
    awsApiEgressCidrs: z.array(z.string()).optional(),
    loginUser: z.string().optional(),
});

export type TunnelConnectorConfig = z.infer<typeof tunnelConnector>;
export type TunnelRelayConfig = z.infer<typeof tunnelRelay>;

const customerConfigSchema = z.strictObject({
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
    privateApi: privateApi
        .refine((api) => !api.createEndpoint || (api.callerSecurityGroupIds?.length ?? 0) + (api.callerCidrs?.length ?? 0) > 0, {
            message: "must name who may call the API: callerSecurityGroupIds (the callers' security groups) or callerCidrs",
            path: ["callerSecurityGroupIds"],
        })
        .optional(),
    tunnel: tunnelConnector.optional(),
}).refine((c) => !c.tunnel?.enabled || c.tunnel.relays !== undefined || c.fireflyStack !== undefined, {
    message: "needs relays to connect to: set fireflyStack (the relay's outputs are read from it) or list tunnel.relays",
    path: ["tunnel", "relays"],
});

const fireflyConfigSchema = z
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
        privateApi: privateApi.optional(),
        tunnel: tunnelRelay.optional(),
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
