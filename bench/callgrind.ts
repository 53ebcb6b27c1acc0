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
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, type Socket, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeConfigFile } from "../connector/lab/agent";
import { TunnelLab } from "../connector/lab/lab";
import { listeningSockets } from "../connector/lab/processes";
import { TEST_LOGIN_USER, freePort } from "../connector/lab/relay";
import { waitFor } from "../connector/lab/wait";
import { AGENT_NODE_FLAGS } from "../connector/nodeFlags";
import { renderTable } from "./report";

const ROOT = join(__dirname, "..");
const SIDES = ["agent", "openssh", "node", "socat"] as const;
type Side = (typeof SIDES)[number];
const LABEL: Record<Side, string> = { agent: "agent", openssh: "OpenSSH (ssh -N -R)", node: "floor: plain Node.js relay", socat: "floor: socat relay (C)" };
/** Round trips between turning instrumentation on and zeroing the counters (see measure). */
const SETTLE_ROUND_TRIPS = 200;
/** The cipher the bench and the agent use. */
const CIPHER = "aes256-gcm@openssh.com";

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

/** The bench's target (bench/target.js); its port. */
async function startTarget(): Promise<{ port: number; child: ChildProcess }> {
    const child = spawn(process.execPath, [join(__dirname, "target.js")], { stdio: ["pipe", "pipe", "inherit"] });
    const [line] = (await once(child.stdout!, "data")) as [Buffer];
    return { port: Number(line.toString().trim()), child };
}

/** A persistent echo stream: `ping(n)` takes n round trips of 64 bytes. */
async function openPinger(socket: Socket): Promise<{ ping(n: number): Promise<void>; close(): void }> {
    socket.setNoDelay(true);
    const message = Buffer.alloc(64, 0x61);
    let pending = 0;
    let wake: (() => void) | undefined;
    socket.on("data", (chunk: Buffer) => {
        pending -= chunk.length;
        if (pending <= 0) wake?.();
    });
    socket.write("E");
    return {
        async ping(n) {
            for (let i = 0; i < n; i++) {
                pending = message.length;
                await new Promise<void>((resolve) => {
                    wake = resolve;
                    socket.write(message);
                });
            }
        },
        close: () => socket.destroy(),
    };
}

/** The lab relay (sshd, not under valgrind) and the forwards' listen ports it grants. */
interface Relay {
    lab: TunnelLab;
    ports: Record<"agent" | "openssh", number>;
}

async function connected(port: number): Promise<Socket> {
    const socket = connect({ host: "127.0.0.1", port });
    await once(socket, "connect");
    return socket;
}

/** `command args` under callgrind, writing its dumps as `<dir>/cg.out*`. */
function underCallgrind(dir: string, command: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
    // Instrumentation starts off: startup and warm-up run at valgrind's uninstrumented speed (an
    // agent is ready in seconds instead of most of a minute), and measure() turns it on.
    const valgrind = ["--tool=callgrind", "--cache-sim=yes", "--instr-atstart=no", "--separate-threads=yes", "--smc-check=all-non-file", `--callgrind-out-file=${join(dir, "cg.out")}`];
    return spawn("valgrind", [...valgrind, command, ...args], { stdio: ["pipe", "ignore", "pipe"], env: env ?? process.env });
}

/** Starts one side in front of the target; its pid under valgrind and a connected socket to it. */
async function startSide(side: Side, dir: string, targetPort: number, relay: Relay | undefined): Promise<{ child: ChildProcess; socket(): Promise<Socket> }> {
    if (side === "agent" || side === "openssh") {
        const lab = relay!.lab;
        const listen = relay!.ports[side];
        if (side === "agent") {
            const health = await freePort();
            const config = lab.config({
                routes: [{ name: "direct", listen: `127.0.0.1:${listen}`, target: `127.0.0.1:${targetPort}`, via: "direct" }],
                keepalive: { intervalSeconds: 15, countMax: 3 },
                health: { listen: `127.0.0.1:${health}` },
            });
            const file = writeConfigFile(dir, config, "callgrind-agent.yaml");
            const child = underCallgrind(dir, process.execPath, [...AGENT_NODE_FLAGS, join(ROOT, "dist", "connector", "cli.js"), "run", "--config", file, "--log-level", "warn"]);
            await waitFor(async () => (await fetch(`http://127.0.0.1:${health}/readyz`).then((r) => r.status, () => 0)) === 200, { timeoutMs: 240_000, what: "the agent under valgrind ready" });
            return { child, socket: () => connected(listen) };
        }
        const sshd = lab.relays[0]!;
        const knownHosts = join(dir, "known_hosts");
        writeFileSync(knownHosts, `[${sshd.host}]:${sshd.port} ${sshd.hostKey.publicKey}\n`);
        const child = underCallgrind(dir, "ssh", [
            "-N", "-T", "-F", "/dev/null", "-i", lab.agentKey.privateKeyFile, "-p", String(sshd.port), "-c", CIPHER,
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", `UserKnownHostsFile=${knownHosts}`,
            "-o", "StrictHostKeyChecking=yes", "-o", "ExitOnForwardFailure=yes",
            "-R", `127.0.0.1:${listen}:127.0.0.1:${targetPort}`, `${TEST_LOGIN_USER}@${sshd.host}`,
        ]);
        await waitFor(async () => connected(listen).then((s) => (s.destroy(), true), () => false), { timeoutMs: 120_000, what: "ssh -R under valgrind forwarding" });
        return { child, socket: () => connected(listen) };
    }
    if (side === "socat") {
        const port = await freePort();
        const child = underCallgrind(dir, "socat", ["-b", "262144", `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,nodelay`, `TCP:127.0.0.1:${targetPort},nodelay`]);
        // Without fork socat serves one connection: wait for its listener in /proc, not by connecting.
        await waitFor(() => listeningSockets(child.pid!).includes(`127.0.0.1:${port}`), { timeoutMs: 60_000, what: "socat under valgrind listening" });
        return { child, socket: () => connected(port) };
    }
    // The Node.js floor dials out to us (bench/relayFloor.js): listen, and ask for one connection.
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const child = underCallgrind(dir, process.execPath, [join(__dirname, "relayFloor.js"), String((server.address() as AddressInfo).port), String(targetPort)]);
    return {
        child,
        socket: async () => {
            const accepted = once(server, "connection") as Promise<[Socket]>;
            child.stdin!.write("\n");
            const [socket] = await accepted;
            server.close();
            return socket;
        },
    };
}

async function measure(side: Side, options: Options, targetPort: number, relay: Relay | undefined): Promise<CallgrindCounts> {
    const dir = mkdtempSync(join(tmpdir(), `callgrind-${side}-`));
    const { child, socket } = await startSide(side, dir, targetPort, relay);
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    try {
        const pinger = await openPinger(await socket());
        await pinger.ping(options.warmUp);
        // Instrumentation on, then round trips that fill the simulated caches before the counters
        // are zeroed (they start empty when instrumentation starts).
        execFileSync("callgrind_control", ["-i", "on", String(child.pid)], { stdio: "ignore" });
        await pinger.ping(Math.min(options.warmUp, SETTLE_ROUND_TRIPS));
        execFileSync("callgrind_control", ["-z", String(child.pid)], { stdio: "ignore" });
        await pinger.ping(options.roundTrips);
        execFileSync("callgrind_control", ["-d", "measured", String(child.pid)], { stdio: "ignore" });
        pinger.close();
        // The dump of the measured span, main thread: cg.out.<n>-01 (cg.out-01 is written at exit).
        const dumps = readdirSync(dir).filter((name) => /^cg\.out\.\d+-01$/.test(name));
        if (dumps.length !== 1) throw new Error(`${side}: expected one dump of the main thread, found ${dumps.join(", ") || "none"}\n${stderr.slice(-2000)}`);
        return countsOf(readFileSync(join(dir, dumps[0]!), "utf8"), options.roundTrips);
    } finally {
        child.stdin?.end();
        child.kill("SIGTERM");
        if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
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
    for (const [command, why] of [["valgrind", "valgrind"], ["callgrind_control", "valgrind"], ["socat", "socat"]] as const) {
        try {
            execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
        } catch {
            process.stderr.write(`bench:callgrind: ${command} is missing: apt-get install ${why}\n`);
            process.exit(2);
        }
    }
    const target = await startTarget();
    const needsRelay = options.only.some((side) => side === "agent" || side === "openssh");
    let relay: Relay | undefined;
    if (needsRelay) {
        // The relay grants both forwards' listen ports to the lab's principal.
        const ports = { agent: await freePort(), openssh: await freePort() };
        const routes = (["agent", "openssh"] as const).map((name) => ({ name, listen: `127.0.0.1:${ports[name]}`, target: `127.0.0.1:${target.port}` }));
        relay = { lab: await TunnelLab.create({ label: "callgrind", routes }), ports };
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
