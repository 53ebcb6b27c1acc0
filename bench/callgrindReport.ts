// The JSON `npm run bench:callgrind -- --out FILE` writes, read back by `--compare FILE`: an A/B of
// a change to the agent is two invocations, the second compared with the first. The counts are
// deterministic to about 1% for the agent (its JIT and GC timing) and 0.01% for OpenSSH, so
// changes of a few percent show, where the bench's timings move by 5%.
import { readFileSync } from "node:fs";
import type { FunctionCounts } from "./callgrindFunctions";
import { renderTable } from "./report";

export const PHASES = ["round-trips", "push", "pull"] as const;
export type Phase = (typeof PHASES)[number];

/** Per round trip or per MiB, from one dump of the main thread. */
export interface CallgrindCounts {
    instructions: number;
    instructionCacheMisses: number;
    dataReadMisses: number;
    dataWriteMisses: number;
}

export interface CallgrindReport {
    date: string;
    phase: Phase;
    /** round-trips phase */
    roundTrips?: number;
    warmUp?: number;
    perRoundTrip?: Record<string, CallgrindCounts>;
    /** push and pull phases */
    mib?: number;
    warmUpMiB?: number;
    perMiB?: Record<string, CallgrindCounts>;
    node: string;
    agentNodeFlags: readonly string[];
    /** With --top: each side's functions by their own counts. */
    topFunctions?: Record<string, FunctionCounts[]>;
}

/** The counts per side of a report, whichever its phase. */
export function countsOfReport(report: CallgrindReport): Record<string, CallgrindCounts> {
    return (report.phase === "round-trips" ? report.perRoundTrip : report.perMiB) ?? {};
}

export function unitOf(phase: Phase): string {
    return phase === "round-trips" ? "round trip" : `MiB ${phase === "push" ? "pushed" : "pulled"}`;
}

/** Refuses to set a run of `phase` against a report of another phase. */
export function checkSamePhase(before: CallgrindReport, phase: Phase, source: string): void {
    if (before.phase !== phase) throw new Error(`--compare ${source}: that run counted --phase ${before.phase}, this one --phase ${phase}; compare like with like`);
}

/** Reads a report written by --out, refusing anything else with the field at fault. */
export function loadReport(file: string): CallgrindReport {
    let data: unknown;
    try {
        data = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
        throw new Error(`--compare ${file}: ${(err as Error).message}`);
    }
    const report = data as Partial<CallgrindReport>;
    if (typeof report !== "object" || report === null || !(PHASES as readonly unknown[]).includes(report.phase)) {
        throw new Error(`--compare ${file}: not a report of npm run bench:callgrind -- --out (its "phase" is not one of ${PHASES.join(", ")})`);
    }
    const key = report.phase === "round-trips" ? "perRoundTrip" : "perMiB";
    const counts = report[key];
    if (typeof counts !== "object" || counts === null || Object.keys(counts).length === 0) throw new Error(`--compare ${file}: "${key}" holds no side's counts`);
    for (const [side, c] of Object.entries(counts)) {
        for (const field of ["instructions", "instructionCacheMisses", "dataReadMisses", "dataWriteMisses"] as const) {
            if (typeof c?.[field] !== "number" || !Number.isFinite(c[field])) throw new Error(`--compare ${file}: "${key}.${side}.${field}" is not a number`);
        }
    }
    return report as CallgrindReport;
}

const percent = (before: number, now: number): string => {
    if (before === 0) return now === 0 ? "0%" : "new";
    const change = (100 * (now - before)) / before;
    return `${change > 0 ? "+" : ""}${change.toFixed(1)}%`;
};

/**
 * Text tables setting `now` against `before` (the same phase): each side both measured, per
 * event; then, for sides both listed by function, the `top` functions whose own instructions
 * changed most, with their I1 misses.
 */
export function compareReports(before: CallgrindReport, now: CallgrindReport, top: number): string[] {
    checkSamePhase(before, now.phase, `(the report of ${before.date})`);
    const unit = unitOf(now.phase);
    const was = countsOfReport(before);
    const is = countsOfReport(now);
    const sides = Object.keys(is).filter((side) => side in was);
    const out: string[] = [`compared with the report of ${before.date} (agent node flags then: ${before.agentNodeFlags.join(" ") || "none"}; now: ${now.agentNodeFlags.join(" ") || "none"})`];
    if (sides.length === 0) return [...out, "no side was measured in both"];
    const rows = [[`per ${unit}`, "before", "now", "change"]];
    const events = [
        ["instructions", "instructions"],
        ["instructionCacheMisses", "I1 misses"],
        ["dataReadMisses", "D1 read misses"],
        ["dataWriteMisses", "D1 write misses"],
    ] as const;
    for (const side of sides) {
        for (const [field, label] of events) rows.push([`${side}: ${label}`, String(Math.round(was[side]![field])), String(Math.round(is[side]![field])), percent(was[side]![field], is[side]![field])]);
    }
    out.push("", ...renderTable(rows, [0]));
    for (const side of sides) {
        const a = before.topFunctions?.[side];
        const b = now.topFunctions?.[side];
        if (!a || !b) continue;
        const byName = new Map<string, { before?: FunctionCounts; now?: FunctionCounts }>();
        for (const f of a) byName.set(f.name, { before: f });
        for (const f of b) byName.set(f.name, { ...byName.get(f.name), now: f });
        const changes = [...byName.entries()].map(([name, { before: x, now: y }]) => ({
            name,
            instructions: (y?.instructions ?? 0) - (x?.instructions ?? 0),
            misses: (y?.instructionCacheMisses ?? 0) - (x?.instructionCacheMisses ?? 0),
            listed: x === undefined ? "now only" : y === undefined ? "before only" : "",
        }));
        changes.sort((x, y) => Math.abs(y.instructions) - Math.abs(x.instructions));
        const table = [[`${side}: the functions that changed most, own counts per ${unit}`, "instructions", "I1 misses", "listed"]];
        const signed = (v: number) => `${v > 0 ? "+" : ""}${Math.round(v)}`;
        for (const c of changes.slice(0, top)) table.push([c.name, signed(c.instructions), signed(c.misses), c.listed]);
        out.push("", ...renderTable(table, [0, 3]));
    }
    return out;
}
