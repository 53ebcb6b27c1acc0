// `npm run bench` is not part of the test command (it measures, it asserts nothing), but it must keep
// working on a clean checkout: this runs it end to end at its smallest (two quick runs, 20 streams,
// dist/ as `npm test` built it) against the real relay, agent and OpenSSH, and checks the report,
// not the numbers. The options that refuse bad input are checked without running anything.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseOptions } from "../../bench/bench";
import { loadReport } from "../../bench/compare";

const ROOT = resolve(__dirname, "..", "..");
const CONGESTION_CONTROL = "/proc/sys/net/ipv4/tcp_congestion_control";
const AVAILABLE_CONGESTION_CONTROL = "/proc/sys/net/ipv4/tcp_available_congestion_control";

function bench(args: string[], timeoutMs: number) {
    return spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", join(ROOT, "bench", "bench.ts"), ...args], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: timeoutMs,
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    });
}

describe("npm run bench", function () {
    this.timeout(240_000);
    let out: string;
    before(() => (out = mkdtempSync(join(tmpdir(), "bench-smoke-"))));
    after(() => rmSync(out, { recursive: true, force: true }));

    // Each refusal is checked on the parser itself; one of them also through the command line,
    // for the exit code and the usage that every refusal gets.
    for (const [args, message] of [
        [["--runs", "0"], /--runs needs a positive integer, got '0'/],
        [["--bulk-mib", "1.5"], /--bulk-mib needs a positive integer, got '1.5'/],
        [["--relay-glibc-tunables", "rep_movsb=1"], /--relay-glibc-tunables needs glibc\.<namespace>\.<name>=<value> items separated by ':', got 'rep_movsb=1'/],
        [["--fast"], /Unknown option '--fast'/],
        [["--bulk-only", "--latency-only"], /--bulk-only and --latency-only exclude each other: give one/],
        [["--bulk-only", "--baseline-env", "FIREFLY_CONNECTOR_DIRECT_WRITES"], /--baseline-env needs NAME=VALUE items separated by ',' \(e\.g\. FIREFLY_CONNECTOR_DIRECT_WRITES=0\), got 'FIREFLY_CONNECTOR_DIRECT_WRITES'/],
        [["--baseline-env", "A=1"], /--baseline-env measures two agents' data paths: give --bulk-only or --latency-only with it/],
        [["--latency-only", "--baseline-env", "A=1", "--compare", "bench/results/latest.json"], /--baseline-env and --compare exclude each other/],
        [["--compare", "/nonexistent/report.json"], /--compare \/nonexistent\/report\.json: cannot read it \(ENOENT\)/],
        [["--tcp-congestion-control", "warp"], /--tcp-congestion-control needs one of [\w, ]+ \(net\.ipv4\.tcp_available_congestion_control\), got 'warp'/],
    ] as const) {
        it(`refuses ${args.join(" ")}, naming the option and what it needs`, () => {
            assert.throws(() => parseOptions([...args]), message);
        });
    }

    it("refuses a bad option before measuring anything, with usage and exit code 2", () => {
        const run = bench(["--runs", "0"], 30_000);
        assert.equal(run.status, 2, run.stderr);
        assert.match(run.stderr, /--runs needs a positive integer, got '0'/);
        assert.match(run.stderr, /usage: npm run bench -- /);
        assert.doesNotMatch(run.stdout, /\[bench\]/);
    });

    // Uses dist/ as `npm test` built it; run alone without a build, the bench itself fails naming the fix.
    it("runs quick end to end against agent and OpenSSH, prints the table and writes a complete report", () => {
        // Two runs: the second bulk run starts both contenders again on new relay sessions.
        const run = bench(["--quick", "--runs", "2", "--streams", "20", "--bulk-mib", "32", "--relay-glibc-tunables", "glibc.cpu.x86_rep_movsb_threshold=4194304", "--no-build", "--out", out], 200_000);
        assert.equal(run.status, 0, `bench exited ${run.status}\n${run.stdout}\n${run.stderr}`);
        assert.match(run.stdout, /^metric +unit +agent +OpenSSH +agent\/OpenSSH +by run +target$/m);
        // Each row of two runs shows both pairs' ratios beside the ratio of the medians.
        assert.match(run.stdout, /^throughput push direct, 1 stream, 32 MiB +MB\/s +[\d.]+ +[\d.]+ +[\d.]+x +[\d.]+ [\d.]+ +>= 1\.0x$/m);
        assert.match(run.stdout, /bulk run 2: new relay sessions for both contenders, warmed up again/);
        // The relay's sshd alone runs with the tunables (read back from its /proc environ).
        assert.match(run.stdout, /relay sshd environment: GLIBC_TUNABLES=glibc\.cpu\.x86_rep_movsb_threshold=4194304$/m);
        // The floors: the same relay job without SSH or encryption, in Node.js and in C, in this run.
        assert.match(run.stdout, /^floor: relay without SSH or encryption +CPU per round trip \(us\) +p50 \(us\) +push: CPU per GiB \(s\) +push \(MB\/s\) +pull: CPU per GiB \(s\) +pull \(MB\/s\)$/m);
        // Each contender's distance to its own runtime's floor, in all four columns.
        for (const label of ["agent, above the Node\\.js floor", "OpenSSH, above the socat floor"]) {
            assert.match(run.stdout, new RegExp(`^${label} +[+-][\\d.]+ +[+-][\\d.]+ +[+-][\\d.]+ +[+-][\\d.]+$`, "m"));
        }
        for (const label of ["plain Node.js relay", "socat relay \\(C\\)"]) {
            // Bulk on its own, two runs; round trips in turns with the contenders', two measured runs.
            assert.equal((run.stdout.match(new RegExp(`^\\[bench\\] floor, ${label}: push [\\d.]+ MB/s, [\\d.]+ s CPU per GiB; pull [\\d.]+ MB/s, [\\d.]+ s CPU per GiB$`, "gm")) ?? []).length, 2, run.stdout);
            assert.equal((run.stdout.match(new RegExp(`^\\[bench\\] persistent stream, floor, ${label}: p50 [\\d.]+ us, CPU [\\d.]+ us per round trip$`, "gm")) ?? []).length, 2, run.stdout);
        }
        for (const name of ["agent", "OpenSSH"]) {
            // One line per measured run (two); the unmeasured warm-up run logs nothing.
            const lines = run.stdout.match(new RegExp(`persistent stream, ${name}: p50 [\\d.]+ us, tunnel process CPU [\\d.]+ us per round trip`, "g")) ?? [];
            assert.equal(lines.length, 2, run.stdout);
        }
        for (const kind of ["pull direct", "pull hairpin", "push direct", "push hairpin"]) {
            assert.match(run.stdout, new RegExp(`CPU per GiB \\(s\\) of the other processes, ${kind}: with agent: client [\\d.]+, target [\\d.]+, sshd [\\d.]+`));
            // The pipeline's CPU per GiB with each contender, and their ratio.
            const sum = new RegExp(`CPU per GiB \\(s\\) of all four processes \\(client, target, sshd, tunnel process\\), ${kind}: with agent ([\\d.]+), with OpenSSH ([\\d.]+) \\(([\\d.]+)x\\)`).exec(run.stdout);
            assert.ok(sum, run.stdout);
            assert.ok(Number(sum[1]) > 0 && Number(sum[2]) > 0 && Math.abs(Number(sum[3]) - Number(sum[1]) / Number(sum[2])) < 0.02 + 0.01 * Number(sum[3]), sum[0]);
        }

        const files = readdirSync(out).sort();
        assert.ok(files.includes("latest-quick.json"), `wrote ${files.join(", ")}`);
        assert.ok(files.some((f) => /^\d{4}-\d\d-\d\dT.*-quick\.json$/.test(f)), `wrote ${files.join(", ")}`);
        const report = loadReport(join(out, "latest-quick.json"));
        assert.equal(report.quick, true);
        assert.equal(report.relayGlibcTunables, "glibc.cpu.x86_rep_movsb_threshold=4194304");
        assert.equal(report.tcpCongestionControl, readFileSync(CONGESTION_CONTROL, "utf8").trim(), "the machine's congestion control, recorded");
        assert.equal(report.roundTrips, "interleaved", "how the persistent-stream rows were measured, recorded");
        assert.match(run.stdout, /\[bench\] TCP congestion control: \w+ \(the machine's; --tcp-congestion-control to choose\)/);
        assert.deepEqual(
            report.metrics.map((m) => m.name),
            [
                "throughput pull direct, 1 stream, 32 MiB",
                "CPU per GiB, pull direct (tunnel process)",
                "throughput pull hairpin, 1 stream, 32 MiB",
                "CPU per GiB, pull hairpin (tunnel process)",
                "throughput push direct, 1 stream, 32 MiB",
                "CPU per GiB, push direct (tunnel process)",
                "throughput push hairpin, 1 stream, 32 MiB",
                "CPU per GiB, push hairpin (tunnel process)",
                "latency p50, persistent stream",
                "latency p99, persistent stream",
                "CPU per round trip, persistent stream (tunnel process)",
                "latency p50, new connection per request",
                "latency p99, new connection per request",
                "20 concurrent streams x 1 MiB, total",
                "peak RSS (after all of the above)",
                "reconnect after relay restart",
            ],
        );
        // Two runs of each floor, every figure measured (a relay that carried nothing, or the wrong
        // pid, would show no CPU).
        assert.ok(report.relayFloors, "the report has relayFloors");
        for (const [kind, runs] of Object.entries(report.relayFloors)) {
            assert.equal(runs.length, 2, kind);
            for (const r of runs) {
                for (const [field, value] of Object.entries(r)) assert.ok(value !== null && Number.isFinite(value) && value > 0, `${kind}.${field}: ${value}`);
                assert.ok(r.roundTripCpuMicros! >= 5, `${kind}: ${r.roundTripCpuMicros} us per round trip`);
            }
        }
        for (const metric of report.metrics) {
            // Every row measured both contenders; a CPU row may round to 0 s at this size, nothing else may.
            for (const value of [metric.agent, metric.openssh]) {
                assert.ok(value !== null && Number.isFinite(value) && value >= 0, `${metric.name}: ${value}`);
                if (!metric.name.startsWith("CPU per GiB")) assert.ok(value > 0, `${metric.name}: ${value}`);
                // Relaying two messages costs any tunnel process some microseconds; an idle process
                // (the wrong pid, autossh instead of ssh) would show next to nothing.
                if (metric.name.startsWith("CPU per round trip")) assert.ok(value >= 5, `${metric.name}: ${value}`);
            }
            // One value per run, but the peak RSS (once, at the end) and the reconnects (--quick: one).
            const once = metric.name.startsWith("peak RSS") || metric.name.startsWith("reconnect");
            assert.equal(metric.runs?.agent.length, once ? 1 : 2, metric.name);
            assert.equal(metric.runs?.openssh.length, once ? 1 : 2, metric.name);
        }
    });

    it("--latency-only measures the persistent-stream rows alone, and writes no report; --tcp-congestion-control sets the machine's for the run and restores it", () => {
        const dir = mkdtempSync(join(tmpdir(), "bench-latency-"));
        const machines = readFileSync(CONGESTION_CONTROL, "utf8").trim();
        const other = readFileSync(AVAILABLE_CONGESTION_CONTROL, "utf8").trim().split(/\s+/).find((name) => name !== machines);
        try {
            const run = bench(["--quick", "--latency-only", "--runs", "2", "--relay-glibc-tunables", "glibc.cpu.x86_rep_movsb_threshold=4194304", "--tcp-congestion-control", other ?? machines, "--no-build", "--out", dir], 120_000);
            assert.equal(run.status, 0, `bench exited ${run.status}\n${run.stdout}\n${run.stderr}`);
            if (other !== undefined) assert.match(run.stdout, new RegExp(`\\[bench\\] TCP congestion control: ${other} for this run \\(the machine's ${machines} is restored at the end\\)`));
            assert.equal(readFileSync(CONGESTION_CONTROL, "utf8").trim(), machines, "the machine's congestion control was not restored");
            const rows = run.stdout.split("\n").filter((line) => /^\S.*\s(us|ms|MB\/s|MiB|s)\s+\S/.test(line) && !line.startsWith("["));
            assert.deepEqual(
                rows.map((line) => line.split(/\s{2,}/)[0]),
                ["latency p50, persistent stream", "latency p99, persistent stream", "CPU per round trip, persistent stream (tunnel process)"],
                run.stdout,
            );
            assert.equal((run.stdout.match(/persistent stream, (agent|OpenSSH): p50 /g) ?? []).length, 4, "two runs of each contender");
            // The floors' round trips are taken in the contenders' turns, so they are here too; their bulk transfers are not.
            assert.equal((run.stdout.match(/persistent stream, floor, (plain Node\.js relay|socat relay \(C\)): p50 /g) ?? []).length, 4, "two runs of each floor");
            assert.match(run.stdout, /^plain Node\.js relay +[\d.]+ +[\d.]+ +n\/a +n\/a +n\/a +n\/a$/m);
            assert.match(run.stdout, /^agent, above the Node\.js floor +[+-][\d.]+ +[+-][\d.]+ +- +-$/m);
            assert.doesNotMatch(run.stdout, /throughput|raw loopback|MB\/s,/);
            assert.deepEqual(readdirSync(dir), [], "an A/B run is not a report");
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("--baseline-env measures the agent against a second agent with those variables, labelled as such, without OpenSSH's targets", () => {
        const dir = mkdtempSync(join(tmpdir(), "bench-baseline-"));
        try {
            const run = bench(["--quick", "--latency-only", "--runs", "1", "--baseline-env", "FIREFLY_CONNECTOR_DIRECT_WRITES=0,FIREFLY_BENCH_MARK=b", "--no-build", "--out", dir], 120_000);
            assert.equal(run.status, 0, `bench exited ${run.status}\n${run.stdout}\n${run.stderr}`);
            // Read back from the baseline agent's /proc environ: the variables reached it.
            assert.match(run.stdout, /^\[bench\] baseline agent environment: FIREFLY_CONNECTOR_DIRECT_WRITES=0 FIREFLY_BENCH_MARK=b$/m);
            assert.match(run.stdout, /^metric +unit +agent +baseline agent +agent\/baseline agent +by run +target$/m);
            assert.match(run.stdout, /persistent stream, baseline agent: p50 [\d.]+ us, tunnel process CPU [\d.]+ us per round trip/);
            assert.match(run.stdout, /^\[bench\] against a baseline agent \(the same build\) with FIREFLY_CONNECTOR_DIRECT_WRITES=0 FIREFLY_BENCH_MARK=b, instead of OpenSSH$/m);
            assert.doesNotMatch(run.stdout.replace(/^\[bench\] against a baseline agent .*$/m, ""), /OpenSSH|<= 1\.1x/);
            assert.deepEqual(readdirSync(dir), [], "an A/B run is not a report");
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
