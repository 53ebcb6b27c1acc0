// Keeps one relay connected: connect, forward every route, and after any loss reconnect with
// jittered exponential backoff. "Why did it reconnect" is answered here (log line and the
// relay_reconnects_total{reason} metric). Each relay has its own supervisor, so losing one relay
// never touches the connections to the others.
import { certificateValidityProblem, loadIdentity, type Identity } from "./ssh2/certAuth";
import { type ConnectorConfig, HostKeyPins, relayLabel } from "./spec";
import type { Logger } from "./log";
import type { ConnectorMetrics } from "./metrics";
import { resolveProxy, type ResolvedProxy } from "./proxyConnect";
import { RelayConnection, RelayError, type RelayConnectionOptions } from "./relayConnection";
import type { RouteChanges, RouteListen, RouteTable } from "./routes";

export type RelayState = "connecting" | "connected" | "waiting" | "stopped";

/**
 * Delay before attempt `attempt` (0-based): exponential up to `maxMs`, with "equal jitter" (half
 * fixed, half random) so a fleet of agents does not reconnect in lockstep after a relay restart,
 * while no retry comes sooner than half the schedule.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

// A connection that stayed up this long was healthy: the next failure starts the backoff afresh.
// Shorter-lived connections (a relay that accepts and drops) keep the backoff growing.
const STABLE_CONNECTION_MS = 10_000;
// A refused forward is usually a port the relay still holds for the agent's previous session; the
// relay frees it within a second or so (its ClientAliveInterval), so retry soon, jittered, and at
// most twice a second; the first refusals and then every 60th are logged as errors.
const FORWARD_RETRY = { initialMs: 100, maxMs: 500, logEvery: 60 } as const;
// How long a polite disconnect may take before the socket is destroyed.
const DISCONNECT_GRACE_MS = 2_000;
// The bound on each step of a reload's port handover (connector/agent.ts handOver): how long a new
// session waits for the one it replaces to cancel its forwards (one round trip), and how long the
// next relay's handover waits for this one's new session to hold its forwards (one more). A session
// that does not answer (a dead link, a frozen relay) must not keep the routes down until its
// keepalives give up, nor hold up the other relays: ours asks anyway (a refusal is retried like any
// other), and the next relay goes ahead.
export const HANDOVER_WAIT_MS = 5_000;

export interface SupervisorDeps {
    readonly routes: RouteTable;
    readonly log: Logger;
    readonly metrics: ConnectorMetrics;
    /** Called whenever the state, the session or the set of forwarded routes changes. */
    readonly onChange: () => void;
    /**
     * Takes the relay's ports from the session a reload replaced (the predecessor given to the
     * constructor) for `successor` (this supervisor): resolves true once its forwards are cancelled
     * (or the wait for that gave up), and this supervisor then requests its own. Resolves false,
     * leaving the predecessor serving, if `abandon` fires before the handover has begun (this
     * session ended, or this supervisor was stopped). Called when this supervisor's session is
     * authenticated, before it requests any forward.
     */
    readonly handOver?: (predecessor: RelaySupervisor, successor: RelaySupervisor, abandon: AbortSignal) => Promise<boolean>;
    readonly random?: () => number;
}

export interface RelayStatus {
    readonly relay: string;
    readonly state: RelayState;
    readonly forwardedRoutes: readonly string[];
    /** Streams its current session carries. */
    readonly activeStreams: number;
    readonly lastError?: { readonly kind: string; readonly message: string };
}

/**
 * Opens the SSH connection to relay `index` of `config` as `identity`, through its proxy if it has
 * one (credentials read now, like the identity). Rejects with a RelayError.
 */
export async function connectToRelay(
    config: ConnectorConfig,
    index: number,
    identity: Identity,
    with_: { log: Logger; onForwardedConnection: RelayConnectionOptions["onForwardedConnection"]; pins?: HostKeyPins; signal?: AbortSignal },
): Promise<RelayConnection> {
    const relay = config.relays[index]!;
    let proxy: ResolvedProxy | undefined;
    try {
        proxy = await resolveProxy(relay, config.proxy);
    } catch (err) {
        throw new RelayError("proxy", (err as Error).message);
    }
    return RelayConnection.open({
        label: relayLabel(relay),
        host: relay.host,
        port: relay.port,
        user: config.user,
        identity,
        pins: with_.pins ?? new HostKeyPins(relay.hostKeys),
        pinsField: `relays[${index}].hostKeys`,
        keepaliveIntervalMs: config.keepalive.intervalSeconds * 1000,
        keepaliveCountMax: config.keepalive.countMax,
        ...(config.ciphers ? { ciphers: config.ciphers } : {}),
        ...(proxy ? { proxy } : {}),
        connectTimeoutMs: config.connectTimeoutSeconds * 1000,
        log: with_.log,
        onForwardedConnection: with_.onForwardedConnection,
        ...(with_.signal ? { signal: with_.signal } : {}),
    });
}

export class RelaySupervisor {
    readonly label: string;
    private state: RelayState = "waiting";
    private readonly forwarded = new Set<string>();
    private connection: RelayConnection | undefined;
    private lastError: RelayError | undefined;
    private stopping = false;
    private forwarding = true;
    private loop: Promise<void> | undefined;
    private cancelSleep: (() => void) | undefined;
    private readonly abandonAttempts = new AbortController();
    private readonly retryTimers = new Set<NodeJS.Timeout>();
    /** Checks of holdingForwards() waiting for the forwarded set or the session to change. */
    private readonly watchers = new Set<() => void>();
    private readonly pins: HostKeyPins;
    /** The config in force and this relay's place in it (a reload that keeps the session updates both). */
    private config: ConnectorConfig;
    private index: number;
    /** The session this one replaces, still forwarding until ours is authenticated (see handOver). */
    private predecessor: RelaySupervisor | undefined;

    constructor(
        config: ConnectorConfig,
        index: number,
        private readonly deps: SupervisorDeps,
        predecessor?: RelaySupervisor,
    ) {
        const relay = config.relays[index]!;
        this.config = config;
        this.index = index;
        this.label = relayLabel(relay);
        this.pins = new HostKeyPins(relay.hostKeys);
        this.predecessor = predecessor;
    }

    /**
     * A reload kept this relay's session (nothing that shapes it changed): later attempts use the
     * new config's backoff and connect deadline, errors name its new index.
     */
    follow(config: ConnectorConfig, index: number): void {
        this.config = config;
        this.index = index;
    }

    /** The session this one is to replace, if it has not taken over yet; handing it out forgets it. */
    takePredecessor(): RelaySupervisor | undefined {
        const predecessor = this.predecessor;
        this.predecessor = undefined;
        return predecessor;
    }

    start(): void {
        this.loop ??= this.run();
    }

    status(): RelayStatus {
        return {
            relay: this.label,
            state: this.state,
            forwardedRoutes: [...this.forwarded],
            activeStreams: this.activeStreams,
            ...(this.lastError ? { lastError: { kind: this.lastError.kind, message: this.lastError.message } } : {}),
        };
    }

    isForwarding(route: string): boolean {
        return this.forwarded.has(route);
    }

    /**
     * Resolves true once the current session holds every route's forward; false as soon as it
     * ends, this supervisor stops forwarding, or `timeoutMs` passes first. Not when it only stops
     * reconnecting (a reload replaced it mid-handover): it still requests its forwards, and the
     * next relay's handover must wait for them, else both relays could be between sessions at once.
     */
    holdingForwards(timeoutMs: number): Promise<boolean> {
        const connection = this.connection;
        return new Promise((resolve) => {
            const finish = (held: boolean) => {
                clearTimeout(timer);
                this.watchers.delete(check);
                resolve(held);
            };
            const check = () => {
                if (!connection || this.connection !== connection || !this.forwarding) finish(false);
                else if (this.deps.routes.listens.every((l) => this.forwarded.has(l.route))) finish(true);
            };
            const timer = setTimeout(() => finish(false), timeoutMs);
            this.watchers.add(check);
            check();
        });
    }

    /** Streams carried by the current session. */
    get activeStreams(): number {
        return this.connection?.streams.size ?? 0;
    }

    /** An authenticated session to the relay is up (forwarding or not). */
    get connected(): boolean {
        return this.connection !== undefined;
    }

    /** Drain step: the relay stops listening on every route; streams already open carry on. */
    async stopForwarding(): Promise<void> {
        this.forwarding = false;
        this.clearRetryTimers();
        this.notifyWatchers();
        const connection = this.connection;
        const active = this.deps.routes.listens.filter((l) => this.forwarded.has(l.route));
        for (const listen of active) this.markForwarded(listen, false);
        if (!connection) return;
        await Promise.all(
            active.map((l) =>
                connection.cancelForward(l.host, l.port).catch((err: Error) => {
                    this.deps.log.debug({ relay: this.label, route: l.route, err: err.message }, "cancel forward failed (connection ending?)");
                }),
            ),
        );
    }

    /**
     * A reload changed the route table: cancel the removed listens on the relay (streams they
     * carry are untouched: cancelling a forward closes no channel) and request the added ones.
     */
    async applyRouteChanges(changes: RouteChanges): Promise<void> {
        const { log } = this.deps;
        const connection = this.connection;
        await Promise.all(
            changes.removed.map(async (listen) => {
                const wasForwarded = this.forwarded.has(listen.route);
                this.markForwarded(listen, false);
                if (!connection || !wasForwarded) return;
                await connection.cancelForward(listen.host, listen.port).catch((err: Error) => {
                    log.debug({ relay: this.label, route: listen.route, err: err.message }, "cancel forward failed (connection ending?)");
                });
            }),
        );
        for (const listen of changes.added) {
            if (connection && this.connection === connection && this.forwarding) this.requestForward(connection, listen, 0);
        }
    }

    /**
     * A reload replaced or removed this relay: no new session is made (an attempt under way is
     * abandoned), while the one it has, if any, carries on until retired.
     */
    stopReconnecting(): void {
        this.stopping = true;
        this.cancelSleep?.();
        this.abandonAttempts.abort();
        this.notifyWatchers();
    }

    /**
     * The end of a retirement, after stopForwarding(): the session's own streams get `graceMs` to
     * finish, then are cut, and the session closes. Other relays' streams are not waited for.
     */
    async drainAndStop(graceMs: number): Promise<{ drained: boolean; cut: number }> {
        const connection = this.connection;
        const drained = connection ? await connection.streams.drain(graceMs) : true;
        const cut = drained || !connection ? 0 : connection.streams.size;
        await this.stop();
        return { drained, cut };
    }

    /** Disconnects and stops reconnecting. */
    async stop(): Promise<void> {
        this.stopping = true;
        this.cancelSleep?.();
        this.abandonAttempts.abort();
        this.clearRetryTimers();
        const connection = this.connection;
        if (connection) {
            connection.end();
            const timer = setTimeout(() => connection.destroy(), DISCONNECT_GRACE_MS);
            await connection.closed;
            clearTimeout(timer);
        }
        await this.loop;
    }

    private async run(): Promise<void> {
        const { log, metrics } = this.deps;
        let failures = 0;
        while (!this.stopping) {
            this.setState("connecting");
            const { reason, connectedMs } = await this.connectAndServe();
            if (this.stopping) break;
            this.lastError = reason;
            if (connectedMs >= STABLE_CONNECTION_MS) failures = 0;
            const { reconnect } = this.config;
            const delay = backoffDelay(failures++, reconnect.initialDelayMs, reconnect.maxDelayMs, this.deps.random);
            metrics.reconnects.inc({ relay: this.label, reason: reason.kind });
            // Configuration problems need a human: log them as errors. Network weather is a warning.
            const level = reason.kind === "auth" || reason.kind === "host_key" || reason.kind === "identity" ? "error" : "warn";
            log[level]({ relay: this.label, reason: reason.kind, retryInMs: delay, attempt: failures }, reason.message);
            this.setState("waiting");
            await this.sleep(delay);
        }
        this.setState("stopped");
    }

    /** One connection's life. Resolves when it is over, with why and how long it was up. */
    private async connectAndServe(): Promise<{ reason: RelayError; connectedMs: number }> {
        const { log, routes } = this.deps;
        const config = this.config;
        let identity: Identity;
        try {
            // Read on every attempt: a renewed certificate on disk is used without a restart.
            identity = await loadIdentity(config.identity);
        } catch (err) {
            return { reason: new RelayError("identity", (err as Error).message), connectedMs: 0 };
        }
        if (identity.certificate) {
            const problem = certificateValidityProblem(identity.certificate, new Date());
            if (problem) log.warn({ relay: this.label }, problem);
        }
        let connection: RelayConnection;
        try {
            connection = await connectToRelay(config, this.index, identity, {
                log,
                pins: this.pins,
                onForwardedConnection: (conn) => routes.dispatch(conn),
                signal: this.abandonAttempts.signal,
            });
        } catch (err) {
            return { reason: err instanceof RelayError ? err : new RelayError("protocol", String(err)), connectedMs: 0 };
        }
        if (this.stopping) {
            connection.destroy();
            return { reason: await connection.closed, connectedMs: 0 };
        }
        const connectedAt = Date.now();
        this.connection = connection;
        this.lastError = undefined;
        this.setState("connected");
        log.info({ relay: this.label, hostKey: connection.hostKeyFingerprint, algorithms: connection.negotiated, identity: identity.summary }, "connected to relay");
        let over = false;
        void connection.closed.then(() => (over = true));
        let tookOver = true;
        const predecessor = this.takePredecessor();
        if (predecessor && this.deps.handOver) {
            // sshd cannot listen twice on one address, so the session this one replaces gives the
            // ports up (its streams carry on) before ours asks for them. It kept them until ours was
            // authenticated: new settings that cannot connect cost no route. The agent hands one
            // relay over at a time, so this may wait for other relays' handovers first.
            const abandon = new AbortController();
            const onAbandon = () => abandon.abort();
            void connection.closed.then(onAbandon);
            this.abandonAttempts.signal.addEventListener("abort", onAbandon, { once: true });
            tookOver = await this.deps.handOver(predecessor, this, abandon.signal).catch(() => true);
            this.abandonAttempts.signal.removeEventListener("abort", onAbandon);
            // Abandoned before its turn: the predecessor still serves, and whoever takes over from
            // this supervisor (its next session, or its own replacement) takes over from it too.
            if (!tookOver) this.predecessor ??= predecessor;
        }
        // Not `!this.stopping`: a reload that replaces this session after its handover began (the
        // predecessor's forwards cancelled or being cancelled) stops it reconnecting, but it is now
        // the only session that can listen on this relay. It forwards until its own replacement
        // takes over from it (retire: forwarding off), as a replaced session that had its ports
        // does; skipping the requests left the relay dark until then, and if another relay handed
        // over meanwhile no relay listened (/readyz 503). Removal and drain turn forwarding off, stop()
        // ends the session.
        if (tookOver && this.forwarding && !over) for (const listen of routes.listens) this.requestForward(connection, listen, 0);

        const reason = await connection.closed;
        this.connection = undefined;
        this.clearRetryTimers();
        for (const listen of routes.listens) this.markForwarded(listen, false);
        this.changed();
        return { reason, connectedMs: Date.now() - connectedAt };
    }

    private requestForward(connection: RelayConnection, listen: RouteListen, attempt: number): void {
        const { log, metrics } = this.deps;
        const where = `${listen.host}:${listen.port}`;
        connection.requestForward(listen.host, listen.port).then(
            () => {
                if (this.connection !== connection) return;
                if (!this.forwarding || !this.deps.routes.has(listen)) {
                    // Given up (drain, a reload's handover) or the route removed by a reload while
                    // the request was on its way: a listen left open would hold the port against
                    // the session that takes over.
                    void connection.cancelForward(listen.host, listen.port).catch(() => undefined);
                    return;
                }
                this.markForwarded(listen, true);
                log.info({ relay: this.label, route: listen.route, listen: where }, "route forwarded");
            },
            (err: Error) => {
                if (this.connection !== connection || !this.forwarding || this.stopping || !this.deps.routes.has(listen)) return;
                metrics.forwardRefusals.inc({ relay: this.label, route: listen.route });
                const delay = backoffDelay(attempt, FORWARD_RETRY.initialMs, FORWARD_RETRY.maxMs, this.deps.random);
                const level = attempt < 3 || attempt % FORWARD_RETRY.logEvery === 0 ? "error" : "debug";
                log[level](
                    { relay: this.label, route: listen.route, listen: where, retryInMs: delay, attempt: attempt + 1, detail: err.message },
                    `relay refused to listen on ${where} for route ${listen.route}: the address is not in this customer's permitlisten on the relay, or the port is still held there (e.g. by a previous session)`,
                );
                const timer = setTimeout(() => {
                    this.retryTimers.delete(timer);
                    if (this.connection === connection && this.forwarding && this.deps.routes.has(listen)) this.requestForward(connection, listen, attempt + 1);
                }, delay);
                this.retryTimers.add(timer);
            },
        );
    }

    private markForwarded(listen: RouteListen, forwarded: boolean): void {
        const changed = forwarded ? !this.forwarded.has(listen.route) : this.forwarded.has(listen.route);
        if (forwarded) this.forwarded.add(listen.route);
        else this.forwarded.delete(listen.route);
        if (changed) this.changed();
    }

    private setState(state: RelayState): void {
        if (this.state === state) return;
        this.state = state;
        this.changed();
    }

    private changed(): void {
        this.deps.onChange();
        this.notifyWatchers();
    }

    private notifyWatchers(): void {
        for (const check of [...this.watchers]) check();
    }

    private clearRetryTimers(): void {
        for (const timer of this.retryTimers) clearTimeout(timer);
        this.retryTimers.clear();
    }

    private sleep(ms: number): Promise<void> {
        return new Promise((resolve) => {
            const timer = setTimeout(done, ms);
            function done() {
                clearTimeout(timer);
                resolve();
            }
            this.cancelSleep = done;
        });
    }
}
