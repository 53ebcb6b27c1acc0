// The connector's configuration: one validated schema, the single source of truth for the CLI,
// the docs (`firefly-connector schema` prints it as JSON Schema) and the Pulumi TunnelConnector
// component that renders the file. Pure: no I/O, no ssh2, nothing heavy, safe to import anywhere.
import { isAbsolute, resolve } from "node:path";
import YAML from "yaml";
import { z } from "zod";
import { formatHostPort, hostName, hostPortText, isLoopbackHost, parsedBy, parseHostPort, type HostPort } from "./address";
import { parseAllowRule, type AllowRule } from "./allowlist";
import { parsePinnedHostKey } from "./hostKeys";
import { proxySchema, type ProxyConfig } from "./proxy";
import { DEFAULT_CIPHERS, SUPPORTED_CIPHERS } from "./sshAlgorithms";

const routeName = z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, { error: "must be 1-63 letters, digits, '-' or '_' (it becomes a metric label)" });

const identitySchema = z
    .strictObject({
        privateKeyFile: z
            .string()
            .min(1)
            .describe("OpenSSH private key (ed25519 or RSA, unencrypted). Relative paths are relative to the config file."),
        certificateFile: z
            .string()
            .min(1)
            .optional()
            .describe(
                "OpenSSH user certificate for that key (`ssh-keygen -s ca -O clear -O permit-port-forwarding …` writes *-cert.pub). Omit for plain public key auth.",
            ),
    })
    .describe("How the agent authenticates to every relay.");

const relaySchema = z.strictObject({
    name: routeName.optional().describe("Label in logs and metrics. Default: host:port."),
    host: hostName.describe("Relay address (the agent only ever connects out to it)."),
    port: z.number().int().min(1).max(65535).default(22).describe("Relay sshd port."),
    hostKeys: z
        .array(parsedBy(parsePinnedHostKey))
        .min(1, { error: "pin at least one relay host key: the agent never accepts an unknown host key" })
        .describe('Pinned relay host keys: "SHA256:…" fingerprints (ssh-keygen -lf) or public key lines ("ssh-ed25519 AAAA…").'),
    proxy: z
        .union([z.literal("none"), proxySchema])
        .optional()
        .describe('This relay\'s proxy instead of the top-level proxy; "none" connects directly.'),
});

export const routeSchema = z.strictObject({
    name: routeName.describe("Route name, unique; used in logs and metric labels."),
    listen: hostPortText("the remote forward's listen address on the relay").describe(
        "Address:port the relay listens on for this route (must be in the relay's permitlisten for this customer).",
    ),
    target: hostPortText("the onward destination").describe(
        "Where forwarded connections go: from the agent's host (via: direct) or as seen from the relay (via: tunnel).",
    ),
    via: z
        .enum(["direct", "tunnel"])
        .default("direct")
        .describe("direct: connect from the agent's host. tunnel: open direct-tcpip back through the same SSH connection (hairpin)."),
});

export const dynamicSchema = z
    .strictObject({
        listen: hostPortText("the SOCKS5 listener on the relay").describe("Address:port on the relay where the reverse SOCKS5 route listens."),
        allow: z
            .array(parsedBy(parseAllowRule))
            .min(1, { error: "list at least one allowed destination; everything else is refused" })
            .describe('Destinations the SOCKS5 route may reach: "host:port", "*.suffix:port", "CIDR:port".'),
    })
    .describe("Reverse SOCKS5 (CONNECT only) served on a relay port, limited to an allowlist.");

/**
 * Reconnect backoff defaults. The first retry comes 100 to 200 ms after a loss, the next 200 to
 * 400 ms later, doubling: a relay that restarts in a second is found again within a few hundred
 * milliseconds, and a relay that stays down sees one attempt per 15 to 30 s after about 8 attempts.
 */
export const RECONNECT_DEFAULTS = { initialDelayMs: 200, maxDelayMs: 30_000 } as const;

export const connectorConfigSchema = z
    .strictObject({
        user: z
            .string()
            .regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, { error: "must be a POSIX user name (the login user on the relays)" })
            .describe("Login user on the relays (e.g. tunnel)."),
        identity: identitySchema,
        relays: z
            .array(relaySchema)
            .min(1, { error: "configure at least one relay" })
            .describe("One outbound SSH connection per relay; every route is forwarded on every relay."),
        proxy: proxySchema.optional(),
        routes: z.array(routeSchema).default([]).describe("Remote forwards, one per platform-facing service."),
        dynamic: dynamicSchema.optional(),
        keepalive: z
            .strictObject({
                intervalSeconds: z.number().positive().max(3600).default(15).describe("Seconds between SSH keepalive requests."),
                countMax: z
                    .number()
                    .int()
                    .min(1)
                    .max(100)
                    .default(3)
                    .describe("Unanswered keepalives before the connection is declared dead and re-established."),
            })
            .default({ intervalSeconds: 15, countMax: 3 }),
        reconnect: z
            .strictObject({
                initialDelayMs: z.number().int().min(10).max(600_000).default(RECONNECT_DEFAULTS.initialDelayMs).describe("First reconnect delay (jittered)."),
                maxDelayMs: z.number().int().min(10).max(3_600_000).default(RECONNECT_DEFAULTS.maxDelayMs).describe("Ceiling of the exponential backoff."),
            })
            .default(RECONNECT_DEFAULTS),
        health: z
            .strictObject({
                listen: hostPortText("the health/metrics HTTP listener")
                    .refine((text) => isLoopbackHost(parseHostPort(text)?.host ?? ""), {
                        error: "must be a loopback address (127.0.0.1, [::1] or localhost): the agent opens no listening socket on other addresses",
                    })
                    .describe("Loopback address:port serving /healthz, /readyz and /metrics."),
            })
            .optional(),
        shutdown: z
            .strictObject({
                gracePeriodSeconds: z
                    .number()
                    .min(0)
                    .max(3600)
                    .default(30)
                    .describe("On SIGTERM, how long in-flight streams may finish before they are cut."),
            })
            .default({ gracePeriodSeconds: 30 }),
        ciphers: z
            .array(z.enum(SUPPORTED_CIPHERS))
            .min(1, { error: `list at least one cipher, or leave ciphers out for ${DEFAULT_CIPHERS.join(", ")}` })
            .optional()
            .describe(`SSH ciphers the agent offers, in order of preference. Default: ${DEFAULT_CIPHERS.join(", ")} only (the relay generator accepts the same).`),
        connectTimeoutSeconds: z
            .number()
            .positive()
            .max(300)
            .default(15)
            .describe("Limit for TCP connect plus SSH handshake and authentication to a relay, and for onward connects."),
    })
    .superRefine((config, ctx) => {
        if (config.routes.length === 0 && !config.dynamic) {
            ctx.addIssue({ code: "custom", path: ["routes"], message: "configure at least one route or a dynamic route" });
        }
        const names = new Map<string, number>();
        const listens = new Map<string, string>();
        const claimListen = (listen: string, path: (string | number)[]) => {
            const key = canonicalHostPort(listen);
            const owner = listens.get(key);
            if (owner !== undefined) {
                ctx.addIssue({ code: "custom", path, message: `listen ${listen} is already used by ${owner}` });
            } else {
                listens.set(key, path.join("."));
            }
        };
        config.routes.forEach((route, index) => {
            const previous = names.get(route.name);
            if (previous !== undefined) {
                ctx.addIssue({ code: "custom", path: ["routes", index, "name"], message: `duplicate route name (also routes[${previous}])` });
            }
            names.set(route.name, index);
            claimListen(route.listen, ["routes", index, "listen"]);
        });
        if (config.dynamic) claimListen(config.dynamic.listen, ["dynamic", "listen"]);
        if (config.reconnect.maxDelayMs < config.reconnect.initialDelayMs) {
            ctx.addIssue({ code: "custom", path: ["reconnect", "maxDelayMs"], message: "must be at least reconnect.initialDelayMs" });
        }
        const relayKeys = new Set<string>();
        config.relays.forEach((relay, index) => {
            const label = relayLabel(relay);
            if (relayKeys.has(label)) ctx.addIssue({ code: "custom", path: ["relays", index], message: `duplicate relay ${label}` });
            relayKeys.add(label);
        });
    });

/** The config as written in a file (defaults not yet applied). */
export type ConnectorConfigInput = z.input<typeof connectorConfigSchema>;
/** The validated config with every default applied. */
export type ConnectorConfig = z.output<typeof connectorConfigSchema>;
export type RelayConfig = ConnectorConfig["relays"][number];
export type RouteConfig = ConnectorConfig["routes"][number];
export type DynamicRouteConfig = NonNullable<ConnectorConfig["dynamic"]>;

/** The name of the dynamic route in logs, metrics and readiness. */
export const DYNAMIC_ROUTE_NAME = "dynamic";

export interface ConfigProblem {
    /** Dotted path of the offending field, e.g. "relays[0].hostKeys[1]". */
    readonly field: string;
    readonly message: string;
}

export class ConnectorConfigError extends Error {
    constructor(readonly problems: readonly ConfigProblem[], source?: string) {
        super(
            `invalid connector config${source ? ` ${source}` : ""}:\n` +
                problems.map((p) => `  - ${p.field || "(top level)"}: ${p.message}`).join("\n"),
        );
        this.name = "ConnectorConfigError";
    }
}

function fieldPath(path: readonly PropertyKey[]): string {
    return path.reduce<string>((out, part) => (typeof part === "number" ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), "");
}

/**
 * Validates a config given as YAML/JSON text or as an object (what the Pulumi component builds).
 * Throws ConnectorConfigError listing every problem with the field it is in.
 */
export function parseConnectorConfig(input: string | unknown, source?: string): ConnectorConfig {
    let data: unknown = input;
    if (typeof input === "string") {
        const doc = YAML.parseDocument(input, { prettyErrors: true, uniqueKeys: true });
        if (doc.errors.length > 0) {
            throw new ConnectorConfigError(
                doc.errors.map((e) => ({ field: "", message: `not valid YAML/JSON: ${e.message.split("\n")[0]}` })),
                source,
            );
        }
        try {
            // Alias expansion happens here; the yaml library refuses "billion laughs" documents.
            data = doc.toJS({ maxAliasCount: 100 });
        } catch (err) {
            throw new ConnectorConfigError([{ field: "", message: `not a usable YAML/JSON document: ${(err as Error).message}` }], source);
        }
    }
    const result = connectorConfigSchema.safeParse(data);
    if (!result.success) {
        throw new ConnectorConfigError(
            result.error.issues.flatMap(explainIssue).map((issue) => ({
                field: fieldPath(issue.path),
                message:
                    issue.code === "invalid_type" && issue.message.endsWith("received undefined")
                        ? `is required (${issue.expected})`
                        : issue.message,
            })),
            source,
        );
    }
    return result.data;
}

/**
 * A union (a proxy given as a URL or as an object) fails as "Invalid input"; the branch that
 * matched the value's type has the useful message, so report that branch's issues instead.
 */
function explainIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
    if (issue.code !== "invalid_union") return [issue];
    const branch = issue.errors.find((issues) => issues.length > 0 && issues.every((i) => i.code !== "invalid_type" || i.path.length > 0));
    if (!branch) return [issue];
    return branch.flatMap(explainIssue).map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
}

/** Renders a parsed config (parseConnectorConfig's value) as the YAML file the agent reads. */
export function renderConnectorConfig(config: ConnectorConfig): string {
    return `# firefly-connector configuration (validated by connector/spec/agentConfig.ts)\n${YAML.stringify(config, { lineWidth: 0 })}`;
}

/** The config with identity paths made absolute, relative to the directory of the config file. */
export function resolveConfigPaths(config: ConnectorConfig, configDir: string): ConnectorConfig {
    const abs = (p: string) => (isAbsolute(p) ? p : resolve(configDir, p));
    const { privateKeyFile, certificateFile } = config.identity;
    const proxyPaths = <P extends ProxyConfig | "none" | undefined>(proxy: P): P =>
        typeof proxy === "object" && proxy.credentialsFile ? { ...proxy, credentialsFile: abs(proxy.credentialsFile) } : proxy;
    return {
        ...config,
        identity: { privateKeyFile: abs(privateKeyFile), ...(certificateFile ? { certificateFile: abs(certificateFile) } : {}) },
        ...(config.proxy ? { proxy: proxyPaths(config.proxy) } : {}),
        relays: config.relays.map((relay) => (relay.proxy ? { ...relay, proxy: proxyPaths(relay.proxy) } : relay)),
    };
}

/** Parses a host:port that the schema has already validated. */
export function hostPortOf(text: string): HostPort {
    const parsed = parseHostPort(text);
    if (!parsed) throw new Error(`internal: ${text} was not validated as host:port`);
    return parsed;
}

/** Parses an allow rule that the schema has already validated. */
export function allowRuleOf(text: string): AllowRule {
    const rule = parseAllowRule(text);
    if (typeof rule === "string") throw new Error(`internal: ${text} was not validated as an allow rule (${rule})`);
    return rule;
}

function canonicalHostPort(text: string): string {
    const parsed = parseHostPort(text);
    return parsed ? formatHostPort({ host: parsed.host.toLowerCase(), port: parsed.port }) : text;
}

export function relayLabel(relay: Pick<RelayConfig, "host" | "port"> & { name?: string | undefined }): string {
    return relay.name ?? formatHostPort({ host: relay.host, port: relay.port ?? 22 });
}

/** JSON Schema of the config file, for editors and docs (generated from the same zod schema). */
export function connectorConfigJsonSchema(): unknown {
    return z.toJSONSchema(connectorConfigSchema, { io: "input", unrepresentable: "any" });
}
