// `firefly-connector check`: proves a config end to end without serving traffic. For every relay:
// connect, verify the pinned host key, authenticate, then request and release each forward.
import { certificateValidityProblem, loadIdentity, type Identity } from "./ssh2/certAuth";
import { type ConnectorConfig, HostKeyPins, relayLabel } from "./spec";
import type { Logger } from "./log";
import { RelayConnection, RelayError } from "./relayConnection";
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

    // Only the listen addresses are needed; forwarded connections during a check are refused.
    const routes = new RouteTable(config, { log, metrics: new ConnectorMetrics(), tracker: new StreamTracker() });
    routes.stopAccepting();

    for (const [index, relay] of config.relays.entries()) {
        const label = relayLabel(relay);
        let connection: RelayConnection;
        try {
            connection = await RelayConnection.open({
                label,
                host: relay.host,
                port: relay.port,
                user: config.user,
                identity,
                pins: new HostKeyPins(relay.hostKeys),
                pinsField: `relays[${index}].hostKeys`,
                keepaliveIntervalMs: config.keepalive.intervalSeconds * 1000,
                keepaliveCountMax: config.keepalive.countMax,
                ciphers: config.ciphers,
                connectTimeoutMs: config.connectTimeoutSeconds * 1000,
                log,
                onForwardedConnection: (conn) => routes.dispatch(conn),
            });
        } catch (err) {
            ok = false;
            lines.push(`relay ${label}: FAILED (${err instanceof RelayError ? err.kind : "error"}): ${(err as Error).message}`);
            continue;
        }
        lines.push(`relay ${label}: connected, host key ${connection.hostKeyFingerprint} pinned, authenticated as ${config.user}`);
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
        connection.end();
        await connection.closed;
    }
    lines.push(ok ? "check passed" : "check FAILED");
    return { ok, lines };
}
