// `npm run bench -- --compare FILE`: this run against an earlier one (a JSON report from
// bench/results/). Absolute numbers move by up to 2x between runs on a shared machine, so what is
// compared is each metric's agent/OpenSSH ratio, measured in the same run on both sides; a change
// is called better or worse only when it is larger than the run-to-run spread of that ratio seen
// in either report.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { median, renderTable } from "./report";

const numberOrNull = z.number().nullable(); // JSON writes NaN and Infinity as null

const ReportMetric = z.object({
    name: z.string().min(1),
    unit: z.string(),
    better: z.enum(["higher", "lower"]),
    agent: numberOrNull,
    openssh: numberOrNull,
    ratio: numberOrNull,
    /** Per-run values, in run order; absent in reports written before they were kept. */
    runs: z.object({ agent: z.array(numberOrNull), openssh: z.array(numberOrNull) }).optional(),
});

/** One run of a relay without SSH or encryption (bench.ts, "floors"). */
const FloorRun = z.object({
    roundTripCpuMicros: numberOrNull,
    p50Micros: numberOrNull,
    pushCpuSecondsPerGiB: numberOrNull,
    pushMBps: numberOrNull,
    /** Absent in the first reports with floors (2026-12-07 06:10 UTC), which measured pushing only. */
    pullCpuSecondsPerGiB: numberOrNull.optional(),
    pullMBps: numberOrNull.optional(),
});

const BenchReport = z.object({
    date: z.string().min(1),
    quick: z.boolean(),
    runs: z.number().int().positive(),
    /** GLIBC_TUNABLES the relay's sshd ran with (--relay-glibc-tunables); null or absent: as installed. */
    relayGlibcTunables: z.string().nullable().optional(),
    /** net.ipv4.tcp_congestion_control in effect for the run; absent in reports written before it was recorded. */
    tcpCongestionControl: z.string().min(1).optional(),
    /**
     * How the persistent-stream rows were measured: "interleaved" (both contenders in turns over
     * the same seconds, since 2026-12-07 19:20 UTC); absent in earlier reports, which measured one
     * contender's run after the other's.
     */
    roundTrips: z.enum(["interleaved", "sequential"]).optional(),
    /**
     * How the floors' round trips were measured: "interleaved" (in turns with the contenders', since
     * 2026-12-07 21:10 UTC); absent in earlier reports, which measured them apart.
     */
    floorRoundTrips: z.enum(["interleaved", "sequential"]).optional(),
    metrics: z.array(ReportMetric).min(1),
    /** Per run, the plain Node.js and the socat relay; absent in reports written before they were measured. */
    relayFloors: z.object({ node: z.array(FloorRun), socat: z.array(FloorRun) }).optional(),
});

export type BenchReport = z.infer<typeof BenchReport>;
export type ReportMetric = z.infer<typeof ReportMetric>;

/**
 * Reads and checks an earlier report. Throws an error naming the file and the first field that is
 * wrong, so a typo in `--compare` fails before minutes of measuring, not after.
 */
export function loadReport(file: string): BenchReport {
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        throw new Error(`--compare ${file}: cannot read it (${code}); give a report from bench/results/, e.g. bench/results/latest.json`);
    }
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (err) {
        throw new Error(`--compare ${file}: not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    const parsed = BenchReport.safeParse(json);
    if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
        throw new Error(`--compare ${file}: not a bench report: ${field}: ${issue.message}`);
    }
    return parsed.data;
}

/** Relative spread (max - min) / median of a metric's per-run ratios; 0 when unknown or one run. */
export function ratioSpread(metric: ReportMetric): number {
    const runs = metric.runs;
    if (!runs) return 0;
    const ratios: number[] = [];
    for (let i = 0; i < Math.min(runs.agent.length, runs.openssh.length); i++) {
        const a = runs.agent[i];
        const o = runs.openssh[i];
        if (a !== null && a !== undefined && o !== null && o !== undefined && o !== 0 && Number.isFinite(a / o)) ratios.push(a / o);
    }
    if (ratios.length < 2) return 0;
    return (Math.max(...ratios) - Math.min(...ratios)) / median(ratios);
}

function usableRatio(ratio: number | null): ratio is number {
    return ratio !== null && Number.isFinite(ratio) && ratio > 0;
}

export type Verdict = "better" | "worse" | "within noise" | "no spread known" | "not comparable";

export interface Comparison {
    readonly name: string;
    readonly unit: string;
    readonly before: { readonly agent: number | null; readonly ratio: number | null } | undefined;
    readonly now: { readonly agent: number | null; readonly ratio: number | null };
    /** Relative change of the ratio, now / before - 1 (positive: the ratio grew). */
    readonly change: number | undefined;
    /** The band a change must leave to count: the larger per-run spread of the two reports. */
    readonly noise: number;
    readonly verdict: Verdict;
}

/**
 * The name a metric had in reports written before the bench measured both directions: the pull
 * rows were "throughput direct, …" and "CPU per GiB, direct (…)", without "pull".
 */
export function formerName(name: string): string | undefined {
    const former = name.replace(/^(throughput|CPU per GiB,) pull /, "$1 ");
    return former === name ? undefined : former;
}

/**
 * Compares each metric of `now` with the metric of the same name in `before` (or its former name,
 * `formerName`); metrics are named with their sizes, so a quick run and a full run share few
 * names: those rows say so.
 */
export function compareReports(before: BenchReport, now: BenchReport): Comparison[] {
    const earlier = new Map(before.metrics.map((m) => [m.name, m]));
    return now.metrics.map((metric): Comparison => {
        const former = formerName(metric.name);
        const base = earlier.get(metric.name) ?? (former === undefined ? undefined : earlier.get(former));
        const nowValues = { agent: metric.agent, ratio: metric.ratio };
        if (!base || base.better !== metric.better || !usableRatio(base.ratio) || !usableRatio(metric.ratio)) {
            return {
                name: metric.name,
                unit: metric.unit,
                before: base ? { agent: base.agent, ratio: base.ratio } : undefined,
                now: nowValues,
                change: undefined,
                noise: 0,
                verdict: "not comparable",
            };
        }
        const change = metric.ratio / base.ratio - 1;
        const noise = Math.max(ratioSpread(base), ratioSpread(metric));
        let verdict: Verdict;
        if (noise === 0) verdict = "no spread known";
        else if (Math.abs(change) <= noise) verdict = "within noise";
        else verdict = (change > 0) === (metric.better === "higher") ? "better" : "worse";
        return { name: metric.name, unit: metric.unit, before: { agent: base.agent, ratio: base.ratio }, now: nowValues, change, noise, verdict };
    });
}

function ratioText(ratio: number | null | undefined): string {
    return ratio === null || ratio === undefined || !Number.isFinite(ratio) ? "n/a" : `${ratio.toFixed(2)}x`;
}

function percent(value: number | undefined): string {
    if (value === undefined) return "";
    return `${value >= 0 ? "+" : ""}${(value * 100).toFixed(0)}%`;
}

/** The comparison as text lines (a table), with a heading naming the two runs. */
export function comparisonTable(before: BenchReport, beforeFile: string, now: BenchReport): string[] {
    const rows = compareReports(before, now);
    const lines: string[][] = [["metric", "agent/OpenSSH before", "now", "change", "noise band", "verdict"]];
    for (const r of rows) {
        lines.push([r.name, ratioText(r.before?.ratio), ratioText(r.now.ratio), percent(r.change), r.noise > 0 ? `±${(r.noise * 100).toFixed(0)}%` : "", r.verdict]);
    }
    const out = [`compared with ${beforeFile} (${before.date}${before.quick ? ", quick" : ""}, ${before.runs} run${before.runs === 1 ? "" : "s"}); ratios are compared, absolute numbers are not`];
    if (before.quick !== now.quick) out.push("note: one run is --quick and the other is not: sizes differ, few metrics match");
    const tunables = (r: BenchReport) => r.relayGlibcTunables ?? "none";
    if (tunables(before) !== tunables(now)) {
        out.push(
            `note: the relay's sshd ran with other GLIBC_TUNABLES (before: ${tunables(before)}, now: ${tunables(now)}): its cost per byte differs, which moves the direct rows (connector/PERFORMANCE.md, "sshd's cost depends on its session")`,
        );
    }
    if (before.tcpCongestionControl !== undefined && now.tcpCongestionControl !== undefined && before.tcpCongestionControl !== now.tcpCongestionControl) {
        out.push(
            `note: the runs used other TCP congestion control (before: ${before.tcpCongestionControl}, now: ${now.tcpCongestionControl}): under bbr the relay's sshd paces its sends, which costs it CPU and moves the direct rows (connector/PERFORMANCE.md, "TCP congestion control")`,
        );
    }
    const method = (r: BenchReport) => r.roundTrips ?? "sequential";
    if (method(before) !== method(now)) {
        out.push(
            `note: the round trips were measured ${method(before)} before and ${method(now)} now: the persistent-stream rows compare two measures (one contender's run after the other's catches the host's drifting wake-up latency; interleaved, both see the same seconds: connector/README.md, "npm run bench")`,
        );
    }
    return [...out, ...renderTable(lines, [0, 5])];
}
