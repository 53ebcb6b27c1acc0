// The connector agent: one supervisor per relay, the route table they all dispatch to, the stream
// tracker for graceful drain, and the health endpoint. Started by `firefly-connector run`, or
// embedded (tests, benchmarks) through this class.
import { hostPortOf, type ConnectorConfig } from "./spec";
import { StreamTracker } from "./forwarding";
import { startHealthServer, type HealthServer } from "./health";
import { createLogger, type Logger } from "./log";
import { ConnectorMetrics } from "./metrics";
import { nativeCryptoAvailable, SUPPORTED_SSH2_VERSION } from "./ssh2/internals";
import { agentVersion } from "./version";
import { CERTIFICATE_CHECK_INTERVAL_MS, certificateExpiryNotice } from "./certificateExpiry";
import { loadIdentity } from "./ssh2/certAuth";
import { RouteTable } from "./routes";
import { RelaySupervisor, type RelayStatus } from "./supervisor";

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
    readonly relays: readonly RelayStatus[];
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

// What a reload may change: the routes (and the dynamic route), and settings read per stream.
// Everything else shapes the relay connections themselves and needs a restart.
export const RESTART_ONLY_FIELDS = ["user", "identity", "relays", "keepalive", "reconnect", "health", "ciphers", "connectTimeoutSeconds", "proxy"] as const;

export class Connector {
    readonly log: Logger;
    readonly metrics: ConnectorMetrics;
    private readonly tracker = new StreamTracker();
    private readonly routes: RouteTable;
    private readonly supervisors: RelaySupervisor[];
    private health: HealthServer | undefined;
    private draining = false;
    private started = false;
    private certificateTimer: NodeJS.Timeout | undefined;
    private readonly certificateCheckIntervalMs: number;

    private current: ConnectorConfig;

    constructor(config: ConnectorConfig, options: ConnectorOptions = {}) {
        this.current = config;
        this.certificateCheckIntervalMs = options.certificateCheckIntervalMs ?? CERTIFICATE_CHECK_INTERVAL_MS;
        this.log = options.log ?? createLogger();
        this.metrics = options.metrics ?? new ConnectorMetrics();
        this.routes = new RouteTable(config, { log: this.log, metrics: this.metrics, tracker: this.tracker });
        const deps = {
            config,
            routes: this.routes,
            log: this.log,
            metrics: this.metrics,
            onChange: () => this.metrics.ready.set(this.isReady() ? 1 : 0),
            ...(options.random ? { random: options.random } : {}),
        };
        this.supervisors = config.relays.map((relay, index) => new RelaySupervisor(relay, index, deps));
        this.metrics.ready.set(0);
        this.metrics.nativeCrypto.set(nativeCryptoAvailable ? 1 : 0);
        this.metrics.buildInfo.set({ version: agentVersion(), node: process.versions.node, ssh2: SUPPORTED_SSH2_VERSION }, 1);
    }

    /** The config in force (the last one a reload accepted). */
    get config(): ConnectorConfig {
        return this.current;
    }

    /**
     * Applies a new config (SIGHUP): routes added, removed or retargeted; streams in flight on
     * every route keep going. Throws ReloadRefused, changing nothing, when the new config changes
     * what only a restart can (RESTART_ONLY_FIELDS).
     */
    async reload(config: ConnectorConfig): Promise<void> {
        if (this.draining) throw new ReloadRefused("the agent is draining (shutting down)");
        const changed = RESTART_ONLY_FIELDS.filter((field) => JSON.stringify(config[field]) !== JSON.stringify(this.current[field]));
        if (changed.length > 0) {
            throw new ReloadRefused(`${changed.join(", ")} changed: only routes, dynamic and shutdown apply on reload; restart the agent for the rest`);
        }
        this.current = config;
        const changes = this.routes.replace(config);
        await Promise.all(this.supervisors.map((s) => s.applyRouteChanges(changes)));
        this.metrics.ready.set(this.isReady() ? 1 : 0);
        this.log.info(
            { added: changes.added.map((l) => l.route), removed: changes.removed.map((l) => l.route), retargeted: changes.retargeted },
            "config reloaded",
        );
    }

    /** Starts the health endpoint (if configured) and connects to every relay. */
    async start(): Promise<void> {
        if (this.started) throw new Error("connector already started");
        this.started = true;
        if (this.config.health) {
            this.health = await startHealthServer(hostPortOf(this.config.health.listen), {
                isReady: () => this.isReady(),
                status: () => this.status(),
                metricsText: () => this.metrics.text(),
                metricsContentType: this.metrics.registry.contentType,
            }, this.log);
        }
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
        return this.routes.listens.every((l) => this.supervisors.some((s) => s.isForwarding(l.route)));
    }

    status(): ConnectorStatus {
        const routes: Record<string, string[]> = {};
        for (const listen of this.routes.listens) {
            routes[listen.route] = this.supervisors.filter((s) => s.isForwarding(listen.route)).map((s) => s.label);
        }
        return {
            ready: this.isReady(),
            draining: this.draining,
            routes,
            relays: this.supervisors.map((s) => s.status()),
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
            this.metrics.ready.set(0);
            this.log.info({ activeStreams: this.tracker.size, graceMs }, "draining: no new connections, waiting for in-flight streams");
        }
        this.routes.stopAccepting();
        await Promise.all(this.supervisors.map((s) => s.stopForwarding()));
        const drained = await this.tracker.drain(graceMs);
        if (!drained) this.log.warn({ cut: this.tracker.size }, "grace period over: cutting the remaining streams");
        await Promise.all(this.supervisors.map((s) => s.stop()));
        await this.health?.close();
        this.health = undefined;
        this.log.info({ drained }, "connector stopped");
        return { drained };
    }
}
