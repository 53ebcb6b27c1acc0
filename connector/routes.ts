// Where a forwarded connection goes. The relay tells us which of our remote forwards a connection
// arrived on; the route decides the onward path:
//   via: direct   TCP from the agent's host to the target
//   via: tunnel   a direct-tcpip channel back through the same SSH connection (the hairpin)
//   dynamic       SOCKS5, then TCP to an allowlisted destination
// For direct and tunnel the onward connection is opened before the channel is accepted (as
// OpenSSH's ssh -R does), so a dead target is a prompt channel-open failure on the relay side.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import { Allowlist, type ConnectorConfig, DYNAMIC_ROUTE_NAME, hostPortOf } from "./spec";
import { OnwardConnectError, connectOnward, releaseAfterFlush, splice, type OutputGate, type StreamTracker } from "./forwarding";
import type { Logger } from "./log";
import type { ConnectorMetrics } from "./metrics";
import { SocksProtocolError, SocksReply, readSocksRequest, replySocks, socksReplyForConnectError, type SocksRequest } from "./socks5";

/** One connection the relay forwarded to us (ssh2's 'tcp connection' event, plus the hairpin). */
export interface ForwardedConnection {
    readonly relay: string;
    /** The listen address:port it arrived on, as we requested it. */
    readonly listenHost: string;
    readonly listenPort: number;
    /** The platform-side client, as the relay saw it. */
    readonly sourceIp: string;
    readonly sourcePort: number;
    /** Confirms the channel; undefined when the SSH connection ended meanwhile (nothing to carry). */
    accept(): Duplex | undefined;
    reject(): void;
    /** Opens direct-tcpip to host:port as seen from the relay, on the same SSH connection. */
    openThroughRelay(host: string, port: number): Promise<Duplex>;
    /** Backpressure of the SSH connection the channel rides on (shared by all its channels). */
    readonly output?: OutputGate;
    /** The streams of the SSH connection the channel rides on, drained alone when a reload retires it. */
    readonly streams?: StreamTracker;
}

/** A remote forward every relay connection requests. */
export interface RouteListen {
    readonly route: string;
    readonly host: string;
    readonly port: number;
}

export function listenKey(host: string, port: number): string {
    return `${host}:${port}`;
}

type RouteHandler = (conn: ForwardedConnection) => Promise<void>;

export interface RouteTableDeps {
    readonly log: Logger;
    readonly metrics: ConnectorMetrics;
    readonly tracker: StreamTracker;
}

// A SOCKS client that has not finished its request by then is either broken or hostile.
const SOCKS_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface RouteChanges {
    /** Listens to request on every relay connection. */
    readonly added: readonly RouteListen[];
    /** Listens to cancel; streams already carried on them are untouched. */
    readonly removed: readonly RouteListen[];
    /** Routes whose listen stays but whose target, via or allowlist changed (new connections only). */
    readonly retargeted: readonly string[];
}

interface RouteEntry {
    readonly route: string;
    /** What the route does, to tell a changed route from an unchanged one on reload. */
    readonly definition: string;
    readonly handle: RouteHandler;
}

export class RouteTable {
    private current: readonly RouteListen[] = [];
    private handlers = new Map<string, RouteEntry>();
    private accepting = true;
    private connectTimeoutMs = 0;

    constructor(config: ConnectorConfig, private readonly deps: RouteTableDeps) {
        this.replace(config);
    }

    /** The remote forwards every relay connection requests. */
    get listens(): readonly RouteListen[] {
        return this.current;
    }

    /** True while `listen` (route and address) is part of the table. */
    has(listen: RouteListen): boolean {
        return this.handlers.get(listenKey(listen.host, listen.port))?.route === listen.route;
    }

    /**
     * Switches to the routes of `config` (a reload). Connections already carried keep their
     * streams; new connections on a kept listen go where the new config says.
     */
    replace(config: ConnectorConfig): RouteChanges {
        this.connectTimeoutMs = config.connectTimeoutSeconds * 1000;
        const listens: RouteListen[] = [];
        const handlers = new Map<string, RouteEntry>();
        for (const route of config.routes) {
            const listen = hostPortOf(route.listen);
            const target = hostPortOf(route.target);
            listens.push({ route: route.name, ...listen });
            const handle: RouteHandler =
                route.via === "direct"
                    ? (conn) => this.forwardDirect(route.name, conn, target.host, target.port)
                    : (conn) => this.forwardThroughRelay(route.name, conn, target.host, target.port);
            handlers.set(listenKey(listen.host, listen.port), { route: route.name, definition: `${route.via} ${route.target}`, handle });
        }
        if (config.dynamic) {
            const listen = hostPortOf(config.dynamic.listen);
            const allowlist = new Allowlist(config.dynamic.allow);
            listens.push({ route: DYNAMIC_ROUTE_NAME, ...listen });
            handlers.set(listenKey(listen.host, listen.port), {
                route: DYNAMIC_ROUTE_NAME,
                definition: `socks ${config.dynamic.allow.join(" ")}`,
                handle: (conn) => this.forwardSocks(DYNAMIC_ROUTE_NAME, conn, allowlist),
            });
        }
        const before = this.handlers;
        const kept = (l: RouteListen, table: Map<string, RouteEntry>) => table.get(listenKey(l.host, l.port))?.route === l.route;
        const changes: RouteChanges = {
            added: listens.filter((l) => !kept(l, before)),
            removed: this.current.filter((l) => !kept(l, handlers)),
            retargeted: listens
                .filter((l) => kept(l, before))
                .filter((l) => before.get(listenKey(l.host, l.port))?.definition !== handlers.get(listenKey(l.host, l.port))?.definition)
                .map((l) => l.route),
        };
        this.handlers = handlers;
        this.current = listens;
        return changes;
    }

    /** Graceful shutdown: refuse every connection that arrives from now on. */
    stopAccepting(): void {
        this.accepting = false;
    }

    dispatch(conn: ForwardedConnection): void {
        const entry = this.handlers.get(listenKey(conn.listenHost, conn.listenPort));
        if (!entry || !this.accepting) {
            conn.reject();
            this.deps.log.debug(
                { relay: conn.relay, listen: listenKey(conn.listenHost, conn.listenPort), draining: !this.accepting },
                "rejected forwarded connection",
            );
            return;
        }
        const handling = entry.handle(conn).catch((err: unknown) => {
            this.deps.log.error({ relay: conn.relay, route: entry.route, err }, "forwarded connection failed unexpectedly");
        });
        // Until carry() tracks the stream, it is being set up (an onward connect, a SOCKS request):
        // a reload draining its session must wait for that too, or it closes the session under a
        // connection the relay accepted before the forward was cancelled.
        conn.streams?.track(handling, () => undefined);
    }

    private async forwardDirect(route: string, conn: ForwardedConnection, host: string, port: number): Promise<void> {
        let target: Duplex;
        try {
            target = await connectOnward(host, port, this.connectTimeoutMs);
        } catch (err) {
            this.onwardFailed(route, conn, err);
            return;
        }
        this.carry(route, conn, target);
    }

    private async forwardThroughRelay(route: string, conn: ForwardedConnection, host: string, port: number): Promise<void> {
        let target: Duplex;
        try {
            target = await conn.openThroughRelay(host, port);
        } catch (err) {
            this.onwardFailed(route, conn, err);
            return;
        }
        this.carry(route, conn, target);
    }

    private async forwardSocks(route: string, conn: ForwardedConnection, allowlist: Allowlist): Promise<void> {
        const { log, metrics } = this.deps;
        const channel = conn.accept();
        if (!channel) return;
        let request: SocksRequest;
        try {
            request = await readSocksRequest(channel, SOCKS_HANDSHAKE_TIMEOUT_MS);
        } catch (err) {
            const problem = err instanceof SocksProtocolError ? err : new SocksProtocolError("malformed", String(err), SocksReply.GENERAL_FAILURE);
            if (problem.reply !== undefined) replySocks(channel, problem.reply);
            else releaseAfterFlush(channel);
            if (problem.reason !== "closed") {
                metrics.refusedDestinations.inc({ route, reason: problem.reason });
                log.warn({ relay: conn.relay, route, source: `${conn.sourceIp}:${conn.sourcePort}`, reason: problem.reason }, `SOCKS request refused: ${problem.message}`);
            }
            return;
        }
        const destination = `${request.host}:${request.port}`;
        const resolved = await this.resolveAllowed(allowlist, request);
        if ("refused" in resolved) {
            replySocks(channel, SocksReply.NOT_ALLOWED_BY_RULESET);
            metrics.refusedDestinations.inc({ route, reason: "not_allowed" });
            log.warn({ relay: conn.relay, route, destination, reason: resolved.refused }, "SOCKS destination refused: not in dynamic.allow");
            return;
        }
        let target: Duplex;
        try {
            target = await connectOnward(resolved.connectTo, request.port, this.connectTimeoutMs);
        } catch (err) {
            replySocks(channel, socksReplyForConnectError(err instanceof OnwardConnectError ? err.code : "ERROR"));
            this.onwardFailed(route, conn, err, destination);
            return;
        }
        replySocks(channel, SocksReply.SUCCEEDED);
        log.debug({ relay: conn.relay, route, destination, rule: resolved.rule }, "SOCKS connect");
        this.carry(route, conn, target, channel);
    }

    /**
     * Checks the requested name, and for a name no name rule allows, the addresses it resolves
     * to against the CIDR rules. Returns what to connect to, so the checked address is the one used.
     */
    private async resolveAllowed(allowlist: Allowlist, request: SocksRequest): Promise<{ connectTo: string; rule: string } | { refused: string }> {
        const byName = allowlist.checkRequested(request.host, request.port);
        if (byName.allowed) return { connectTo: request.host, rule: byName.rule };
        if (isIP(request.host) !== 0 || !allowlist.hasAddressRulesFor(request.port)) return { refused: byName.reason };
        let addresses: { address: string }[];
        try {
            addresses = await lookup(request.host, { all: true });
        } catch {
            return { refused: `${byName.reason}, and it does not resolve` };
        }
        for (const { address } of addresses) {
            const byAddress = allowlist.checkAddress(address, request.port);
            if (byAddress.allowed) return { connectTo: address, rule: byAddress.rule };
        }
        return { refused: `${byName.reason}; it resolves to ${addresses.map((a) => a.address).join(", ")}, outside every allowed block` };
    }

    private onwardFailed(route: string, conn: ForwardedConnection, err: unknown, destination?: string): void {
        const code = err instanceof OnwardConnectError ? err.code : "CHANNEL_OPEN_FAILED";
        this.deps.metrics.onwardFailures.inc({ route, reason: code });
        this.deps.log.warn(
            { relay: conn.relay, route, ...(destination ? { destination } : {}), reason: code },
            `onward connection failed: ${err instanceof Error ? err.message : String(err)}`,
        );
        if (!destination) conn.reject();
    }

    /** Joins the forwarded channel (accepted now unless given) to `target` and tracks the stream. */
    private carry(route: string, conn: ForwardedConnection, target: Duplex, accepted?: Duplex): void {
        const platform = accepted ?? conn.accept();
        if (!platform) {
            target.destroy();
            return;
        }
        const { metrics, tracker } = this.deps;
        metrics.streamsTotal.inc({ route });
        metrics.streamsActive.inc({ route });
        const done = splice(
            platform,
            target,
            {
                toTarget: metrics.byteTally(route, "to_target"),
                fromTarget: metrics.byteTally(route, "from_target"),
            },
            conn.output,
        ).finally(() => metrics.streamsActive.dec({ route }));
        const cut = () => {
            platform.destroy();
            target.destroy();
        };
        tracker.track(done, cut);
        conn.streams?.track(done, cut);
        this.deps.log.debug({ relay: conn.relay, route, source: `${conn.sourceIp}:${conn.sourcePort}` }, "stream opened");
    }
}
