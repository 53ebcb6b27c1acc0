// The connector agent: one supervisor per relay, the route table they all dispatch to, the stream
// tracker for graceful drain, and the health endpoint. Started by `firefly-connector run`, or
// embedded (tests, benchmarks) through this class.
import { hostPortOf, relayLabel, type ConnectorConfig } from "./spec";
import { StreamTracker } from "./forwarding";
import { startHealthServer, type HealthServer } from "./health";
import { createLogger, type Logger } from "./log";
import { ConnectorMetrics } from "./metrics";
import { nativeCryptoAvailable, SUPPORTED_SSH2_VERSION } from "./ssh2/internals";
import { agentVersion } from "./version";
import { CERTIFICATE_CHECK_INTERVAL_MS, certificateExpiryNotice } from "./certificateExpiry";
import { loadIdentity } from "./ssh2/certAuth";
import { RouteTable } from "./routes";
import { planReload } from "./reloadPlan";
import { HANDOVER_WAIT_MS, RelaySupervisor, type RelayStatus, type SupervisorDeps } from "./supervisor";

export interface ConnectorOptions {
    readonly log?: Logger;
    readonly metrics?: ConnectorMetrics;
    /** Source of backoff jitter (tests may pin it). */
    readonly random?: () => number;
    /** How often the certificate's end is looked at again (connector/certificateExpiry.ts); tests shorten it. */
    readonly certificateCheckIntervalMs?: number;
}

export interface ConnectorStatus {
    readonly ready: boolean;
    readonly draining: boolean;
    /** For each route, the relays it is currently forwarded on. */
    readonly routes: Readonly<Record<string, readonly string[]>>;
    /** The relays of the config in force. */
    readonly relays: readonly RelayStatus[];
    /**
     * Sessions a reload replaced or removed that are still open: forwarding until their
     * replacement is authenticated, then carrying their streams until those finish or the grace
     * period ends.
     */
    readonly retiring: readonly RelayStatus[];
    readonly activeStreams: number;
    /** ssh2's native crypto binding is loaded (else the fallback at about twice the CPU per byte). */
    readonly nativeCrypto: boolean;
}

/** A reload the running agent cannot apply; the current config stays in force. */
export class ReloadRefused extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ReloadRefused";
    }
}

export class Connector {
    readonly log: Logger;
    readonly metrics: ConnectorMetrics;
    private readonly tracker = new StreamTracker();
    private readonly routes: RouteTable;
    /** One per relay of the config in force, in its order. */
    private supervisors: RelaySupervisor[];
    /** Replaced or removed by a reload, with a session (or a pending predecessor) still to close. */
    private readonly retiring = new Set<RelaySupervisor>();
    private readonly supervisorDeps: SupervisorDeps;
    private health: HealthServer | undefined;
    private draining = false;
    private started = false;
    private reloading: Promise<unknown> = Promise.resolve();
    /** The end of the last handover queued (see handOver): the next one starts after it. */
    private handovers: Promise<void> = Promise.resolve();
    private certificateTimer: NodeJS.Timeout | undefined;
    private readonly certificateCheckIntervalMs: number;

    private current: ConnectorConfig;

    constructor(config: ConnectorConfig, options: ConnectorOptions = {}) {
        this.current = config;
        this.certificateCheckIntervalMs = options.certificateCheckIntervalMs ?? CERTIFICATE_CHECK_INTERVAL_MS;
        this.log = options.log ?? createLogger();
        this.metrics = options.metrics ?? new ConnectorMetrics();
        this.routes = new RouteTable(config, { log: this.log, metrics: this.metrics, tracker: this.tracker });
        this.supervisorDeps = {
            routes: this.routes,
            log: this.log,
            metrics: this.metrics,
            onChange: () => this.publishRelayGauges(),
            handOver: (predecessor, successor, abandon) => this.handOver(predecessor, successor, abandon),
            ...(options.random ? { random: options.random } : {}),
        };
        this.supervisors = config.relays.map((_, index) => new RelaySupervisor(config, index, this.supervisorDeps));
        this.publishRelayGauges();
        this.metrics.nativeCrypto.set(nativeCryptoAvailable ? 1 : 0);
        this.metrics.buildInfo.set({ version: agentVersion(), node: process.versions.node, ssh2: SUPPORTED_SSH2_VERSION }, 1);
    }

    /** The config in force (the last one a reload accepted). */
    get config(): ConnectorConfig {
        return this.current;
    }

    /**
     * Applies a new config (SIGHUP) without cutting a stream; what each field does is
     * RELOAD_EFFECTS (reloadPlan.ts). Routes are cancelled or requested on the sessions there are.
     * A relay whose session settings changed gets a new session, which takes the ports over once
     * authenticated; the old one keeps its streams until they finish or the grace period ends.
     * Several relays hand their ports over one at a time (handOver), so the others keep every
     * route forwarded meanwhile. A removed relay is drained the same way. Throws ReloadRefused,
     * changing nothing, when the
     * agent is draining, the new identity cannot be loaded or the new health address cannot be
     * bound. Reloads run one at a time, in call order.
     */
    reload(config: ConnectorConfig): Promise<void> {
        const run = this.reloading.then(() => this.applyReload(config));
        this.reloading = run.catch(() => undefined);
        return run;
    }

    private async applyReload(config: ConnectorConfig): Promise<void> {
        if (this.draining) throw new ReloadRefused("the agent is draining (shutting down)");
        const previous = this.current;
        const plan = planReload(previous, config);
        if (plan.changedFields.includes("identity")) {
            // Every session would be replaced by one that cannot authenticate: say so now, while
            // the old identity still serves.
            try {
                await loadIdentity(config.identity);
            } catch (err) {
                throw new ReloadRefused(`${(err as Error).message}; the relays keep their sessions with the current identity`);
            }
        }
        const oldHealth = this.health;
        const newHealth = await this.bindHealth(previous, config);
        if (this.draining) {
            // SIGTERM arrived while the identity was read or the port bound: shutdown has taken
            // its list of sessions, so none may be added now.
            if (newHealth !== oldHealth) await newHealth?.close();
            throw new ReloadRefused("the agent is draining (shutting down)");
        }

        // Nothing below can fail: from here the new config is in force (the health endpoint too,
        // so a shutdown that starts while this reload finishes closes the new one).
        this.current = config;
        this.health = newHealth;
        const routeChanges = this.routes.replace(config);
        const byLabel = new Map(this.supervisors.map((s) => [s.label, s]));
        const fresh: RelaySupervisor[] = [];
        const removed = plan.removed.map((label) => byLabel.get(label)!);
        for (const supervisor of removed) {
            supervisor.stopReconnecting();
            this.retiring.add(supervisor);
        }
        for (const { relay, index } of plan.kept) byLabel.get(relay)!.follow(config, index);
        const replacements = new Map<string, RelaySupervisor>();
        for (const { relay, index } of plan.reconnected) {
            const old = byLabel.get(relay)!;
            old.stopReconnecting();
            // One without a session (still trying, say with a pin that does not match) has nothing
            // to hand over: the new one takes over from the session it was to replace, if any.
            let predecessor: RelaySupervisor | undefined = old;
            if (!old.connected) {
                predecessor = old.takePredecessor();
                void old.stop();
            } else {
                this.retiring.add(old);
            }
            const replacement = new RelaySupervisor(config, index, this.supervisorDeps, predecessor);
            replacements.set(relay, replacement);
            fresh.push(replacement);
        }
        for (const { index } of plan.added) fresh.push(new RelaySupervisor(config, index, this.supervisorDeps));
        this.supervisors = config.relays.map((relay) => {
            const label = relayLabel(relay);
            return replacements.get(label) ?? byLabel.get(label) ?? fresh.find((s) => s.label === label)!;
        });

        // Sessions that stay (and replaced ones until they hand over) follow the route table.
        const followingRoutes = [...this.supervisors, ...this.retiring].filter((s) => !removed.includes(s));
        // Not awaited: a removed relay whose link is dead answers its cancels only when its
        // keepalives give up, and the reload (and the next one) must not wait for that.
        for (const supervisor of removed) void this.retire(supervisor, "removed");
        for (const listen of routeChanges.removed) {
            for (const s of [...this.supervisors, ...this.retiring]) this.metrics.routeForwarded.remove({ relay: s.label, route: listen.route });
        }
        if (this.started) for (const supervisor of fresh) supervisor.start();
        await Promise.all(followingRoutes.map((s) => s.applyRouteChanges(routeChanges)));
        this.publishRelayGauges();
        // The expiry metric and warning follow the certificate in force now, not at the next hourly look.
        if (plan.changedFields.includes("identity") && this.started) await this.checkCertificate();
        if (newHealth !== oldHealth) await oldHealth?.close();

        this.log.info(
            {
                changed: plan.changedFields,
                routes: { added: routeChanges.added.map((l) => l.route), removed: routeChanges.removed.map((l) => l.route), retargeted: routeChanges.retargeted },
                relays: {
                    added: plan.added.map((r) => r.relay),
                    removed: plan.removed,
                    reconnected: plan.reconnected.map((r) => ({ relay: r.relay, because: r.because })),
                },
                ...(previous.health?.listen !== config.health?.listen ? { health: { from: previous.health?.listen ?? null, to: config.health?.listen ?? null } } : {}),
            },
            "config reloaded",
        );
    }

    /**
     * The health endpoint `next` asks for: the one running when its address is unchanged (or the
     * agent has not started), else a new one, listening already. Throws ReloadRefused when it
     * cannot listen, leaving the running one in place.
     */
    private async bindHealth(previous: ConnectorConfig, next: ConnectorConfig): Promise<HealthServer | undefined> {
        if (!this.started || previous.health?.listen === next.health?.listen) return this.health;
        if (!next.health) return undefined;
        try {
            return await this.startHealth(next.health.listen);
        } catch (err) {
            const keeping = previous.health ? `the endpoint stays on ${previous.health.listen}` : "no endpoint is started";
            throw new ReloadRefused(`${(err as Error).message}; ${keeping}`);
        }
    }

    private startHealth(listen: string): Promise<HealthServer> {
        return startHealthServer(hostPortOf(listen), {
            isReady: () => this.isReady(),
            status: () => this.status(),
            metricsText: () => this.metrics.text(),
            metricsContentType: this.metrics.registry.contentType,
        }, this.log);
    }

    /**
     * A replaced relay's ports go from `predecessor` to `successor`, authenticated and waiting to
     * request them: resolves true once the predecessor's forwards are cancelled (or after
     * HANDOVER_WAIT_MS without an answer), and the successor requests its own. Handovers run one
     * relay at a time, in the order the new sessions were authenticated: the next starts once this
     * successor holds every route's forward, or it ended, or HANDOVER_WAIT_MS passed. So while one
     * relay's ports are between sessions (a round trip or two) the others keep theirs, and the
     * agent stays ready. Resolves false, touching nothing, if `abandon` fires before its turn.
     */
    private handOver(predecessor: RelaySupervisor, successor: RelaySupervisor, abandon: AbortSignal): Promise<boolean> {
        const queuedAt = Date.now();
        const previous = this.handovers;
        let done!: () => void;
        this.handovers = new Promise<void>((resolve) => (done = resolve));
        return new Promise<boolean>((resolve) => {
            const abandoned = () => resolve(false);
            abandon.addEventListener("abort", abandoned, { once: true });
            void previous.then(async () => {
                abandon.removeEventListener("abort", abandoned);
                try {
                    if (abandon.aborted) return resolve(false);
                    const relay = successor.label;
                    this.log.info({ relay, waitedMs: Date.now() - queuedAt }, "handing the relay's ports over to its new session");
                    let timer: NodeJS.Timeout | undefined;
                    const cancelled = await Promise.race([
                        this.retire(predecessor, "replaced").then(() => true, () => true),
                        new Promise<boolean>((settle) => (timer = setTimeout(() => settle(false), HANDOVER_WAIT_MS).unref())),
                    ]);
                    clearTimeout(timer);
                    if (!cancelled) this.log.warn({ relay, waitedMs: HANDOVER_WAIT_MS }, "the replaced session did not cancel its forwards in time: requesting them anyway");
                    resolve(true);
                    const startedAt = Date.now();
                    if (await successor.holdingForwards(HANDOVER_WAIT_MS)) {
                        this.log.info({ relay, tookMs: Date.now() - startedAt }, "relay handed over: its new session holds every route");
                    } else {
                        this.log.warn({ relay, waitedMs: Date.now() - startedAt }, "the relay's new session does not hold every route (it ended, or the relay refused or did not answer in time): the next relay's handover goes ahead");
                    }
                } finally {
                    done();
                }
            });
        });
    }

    /**
     * Takes a replaced or removed relay's session out of service: resolves once its forwards are
     * cancelled (its predecessor's too, if it never took over); then, in the background, its
     * streams get the grace period and the session closes.
     */
    private async retire(supervisor: RelaySupervisor, why: "replaced" | "removed"): Promise<void> {
        supervisor.stopReconnecting();
        this.retiring.add(supervisor);
        const predecessor = supervisor.takePredecessor();
        await Promise.all([predecessor ? this.retire(predecessor, "replaced") : undefined, supervisor.stopForwarding()]);
        const what = why === "removed" ? "removed relay" : "replaced session of the relay";
        const graceMs = this.current.shutdown.gracePeriodSeconds * 1000;
        const hadSession = supervisor.connected;
        if (hadSession) this.log.info({ relay: supervisor.label, activeStreams: supervisor.activeStreams, graceMs }, `${what} stopped listening: its streams carry on for up to the grace period`);
        void supervisor
            .drainAndStop(graceMs)
            .then(async ({ drained, cut }) => {
                this.retiring.delete(supervisor);
                this.publishRelayGauges();
                if (hadSession && drained) this.log.info({ relay: supervisor.label }, `${what} disconnected: its streams had finished`);
                if (hadSession && !drained) this.log.warn({ relay: supervisor.label, cut }, `${what} disconnected: grace period over, its remaining streams were cut`);
                // A removed relay's series go with its last session; a replaced one's continue under the same name.
                const inUse = () => [...this.supervisors, ...this.retiring].some((s) => s.label === supervisor.label);
                if (!inUse()) await this.metrics.forgetRelay(supervisor.label, inUse);
            })
            .catch((err: unknown) => this.log.error({ relay: supervisor.label, err }, "closing a retired relay session failed"));
    }

    /**
     * relay_connected and route_forwarded for each relay name (its current session and any
     * retiring one together, so a handover never shows a relay as gone), and ready.
     */
    private publishRelayGauges(): void {
        const sessions = [...this.supervisors, ...this.retiring];
        for (const label of new Set(sessions.map((s) => s.label))) {
            const ofRelay = sessions.filter((s) => s.label === label);
            this.metrics.relayConnected.set({ relay: label }, ofRelay.some((s) => s.connected) ? 1 : 0);
            for (const listen of this.routes.listens) {
                this.metrics.routeForwarded.set({ relay: label, route: listen.route }, ofRelay.some((s) => s.isForwarding(listen.route)) ? 1 : 0);
            }
        }
        this.metrics.ready.set(this.isReady() ? 1 : 0);
    }

    /** Starts the health endpoint (if configured) and connects to every relay. */
    async start(): Promise<void> {
        if (this.started) throw new Error("connector already started");
        this.started = true;
        if (this.config.health) this.health = await this.startHealth(this.config.health.listen);
        this.log.info(
            { version: agentVersion(), relays: this.supervisors.map((s) => s.label), routes: this.routes.listens.map((l) => l.route) },
            "connector starting",
        );
        if (!nativeCryptoAvailable) {
            this.log.warn(
                "ssh2's native crypto binding is not loaded: encryption runs through Node's crypto at about twice the CPU per byte. " +
                    "Build it where the agent runs: npm rebuild ssh2 (needs a C++ compiler, make, python3 and the Node headers)",
            );
        }
        for (const supervisor of this.supervisors) supervisor.start();
        await this.checkCertificate();
        this.certificateTimer = setInterval(() => void this.checkCertificate(), this.certificateCheckIntervalMs);
        this.certificateTimer.unref();
    }

    /**
     * Reads the certificate again (as every connection attempt does), exports its end and warns
     * when it is close (connector/certificateExpiry.ts). Quiet when the identity cannot be loaded:
     * the relay supervisors report that, naming the field, at every attempt.
     */
    private async checkCertificate(): Promise<void> {
        let certificate;
        try {
            certificate = (await loadIdentity(this.current.identity)).certificate;
        } catch {
            return;
        }
        this.metrics.certificateExpiry.reset();
        if (!certificate) return;
        if (certificate.validBefore) {
            this.metrics.certificateExpiry.set({ key_id: certificate.keyId, serial: certificate.serial.toString() }, certificate.validBefore.getTime() / 1000);
        }
        const notice = certificateExpiryNotice(certificate, new Date());
        if (notice) {
            const fields = { certificate: { keyId: certificate.keyId, serial: certificate.serial.toString(), validBefore: certificate.validBefore?.toISOString() }, expiresInSeconds: Math.round(notice.expiresInMs / 1000) };
            if (notice.level === "error") this.log.error(fields, notice.message);
            else this.log.warn(fields, notice.message);
        }
    }

    /** The port the health endpoint listens on (useful when configured with port 0), if any. */
    get healthPort(): number | undefined {
        return this.health?.port;
    }

    /** Ready when every route is forwarded on at least one relay (and not draining). */
    isReady(): boolean {
        if (this.draining) return false;
        // A replaced session counts until it has handed its ports over: it still serves them.
        const sessions = [...this.supervisors, ...this.retiring];
        return this.routes.listens.every((l) => sessions.some((s) => s.isForwarding(l.route)));
    }

    status(): ConnectorStatus {
        const routes: Record<string, string[]> = {};
        const sessions = [...this.supervisors, ...this.retiring];
        for (const listen of this.routes.listens) {
            routes[listen.route] = [...new Set(sessions.filter((s) => s.isForwarding(listen.route)).map((s) => s.label))];
        }
        return {
            ready: this.isReady(),
            draining: this.draining,
            routes,
            relays: this.supervisors.map((s) => s.status()),
            retiring: [...this.retiring].map((s) => s.status()),
            activeStreams: this.tracker.size,
            nativeCrypto: nativeCryptoAvailable,
        };
    }

    /**
     * Graceful stop (SIGTERM): relays stop listening and new forwarded connections are refused,
     * in-flight streams get up to `graceMs` to finish, then everything is closed.
     */
    async shutdown(graceMs: number = this.current.shutdown.gracePeriodSeconds * 1000): Promise<{ drained: boolean }> {
        clearInterval(this.certificateTimer);
        if (!this.draining) {
            this.draining = true;
            this.publishRelayGauges();
            this.log.info({ activeStreams: this.tracker.size, graceMs }, "draining: no new connections, waiting for in-flight streams");
        }
        this.routes.stopAccepting();
        // Sessions a reload is retiring too: their streams are the agent's like any other.
        const sessions = [...this.supervisors, ...this.retiring];
        await Promise.all(sessions.map((s) => s.stopForwarding()));
        const drained = await this.tracker.drain(graceMs);
        if (!drained) this.log.warn({ cut: this.tracker.size }, "grace period over: cutting the remaining streams");
        await Promise.all(sessions.map((s) => s.stop()));
        await this.health?.close();
        this.health = undefined;
        this.log.info({ drained }, "connector stopped");
        return { drained };
    }
}
