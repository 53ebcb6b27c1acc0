// npm run bench:callgrind [-- --round-trips N] [-- --warm-up N] [-- --only agent,openssh,node,socat]
//                          [-- --phase round-trips|push|pull] [-- --mib N]
//                          [-- --top N] [-- --sort instructions|i1-misses|d1-read-misses]
//                          [-- --node-flags "FLAGS"] [-- --keep-dumps DIR] [-- --compare FILE]
//
// What one round trip on a persistent stream (or, with --phase push|pull, one MiB of a bulk
// transfer) costs each tunnel process in user space, counted by valgrind's callgrind instead of
// timed: instructions executed, and the misses of a simulated first-level instruction and data
// cache. The bench's CPU per round trip moves by about 5% between identical agents on this shared
// machine, and the VM exposes no hardware counters; callgrind counts the same program's
// instructions to within a few percent run after run (OpenSSH's to 0.01%), whatever else the
// machine does. It counts user space only: the system calls' own work is not in it (a `perf`
// profile put that at about the same for the agent and `ssh`).
//
// Each side runs under `valgrind --tool=callgrind --cache-sim=yes --separate-threads=yes` in front
// of the bench's target: the agent (dist/connector/cli.js, the bench's node flags) and `ssh -N -R`
// on a lab relay (sshd, not under valgrind), and the two floor relays of `npm run bench` (the plain
// Node.js relay and socat). One pinger sends 64-byte messages that the target echoes; after
// `--warm-up` round trips, run uninstrumented, instrumentation is turned on (`callgrind_control
// -i on`), 200 more fill the simulated caches, the counters are zeroed (`-z`), and after
// `--round-trips` more they are dumped (`-d`). Only the main thread is counted: V8's compiler and
// GC helper threads finish late compilations at times of their own, and the round trip's own work
// is all on the main thread (ssh2's cipher calls included). The figures go to stdout as a table
// and, with --out FILE, as JSON. Nothing here is a target: it says where the time goes.
//
// --phase push|pull counts bulk transfers instead, the bench's uploads and downloads through each
// side: --warm-up MiB (default 512: a JIT needs thousands of packets to tier its code up)
// uninstrumented, 2 MiB to fill the caches, then --mib MiB counted, per MiB. socat is left out of
// them: it serves one connection per process, and its user space does next to nothing per MiB
// (the kernel copies).
//
// --top N lists, per side, the N functions with the most instructions of their own (or misses,
// --sort), with their misses; the Node.js processes run with --perf-basic-prof so that their JIT
// code resolves to JavaScript functions (callgrindFunctions.ts). --compare FILE sets this run
// against the --out report of an earlier one (callgrindReport.ts): per side and event, then the
// functions whose own counts changed most when both listed them (give both runs the same, generous
// --top, 400 say: a function cut from one list counts as absent).
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { TunnelLab } from "../connector/lab/lab";
import { freePort } from "../connector/lab/relay";
import { waitFor } from "../connector/lab/wait";
import { AGENT_NODE_FLAGS } from "../connector/nodeFlags";
import { type Endpoint, type Launch, download, ensureCommand, openPinger, opensshArgs, probe, startAgentProcess, startFloorRelay, startTarget, upload } from "./bench";
import { type FunctionCounts, PerfMap, functionsOf } from "./callgrindFunctions";
import { type CallgrindCounts, type CallgrindReport, PHASES, type Phase, checkSamePhase, compareReports, loadReport, unitOf } from "./callgrindReport";
import { renderTable } from "./report";

const SIDES = ["agent", "openssh", "node", "socat"] as const;
type Side = (typeof SIDES)[number];
const LABEL: Record<Side, string> = { agent: "agent", openssh: "OpenSSH (ssh -N -R)", node: "floor: plain Node.js relay", socat: "floor: socat relay (C)" };
/** Round trips between turning instrumentation on and zeroing the counters (see measure). */
const SETTLE_ROUND_TRIPS = 200;
/** The same for a bulk phase, in MiB. */
const SETTLE_MIB = 2;
const MiB = 1024 * 1024;

/**
 * The per-event totals of a callgrind dump (its `events:` and `summary:`/`totals:` lines; callgrind
 * leaves trailing zero events out), divided by `per` (round trips, or MiB in a bulk phase).
 */
export function countsOf(dump: string, per: number): CallgrindCounts {
    const events = /^events: (.+)$/m.exec(dump)?.[1]?.trim().split(/\s+/);
    const totals = /^(?:summary|totals): (.+)$/m.exec(dump)?.[1]?.trim().split(/\s+/).map(Number);
    if (!events || !totals) throw new Error("not a callgrind dump: no events or totals line");
    const value = (name: string): number => {
        const index = events.indexOf(name);
        if (index < 0) throw new Error(`the dump has no ${name} event: was --cache-sim=yes given?`);
        return (totals[index] ?? 0) / per;
    };
    return { instructions: value("Ir"), instructionCacheMisses: value("I1mr"), dataReadMisses: value("D1mr"), dataWriteMisses: value("D1mw") };
}

export interface Options {
    phase: Phase;
    /** MiB counted in a bulk phase. */
    mib: number;
    /** Functions listed per side (--top), 0 for none, ordered by --sort. */
    top: number;
    sort: keyof Omit<FunctionCounts, "name">;
    roundTrips: number;
    warmUp: number;
    only: Side[];
    out: string | undefined;
    /** The agent's node flags: AGENT_NODE_FLAGS unless --node-flags replaces them, as in `npm run bench` (an A/B of a V8 flag, counted). */
    nodeFlags: readonly string[];
    /** Where to keep each side's measured dump (`<side>.callgrind`), for `callgrind_annotate`. */
    keepDumps: string | undefined;
    /** A report of an earlier run (--out) to set this one against: an A/B. */
    compare: string | undefined;
}

export function parseOptions(argv: string[]): Options {
    const { values } = parseArgs({
        args: argv,
        options: {
            phase: { type: "string", default: "round-trips" },
            mib: { type: "string", default: "32" },
            top: { type: "string", default: "0" },
            sort: { type: "string", default: "instructions" },
            "round-trips": { type: "string", default: "5000" },
            // round trips, or MiB in a bulk phase
            "warm-up": { type: "string" },
            only: { type: "string" },
            out: { type: "string" },
            "node-flags": { type: "string" },
            "keep-dumps": { type: "string" },
            compare: { type: "string" },
        },
        strict: true,
    });
    const count = (text: string, flag: string, what = "round trips", least = 1): number => {
        const n = Number(text);
        if (!Number.isInteger(n) || n < least) throw new Error(`${flag} must be a whole number of ${what}, ${least} or more (got "${text}")`);
        return n;
    };
    const phase = values.phase as Phase;
    if (!(PHASES as readonly string[]).includes(phase)) throw new Error(`--phase: "${values.phase}" is not one of ${PHASES.join(", ")}`);
    const bulk = phase !== "round-trips";
    const only = (values.only ?? SIDES.filter((side) => !bulk || side !== "socat").join(",")).split(",").map((s) => s.trim());
    for (const side of only) if (!(SIDES as readonly string[]).includes(side)) throw new Error(`--only: "${side}" is not one of ${SIDES.join(", ")}`);
    if (bulk && only.includes("socat")) throw new Error(`--only: socat cannot be counted in --phase ${phase}: it serves one connection per process, and its user space does next to nothing per MiB; leave it out`);
    const nodeFlags = values["node-flags"] === undefined ? AGENT_NODE_FLAGS : values["node-flags"].split(" ").filter(Boolean);
    if (nodeFlags.length > 0 && !nodeFlags[0]!.startsWith("-")) throw new Error(`--node-flags: "${nodeFlags[0]}" is not a node option; give the agent's whole set, as --node-flags="--initial-old-space-size=64 --max-semi-space-size=1"`);
    if (values["node-flags"] !== undefined && !only.includes("agent")) throw new Error(`--node-flags: only the agent runs on the agent's node flags, and --only leaves it out`);
    const sorts = { instructions: "instructions", "i1-misses": "instructionCacheMisses", "d1-read-misses": "dataReadMisses" } as const;
    const sort = sorts[values.sort as keyof typeof sorts];
    if (sort === undefined) throw new Error(`--sort: "${values.sort}" is not one of ${Object.keys(sorts).join(", ")}`);
    return {
        phase,
        sort,
        mib: count(values.mib, "--mib", "MiB"),
        top: count(values.top, "--top", "functions", 0),
        roundTrips: count(values["round-trips"], "--round-trips"),
        warmUp: count(values["warm-up"] ?? (bulk ? "512" : "6000"), "--warm-up", bulk ? "MiB" : "round trips"),
        only: only as Side[],
        out: values.out,
        nodeFlags,
        keepDumps: values["keep-dumps"],
        compare: values.compare,
    };
}

/** The lab relay (sshd, not under valgrind) and the forwards' listen ports it grants. */
interface Relay {
    lab: TunnelLab;
    ports: Record<"agent" | "openssh", number>;
    /** The agent's hairpin route (bench.ts's agent has one; it carries nothing here). */
    hairpinPort: number;
}

/** A `Launch` that runs the command under callgrind, its dumps as `<dir>/cg.out*` and valgrind's messages in `<dir>/valgrind.log`. */
function underCallgrind(dir: string, perfMap: boolean): Launch {
    // Instrumentation starts off: startup and warm-up run at valgrind's uninstrumented speed (an
    // agent is ready in seconds instead of most of a minute), and measure() turns it on.
    const valgrind = ["--tool=callgrind", "--cache-sim=yes", "--instr-atstart=no", "--separate-threads=yes", "--smc-check=all-non-file", `--callgrind-out-file=${join(dir, "cg.out")}`, `--log-file=${join(dir, "valgrind.log")}`];
    // --perf-basic-prof (for --top): the Node.js processes write /tmp/perf-<pid>.map, which names their JIT code.
    // The flag turns V8's logger on, which would leave an isolate-*-v8.log in the working directory.
    const node = (command: string) => (perfMap && command === process.execPath ? ["--perf-basic-prof", "--no-logfile-per-isolate", "--logfile=/dev/null"] : []);
    return (command, args, options) => spawn("valgrind", [...valgrind, command, ...node(command), ...args], options);
}

/** Starts one side in front of the target under callgrind, as the bench starts it: its pid, where to connect, how to stop it. */
async function startSide(side: Side, options: Options, dir: string, targetPort: number, relay: Relay | undefined): Promise<{ pid: number; endpoint: Endpoint; stop(): Promise<void> }> {
    const launch = underCallgrind(dir, options.top > 0);
    if (side === "agent") {
        const agent = await startAgentProcess(relay!.lab, { nodeFlags: options.nodeFlags, profile: false }, relay!.ports.agent, relay!.hairpinPort, targetPort, { launch, readyTimeoutMs: 240_000 });
        return { pid: agent.pid()!, endpoint: agent.directPort, stop: () => agent.stop() };
    }
    if (side === "openssh") {
        const listen = relay!.ports.openssh;
        const child = launch("ssh", opensshArgs(relay!.lab, ["-R", `127.0.0.1:${listen}:127.0.0.1:${targetPort}`]), { stdio: ["ignore", "ignore", "inherit"] });
        await waitFor(() => probe(listen), { timeoutMs: 120_000, what: "ssh -R under valgrind forwarding" });
        return {
            pid: child.pid!,
            endpoint: listen,
            stop: async () => {
                child.kill("SIGTERM");
                if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
            },
        };
    }
    const floor = await startFloorRelay(side, targetPort, launch);
    const { endpoint, pid } = await floor.next();
    return { pid, endpoint, stop: () => floor.stop() };
}

/** A side's counts per unit (round trip or MiB) and, with --top, its functions'. */
interface Measured {
    counts: CallgrindCounts;
    functions: FunctionCounts[];
}

async function measure(side: Side, options: Options, targetPort: number, relay: Relay | undefined): Promise<Measured> {
    const dir = mkdtempSync(join(tmpdir(), `callgrind-${side}-`));
    let pid: number | undefined;
    try {
        const started = await startSide(side, options, dir, targetPort, relay);
        pid = started.pid;
        const control = (...args: string[]) => execFileSync("callgrind_control", [...args, String(started.pid)], { stdio: "ignore" });
        try {
            if (options.phase === "round-trips") {
                const pinger = await openPinger(started.endpoint);
                const ignored: number[] = [];
                const ping = async (count: number) => {
                    await pinger.ping(count, ignored);
                    ignored.length = 0;
                };
                await ping(options.warmUp);
                // Instrumentation on, then round trips that fill the simulated caches before the counters
                // are zeroed (they start empty when instrumentation starts).
                control("-i", "on");
                await ping(Math.min(options.warmUp, SETTLE_ROUND_TRIPS));
                control("-z");
                await ping(options.roundTrips);
                control("-d", "measured");
                pinger.close();
            } else {
                // One connection per transfer, as in the bench; a connection's setup is a few round
                // trips against --mib MiB of data.
                const transfer = (mib: number) => (options.phase === "push" ? upload(started.endpoint, mib * MiB) : download(started.endpoint, mib * MiB));
                await transfer(options.warmUp);
                control("-i", "on");
                await transfer(SETTLE_MIB);
                control("-z");
                await transfer(options.mib);
                control("-d", "measured");
            }
        } finally {
            await started.stop();
        }
        // The dump of the measured span, main thread: cg.out.<n>-01 (cg.out-01 is written at exit).
        const dumps = readdirSync(dir).filter((name) => /^cg\.out\.\d+-01$/.test(name));
        if (dumps.length !== 1) {
            const log = existsSync(join(dir, "valgrind.log")) ? readFileSync(join(dir, "valgrind.log"), "utf8").slice(-2000) : "";
            throw new Error(`${side}: expected one dump of the main thread, found ${dumps.join(", ") || "none"}\n${log}`);
        }
        const dump = join(dir, dumps[0]!);
        if (options.keepDumps) {
            mkdirSync(options.keepDumps, { recursive: true });
            copyFileSync(dump, join(options.keepDumps, `${side}.callgrind`));
            // What names its JIT code (with --top), for callgrind_annotate's `???:0x…` lines.
            if (existsSync(`/tmp/perf-${started.pid}.map`)) copyFileSync(`/tmp/perf-${started.pid}.map`, join(options.keepDumps, `${side}.perf.map`));
        }
        const per = options.phase === "round-trips" ? options.roundTrips : options.mib;
        const functions = options.top > 0 ? functionsOf(dump, per, PerfMap.ofPid(started.pid)) : [];
        return { counts: countsOf(readFileSync(dump, "utf8"), per), functions };
    } finally {
        rmSync(dir, { recursive: true, force: true });
        if (pid !== undefined) rmSync(`/tmp/perf-${pid}.map`, { force: true });
    }
}

async function main(): Promise<void> {
    let options: Options;
    try {
        options = parseOptions(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`bench:callgrind: ${(err as Error).message}\n`);
        process.exit(2);
    }
    let baseline: CallgrindReport | undefined;
    try {
        baseline = options.compare === undefined ? undefined : loadReport(options.compare);
        if (baseline !== undefined) checkSamePhase(baseline, options.phase, options.compare!);
    } catch (err) {
        process.stderr.write(`bench:callgrind: ${(err as Error).message}\n`);
        process.exit(2);
    }
    await ensureCommand("callgrind_control", "valgrind", "the tool that counts each side's instructions");
    if (options.only.includes("socat")) await ensureCommand("socat", "socat", "the C floor relay");
    if (options.only.includes("openssh")) await ensureCommand("ssh", "openssh-client", "the OpenSSH side");
    const target = await startTarget();
    const needsRelay = options.only.some((side) => side === "agent" || side === "openssh");
    let relay: Relay | undefined;
    if (needsRelay) {
        // The relay grants both forwards' listen ports to the lab's principal.
        const ports = { agent: await freePort(), openssh: await freePort() };
        const hairpinPort = await freePort();
        const routes = [
            ...(["agent", "openssh"] as const).map((name) => ({ name, listen: `127.0.0.1:${ports[name]}`, target: `127.0.0.1:${target.port}` })),
            { name: "agent-hairpin", listen: `127.0.0.1:${hairpinPort}`, target: `127.0.0.1:${target.port}`, via: "tunnel" as const },
        ];
        relay = { lab: await TunnelLab.create({ label: "callgrind", routes }), ports, hairpinPort };
    }
    const unit = unitOf(options.phase);
    const results: Partial<Record<Side, Measured>> = {};
    try {
        for (const side of options.only) {
            const r = (results[side] = await measure(side, options, target.port, relay)).counts;
            process.stdout.write(`[callgrind] ${LABEL[side]}: ${Math.round(r.instructions)} instructions, ${Math.round(r.instructionCacheMisses)} I1 misses, ${Math.round(r.dataReadMisses)} D1 read misses, ${Math.round(r.dataWriteMisses)} D1 write misses per ${unit}\n`);
        }
    } finally {
        await relay?.lab.cleanup();
        target.child.stdin!.end();
    }
    const rows = [[`per ${unit}, user space, main thread`, "instructions", "I1 misses", "D1 read misses", "D1 write misses"]];
    for (const side of options.only) {
        const r = results[side]!.counts;
        rows.push([LABEL[side], ...[r.instructions, r.instructionCacheMisses, r.dataReadMisses, r.dataWriteMisses].map((v) => String(Math.round(v)))]);
    }
    process.stdout.write(`\n${renderTable(rows, [0]).join("\n")}\n`);
    const tops: Partial<Record<Side, FunctionCounts[]>> = {};
    if (options.top > 0) {
        for (const side of options.only) {
            const top = (tops[side] = [...results[side]!.functions].sort((x, y) => y[options.sort] - x[options.sort]).slice(0, options.top));
            const total = results[side]!.counts;
            const share = (part: number, whole: number) => `${whole > 0 ? ((100 * part) / whole).toFixed(1) : "0.0"}%`;
            const table = [[`${LABEL[side]}: its own counts per ${unit}`, "instructions", "share", "I1 misses", "share", "D1 read misses", "share"]];
            for (const f of top) {
                table.push([f.name, String(Math.round(f.instructions)), share(f.instructions, total.instructions), String(Math.round(f.instructionCacheMisses)), share(f.instructionCacheMisses, total.instructionCacheMisses), String(Math.round(f.dataReadMisses)), share(f.dataReadMisses, total.dataReadMisses)]);
            }
            process.stdout.write(`\n${renderTable(table, [0]).join("\n")}\n`);
        }
    }
    const counts = Object.fromEntries(options.only.map((side) => [side, results[side]!.counts]));
    const report: CallgrindReport = {
        date: new Date().toISOString(),
        phase: options.phase,
        ...(options.phase === "round-trips" ? { roundTrips: options.roundTrips, warmUp: options.warmUp, perRoundTrip: counts } : { mib: options.mib, warmUpMiB: options.warmUp, perMiB: counts }),
        node: process.version,
        agentNodeFlags: options.nodeFlags,
        ...(options.top > 0 ? { topFunctions: tops as Record<string, FunctionCounts[]> } : {}),
    };
    if (options.out) writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
    if (baseline) process.stdout.write(`\n${compareReports(baseline, report, options.top > 0 ? Math.min(options.top, 25) : 0).join("\n")}\n`);
}

if (require.main === module) {
    main().catch((err: unknown) => {
        process.stderr.write(`bench:callgrind: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exit(1);
    });
}
