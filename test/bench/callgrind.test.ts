// `npm run bench:callgrind` (bench/callgrind.ts): a measuring tool, not a test of the data path, but
// it must keep working on a clean checkout. This parses a real callgrind dump's totals, refuses bad
// options, and runs the tool end to end at its smallest under valgrind: the agent (on the real
// relay), `ssh -N -R` and both floors.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { countsOf, parseOptions } from "../../bench/callgrind";

const ROOT = resolve(__dirname, "..", "..");

describe("npm run bench:callgrind", function () {
    this.timeout(300_000);

    it("reads the per-event totals of a dump, trailing zero events left out as callgrind writes them", () => {
        const dump = ["# callgrind format", "events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw", "fn=(1) main", "0 5 1", "totals: 478783693 25060557 338392680 2257253 60033 55018"].join("\n");
        assert.deepEqual(countsOf(dump, 5000), { instructions: 478783693 / 5000, instructionCacheMisses: 2257253 / 5000, dataReadMisses: 60033 / 5000, dataWriteMisses: 55018 / 5000 });
        // socat's measured span touches nothing outside the caches: the miss events are all zero, and absent.
        assert.deepEqual(countsOf("events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nsummary: 4840000 900 800", 1000), { instructions: 4840, instructionCacheMisses: 0, dataReadMisses: 0, dataWriteMisses: 0 });
        assert.throws(() => countsOf("events: Ir\ntotals: 100", 1), /no I1mr event: was --cache-sim=yes given\?/);
        assert.throws(() => countsOf("no dump here", 1), /not a callgrind dump/);
    });

    it("refuses counts that are not whole and positive, and sides it does not know", () => {
        assert.throws(() => parseOptions(["--round-trips", "0"]), /--round-trips must be a whole number of round trips, 1 or more \(got "0"\)/);
        assert.throws(() => parseOptions(["--warm-up", "1.5"]), /--warm-up must be a whole number/);
        assert.throws(() => parseOptions(["--only", "agent,ssh"]), /--only: "ssh" is not one of agent, openssh, node, socat/);
        assert.deepEqual(parseOptions([]).only, ["agent", "openssh", "node", "socat"]);
    });

    it("counts a round trip of the agent, OpenSSH and both floors under valgrind, and writes the figures", () => {
        const dir = mkdtempSync(join(tmpdir(), "callgrind-smoke-"));
        try {
            const out = join(dir, "counts.json");
            const run = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", join(ROOT, "bench", "callgrind.ts"), "--round-trips", "50", "--warm-up", "50", "--out", out], {
                cwd: ROOT,
                encoding: "utf8",
                timeout: 280_000,
            });
            assert.equal(run.status, 0, `bench:callgrind exited ${run.status}\n${run.stdout}\n${run.stderr}`);
            assert.match(run.stdout, /^per round trip, user space, main thread +instructions +I1 misses +D1 read misses +D1 write misses$/m);
            const report = JSON.parse(readFileSync(out, "utf8")) as { roundTrips: number; perRoundTrip: Record<string, { instructions: number; instructionCacheMisses: number }> };
            assert.equal(report.roundTrips, 50);
            assert.deepEqual(Object.keys(report.perRoundTrip), ["agent", "openssh", "node", "socat"]);
            // Relaying a message each way costs any of them some instructions; an idle process (the
            // wrong pid, a dump of the wrong thread) would show next to none. The agent's JavaScript
            // and the binding's calls touch more code per round trip than fits in a first-level cache.
            for (const [side, counts] of Object.entries(report.perRoundTrip)) assert.ok(counts.instructions > 1000, `${side}: ${counts.instructions} instructions per round trip`);
            assert.ok(report.perRoundTrip.agent!.instructionCacheMisses > 100, `agent: ${report.perRoundTrip.agent!.instructionCacheMisses} I1 misses`);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
