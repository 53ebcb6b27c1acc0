// `npm run bench:callgrind` (bench/callgrind.ts): a measuring tool, not a test of the data path, but
// it must keep working on a clean checkout. This parses a real callgrind dump's totals, refuses bad
// options, and runs the tool end to end at its smallest under valgrind: the agent (on the real
// relay), `ssh -N -R` and both floors.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { countsOf, parseOptions } from "../../bench/callgrind";
import { PerfMap, displayName, parseAnnotate } from "../../bench/callgrindFunctions";
import { type CallgrindReport, compareReports, loadReport } from "../../bench/callgrindReport";

const ROOT = resolve(__dirname, "..", "..");

/** `npm run bench:callgrind -- <args>`, as a child process. */
function callgrindTool(args: string[], timeout: number) {
    return spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", join(ROOT, "bench", "callgrind.ts"), ...args], { cwd: ROOT, encoding: "utf8", timeout });
}

/** Runs `body` with a fresh temporary directory, removed afterwards. */
async function inTempDir(prefix: string, body: (dir: string) => void | Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    try {
        await body(dir);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

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
        assert.throws(() => parseOptions(["--warm-up", "1.5"]), /--warm-up must be a whole number of round trips/);
        assert.throws(() => parseOptions(["--only", "agent,ssh"]), /--only: "ssh" is not one of agent, openssh, node, socat/);
        assert.deepEqual(parseOptions([]).only, ["agent", "openssh", "node", "socat"]);
    });

    it("counts bulk phases per MiB without socat, lists functions on request, and takes the agent's node flags as the bench does", () => {
        const push = parseOptions(["--phase", "push", "--mib", "8"]);
        assert.deepEqual([push.phase, push.mib, push.warmUp, push.only], ["push", 8, 512, ["agent", "openssh", "node"]]);
        assert.equal(parseOptions(["--phase", "pull", "--warm-up", "16"]).warmUp, 16);
        assert.throws(() => parseOptions(["--phase", "push", "--only", "agent,socat"]), /socat cannot be counted in --phase push: it serves one connection per process/);
        assert.throws(() => parseOptions(["--phase", "bulk"]), /--phase: "bulk" is not one of round-trips, push, pull/);
        assert.throws(() => parseOptions(["--phase", "push", "--mib", "0"]), /--mib must be a whole number of MiB, 1 or more/);
        assert.throws(() => parseOptions(["--phase", "push", "--warm-up=-1"]), /--warm-up must be a whole number of MiB/);
        assert.equal(parseOptions([]).top, 0);
        assert.deepEqual([parseOptions(["--top", "20", "--sort", "i1-misses"]).top, parseOptions(["--sort", "i1-misses"]).sort], [20, "instructionCacheMisses"]);
        assert.throws(() => parseOptions(["--sort", "cycles"]), /--sort: "cycles" is not one of instructions, i1-misses, d1-read-misses/);
        assert.deepEqual(parseOptions([]).nodeFlags, ["--initial-old-space-size=64"]);
        assert.deepEqual(parseOptions(["--node-flags=--initial-old-space-size=64 --max-semi-space-size=1"]).nodeFlags, ["--initial-old-space-size=64", "--max-semi-space-size=1"]);
        assert.deepEqual(parseOptions(["--node-flags="]).nodeFlags, []);
        assert.throws(() => parseOptions(["--node-flags=max-semi-space-size=1"]), /--node-flags: "max-semi-space-size=1" is not a node option/);
        assert.throws(() => parseOptions(["--only", "openssh", "--node-flags=--jitless"]), /only the agent runs on the agent's node flags/);
    });

    it("reads callgrind_annotate's functions and names JIT code from the process's perf map, the latest entry winning", () => {
        // Lines as callgrind_annotate 3.19 prints them: two-digit percentages in one token, one-digit
        // ones after a lone "(", "." for an event with no count.
        const annotate = [
            "Ir                   I1mr             D1mr",
            "114,706,180 (100.0%) 840,552 (100.0%) 1,287,168 (100.0%)  PROGRAM TOTALS",
            "--------------------------------------------------------------------------------",
            "Ir                  I1mr            D1mr              file:function",
            "84,971,095 (74.08%)  14,437 ( 1.72%) 504,607 (39.20%)  ???:_aesni_ctr32_ghash_6x [/usr/bin/node]",
            "   723,088 ( 0.63%) 40,000 ( 4.76%)  21,403 ( 1.66%)  ???:0x000000000d119000 [???]",
            "    77,487 ( 0.07%)  5,276 ( 0.63%)       .           ???:CRYPTO_gcm128_aad [/usr/bin/node]",
            "   122,000 ( 0.10%)  1,000 ( 0.12%)     400 ( 0.03%)  ???:0x000000000d119000'2 [???]",
            " 1,867,100 ( 0.85%) 202,768 ( 1.60%)  80,879 ( 1.52%)  /home/iojs/build/ws/out/../deps/uv/src/unix/linux.c:uv__io_poll [/usr/bin/node]",
            "    10,000 ( 0.01%)    100 ( 0.01%)      10 ( 0.00%)  ???:0x00000000deadbeef [???]",
        ].join("\n");
        const rows = parseAnnotate(annotate);
        assert.deepEqual(
            rows.map((r) => [r.instructions, r.instructionCacheMisses, r.dataReadMisses]),
            [
                [84971095, 14437, 504607],
                [723088, 40000, 21403],
                [77487, 5276, 0],
                [122000, 1000, 400],
                [1867100, 202768, 80879],
                [10000, 100, 10],
            ],
        );
        // An address reused by later code resolves to the later entry; one outside every entry says so.
        const map = new PerfMap(["d118f00 200 JS:^decrypt /work/main/node_modules/ssh2/lib/protocol/crypto.js:1011:10", "d119000 1178 JS:*decrypt /work/main/node_modules/ssh2/lib/protocol/crypto.js:1011:10", "not a map line"].join("\n"));
        assert.deepEqual(
            rows.map((r) => displayName(r.name, map)),
            [
                "_aesni_ctr32_ghash_6x (node)",
                "JIT *decrypt node_modules/ssh2/lib/protocol/crypto.js:1011:10",
                "CRYPTO_gcm128_aad (node)",
                "JIT *decrypt node_modules/ssh2/lib/protocol/crypto.js:1011:10",
                "uv__io_poll (node)",
                "JIT code at 0x00000000deadbeef (no perf map entry)",
            ],
        );
        assert.equal(displayName("???:0x000000000d119000 [???]", undefined), "JIT code at 0x000000000d119000 (no perf map entry)");
    });

    it("sets a run against an earlier report (--compare): per side and event, then the functions that changed most", async () => {
        const counts = (instructions: number, misses: number) => ({ instructions, instructionCacheMisses: misses, dataReadMisses: 1000, dataWriteMisses: 140 });
        const before: CallgrindReport = {
            date: "2026-12-08T00:00:00.000Z",
            phase: "round-trips",
            roundTrips: 5000,
            warmUp: 6000,
            perRoundTrip: { agent: counts(44000, 2500), openssh: counts(95757, 451) },
            node: "v20.20.2",
            agentNodeFlags: ["--initial-old-space-size=64"],
            topFunctions: {
                agent: [
                    { name: "JIT *module.exports node_modules/ssh2/lib/protocol/handlers.misc.js:908:27", instructions: 400, instructionCacheMisses: 34, dataReadMisses: 10 },
                    { name: "Builtins_LoadIC (node)", instructions: 4149, instructionCacheMisses: 33, dataReadMisses: 101 },
                ],
            },
        };
        const now: CallgrindReport = {
            ...before,
            date: "2026-12-08T00:10:00.000Z",
            perRoundTrip: { agent: counts(43000, 2550), node: counts(17813, 924) },
            topFunctions: {
                agent: [
                    { name: "Builtins_LoadIC (node)", instructions: 4100, instructionCacheMisses: 33, dataReadMisses: 101 },
                    { name: "JIT *short dist/connector/ssh2/channelData.js:43:19", instructions: 458, instructionCacheMisses: 39, dataReadMisses: 5 },
                ],
            },
        };
        const text = compareReports(before, now, 10).join("\n");
        // Only the sides measured in both; a drop shows with its sign, to a tenth of a percent.
        assert.match(text, /^agent: instructions +44000 +43000 +-2\.3%$/m);
        assert.match(text, /^agent: I1 misses +2500 +2550 +\+2\.0%$/m);
        assert.doesNotMatch(text, /openssh|node:/);
        // By function, the largest change first; one listed by only one run says so.
        const lines = text.split("\n").filter((line) => /^(JIT|Builtins)/.test(line));
        assert.deepEqual(
            lines.map((line) => line.replace(/ {2,}/g, " | ")),
            ["JIT *short dist/connector/ssh2/channelData.js:43:19 | +458 | +39 | now only", "JIT *module.exports node_modules/ssh2/lib/protocol/handlers.misc.js:908:27 | -400 | -34 | before only", "Builtins_LoadIC (node) | -49 | 0"],
        );
        assert.throws(() => compareReports(before, { ...now, phase: "push", perMiB: now.perRoundTrip }, 10), /--compare \(the report of 2026-12-08T00:00:00\.000Z\): that run counted --phase round-trips, this one --phase push; compare like with like/);

        await inTempDir("callgrind-compare-", (dir) => {
            const file = join(dir, "before.json");
            writeFileSync(file, JSON.stringify(before));
            assert.deepEqual(loadReport(file).perRoundTrip, before.perRoundTrip);
            writeFileSync(file, JSON.stringify({ ...before, perRoundTrip: { agent: { ...counts(1, 1), dataReadMisses: "many" } } }));
            assert.throws(() => loadReport(file), /--compare .*before\.json: "perRoundTrip\.agent\.dataReadMisses" is not a number/);
            writeFileSync(file, JSON.stringify({ metrics: [] }));
            assert.throws(() => loadReport(file), /not a report of npm run bench:callgrind -- --out/);
            writeFileSync(file, "{");
            assert.throws(() => loadReport(file), /--compare .*before\.json: .*JSON/);
            assert.equal(parseOptions(["--compare", file]).compare, file);
        });
    });

    it("counts a round trip of the agent, OpenSSH and both floors under valgrind, and writes the figures", () =>
        inTempDir("callgrind-smoke-", (dir) => {
            const out = join(dir, "counts.json");
            const run = callgrindTool(["--round-trips", "50", "--warm-up", "50", "--top", "40", "--out", out], 280_000);
            assert.equal(run.status, 0, `bench:callgrind exited ${run.status}\n${run.stdout}\n${run.stderr}`);
            assert.match(run.stdout, /^per round trip, user space, main thread +instructions +I1 misses +D1 read misses +D1 write misses$/m);
            const report = JSON.parse(readFileSync(out, "utf8")) as {
                phase: string;
                roundTrips: number;
                perRoundTrip: Record<string, { instructions: number; instructionCacheMisses: number }>;
                topFunctions: Record<string, { name: string; instructions: number }[]>;
            };
            assert.equal(report.phase, "round-trips");
            assert.equal(report.roundTrips, 50);
            assert.deepEqual(Object.keys(report.perRoundTrip), ["agent", "openssh", "node", "socat"]);
            // Relaying a message each way costs any of them some instructions; an idle process (the
            // wrong pid, a dump of the wrong thread) would show next to none. The agent's JavaScript
            // and the binding's calls touch more code per round trip than fits in a first-level cache.
            for (const [side, counts] of Object.entries(report.perRoundTrip)) assert.ok(counts.instructions > 1000, `${side}: ${counts.instructions} instructions per round trip`);
            assert.ok(report.perRoundTrip.agent!.instructionCacheMisses > 100, `agent: ${report.perRoundTrip.agent!.instructionCacheMisses} I1 misses`);
            // By function: the agent's JIT code resolves to its JavaScript (after 50 round trips it is
            // baseline code, `^`, not yet optimized), the C sides' functions have symbols, and the
            // listed functions' counts add up to at most the total.
            const agentTop = report.topFunctions.agent!;
            assert.equal(agentTop.length, 40);
            assert.ok(agentTop.some((f) => /^JIT [*^~]\S* \S+:\d+:\d+$/.test(f.name)), agentTop.map((f) => f.name).join("\n"));
            assert.ok(!agentTop.some((f) => f.name.startsWith("JIT code at")), `unresolved JIT code among the agent's top functions:\n${agentTop.map((f) => f.name).join("\n")}`);
            assert.ok(report.topFunctions.socat!.some((f) => /\((socat|libc\.so\.6)\)$/.test(f.name)));
            const listed = agentTop.reduce((sum, f) => sum + f.instructions, 0);
            assert.ok(listed <= report.perRoundTrip.agent!.instructions * 1.001, `${listed} listed of ${report.perRoundTrip.agent!.instructions}`);
            assert.match(run.stdout, /^agent: its own counts per round trip +instructions +share +I1 misses +share +D1 read misses +share$/m);
            // --perf-basic-prof turns V8's logger on: nothing of it may be left in the checkout.
            assert.deepEqual(readdirSync(ROOT).filter((name) => /^isolate-.*\.log$/.test(name)), []);
        }));

    it("counts a MiB pushed through the agent and the Node.js floor: the agent decrypts every byte, the floor copies", () =>
        inTempDir("callgrind-push-", (dir) => {
            const out = join(dir, "push.json");
            // An earlier push report to compare with: only the wiring is checked here (compareReports has its own test).
            const earlier = join(dir, "earlier.json");
            writeFileSync(earlier, JSON.stringify({ date: "2026-12-08T00:00:00.000Z", phase: "push", mib: 32, warmUpMiB: 512, perMiB: { agent: { instructions: 3518222, instructionCacheMisses: 24109, dataReadMisses: 36600, dataWriteMisses: 4041 } }, node: "v20.20.2", agentNodeFlags: [] }));
            const refused = callgrindTool(["--phase", "pull", "--compare", earlier], 60_000);
            assert.equal(refused.status, 2, refused.stderr);
            assert.match(refused.stderr, /--compare .*earlier\.json: that run counted --phase push, this one --phase pull; compare like with like/);
            const run = callgrindTool(["--phase", "push", "--only", "agent,node", "--warm-up", "4", "--mib", "2", "--top", "5", "--out", out, "--compare", earlier], 200_000);
            assert.equal(run.status, 0, `bench:callgrind exited ${run.status}\n${run.stdout}\n${run.stderr}`);
            assert.match(run.stdout, /^per MiB pushed, user space, main thread +instructions/m);
            assert.match(run.stdout, /^compared with the report of 2026-12-08T00:00:00\.000Z/m);
            assert.match(run.stdout, /^agent: instructions +3518222 +\d+ +[+-]?[\d.]+%$/m);
            const report = JSON.parse(readFileSync(out, "utf8")) as {
                phase: string;
                mib: number;
                warmUpMiB: number;
                perMiB: Record<string, { instructions: number }>;
                topFunctions: Record<string, { name: string; instructions: number }[]>;
            };
            assert.deepEqual([report.phase, report.mib, report.warmUpMiB, Object.keys(report.perMiB)], ["push", 2, 4, ["agent", "node"]]);
            // Decrypting AES-256-GCM is OpenSSL's AES-NI and GHASH loop, about 2.6 million
            // instructions per MiB and the agent's first function; the floor only moves the bytes
            // between its sockets. A dump of the wrong span (the warm-up, an idle moment) would show
            // no such loop.
            const aes = report.topFunctions.agent!.find((f) => /^_?aesni_ctr32_ghash_6x \(node\)$/.test(f.name));
            assert.ok(aes && aes.instructions > 2_000_000, report.topFunctions.agent!.map((f) => `${f.name}: ${Math.round(f.instructions)}`).join("\n"));
            assert.ok(report.perMiB.agent!.instructions > aes.instructions);
            assert.ok(report.perMiB.node!.instructions > 10_000, `node floor: ${report.perMiB.node!.instructions} instructions per MiB`);
            assert.ok(!report.topFunctions.node!.some((f) => /aesni/.test(f.name)));
        }));
});
