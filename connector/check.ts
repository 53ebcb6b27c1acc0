// `firefly-connector check`: proves a config end to end without serving traffic. The private key
// file is private; the health port can be bound. For every relay: connect, verify the pinned host
// key, authenticate, request and release each forward, and open and close a direct-tcpip channel
// to each hairpin target.
import { readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { certificateExpiryNotice } from "./certificateExpiry";
import { certificateValidityProblem, loadIdentity, type Identity } from "./ssh2/certAuth";
import { type ConnectorConfig, hostPortOf, relayLabel } from "./spec";
import { proxyLabelFor } from "./proxyConnect";
import type { Logger } from "./log";
import { RelayError, type RelayConnection } from "./relayConnection";
import { connectToRelay } from "./supervisor";
import { RouteTable } from "./routes";
import { StreamTracker } from "./forwarding";
import { ConnectorMetrics } from "./metrics";

export interface CheckResult {
    readonly ok: boolean;
    /** Human-readable report, one finding per line. */
    readonly lines: readonly string[];
}

export async function runCheck(config: ConnectorConfig, log: Logger): Promise<CheckResult> {
    const lines: string[] = [];
    let ok = true;
    const exposed = privateKeyExposure(config.identity.privateKeyFile);
    if (exposed) return { ok: false, lines: [`identity: ${exposed}`, "check FAILED"] };
    let identity: Identity;
    try {
        identity = await loadIdentity(config.identity);
    } catch (err) {
        return { ok: false, lines: [`identity: ${(err as Error).message}`] };
    }
    const cert = identity.certificate;
    lines.push(
        cert
            ? `identity: ${identity.summary.keyType} ${identity.summary.keyFingerprint}, certificate '${cert.keyId}' (serial ${cert.serial}, principals ${cert.principals.join(", ")}, valid until ${cert.validBefore?.toISOString() ?? "forever"})`
            : `identity: ${identity.summary.keyType} ${identity.summary.keyFingerprint} (plain public key, no certificate)`,
    );
    const validity = cert ? certificateValidityProblem(cert, new Date()) : undefined;
    if (validity) lines.push(`  warning: ${validity}`);
    const expiry = cert && !validity ? certificateExpiryNotice(cert, new Date()) : undefined;
    if (expiry) lines.push(`  warning: ${expiry.message}`);

    // Only the listen addresses are needed; forwarded connections during a check are refused.
    const routes = new RouteTable(config, { log, metrics: new ConnectorMetrics(), tracker: new StreamTracker() });
    routes.stopAccepting();

    if (config.health) {
        const health = hostPortOf(config.health.listen);
        const problem = await bindProblem(health.host, health.port);
        if (problem) ok = false;
        lines.push(
            problem
                ? `health ${config.health.listen}: CANNOT BIND (${problem}): run would exit 1; is another process (a running agent?) holding it?`
                : `health ${config.health.listen}: can be bound`,
        );
    }
    const hairpins = config.routes.filter((route) => route.via === "tunnel");

    for (const [index, relay] of config.relays.entries()) {
        const label = relayLabel(relay);
        let connection: RelayConnection;
        try {
            connection = await connectToRelay(config, index, identity, { log, onForwardedConnection: (conn) => routes.dispatch(conn) });
        } catch (err) {
            ok = false;
            lines.push(`relay ${label}: FAILED (${err instanceof RelayError ? err.kind : "error"}): ${(err as Error).message}`);
            continue;
        }
        const via = proxyLabelFor(relay, config.proxy);
        lines.push(`relay ${label}: connected${via ? ` through proxy ${via}` : ""}, host key ${connection.hostKeyFingerprint} pinned, authenticated as ${config.user}`);
        const n = connection.negotiated;
        if (n) lines.push(`  algorithms: cipher ${n.cipher} (relay to agent ${n.cipherIn}), mac ${n.mac}, kex ${n.kex}, host key ${n.hostKey}`);
        for (const listen of routes.listens) {
            const where = `${listen.host}:${listen.port}`;
            try {
                await connection.requestForward(listen.host, listen.port);
                await connection.cancelForward(listen.host, listen.port);
                lines.push(`  route ${listen.route} (${where}): forward granted and released`);
            } catch (err) {
                ok = false;
                lines.push(
                    `  route ${listen.route} (${where}): REFUSED by the relay (${(err as Error).message}): not in this customer's permitlisten, or the port is in use on the relay`,
                );
            }
        }
        for (const route of hairpins) {
            const target = hostPortOf(route.target);
            try {
                await connection.probeDirectTcpip(target.host, target.port);
                lines.push(`  route ${route.name} hairpin to ${route.target}: direct-tcpip channel opened and closed`);
            } catch (err) {
                ok = false;
                lines.push(
                    `  route ${route.name} hairpin to ${route.target}: REFUSED (${(err as Error).message}): not in this customer's permitopen on the relay, or nothing listens there`,
                );
            }
        }
        connection.end();
        await connection.closed;
    }
    lines.push(ok ? "check passed" : "check FAILED");
    return { ok, lines };
}

/**
 * Why the private key file is readable by more than its owner, with the chmod that fixes it; as
 * OpenSSH's ssh, a key owned by someone else (root) may be readable by the agent's group, which is
 * how the hosts share it with the service user. `check` and `run` both refuse what this returns.
 */
export function privateKeyExposure(file: string): string | undefined {
    let mode: number;
    let uid: number;
    let gid: number;
    try {
        ({ mode, uid, gid } = statSync(file));
    } catch {
        return undefined; // loadIdentity reports a missing or unreadable file with its field.
    }
    const octal = (mode & 0o777).toString(8).padStart(4, "0");
    if (mode & 0o007) return `identity.privateKeyFile ${file} is readable or writable by others (mode ${octal}): chmod o-rwx ${file}`;
    if (mode & 0o070 && uid === process.getuid?.()) {
        if (uid === 0 && gid !== 0) {
            // The hosts' layout (root-owned, 0640, the service user's group) seen by root: OpenSSH
            // would refuse the key to root too, but chmod 600 would lock the service user out.
            const group = groupName(gid) ?? String(gid);
            return (
                `identity.privateKeyFile ${file} is root's and readable by group '${group}' (mode ${octal}), as the hosts share it ` +
                `with the service user; as its owner, root may not use it (OpenSSH's rule). Run this as the user the agent runs as ` +
                `(runuser -u <that user> -- firefly-connector check --config FILE), or, for a key only root uses: chmod 600 ${file}`
            );
        }
        return `identity.privateKeyFile ${file} is accessible by its group (mode ${octal}): chmod 600 ${file}`;
    }
    return undefined;
}

/** The name of group `gid` from /etc/group, if it has one. */
function groupName(gid: number): string | undefined {
    try {
        for (const line of readFileSync("/etc/group", "utf8").split("\n")) {
            const [name, , id] = line.split(":");
            if (name && id !== undefined && Number(id) === gid) return name;
        }
    } catch {
        // no /etc/group: the number will do
    }
    return undefined;
}

/** Binds host:port and lets it go again: undefined when that works, else the error code (also the test lab's freePort). */
export function bindProblem(host: string, port: number): Promise<string | undefined> {
    return new Promise((resolve) => {
        const server = createServer();
        server.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
    });
}
