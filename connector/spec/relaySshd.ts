// The relay side: renders OpenSSH sshd_config and the authorized principals file for a list of
// customers. The connector tests start a real sshd with exactly this output, and the Pulumi
// TunnelRelay component renders its hosts' files with it. Pure: no I/O, no ssh2.
//
// Isolation model: every customer's agent logs in as the same forward-only user with an OpenSSH
// certificate. Certificates cannot carry listen limits, so each customer's principal gets one line
// in the principals file:   restrict,port-forwarding,permitlisten="…",permitopen="…" <principal>
// sshd allows a forward only when both that line and the global PermitListen/PermitOpen allow it;
// the global lists are the union of all customers, a second fence around the relay.
import { z } from "zod";
import { formatHostPort, hostName, hostPortText, parseHostPort } from "./address";
import type { ConnectorConfigInput } from "./agentConfig";
import { isPublicKeyProblem, parsePublicKeyLine } from "./hostKeys";
import { DEFAULT_CIPHERS, HOST_KEY_SIGNATURE_ALGORITHMS, KEX_ALGORITHMS, MAC_ALGORITHMS, SUPPORTED_CIPHERS } from "./sshAlgorithms";

// Tokens written into sshd_config / the principals file: no whitespace, quotes or commas, so a
// value can never end an option early or add a directive.
const safeToken = /^[^\s"',#]+$/;

/**
 * An OpenSSH public key line (a .pub file), or with `certificates` also a certificate line (a
 * *-cert.pub file; sshd's RevokedKeys compares only its key, so it revokes every certificate of that key).
 * `fix` is added to the message of a refused line (e.g. where the user finds the right one).
 */
export function publicKeyLine(options: { certificates: boolean; fix?: string }) {
    return z.string().superRefine((text, ctx) => {
        const parsed = parsePublicKeyLine(text, options);
        if (isPublicKeyProblem(parsed)) ctx.addIssue({ code: "custom", message: options.fix ? `${parsed.message}; ${options.fix}` : parsed.message });
    });
}

export const relayCustomerSchema = z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "must be 1-64 letters, digits, '.', '_' or '-'" }),
    principal: z
        .string()
        .regex(/^[A-Za-z0-9._@+=-]{1,128}$/, { error: "must be 1-128 characters from A-Z a-z 0-9 . _ @ + = -" })
        .describe("Certificate principal of this customer's agents (ssh-keygen -n)."),
    listen: z.array(hostPortText()).min(1, { error: "a customer needs at least one listen address" }).describe("Relay listen addresses (routes and dynamic)."),
    permitOpen: z.array(hostPortText()).default([]).describe("Destinations the hairpin (via: tunnel) may open from the relay."),
    publicKeys: z
        .array(publicKeyLine({ certificates: false }))
        .default([])
        .describe("Plain public keys of agents that do not use certificates (same restrictions as the principal)."),
});

export const relaySshdOptionsSchema = z.strictObject({
    port: z.number().int().min(1).max(65535).default(22),
    listenAddresses: z
        .array(hostName)
        .min(1)
        .default(["0.0.0.0"]),
    hostKeyFiles: z.array(z.string().regex(safeToken, { error: "must be a path without spaces or quotes" })).min(1),
    trustedUserCaKeysFile: z.string().regex(safeToken, { error: "must be a path without spaces or quotes" }),
    authorizedPrincipalsFile: z.string().regex(safeToken, { error: "must be a path without spaces or quotes" }),
    authorizedKeysFile: z
        .string()
        .regex(safeToken, { error: "must be a path without spaces or quotes" })
        .optional()
        .describe("Where the plain-key lines go; needed only when a customer lists publicKeys."),
    revokedKeysFile: z
        .string()
        .regex(safeToken, { error: "must be a path without spaces or quotes" })
        .optional()
        .describe("sshd's RevokedKeys file. When set, write `revokedKeys` there even when empty: sshd refuses every public key login if the file is missing or unreadable."),
    revokedKeys: z
        .array(publicKeyLine({ certificates: true }))
        .default([])
        .describe("Public key or certificate lines sshd refuses (a certificate line refuses its key). Needs revokedKeysFile."),
    loginUser: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, { error: "must be a POSIX user name" }).default("tunnel"),
    pidFile: z.string().regex(safeToken).optional(),
    logLevel: z.enum(["INFO", "VERBOSE", "DEBUG"]).default("VERBOSE").describe("VERBOSE logs the certificate ID and principal of every login."),
    // Frees a vanished agent's listen ports for the reconnecting one. Each probe on a session whose
    // agent has gone draws a TCP reset from the agent's host, so after a network cut the old
    // session ends within one interval of the link returning: 1 s, the delay before routes bind
    // again. A silent path (no reset) takes interval x count. A live agent answers each probe.
    clientAliveIntervalSeconds: z.number().int().min(1).default(1),
    clientAliveCountMax: z.number().int().min(1).default(10),
    gatewayPorts: z
        .enum(["no", "clientspecified"])
        .default("no")
        .describe("no: remote forwards bind loopback only. clientspecified: honour the listen address (platform proxy on another host)."),
    strictModes: z.boolean().default(true),
    ciphers: z
        .array(z.enum(SUPPORTED_CIPHERS))
        .min(1)
        .default([...DEFAULT_CIPHERS])
        .describe("Ciphers sshd accepts; default what the agent offers by default (aes256-gcm@openssh.com)."),
    customers: z.array(relayCustomerSchema).min(1),
});

export type RelayCustomer = z.input<typeof relayCustomerSchema>;
export type RelaySshdOptions = z.input<typeof relaySshdOptionsSchema>;

export interface RenderedRelay {
    readonly sshdConfig: string;
    /** Contents for `authorizedPrincipalsFile` (root-owned, mode 0644). */
    readonly authorizedPrincipals: string;
    /** Contents for `authorizedKeysFile`, when one is configured. */
    readonly authorizedKeys?: string;
    /** Contents for `revokedKeysFile`, when one is configured (a header alone when nothing is revoked). */
    readonly revokedKeys?: string;
}

// permitopen has no "none" form in a principals file, and a customer without hairpin routes must
// not inherit the other customers' permitopen. A name in RFC 6761's .invalid domain never matches
// a real request, so this pin allows nothing.
const NOTHING_TO_OPEN = "nothing.invalid:1";

/** What renderRelay returns when given a revokedKeysFile: the file's contents, always. */
export type RenderedRelayWithRevokedKeys = RenderedRelay & { readonly revokedKeys: string };

/** Renders sshd_config and the authorized principals file; throws naming the field on bad input. */
export function renderRelay(options: RelaySshdOptions & { revokedKeysFile: string }): RenderedRelayWithRevokedKeys;
export function renderRelay(options: RelaySshdOptions): RenderedRelay;
export function renderRelay(options: RelaySshdOptions): RenderedRelay {
    const parsed = relaySshdOptionsSchema.safeParse(options);
    if (!parsed.success) {
        throw new Error(
            `invalid relay options:\n${parsed.error.issues.map((i) => `  - ${i.path.join(".") || "(top level)"}: ${i.message}`).join("\n")}`,
        );
    }
    const o = parsed.data;
    checkCustomersDisjoint(o.customers);
    if (!o.authorizedKeysFile && o.customers.some((c) => c.publicKeys.length > 0)) {
        throw new Error("invalid relay options: authorizedKeysFile: required when a customer lists publicKeys");
    }
    if (!o.revokedKeysFile && o.revokedKeys.length > 0) {
        throw new Error("invalid relay options: revokedKeysFile: required when revokedKeys lists keys");
    }

    const allListens = unique(o.customers.flatMap((c) => c.listen.map(canonical)));
    const allOpens = unique(o.customers.flatMap((c) => c.permitOpen.map(canonical)));

    const lines = [
        "# Generated by firefly-connector (connector/spec/relaySshd.ts). Do not edit: regenerate.",
        `Port ${o.port}`,
        ...o.listenAddresses.map((a) => `ListenAddress ${a.includes(":") ? `[${a}]` : a}`),
        ...o.hostKeyFiles.map((f) => `HostKey ${f}`),
        ...(o.pidFile ? [`PidFile ${o.pidFile}`] : []),
        `LogLevel ${o.logLevel}`,
        "",
        "# Algorithms: the ones connector/spec/sshAlgorithms.ts makes the agent offer, nothing older.",
        `Ciphers ${o.ciphers.join(",")}`,
        `KexAlgorithms ${KEX_ALGORITHMS.join(",")}`,
        `MACs ${MAC_ALGORITHMS.join(",")}`,
        `HostKeyAlgorithms ${HOST_KEY_SIGNATURE_ALGORITHMS.join(",")}`,
        "",
        "# Authentication: public keys only: certificates from the platform CA (and listed plain keys).",
        `TrustedUserCAKeys ${o.trustedUserCaKeysFile}`,
        ...(o.revokedKeysFile ? [`RevokedKeys ${o.revokedKeysFile}`] : []),
        `AuthorizedPrincipalsFile ${o.authorizedPrincipalsFile}`,
        `AuthorizedKeysFile ${o.authorizedKeysFile ?? "none"}`,
        "AuthenticationMethods publickey",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "HostbasedAuthentication no",
        "PermitRootLogin no",
        "PermitEmptyPasswords no",
        `AllowUsers ${o.loginUser}`,
        "UsePAM no",
        `StrictModes ${o.strictModes ? "yes" : "no"}`,
        "",
        "# No shell, no sessions: MaxSessions 0 refuses shell/exec/subsystem but still allows forwarding.",
        "MaxSessions 0",
        "PermitTTY no",
        "PermitUserRC no",
        "PermitUserEnvironment no",
        "X11Forwarding no",
        "AllowAgentForwarding no",
        "AllowStreamLocalForwarding no",
        "PermitTunnel no",
        "PrintMotd no",
        "",
        "# 'yes', not 'remote': the hairpin (via: tunnel) needs direct-tcpip, limited by PermitOpen.",
        "AllowTcpForwarding yes",
        `GatewayPorts ${o.gatewayPorts}`,
        `PermitListen ${allListens.length ? allListens.join(" ") : "none"}`,
        `PermitOpen ${allOpens.length ? allOpens.join(" ") : "none"}`,
        "",
        "# Detect vanished agents so their listen ports are freed for the reconnecting agent.",
        "# UnusedConnectionTimeout stays unset: it does not count remote-forward listeners as open channels.",
        `ClientAliveInterval ${o.clientAliveIntervalSeconds}`,
        `ClientAliveCountMax ${o.clientAliveCountMax}`,
        "TCPKeepAlive yes",
        "",
    ];

    const header = "# Generated by firefly-connector (connector/spec/relaySshd.ts). Do not edit: regenerate.";
    const principals = [
        header,
        ...o.customers.flatMap((customer) => [`# customer ${customer.name}`, `${customerRestrictions(customer)} ${customer.principal}`]),
        "",
    ];
    const keys = [
        header,
        ...o.customers.flatMap((customer) => customer.publicKeys.map((key) => `${customerRestrictions(customer)} ${key.trim()}`)),
        "",
    ];
    // A text list, not a KRL: sshd reads a file without the KRL magic as one key per line and
    // skips '#' lines, so an empty list is a header alone (tested with sshd).
    const revoked = [
        header,
        "# Keys sshd refuses: one public key or certificate line each (a certificate line refuses its key).",
        ...o.revokedKeys.map((line) => line.trim()),
        "",
    ];
    return {
        sshdConfig: lines.join("\n"),
        authorizedPrincipals: principals.join("\n"),
        ...(o.authorizedKeysFile ? { authorizedKeys: keys.join("\n") } : {}),
        ...(o.revokedKeysFile ? { revokedKeys: revoked.join("\n") } : {}),
    };
}

/** The key options that confine one customer: forwarding only, to its own ports and targets. */
function customerRestrictions(customer: { listen: string[]; permitOpen: string[] }): string {
    return [
        "restrict",
        "port-forwarding",
        ...customer.listen.map((l) => `permitlisten="${canonical(l)}"`),
        ...(customer.permitOpen.length ? customer.permitOpen.map((t) => `permitopen="${canonical(t)}"`) : [`permitopen="${NOTHING_TO_OPEN}"`]),
    ].join(",");
}

/**
 * What a customer's relay entry must grant for a given connector config: every route and the
 * dynamic route listen, and the hairpin targets may be opened.
 */
export function relayCustomerForConnector(name: string, principal: string, config: Pick<ConnectorConfigInput, "routes" | "dynamic">): RelayCustomer {
    const routes = config.routes ?? [];
    return {
        name,
        principal,
        listen: [...routes.map((r) => r.listen), ...(config.dynamic ? [config.dynamic.listen] : [])],
        permitOpen: unique(routes.filter((r) => r.via === "tunnel").map((r) => r.target)),
    };
}

function canonical(text: string): string {
    const hp = parseHostPort(text);
    if (!hp) throw new Error(`internal: ${text} was not validated`);
    return formatHostPort(hp);
}

function unique(values: string[]): string[] {
    return [...new Set(values)];
}

function checkCustomersDisjoint(customers: readonly { name: string; principal: string; listen: string[] }[]): void {
    const owners = new Map<string, string>();
    const principals = new Map<string, string>();
    for (const customer of customers) {
        const other = principals.get(customer.principal);
        if (other !== undefined) throw new Error(`invalid relay options: customers ${other} and ${customer.name} share principal ${customer.principal}`);
        principals.set(customer.principal, customer.name);
        for (const listen of customer.listen) {
            // Ports are what isolates customers: two customers on one port would share a listener.
            const port = String(parseHostPort(listen)?.port);
            const owner = owners.get(port);
            if (owner !== undefined && owner !== customer.name) {
                throw new Error(`invalid relay options: customers ${owner} and ${customer.name} both listen on port ${port}`);
            }
            owners.set(port, customer.name);
        }
    }
}
