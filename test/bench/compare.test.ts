import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compareReports, comparisonTable, loadReport, ratioSpread, type BenchReport, type ReportMetric } from "../../bench/compare";
import { median } from "../../bench/report";

function metric(name: string, better: "higher" | "lower", agentRuns: number[], opensshRuns: number[]): ReportMetric {
    const agent = median(agentRuns);
    const openssh = median(opensshRuns);
    return { name, unit: "x", better, agent, openssh, ratio: agent / openssh, runs: { agent: agentRuns, openssh: opensshRuns } };
}

function report(metrics: ReportMetric[], quick = false): BenchReport {
    return { date: "2026-11-23T00:00:00.000Z", quick, runs: 3, metrics };
}

describe("bench --compare", () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), "bench-compare-"))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    const write = (name: string, content: string) => {
        const file = join(dir, name);
        writeFileSync(file, content);
        return file;
    };

    it("reads the committed reference report, with both directions and per-run values", () => {
        const baseline = loadReport(join(__dirname, "..", "..", "bench", "results", "latest.json"));
        for (const kind of ["pull direct", "pull hairpin", "push direct", "push hairpin"]) {
            assert.ok(baseline.metrics.some((m) => m.name.startsWith(`throughput ${kind},`)), kind);
        }
        assert.ok(baseline.metrics.every((m) => m.runs !== undefined));
    });

    it("refuses a missing file, naming it and what to give instead", () => {
        assert.throws(() => loadReport(join(dir, "nope.json")), /--compare .*nope\.json: cannot read it \(ENOENT\); give a report from bench\/results\//);
    });

    it("refuses a file that is not JSON", () => {
        assert.throws(() => loadReport(write("text.json", "throughput: fast")), /--compare .*text\.json: not JSON/);
    });

    it("refuses a report with a wrong field, naming the field", () => {
        const bad = { ...report([metric("a", "higher", [1], [1])]), metrics: [{ ...metric("a", "higher", [1], [1]), better: "faster" }] };
        assert.throws(() => loadReport(write("bad.json", JSON.stringify(bad))), /--compare .*bad\.json: not a bench report: metrics\.0\.better: /);
        assert.throws(() => loadReport(write("empty.json", "{}")), /not a bench report: date: /);
    });

    it("accepts null where JSON wrote NaN, and calls that metric not comparable", () => {
        const nan = { ...metric("p99", "lower", [1, 1, 1], [0, 0, 0]), ratio: null };
        const file = write("nan.json", JSON.stringify(report([nan])));
        const [row] = compareReports(loadReport(file), report([metric("p99", "lower", [1, 1, 1], [1, 1, 1])]));
        assert.equal(row!.verdict, "not comparable");
    });

    it("measures the spread of the per-run ratios, and knows none for one run or none kept", () => {
        assert.ok(Math.abs(ratioSpread(metric("t", "higher", [90, 100, 110], [100, 100, 100])) - 0.2) < 1e-9);
        assert.equal(ratioSpread(metric("t", "higher", [90], [100])), 0);
        const { runs: _dropped, ...withoutRuns } = metric("t", "higher", [90, 100, 110], [100, 100, 100]);
        assert.equal(ratioSpread(withoutRuns), 0);
    });

    it("calls a change better or worse only beyond the noise band, in the metric's direction", () => {
        // Throughput (higher is better), ratio 1.0 with ±10% spread in the baseline.
        const before = report([
            metric("throughput", "higher", [95, 100, 105], [100, 100, 100]),
            metric("latency", "lower", [95, 100, 105], [100, 100, 100]),
            metric("rss", "lower", [100, 100, 100], [100, 100, 100]),
        ]);
        const steady = [100, 100, 100];
        const rows = compareReports(
            before,
            report([
                metric("throughput", "higher", [120, 120, 120], steady), // +20%: better
                metric("latency", "lower", [120, 120, 120], steady), // +20% on a lower-is-better metric: worse
                metric("rss", "lower", [90, 90, 90], steady), // no spread in either report
            ]),
        );
        assert.deepEqual(
            rows.map((r) => [r.name, r.verdict]),
            [
                ["throughput", "better"],
                ["latency", "worse"],
                ["rss", "no spread known"],
            ],
        );
        assert.ok(Math.abs(rows[0]!.change! - 0.2) < 1e-9);
        assert.ok(Math.abs(rows[0]!.noise - 0.1) < 1e-9);

        const [small] = compareReports(before, report([metric("throughput", "higher", [104, 104, 104], steady)]));
        assert.equal(small!.verdict, "within noise");
    });

    it("compares a pull row with the same row of a report written before push was measured (no 'pull' in its name)", () => {
        const before = report([metric("throughput direct, 1 stream, 1024 MiB", "higher", [90, 100, 110], [100, 100, 100]), metric("CPU per GiB, hairpin (tunnel process)", "lower", [1], [1])]);
        const now = report([
            metric("throughput pull direct, 1 stream, 1024 MiB", "higher", [100, 100, 100], [100, 100, 100]),
            metric("CPU per GiB, pull hairpin (tunnel process)", "lower", [1], [1]),
            metric("throughput push direct, 1 stream, 1024 MiB", "higher", [100], [100]),
        ]);
        const rows = compareReports(before, now);
        assert.deepEqual(
            rows.map((r) => [r.name, r.before?.ratio, r.verdict]),
            [
                ["throughput pull direct, 1 stream, 1024 MiB", 1, "within noise"],
                ["CPU per GiB, pull hairpin (tunnel process)", 1, "no spread known"],
                ["throughput push direct, 1 stream, 1024 MiB", undefined, "not comparable"],
            ],
        );
    });

    it("says which metrics the earlier report does not have, and warns when quick meets full", () => {
        const before = report([metric("throughput direct, 1 stream, 1024 MiB", "higher", [1], [1])], false);
        const now = report([metric("throughput direct, 1 stream, 128 MiB", "higher", [1], [1])], true);
        const [row] = compareReports(before, now);
        assert.equal(row!.verdict, "not comparable");
        assert.equal(row!.before, undefined);
        const text = comparisonTable(before, "old.json", now).join("\n");
        assert.match(text, /compared with old\.json \(2026-11-23T00:00:00\.000Z, 3 runs\)/);
        assert.match(text, /one run is --quick and the other is not/);
        assert.match(text, /throughput direct, 1 stream, 128 MiB +n\/a +1\.00x +not comparable/);
        assert.doesNotMatch(text, /GLIBC_TUNABLES/, "both ran sshd as installed");
    });

    it("warns when the relay's sshd ran with other GLIBC_TUNABLES in the two reports", () => {
        const rows = [metric("throughput push direct, 1 stream, 1024 MiB", "higher", [1], [1])];
        const before = report(rows);
        const now = { ...report(rows), relayGlibcTunables: "glibc.cpu.x86_rep_movsb_threshold=4194304" };
        assert.match(
            comparisonTable(before, "old.json", now).join("\n"),
            /note: the relay's sshd ran with other GLIBC_TUNABLES \(before: none, now: glibc\.cpu\.x86_rep_movsb_threshold=4194304\)/,
        );
        assert.doesNotMatch(comparisonTable(now, "old.json", now).join("\n"), /GLIBC_TUNABLES/);
    });

    it("warns when the runs used other TCP congestion control, and not when a report did not record it", () => {
        const rows = [metric("throughput push direct, 1 stream, 1024 MiB", "higher", [1], [1])];
        const bbr = { ...report(rows), tcpCongestionControl: "bbr" };
        const cubic = { ...report(rows), tcpCongestionControl: "cubic" };
        assert.match(
            comparisonTable(bbr, "old.json", cubic).join("\n"),
            /note: the runs used other TCP congestion control \(before: bbr, now: cubic\): under bbr the relay's sshd paces its sends/,
        );
        assert.doesNotMatch(comparisonTable(cubic, "old.json", cubic).join("\n"), /congestion/);
        // Reports written before it was recorded: nothing known, nothing claimed.
        assert.doesNotMatch(comparisonTable(report(rows), "old.json", cubic).join("\n"), /congestion/);
    });

    it("warns when one report measured the round trips interleaved and the other one contender after the other", () => {
        const rows = [metric("latency p50, persistent stream", "lower", [300], [280])];
        const interleaved = { ...report(rows), roundTrips: "interleaved" as const };
        // A report from before the field existed measured them one after the other.
        assert.match(
            comparisonTable(report(rows), "old.json", interleaved).join("\n"),
            /note: the round trips were measured sequential before and interleaved now: the persistent-stream rows compare two measures/,
        );
        assert.doesNotMatch(comparisonTable(interleaved, "old.json", interleaved).join("\n"), /round trips were measured/);
        assert.doesNotMatch(comparisonTable(report(rows), "old.json", report(rows)).join("\n"), /round trips were measured/);
    });

    it("loads a report from before pulling through the floors was measured (2026-12-07 06:10 UTC: floors pushing only)", () => {
        const dir = mkdtempSync(join(tmpdir(), "bench-compare-"));
        try {
            const file = join(dir, "floors-push-only.json");
            const floor = { roundTripCpuMicros: 80, p50Micros: 200, pushCpuSecondsPerGiB: 1.4, pushMBps: 700 };
            writeFileSync(file, JSON.stringify({ ...report([metric("throughput push direct, 1 stream, 1024 MiB", "higher", [1], [1])]), relayFloors: { node: [floor], socat: [floor] } }));
            assert.equal(loadReport(file).relayFloors?.node[0]?.pushMBps, 700);
            // The committed reference loads too.
            loadReport(join(__dirname, "..", "..", "bench", "results", "latest.json"));
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
