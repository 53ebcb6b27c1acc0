// Prometheus metrics, one registry per agent (so several agents in one process, as in tests,
// never share counters). Label values are relay labels and route names from the config only:
// bounded cardinality.
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { relayReadStats } from "./ssh2/relayReads";

const PREFIX = "firefly_connector_";

export type Direction = "to_target" | "from_target";

/**
 * A running count of bytes on the data path, added to as plain arithmetic and folded into its
 * Prometheus counter when the counter is read (a scrape, or get()). prom-client builds a string
 * key from the labels on every inc(): per chunk, that was a visible share of the agent's CPU per
 * round trip on a persistent stream.
 */
export class ByteTally {
    pending = 0;
    constructor(readonly labels: { readonly route: string; readonly direction: Direction }) {}

    add(bytes: number): void {
        this.pending += bytes;
    }
}

/** What forgetRelay needs of a labelled gauge or counter. */
interface LabelledSeries {
    get(): Promise<{ values: readonly { labels: Partial<Record<string, string | number>> }[] }>;
    remove(labels: Partial<Record<string, string | number>>): void;
}

export class ConnectorMetrics {
    readonly registry = new Registry();

    readonly relayConnected = new Gauge({
        name: `${PREFIX}relay_connected`,
        help: "1 while the SSH connection to the relay is authenticated, else 0.",
        labelNames: ["relay"] as const,
        registers: [this.registry],
    });
    readonly reconnects = new Counter({
        name: `${PREFIX}relay_reconnects_total`,
        help: "Reconnects scheduled after a relay connection ended or failed, by reason.",
        labelNames: ["relay", "reason"] as const,
        registers: [this.registry],
    });
    readonly routeForwarded = new Gauge({
        name: `${PREFIX}route_forwarded`,
        help: "1 while the relay listens for the route (remote forward granted), else 0.",
        labelNames: ["relay", "route"] as const,
        registers: [this.registry],
    });
    readonly forwardRefusals = new Counter({
        name: `${PREFIX}route_forward_refusals_total`,
        help: "Remote forward requests the relay refused (permitlisten or port in use).",
        labelNames: ["relay", "route"] as const,
        registers: [this.registry],
    });
    readonly ready = new Gauge({
        name: `${PREFIX}ready`,
        help: "1 when every route is forwarded on at least one relay.",
        registers: [this.registry],
    });
    readonly streamsActive = new Gauge({
        name: `${PREFIX}streams_active`,
        help: "Forwarded streams currently open.",
        labelNames: ["route"] as const,
        registers: [this.registry],
    });
    readonly streamsTotal = new Counter({
        name: `${PREFIX}streams_total`,
        help: "Forwarded streams accepted.",
        labelNames: ["route"] as const,
        registers: [this.registry],
    });
    readonly onwardFailures = new Counter({
        name: `${PREFIX}onward_connect_failures_total`,
        help: "Forwarded connections whose onward connection could not be opened.",
        labelNames: ["route", "reason"] as const,
        registers: [this.registry],
    });
    private readonly byteTallies = new Map<string, ByteTally>();
    readonly bytes = new Counter({
        name: `${PREFIX}bytes_total`,
        help: "Payload bytes carried, by route and direction (to_target: platform to target).",
        labelNames: ["route", "direction"] as const,
        registers: [this.registry],
        collect: () => {
            for (const tally of this.byteTallies.values()) {
                if (tally.pending === 0) continue;
                this.bytes.inc(tally.labels, tally.pending);
                tally.pending = 0;
            }
        },
    });

    /** The tally of `route`'s bytes in one direction (one per route and direction, shared by its streams). */
    byteTally(route: string, direction: Direction): ByteTally {
        const key = `${route}\u0000${direction}`;
        let tally = this.byteTallies.get(key);
        if (!tally) {
            tally = new ByteTally({ route, direction });
            this.byteTallies.set(key, tally);
        }
        return tally;
    }
    readonly refusedDestinations = new Counter({
        name: `${PREFIX}refused_destinations_total`,
        help: "SOCKS requests refused: destination not allowed, unsupported command or malformed request.",
        labelNames: ["route", "reason"] as const,
        registers: [this.registry],
    });

    readonly nativeCrypto = new Gauge({
        name: `${PREFIX}native_crypto`,
        help: "1 if ssh2's native crypto binding is loaded; 0 means the slower fallback through Node's crypto.",
        registers: [this.registry],
    });

    /** Read buffers of the relay connections (connector/ssh2/relayReads.ts): how many were allocated and how many written again. */
    readonly relayReadSlabs = new Counter({
        name: `${PREFIX}relay_read_slabs_total`,
        help: "256 KiB read buffers of the relay connections: allocated (outcome=new) or written again once no view of them was left (outcome=reused).",
        labelNames: ["outcome"] as const,
        registers: [this.registry],
        collect() {
            this.reset();
            this.inc({ outcome: "new" }, relayReadStats.slabs);
            this.inc({ outcome: "reused" }, relayReadStats.reused);
        },
    });

    /** The end of the agent's certificate (connector/certificateExpiry.ts); no sample without one, or for one valid forever. */
    readonly certificateExpiry = new Gauge({
        name: `${PREFIX}certificate_expiry_timestamp_seconds`,
        help: "When the agent's SSH certificate expires (Unix time; read at start and every hour). Relays refuse new sessions after it.",
        labelNames: ["key_id", "serial"] as const,
        registers: [this.registry],
    });

    readonly buildInfo = new Gauge({
        name: `${PREFIX}build_info`,
        help: "Always 1; the labels say which agent runs: its version, Node.js and ssh2.",
        labelNames: ["version", "node", "ssh2"] as const,
        registers: [this.registry],
    });

    constructor() {
        // RSS, heap, open handles and event loop lag: what the soak and load tests watch.
        collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    }

    /**
     * Drops every series labelled with `relay` (a reload removed it and its last session closed),
     * unless `stillUsed` says a relay of that name came back meanwhile.
     */
    async forgetRelay(relay: string, stillUsed: () => boolean): Promise<void> {
        const perRelay: readonly LabelledSeries[] = [this.relayConnected, this.reconnects, this.routeForwarded, this.forwardRefusals];
        const series = await Promise.all(perRelay.map(async (metric) => ({ metric, values: (await metric.get()).values })));
        if (stillUsed()) return;
        for (const { metric, values } of series) {
            for (const { labels } of values) if (labels.relay === relay) metric.remove(labels);
        }
    }

    text(): Promise<string> {
        return this.registry.metrics();
    }
}
