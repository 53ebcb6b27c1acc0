import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { methods } from "../components/api/privateApiRoutes";
import { awsRegions, isAwsRegion } from "../components/privatelink/regions";
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
/**
 * An AWS region, from the provider's list. Refused here, naming the key: a typo would otherwise
 * reach AWS (which refuses unknown regions) or, worse, the AZ placement, whose message points elsewhere.
 */
const awsRegion = z.string().refine(isAwsRegion, {
    error: (issue) => `${JSON.stringify(issue.input)} is not an AWS region; use one of ${awsRegions.join(", ")}`,
});

const common = {
    role: z.enum(["customer", "firefly"]),
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
    /** The customer's HTTP CONNECT proxy to the relays, http://host:port (no credentials: see the README). */
    proxy: z.string().optional(),
    /** IPv4 CIDRs the proxy is in, when proxy names a host rather than an address. */
    proxyCidrs: z.array(z.string()).optional(),
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
    customerName: dnsLabel,
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
        /** Other regions whose consumers may connect (cross-region PrivateLink): the platform stack's region, for one. */
        supportedRegions: z.array(awsRegion).optional(),
        notificationTopicArn: z.string().optional(),
        /** The platform VPC's CIDR blocks: the only sources the NLB admits PrivateLink traffic from. */
        clientCidrs: z.array(z.string()).optional(),
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

const connectivityCheck = z
    .strictObject({
        runFrom: z.enum(["lambda", "runner", "off"]).default("lambda"),
        port: z.number().int().optional(),
        servername: z.string().optional(),
        httpHeadPath: z.union([z.string(), z.literal(false)]).optional(),
        rejectUnauthorized: z.boolean().optional(),
    })
    .default({ runFrom: "lambda" });

/**
 * One customer of the platform stack: everything that is only this customer's (interface endpoint,
 * security group, flow logs, alias record, connectivity check, alarm, relay principal and ports).
 * Resources are named after `name`, never after the position in the list.
 */
const platformCustomer = z
    .strictObject({
        /** Names this customer's resources and, by default, its hostname `<name>.<privateZoneName>`. */
        name: dnsLabel,
        /** The customer stack whose `endpointServiceName`, `servicePorts` and AZ IDs are read. */
        stack: fullyQualifiedStack.optional(),
        /** The service name, when the customer stack cannot be read (or to pin it: it must then agree). */
        endpointServiceName: z.string().optional(),
        /**
         * The endpoint service's region when it is not this stack's (cross-region PrivateLink); the
         * customer stack must list this stack's region in privateLink.supportedRegions.
         */
        serviceRegion: awsRegion.optional(),
        /** AZ IDs the service offers (use1-az1…), when there is no customer stack to read them from. */
        availabilityZoneIds: z.array(z.string().regex(/^[a-z]{2,4}\d-az\d+$/, "must be an AZ ID like use1-az1 (AZ names differ per account)")).min(1).optional(),
        /** Ports to open; default: the customer stack's `servicePorts`. */
        ports: z.array(z.number().int()).min(1).optional(),
        /** The stable hostname; default `<name>.<privateZoneName>`. Must be one label in the private zone. */
        hostname: z.string().optional(),
        enablePrivateDns: z.boolean().default(false),
        connectivityCheck,
        /** This customer's relay principal and forwarded ports (merged into the relay's customer list). */
        tunnel: z
            .strictObject({
                principal: z.string(),
                listen: z.array(hostPortText()).min(1),
                permitOpen: z.array(hostPortText()).optional(),
            })
            .optional(),
        /** Alarm actions (SNS topic ARNs) for this customer; default the stack's `alarmActions`. */
        alarmActions: z.array(z.string()).optional(),
    })
    .refine((c) => c.stack !== undefined || c.endpointServiceName !== undefined, {
        message: "needs its service: set stack (the customer stack, org/private-connectivity/<stack>) or endpointServiceName",
        path: ["stack"],
    });

export type PlatformCustomerConfig = z.infer<typeof platformCustomer>;

/** The relay schema with its customer list optional: the platform's customers bring their own entries. */
const platformRelay = tunnelRelay.extend({ customers: z.array(tunnelRelay.shape.customers.element).optional() });

const fireflyConfigSchema = z.strictObject({
    ...common,
    role: z.literal("firefly"),
    /** Every customer this platform stack serves; onboarding is adding an entry. */
    customers: z.array(platformCustomer).min(1, "must list at least one customer, e.g. [{ name: acme, stack: org/private-connectivity/customer-dev }]"),
    sourceSecurityGroupIds: z.array(z.string()).min(1, "must list the platform services' security groups"),
    privateZoneName: z.string().default("privatelink.firefly.internal"),
    privateZoneId: z.string().optional(),
    flowLogRetentionDays: z.number().int().default(365),
    /** Where every customer's "endpoint not available" alarm notifies (SNS topic ARNs); default none. */
    alarmActions: z.array(z.string()).default([]),
    /**
     * The `customerName` of the single-customer config this stack was deployed with, if any: the
     * shared private zone then keeps the zone that customer's endpoint created (an alias), and the
     * workers' API keeps its name `<customerName>-workers-api`.
     */
    migratedFrom: z.strictObject({ customerName: dnsLabel }).optional(),
    privateApi: privateApi.optional(),
    tunnel: platformRelay.optional(),
});

/** Keys of the single-customer firefly config, and where each went in the customers list. */
export const legacyFireflyKeys: Record<string, string> = {
    customerName: "customers[0].name (and migratedFrom.customerName, so the shared zone and the workers API keep their resources)",
    customerStack: "customers[0].stack",
    endpointServiceName: "customers[0].endpointServiceName",
    serviceRegion: "customers[0].serviceRegion",
    endpointPorts: "customers[0].ports",
    enablePrivateDns: "customers[0].enablePrivateDns",
    connectivityCheck: "customers[0].connectivityCheck",
};

export type CustomerConfig = z.infer<typeof customerConfigSchema>;
export type FireflyConfig = z.infer<typeof fireflyConfigSchema>;
export type PlatformRelayConfig = z.infer<typeof platformRelay>;
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
    if (role === "firefly") {
        // The single-customer keys are refused, not silently ignored: each says where it moved.
        const legacy = Object.keys(legacyFireflyKeys).filter((key) => key in values);
        if (legacy.length > 0) {
            throw new StackConfigError(
                legacy.map(
                    (key) =>
                        `${project}:${key} is the single-customer form, no longer read by a firefly stack; move it to ${project}:${legacyFireflyKeys[key]} (README: "Migrating a single-customer platform stack")`,
                ),
            );
        }
    }
    const schema = role === "customer" ? customerConfigSchema : fireflyConfigSchema;
    const parsed = schema.safeParse(values);
    if (!parsed.success) {
        throw new StackConfigError(parsed.error.issues.map((issue) => describeIssue(project, issue)));
    }
    if (parsed.data.role === "firefly") {
        const problems = platformProblems(parsed.data, project);
        if (problems.length > 0) throw new StackConfigError(problems);
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

/** JSON Schema of each role's configuration (for docs and tests), generated from the zod schemas the program validates with. */
export function stackConfigJsonSchemas(): { customer: unknown; firefly: unknown } {
    const options = { io: "input", unrepresentable: "any" } as const;
    return { customer: z.toJSONSchema(customerConfigSchema, options), firefly: z.toJSONSchema(fireflyConfigSchema, options) };
}

/** Config keys each role accepts (for docs and tests). */
export const configKeys = {
    customer: keysBySchema(customerConfigSchema),
    firefly: keysBySchema(fireflyConfigSchema),
};

/** The stable hostname of a platform customer: its `hostname`, or `<name>.<privateZoneName>`. */
export function customerHostname(customer: PlatformCustomerConfig, zoneName: string): string {
    return customer.hostname ?? `${customer.name}.${zoneName}`;
}

/** Relay customers: each platform customer's `tunnel` entry, then the relay's own `tunnel.customers`. */
export function relayCustomers(config: FireflyConfig): Array<{ name: string; principal: string; listen: string[]; permitOpen?: string[]; key: string }> {
    const fromCustomers = config.customers.flatMap((c, i) =>
        c.tunnel ? [{ name: c.name, principal: c.tunnel.principal, listen: c.tunnel.listen, ...(c.tunnel.permitOpen ? { permitOpen: c.tunnel.permitOpen } : {}), key: `customers[${i}].tunnel` }] : [],
    );
    const fromRelay = (config.tunnel?.customers ?? []).map((c, j) => ({ ...c, key: `tunnel.customers[${j}]` }));
    return [...fromCustomers, ...fromRelay];
}

/**
 * Checks across the customers list that no single entry can see: unique names and hostnames,
 * relay ports and principals used by one customer only. Each problem names the key and the fix.
 */
function platformProblems(config: FireflyConfig, project: string): string[] {
    const problems: string[] = [];
    const firstBy = <T>(items: T[], keyOf: (item: T) => string | undefined, report: (item: T, i: number, first: number) => void) => {
        const seen = new Map<string, number>();
        items.forEach((item, i) => {
            const key = keyOf(item);
            if (key === undefined) return;
            const first = seen.get(key);
            if (first === undefined) seen.set(key, i);
            else report(item, i, first);
        });
    };
    firstBy(config.customers, (c) => c.name, (c, i, first) =>
        problems.push(`${project}:customers[${i}].name: "${c.name}" is already customers[${first}].name; names key every customer's resources, so give each customer its own name`),
    );
    const zone = config.privateZoneName;
    config.customers.forEach((c, i) => {
        if (c.hostname === undefined) return;
        const label = c.hostname.endsWith(`.${zone}`) ? c.hostname.slice(0, -zone.length - 1) : undefined;
        if (label === undefined || !patterns.dnsLabel.test(label)) {
            problems.push(`${project}:customers[${i}].hostname: must be one lower-case label in the private zone, <label>.${zone} (got ${JSON.stringify(c.hostname)})`);
        }
    });
    firstBy(config.customers, (c) => customerHostname(c, zone), (c, i, first) =>
        problems.push(`${project}:customers[${i}].hostname: ${customerHostname(c, zone)} is already customers[${first}]'s hostname; set customers[${i}].hostname to another name in ${zone}`),
    );
    const relay = relayCustomers(config);
    if (config.tunnel?.enabled && relay.length === 0) {
        problems.push(`${project}:tunnel: the relay has no customers; give a customer its relay principal and ports in customers[i].tunnel (or list them in tunnel.customers), or set tunnel.enabled false`);
    }
    firstBy(relay, (r) => r.name, (r, _i, first) =>
        problems.push(`${project}:${r.key}: the relay already has customer "${r.name}" from ${relay[first]!.key}; keep one of the two entries`),
    );
    const ports = relay.flatMap((r) => r.listen.map((listen, l) => ({ port: listen.slice(listen.lastIndexOf(":") + 1), name: r.name, key: `${r.key}.listen[${l}]` })));
    firstBy(ports, (p) => p.port, (p, _i, first) => {
        const other = ports[first]!;
        if (other.name !== p.name) {
            problems.push(`${project}:${p.key}: relay port ${p.port} is already ${other.name}'s (${other.key}); every customer needs its own relay ports, pick a free one`);
        }
    });
    return problems;
}

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
