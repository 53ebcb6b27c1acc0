// What a reload (SIGHUP) does with a new config, decided field by field and relay by relay before
// anything is touched. Pure: the agent (agent.ts) carries the plan out, the README's Reload
// paragraph lists the same table (a test compares them).
import { relayLabel, type ConnectorConfig, type RelayConfig } from "./spec";

/**
 * - applied: taken as it is, no connection touched (routes are cancelled or requested on the
 *   sessions there are; backoff and the connect deadline apply to the next attempt).
 * - reconnects: shapes a relay session, so each relay it applies to gets a new session; the old
 *   one keeps its streams until they finish or the grace period ends.
 * - rebinds: the health endpoint moves to the new address.
 */
export type ReloadEffect = "applied" | "reconnects" | "rebinds";

/**
 * Every top-level config field and what a reload does with it. A new field is a compile error
 * here until someone decides.
 */
export const RELOAD_EFFECTS = {
    routes: "applied",
    dynamic: "applied",
    shutdown: "applied",
    reconnect: "applied",
    // Only read while a session is being set up: an established one has nothing to apply it to.
    connectTimeoutSeconds: "applied",
    relays: "reconnects",
    user: "reconnects",
    identity: "reconnects",
    ciphers: "reconnects",
    keepalive: "reconnects",
    proxy: "reconnects",
    health: "rebinds",
} as const satisfies Record<keyof ConnectorConfig, ReloadEffect>;

type TopLevelField = keyof typeof RELOAD_EFFECTS;

/** The top-level fields that shape every relay's session (`proxy` only those without their own). */
const SESSION_FIELDS = (Object.keys(RELOAD_EFFECTS) as TopLevelField[]).filter((field) => RELOAD_EFFECTS[field] === "reconnects" && field !== "relays");

export interface ReloadedRelay {
    readonly relay: string;
    /** Its index in the new config (error messages name `relays[index]`). */
    readonly index: number;
}

export interface ReconnectedRelay extends ReloadedRelay {
    /** The changed fields that shape its session, as config paths ("relays[0].hostKeys", "identity"). Never values. */
    readonly because: readonly string[];
}

export interface ReloadPlan {
    /** Relays whose session stays: nothing that shapes it changed (their index may have). */
    readonly kept: readonly ReloadedRelay[];
    readonly added: readonly ReloadedRelay[];
    /** Labels of relays no longer in the config: drained, then disconnected. */
    readonly removed: readonly string[];
    readonly reconnected: readonly ReconnectedRelay[];
    /** Top-level fields whose value changed, in RELOAD_EFFECTS order. */
    readonly changedFields: readonly TopLevelField[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The proxy a relay's session goes through: its own, else the top-level one. */
function effectiveProxy(relay: RelayConfig, config: ConnectorConfig): unknown {
    return relay.proxy ?? config.proxy;
}

/**
 * Matches relays by identity (relayLabel: the name, else host:port; a rename is a removal and an
 * addition) and says which sessions a change of `previous` into `next` replaces, and why.
 */
export function planReload(previous: ConnectorConfig, next: ConnectorConfig): ReloadPlan {
    const before = new Map(previous.relays.map((relay) => [relayLabel(relay), relay]));
    const kept: ReloadedRelay[] = [];
    const added: ReloadedRelay[] = [];
    const reconnected: ReconnectedRelay[] = [];
    next.relays.forEach((relay, index) => {
        const label = relayLabel(relay);
        const old = before.get(label);
        if (!old) {
            added.push({ relay: label, index });
            return;
        }
        const because: string[] = [];
        const ownFields = new Set([...Object.keys(old), ...Object.keys(relay)].filter((key) => key !== "name" && key !== "proxy"));
        for (const key of ownFields) {
            if (!same(old[key as keyof RelayConfig], relay[key as keyof RelayConfig])) because.push(`relays[${index}].${key}`);
        }
        for (const field of SESSION_FIELDS) {
            if (field === "proxy") {
                if (!same(effectiveProxy(old, previous), effectiveProxy(relay, next))) because.push(relay.proxy === undefined && old.proxy === undefined ? "proxy" : `relays[${index}].proxy`);
            } else if (!same(previous[field], next[field])) {
                because.push(field);
            }
        }
        if (because.length > 0) reconnected.push({ relay: label, index, because });
        else kept.push({ relay: label, index });
    });
    const labels = new Set(next.relays.map(relayLabel));
    return {
        kept,
        added,
        removed: [...before.keys()].filter((label) => !labels.has(label)),
        reconnected,
        changedFields: (Object.keys(RELOAD_EFFECTS) as TopLevelField[]).filter((field) => !same(previous[field], next[field])),
    };
}
