// npm run bench:callgrind [-- --round-trips N] [-- --warm-up N] [-- --only agent,openssh,node,socat]
//
// What one round trip on a persistent stream costs each tunnel process in user space, counted by
// valgrind's callgrind instead of timed: instructions executed, and the misses of a simulated
// first-level instruction and data cache. The bench's CPU per round trip moves by about 5% between
// identical agents on this shared machine, and the VM exposes no hardware counters; callgrind
// counts the same program's instructions to within a few percent run after run (OpenSSH's to
// 0.01%), whatever else the machine does. It counts user space only: the system calls' own work is
// not in it (a `perf` profile put that at about the same for the agent and `ssh`).
//
// Each side runs under `valgrind --tool=callgrind --cache-sim=yes --separate-threads=yes` in front of
// the bench's target: the agent (dist/connector/cli.js, the bench's node flags) and `ssh -N -R` on a
// lab relay (sshd, not under valgrind), and the two floor relays of `npm run bench` (the plain
// Node.js relay and socat). One pinger sends 64-byte messages that the target echoes; after
// `--warm-up` round trips, run uninstrumented, instrumentation is turned on (`callgrind_control
// -i on`), 200 more fill the simulated caches, the counters are zeroed (`-z`), and after
// `--round-trips` more they are dumped (`-d`). Only the main thread is counted: V8's compiler and
// GC helper threads finish late compilations at times of their own, and the round trip's own work
// is all on the main thread (ssh2's cipher calls included). The figures go to stdout as a table
// and, with --out FILE, as JSON. Nothing here is a target: it says where the time goes.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { TunnelLab } from "../connector/lab/lab";
import { freePort } from "../connector/lab/relay";
import { waitFor } from "../connector/lab/wait";
import { AGENT_NODE_FLAGS } from "../connector/nodeFlags";
import { type Endpoint, type Launch, ensureCommand, openPinger, opensshArgs, probe, startAgentProcess, startFloorRelay, startTarget } from "./bench";
import { renderTable } from "./report";

const SIDES = ["agent", "openssh", "node", "socat"] as const;
type Side = (typeof SIDES)[number];
const LABEL: Record<Side, string> = { agent: "agent", openssh: "OpenSSH (ssh -N -R)", node: "floor: plain Node.js relay", socat: "floor: socat relay (C)" };
/** Round trips between turning instrumentation on and zeroing the counters (see measure). */
const SETTLE_ROUND_TRIPS = 200;

/** Per round trip, from one dump of the main thread. */
export interface CallgrindCounts {
    instructions: number;
    instructionCacheMisses: number;
    dataReadMisses: number;
    dataWriteMisses: number;
}

/**
 * The per-event totals of a callgrind dump (its `events:` and `summary:`/`totals:` lines; callgrind
 * leaves trailing zero events out), divided by `roundTrips`.
 */
export function countsOf(dump: string, roundTrips: number): CallgrindCounts {
    const events = /^events: (.+)$/m.exec(dump)?.[1]?.trim().split(/\s+/);
    const totals = /^(?:summary|totals): (.+)$/m.exec(dump)?.[1]?.trim().split(/\s+/).map(Number);
    if (!events || !totals) throw new Error("not a callgrind dump: no events or totals line");
    const value = (name: string): number => {
        const index = events.indexOf(name);
        if (index < 0) throw new Error(`the dump has no ${name} event: was --cache-sim=yes given?`);
        return (totals[index] ?? 0) / roundTrips;
    };
    return { instructions: value("Ir"), instructionCacheMisses: value("I1mr"), dataReadMisses: value("D1mr"), dataWriteMisses: value("D1mw") };
}

export interface Options {
    roundTrips: number;
    warmUp: number;
    only: Side[];
    out: string | undefined;
}

export function parseOptions(argv: string[]): Options {
    const { values } = parseArgs({
        args: argv,
        options: {
            "round-trips": { type: "string", default: "5000" },
            "warm-up": { type: "string", default: "6000" },
            only: { type: "string", default: SIDES.join(",") },
            out: { type: "string" },
        },
        strict: true,
    });
    const count = (text: string, flag: string): number => {
        const n = Number(text);
        if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a whole number of round trips, 1 or more (got "${text}")`);
        return n;
    };
    const only = values.only.split(",").map((s) => s.trim());
    for (const side of only) if (!(SIDES as readonly string[]).includes(side)) throw new Error(`--only: "${side}" is not one of ${SIDES.join(", ")}`);
    return { roundTrips: count(values["round-trips"], "--round-trips"), warmUp: count(values["warm-up"], "--warm-up"), only: only as Side[], out: values.out };
}

/** The lab relay (sshd, not under valgrind) and the forwards' listen ports it grants. */
interface Relay {
    lab: TunnelLab;
    ports: Record<"agent" | "openssh", number>;
    /** The agent's hairpin route (bench.ts's agent has one; it carries nothing here). */
    hairpinPort: number;
}

/** A `Launch` that runs the command under callgrind, its dumps as `<dir>/cg.out*` and valgrind's messages in `<dir>/valgrind.log`. */
function underCallgrind(dir: string): Launch {
    // Instrumentation starts off: startup and warm-up run at valgrind's uninstrumented speed (an
    // agent is ready in seconds instead of most of a minute), and measure() turns it on.
    const valgrind = ["--tool=callgrind", "--cache-sim=yes", "--instr-atstart=no", "--separate-threads=yes", "--smc-check=all-non-file", `--callgrind-out-file=${join(dir, "cg.out")}`, `--log-file=${join(dir, "valgrind.log")}`];
    return (command, args, options) => spawn("valgrind", [...valgrind, command, ...args], options);
}

/** Starts one side in front of the target under callgrind, as the bench starts it: its pid, where to connect, how to stop it. */
async function startSide(side: Side, dir: string, targetPort: number, relay: Relay | undefined): Promise<{ pid: number; endpoint: Endpoint; stop(): Promise<void> }> {
    const launch = underCallgrind(dir);
    if (side === "agent") {
        const agent = await startAgentProcess(relay!.lab, { nodeFlags: AGENT_NODE_FLAGS, profile: false }, relay!.ports.agent, relay!.hairpinPort, targetPort, { launch, readyTimeoutMs: 240_000 });
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

async function measure(side: Side, options: Options, targetPort: number, relay: Relay | undefined): Promise<CallgrindCounts> {
    const dir = mkdtempSync(join(tmpdir(), `callgrind-${side}-`));
    try {
        const { pid, endpoint, stop } = await startSide(side, dir, targetPort, relay);
        try {
            const pinger = await openPinger(endpoint);
            const ignored: number[] = [];
            const ping = async (count: number) => {
                await pinger.ping(count, ignored);
                ignored.length = 0;
            };
            await ping(options.warmUp);
            // Instrumentation on, then round trips that fill the simulated caches before the counters
            // are zeroed (they start empty when instrumentation starts).
            execFileSync("callgrind_control", ["-i", "on", String(pid)], { stdio: "ignore" });
            await ping(Math.min(options.warmUp, SETTLE_ROUND_TRIPS));
            execFileSync("callgrind_control", ["-z", String(pid)], { stdio: "ignore" });
            await ping(options.roundTrips);
            execFileSync("callgrind_control", ["-d", "measured", String(pid)], { stdio: "ignore" });
            pinger.close();
        } finally {
            await stop();
        }
        // The dump of the measured span, main thread: cg.out.<n>-01 (cg.out-01 is written at exit).
        const dumps = readdirSync(dir).filter((name) => /^cg\.out\.\d+-01$/.test(name));
        if (dumps.length !== 1) {
            const log = existsSync(join(dir, "valgrind.log")) ? readFileSync(join(dir, "valgrind.log"), "utf8").slice(-2000) : "";
            throw new Error(`${side}: expected one dump of the main thread, found ${dumps.join(", ") || "none"}\n${log}`);
        }
        return countsOf(readFileSync(join(dir, dumps[0]!), "utf8"), options.roundTrips);
    } finally {
        rmSync(dir, { recursive: true, force: true });
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
    const results: Partial<Record<Side, CallgrindCounts>> = {};
    try {
        for (const side of options.only) {
            results[side] = await measure(side, options, target.port, relay);
            const r = results[side]!;
            process.stdout.write(`[callgrind] ${LABEL[side]}: ${Math.round(r.instructions)} instructions, ${Math.round(r.instructionCacheMisses)} I1 misses, ${Math.round(r.dataReadMisses)} D1 read misses, ${Math.round(r.dataWriteMisses)} D1 write misses per round trip\n`);
        }
    } finally {
        await relay?.lab.cleanup();
        target.child.stdin!.end();
    }
    const rows = [["per round trip, user space, main thread", "instructions", "I1 misses", "D1 read misses", "D1 write misses"]];
    for (const side of options.only) {
        const r = results[side]!;
        rows.push([LABEL[side], ...[r.instructions, r.instructionCacheMisses, r.dataReadMisses, r.dataWriteMisses].map((v) => String(Math.round(v)))]);
    }
    process.stdout.write(`\n${renderTable(rows, [0]).join("\n")}\n`);
    if (options.out) {
        writeFileSync(options.out, `${JSON.stringify({ date: new Date().toISOString(), roundTrips: options.roundTrips, warmUp: options.warmUp, node: process.version, perRoundTrip: results }, null, 2)}\n`);
    }
}

if (require.main === module) {
    main().catch((err: unknown) => {
        process.stderr.write(`bench:callgrind: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exit(1);
    });
}
