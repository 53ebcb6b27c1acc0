// npm run bench [-- --quick] [-- --runs N] [-- --streams N] [-- --bulk-mib N] [-- --relay-glibc-tunables T] [-- --tcp-congestion-control NAME] [-- --profile] [-- --bulk-only | --latency-only] [-- --compare FILE | --baseline-env NAME=VALUE[,...]]
//                [-- --out DIR] [-- --no-build]
//
// Our agent against OpenSSH's own client (`ssh -N -R`, under autossh for reconnects) on the same
// loopback sshd relay, in the same run, with the same key, certificate and cipher. A client in
// this process connects to the relay's forwarded port; the target service runs in its own
// process (bench/target.js). Every number is the median of several runs; the table gives the
// ratio agent / OpenSSH, and the JSON goes to bench/results/ so later runs can be compared.
// Beside them, the same relay job without SSH or encryption, in plain Node.js and in C (socat):
// the floor each runtime sets (see "floors" below).
//
// --baseline-env NAME=VALUE puts a second agent (the same build, those variables set) in OpenSSH's
// place: an A/B of a data-path setting on one relay, in one run, with --bulk-only or --latency-only.
// Run it twice with the setting on either side (the bench's own environment sets the first agent's)
// to cancel any advantage of a side (connector/PERFORMANCE.md).
//
// It asserts nothing, it measures: the test command only runs it once at its smallest
// (test/bench/bench.test.ts) to check that it still works and writes a complete report.
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { comparisonTable, loadReport, type BenchReport } from "./compare";
import { median, quantile, renderTable } from "./report";
import { DEFAULT_CIPHERS, RECONNECT_DEFAULTS } from "../connector/spec";
import { AGENT_NODE_FLAGS } from "../connector/nodeFlags";
import { writeConfigFile } from "../connector/lab/agent";
import { TunnelLab } from "../connector/lab/lab";
import { descendantsOf, listeningSockets } from "../connector/lab/processes";
import { freePort, TEST_LOGIN_USER } from "../connector/lab/relay";
import { sample } from "../connector/lab/prometheus";
import { waitFor } from "../connector/lab/wait";

const execFileAsync = promisify(execFile);
const ROOT = resolve(__dirname, "..");
// What the agent offers by default, and so what a production relay negotiates with it.
const CIPHER = DEFAULT_CIPHERS[0]!;

/** How a measured process is started: `spawn` itself, or a wrapper such as valgrind (bench/callgrind.ts). */
export type Launch = (command: string, args: string[], options: SpawnOptions) => ChildProcess;
const launchDirectly: Launch = (command, args, options) => spawn(command, args, options);
const MiB = 1024 * 1024;

export interface BenchOptions {
    readonly quick: boolean;
    /** Only the throughput/CPU rows, both directions (for A/B runs of data-path changes); writes no latest*.json. */
    readonly bulkOnly: boolean;
    /** Only the persistent-stream rows (p50, p99, CPU per round trip; for A/B runs of latency changes); writes no latest*.json. */
    readonly latencyOnly: boolean;
    /** The agent writes a V8 CPU profile into bench/results/profiles when it exits. */
    readonly profile: boolean;
    /** Node/V8 flags for the agent process: AGENT_NODE_FLAGS (what production runs) unless given. */
    readonly nodeFlags: readonly string[];
    readonly runs: number;
    readonly bulkBytes: number;
    /** GLIBC_TUNABLES for the relay's sshd only (both contenders share it); undefined: sshd as installed. */
    readonly relayGlibcTunables: string | undefined;
    /** net.ipv4.tcp_congestion_control for the run (set, then restored); undefined: the machine's as it is. */
    readonly tcpCongestionControl: string | undefined;
    readonly pingCount: number;
    readonly connectCount: number;
    readonly streams: number;
    readonly streamBytes: number;
    readonly reconnectRuns: number;
    /** Where the JSON reports go: bench/results unless given. */
    readonly outDir: string;
    /** Use dist/ as it is (the caller built it, e.g. the test command) instead of running tsc first. */
    readonly noBuild: boolean;
    /** An earlier report to compare this run with, read and checked before anything runs. */
    readonly compare: { readonly file: string; readonly report: BenchReport } | undefined;
    /**
     * --baseline-env: OpenSSH's place goes to a second agent with these environment variables on top
     * of the bench's own (an A/B of two settings of the same build on one relay, in one run).
     */
    readonly baselineEnv: Readonly<Record<string, string>> | undefined;
}

/** The second contender's name in the output: OpenSSH, or the baseline agent of --baseline-env. */
function secondLabel(options: Pick<BenchOptions, "baselineEnv">): string {
    return options.baselineEnv === undefined ? "OpenSSH" : "baseline agent";
}

/** A contender's name in the output, by its slot. */
function contenderLabel(name: "agent" | "openssh", options: Pick<BenchOptions, "baselineEnv">): string {
    return name === "agent" ? "agent" : secondLabel(options);
}

/** --baseline-env NAME=VALUE[,NAME=VALUE...], checked. */
function baselineEnv(value: string | undefined): Record<string, string> | undefined {
    if (value === undefined) return undefined;
    const entries = value.split(",").map((item) => /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(item));
    if (value === "" || entries.some((match) => match === null)) {
        throw new Error(`--baseline-env needs NAME=VALUE items separated by ',' (e.g. FIREFLY_CONNECTOR_DIRECT_WRITES=0), got '${value}'`);
    }
    return Object.fromEntries(entries.map((match) => [match![1]!, match![2]!]));
}

function positiveInteger(value: string | undefined, option: string, fallback: number): number {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${option} needs a positive integer, got '${value}'`);
    return n;
}

const CONGESTION_CONTROL = "/proc/sys/net/ipv4/tcp_congestion_control";
const AVAILABLE_CONGESTION_CONTROL = "/proc/sys/net/ipv4/tcp_available_congestion_control";

/** A TCP congestion control this machine's kernel has (net.ipv4.tcp_available_congestion_control). */
function congestionControl(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    let available: string[];
    try {
        available = readFileSync(AVAILABLE_CONGESTION_CONTROL, "utf8").trim().split(/\s+/);
    } catch {
        throw new Error(`--tcp-congestion-control needs ${AVAILABLE_CONGESTION_CONTROL}, which this machine does not have (not Linux?)`);
    }
    if (!available.includes(value)) {
        throw new Error(`--tcp-congestion-control needs one of ${available.join(", ")} (net.ipv4.tcp_available_congestion_control), got '${value}'`);
    }
    return value;
}

/**
 * The TCP congestion control every socket of the run gets (all of them are on this machine, the
 * relay's included): `wanted` set as the system default (root), or the machine's as it is. Under
 * bbr, the relay's sshd paces its sends with a timer per burst, which costs it CPU and depends on
 * how its peer acknowledges (connector/PERFORMANCE.md, "TCP congestion control").
 */
function useCongestionControl(wanted: string | undefined): { inEffect: string; was: string; restore(): void } {
    const was = readFileSync(CONGESTION_CONTROL, "utf8").trim();
    if (wanted === undefined || wanted === was) return { inEffect: was, was, restore: () => undefined };
    try {
        writeFileSync(CONGESTION_CONTROL, wanted);
    } catch (err) {
        throw new Error(`--tcp-congestion-control ${wanted}: cannot set net.ipv4.tcp_congestion_control (${(err as NodeJS.ErrnoException).code ?? String(err)}); it needs root`);
    }
    let restored = false;
    const restore = () => {
        if (restored) return;
        restored = true;
        writeFileSync(CONGESTION_CONTROL, was);
    };
    // An interrupted run must not leave the machine changed.
    process.once("exit", restore);
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
        process.once(signal, () => {
            restore();
            process.exit(code);
        });
    }
    // Read back, so the log says what the kernel really took.
    return { inEffect: readFileSync(CONGESTION_CONTROL, "utf8").trim(), was, restore };
}

/** A GLIBC_TUNABLES value: colon-separated `glibc.<namespace>.<name>=<value>` items. */
function glibcTunables(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    if (!/^glibc\.[\w.]+=[\w.]+(:glibc\.[\w.]+=[\w.]+)*$/.test(value)) {
        throw new Error(`--relay-glibc-tunables needs glibc.<namespace>.<name>=<value> items separated by ':', got '${value}'`);
    }
    return value;
}

/** The command line, checked: throws naming the option and what it needs (the bench prints it with the usage and exits 2). */
export function parseOptions(argv: string[]): BenchOptions {
    const { values } = parseArgs({
        args: argv,
        strict: true,
        options: {
            quick: { type: "boolean", default: false },
            "bulk-only": { type: "boolean", default: false },
            "latency-only": { type: "boolean", default: false },
            profile: { type: "boolean", default: false },
            runs: { type: "string" },
            streams: { type: "string" },
            // bytes per bulk transfer, in MiB (default 1024, --quick 128)
            "bulk-mib": { type: "string" },
            // GLIBC_TUNABLES for the relay's sshd, e.g. glibc.cpu.x86_rep_movsb_threshold=4194304 (see connector/PERFORMANCE.md)
            "relay-glibc-tunables": { type: "string" },
            // net.ipv4.tcp_congestion_control for the run, e.g. cubic (AWS's default) on a bbr machine; restored at the end
            "tcp-congestion-control": { type: "string" },
            // e.g. --node-flags="" to measure the agent without AGENT_NODE_FLAGS
            "node-flags": { type: "string" },
            compare: { type: "string" },
            // the agent against a second agent with these variables set, instead of OpenSSH (A/B runs)
            "baseline-env": { type: "string" },
            out: { type: "string" },
            "no-build": { type: "boolean", default: false },
        },
    });
    const quick = values.quick === true;
    if (values["bulk-only"] === true && values["latency-only"] === true) throw new Error("--bulk-only and --latency-only exclude each other: give one");
    if (values["baseline-env"] !== undefined) {
        // The A/B measures the data path; the reconnect and memory phases compare with OpenSSH only.
        if (values["bulk-only"] !== true && values["latency-only"] !== true) throw new Error("--baseline-env measures two agents' data paths: give --bulk-only or --latency-only with it");
        if (values.compare !== undefined) throw new Error("--baseline-env and --compare exclude each other: a run against a baseline agent has no ratios to OpenSSH to compare");
    }
    const common = {
        quick,
        bulkOnly: values["bulk-only"] === true,
        latencyOnly: values["latency-only"] === true,
        profile: values.profile === true,
        nodeFlags: values["node-flags"] === undefined ? AGENT_NODE_FLAGS : values["node-flags"].split(" ").filter(Boolean),
        runs: positiveInteger(values.runs, "--runs", quick ? 1 : 3),
        streams: positiveInteger(values.streams, "--streams", quick ? 200 : 1000),
        streamBytes: MiB,
        outDir: values.out === undefined ? join(ROOT, "bench", "results") : resolve(values.out),
        noBuild: values["no-build"] === true,
        relayGlibcTunables: glibcTunables(values["relay-glibc-tunables"]),
        tcpCongestionControl: congestionControl(values["tcp-congestion-control"]),
        compare: values.compare === undefined ? undefined : { file: values.compare, report: loadReport(values.compare) },
        baselineEnv: baselineEnv(values["baseline-env"]),
    };
    const bulkBytes = positiveInteger(values["bulk-mib"], "--bulk-mib", quick ? 128 : 1024) * MiB;
    return quick
        ? { ...common, bulkBytes, pingCount: 300, connectCount: 100, reconnectRuns: 1 }
        : { ...common, bulkBytes, pingCount: 2000, connectCount: 500, reconnectRuns: 3 };
}

// ---- the load generator ---------------------------------------------------------------------

/**
 * Where a transfer's client connection comes from: a port on 127.0.0.1 to connect to, or a function
 * that yields a connection the other side made (the Node.js floor relay dials out, as the agent
 * does; see bench/relayFloor.js).
 */
export type Endpoint = number | (() => Promise<Socket>);

async function connected(endpoint: Endpoint, onread?: { buffer: Buffer; callback: (bytes: number) => boolean }): Promise<Socket> {
    if (typeof endpoint === "function") {
        const socket = await endpoint();
        // An accepted socket reads into buffers of its own: the callback only counts.
        if (onread) socket.on("data", (chunk: Buffer) => onread.callback(chunk.length));
        return socket;
    }
    const port = endpoint;
    return new Promise((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port, noDelay: true, ...(onread ? { onread } : {}) });
        socket.once("connect", () => {
            socket.removeListener("error", reject);
            resolve(socket);
        });
        socket.once("error", reject);
    });
}

function bulkRequest(bytes: number): Buffer {
    const header = Buffer.alloc(9);
    header[0] = 0x53; // 'S'
    header.writeBigUInt64BE(BigInt(bytes), 1);
    return header;
}

/**
 * Every download reads into this one buffer (net's `onread`) and only counts: the client allocates
 * nothing per read, so its garbage collector (which ran major GCs in some runs and not others,
 * costing 0.4 to 1.6 s of CPU per GiB) adds no noise to what is measured, for either contender.
 */
const downloadBuffer = Buffer.allocUnsafe(64 * 1024);

interface Download {
    readonly socket: Socket;
    received(): number;
}

async function openDownload(endpoint: Endpoint): Promise<Download> {
    let received = 0;
    const socket = await connected(endpoint, { buffer: downloadBuffer, callback: (bytes) => ((received += bytes), true) });
    return { socket, received: () => received };
}

/** Asks the target for `bytes` on an open download connection; resolves once all of them arrived. */
function receive({ socket, received }: Download, bytes: number, span?: MeasuredSpan): Promise<void> {
    return new Promise((resolve, reject) => {
        socket.once("error", reject);
        socket.once("end", () => {
            span?.end();
            socket.destroy();
            if (received() === bytes) resolve();
            else reject(new Error(`download: ${received()} of ${bytes} bytes`));
        });
        span?.begin();
        socket.write(bulkRequest(bytes));
    });
}

/** Downloads `bytes` through `port`; resolves with the elapsed milliseconds (connect included). */
export async function download(endpoint: Endpoint, bytes: number, span?: MeasuredSpan): Promise<number> {
    const started = performance.now();
    await receive(await openDownload(endpoint), bytes, span);
    return performance.now() - started;
}

/** The same 1 MiB block written over and over by every upload: the client allocates nothing per write. */
const uploadBlock = Buffer.alloc(MiB, 0x75);

/**
 * Uploads `bytes` through `port` (the client pushes, the target reads and discards, then answers
 * one byte and closes); resolves with the elapsed milliseconds (connect included, until that
 * answer: every byte has reached the target).
 */
export async function upload(endpoint: Endpoint, bytes: number, span?: MeasuredSpan): Promise<number> {
    const started = performance.now();
    const socket = await connected(endpoint);
    span?.begin();
    await new Promise<void>((resolve, reject) => {
        let answer = "";
        socket.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1")));
        socket.once("error", reject);
        socket.once("end", () => {
            span?.end();
            socket.destroy();
            if (answer === "K") resolve();
            else reject(new Error(`upload: the target answered '${answer}' instead of 'K'`));
        });
        const header = Buffer.alloc(9);
        header[0] = 0x52; // 'R'
        header.writeBigUInt64BE(BigInt(bytes), 1);
        socket.write(header);
        let left = bytes;
        const pump = () => {
            while (left > 0) {
                const size = Math.min(left, uploadBlock.length);
                left -= size;
                if (!socket.write(size === uploadBlock.length ? uploadBlock : uploadBlock.subarray(0, size))) {
                    socket.once("drain", pump);
                    return;
                }
            }
        };
        pump();
    });
    return performance.now() - started;
}

/**
 * Called around the part of a transfer that is measured, on an open connection: the relay's CPU is
 * read there, while the process that carries the connection still runs (a socat without fork exits
 * with its connection).
 */
interface MeasuredSpan {
    begin(): void;
    end(): void;
}

/** One open connection for round trips of 64 bytes to the target's echo. */
interface Pinger {
    /** `count` round trips one after the other; each one's microseconds are appended to `samples`. */
    ping(count: number, samples: number[]): Promise<void>;
    close(): void;
}

export async function openPinger(endpoint: Endpoint): Promise<Pinger> {
    const socket = await connected(endpoint);
    const message = Buffer.alloc(64, 0x61);
    let waiting: (() => void) | undefined;
    let pending = 0;
    socket.on("data", (chunk: Buffer) => {
        pending -= chunk.length;
        if (pending <= 0 && waiting) waiting();
    });
    socket.write("E");
    return {
        async ping(count, samples) {
            for (let i = 0; i < count; i++) {
                const started = performance.now();
                pending = message.length;
                await new Promise<void>((resolve) => {
                    waiting = resolve;
                    socket.write(message);
                });
                samples.push((performance.now() - started) * 1000);
            }
        },
        close: () => socket.destroy(),
    };
}

/** How the persistent-stream rows are measured, as reports record it (bench/compare.ts). */
const ROUND_TRIP_METHOD = "interleaved";

/** Round trips per turn when two contenders' round trips are interleaved (pingInterleaved). */
const PING_BLOCK = 100;

/**
 * `count` round trips through each of the connections (the two contenders' and the two floors'),
 * taken in turns of PING_BLOCK, the order reversed every turn, so all of them are measured over
 * the same seconds: a host whose wake-up latency drifts (p50s of 250 and 600 us on the same day)
 * moves them alike, where runs one after the other each caught their own moment. Returns each
 * side's samples and its process's CPU microseconds over its own turns.
 */
async function pingInterleaved(
    sides: readonly { endpoint: Endpoint; pid: number }[],
    count: number,
): Promise<{ samples: number[]; cpuMicros: number }[]> {
    const pingers = await Promise.all(sides.map((side) => openPinger(side.endpoint)));
    const results = sides.map(() => ({ samples: [] as number[], cpuMicros: 0 }));
    try {
        for (let turn = 0; turn * PING_BLOCK < count; turn++) {
            const n = Math.min(PING_BLOCK, count - turn * PING_BLOCK);
            const order = turn % 2 === 0 ? sides.map((_, i) => i) : sides.map((_, i) => sides.length - 1 - i);
            for (const i of order) {
                const before = threadCpuMicros(sides[i]!.pid);
                await pingers[i]!.ping(n, results[i]!.samples);
                results[i]!.cpuMicros += threadCpuMicros(sides[i]!.pid) - before;
            }
        }
    } finally {
        for (const pinger of pingers) pinger.close();
    }
    return results;
}

/** One new forwarded connection per 64-byte request/response; microseconds each. */
async function pingNewConnection(port: number, count: number): Promise<number[]> {
    const samples: number[] = [];
    const request = Buffer.concat([Buffer.from("E"), Buffer.alloc(64, 0x62)]);
    for (let i = 0; i < count; i++) {
        const started = performance.now();
        const socket = await connected(port);
        await new Promise<void>((resolve, reject) => {
            let received = 0;
            socket.on("data", (chunk: Buffer) => {
                received += chunk.length;
                if (received >= 64) resolve();
            });
            socket.once("error", reject);
            socket.once("close", () => (received < 64 ? reject(new Error("closed before the echo")) : undefined));
            socket.write(request);
        });
        samples.push((performance.now() - started) * 1000);
        socket.destroy();
    }
    return samples;
}

/**
 * `streams` simultaneous downloads of `bytes` each: all connections are opened first (at most 64
 * connects in flight, below sshd's listen backlog of 128), then all transfer at once.
 */
async function concurrentDownloads(port: number, streams: number, bytes: number): Promise<number> {
    const started = performance.now();
    const downloads: Download[] = [];
    let opened = 0;
    const opener = async () => {
        while (opened < streams) {
            opened++;
            downloads.push(await openDownload(port));
        }
    };
    await Promise.all(Array.from({ length: 64 }, opener));
    await Promise.all(downloads.map((d) => receive(d, bytes)));
    return performance.now() - started;
}

/** True when one echo round trip works through `port` right now. */
export async function probe(port: number): Promise<boolean> {
    try {
        const socket = await connected(port);
        return await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => done(false), 1000);
            function done(ok: boolean) {
                clearTimeout(timer);
                socket.destroy();
                resolve(ok);
            }
            socket.once("data", () => done(true));
            socket.once("error", () => done(false));
            socket.once("close", () => done(false));
            socket.write("Ex");
        });
    } catch {
        return false;
    }
}

// ---- the processes under test ---------------------------------------------------------------

function memoryOf(pid: number): { rssBytes: number; peakRssBytes: number } {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM") };
}

/** CPU time (user + system) the process has used so far, in seconds (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * CPU time so far of every thread of `pid`, in microseconds: the scheduler's own nanosecond count
 * (/proc/PID/task/TID/schedstat), where /proc/PID/stat counts 10 ms ticks, too coarse for a phase
 * that costs a few tenths of a second (2,000 round trips at ~100 us each).
 */
function threadCpuMicros(pid: number): number {
    let nanos = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
            nanos += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
        } catch {
            // the thread exited between the listing and the read
        }
    }
    return nanos / 1000;
}

/** A MeasuredSpan that takes `pid`'s CPU time (all threads) over the span. */
function cpuSpan(pid: number): MeasuredSpan & { micros(): number } {
    let before = Number.NaN;
    let after = Number.NaN;
    return {
        begin: () => (before = threadCpuMicros(pid)),
        end: () => (after = threadCpuMicros(pid)),
        micros: () => after - before,
    };
}

/** Read and write system calls and context switches so far of `pid` and its live descendants. */
function syscallsOf(pids: number[]): { reads: number; writes: number; switches: number } {
    const total = { reads: 0, writes: 0, switches: 0 };
    for (const p of pids) {
        try {
            const io = readFileSync(`/proc/${p}/io`, "utf8");
            total.reads += Number(/^syscr: (\d+)/m.exec(io)?.[1] ?? 0);
            total.writes += Number(/^syscw: (\d+)/m.exec(io)?.[1] ?? 0);
            const status = readFileSync(`/proc/${p}/status`, "utf8");
            total.switches += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
        } catch {
            // exited
        }
    }
    return total;
}

/** CPU seconds used so far by `pid` and all its live descendants (sshd forks one per connection). */
function treeCpuSeconds(pid: number): number {
    let total = 0;
    for (const p of [pid, ...descendantsOf(pid)]) {
        try {
            total += cpuSeconds(p);
        } catch {
            // exited between the listing and the read: its time is gone with it
        }
    }
    return total;
}

/** The four bulk transfers: pull = target to client (a download), push = client to target (an upload). */
const BULK_KINDS = ["pullDirect", "pullHairpin", "pushDirect", "pushHairpin"] as const;
type BulkKind = (typeof BULK_KINDS)[number];
const BULK_LABEL: Record<BulkKind, string> = { pullDirect: "pull direct", pullHairpin: "pull hairpin", pushDirect: "push direct", pushHairpin: "push hairpin" };
/** Metric names the floors' table looks up as well as the table itself. */
const cpuPerGiBName = (kind: BulkKind) => `CPU per GiB, ${BULK_LABEL[kind]} (tunnel process)`;
const P50_PERSISTENT = "latency p50, persistent stream";
const ROUND_TRIP_CPU = "CPU per round trip, persistent stream (tunnel process)";

/** CPU per GiB of the processes around the tunnel in one transfer, to see where the 2 cores went. */
interface SurroundingCpu {
    /** This process: the client that downloads (pull) or uploads (push). */
    readonly client: number[];
    /** bench/target.js: the service that sends (pull) or receives (push). */
    readonly target: number[];
    /** The relay's sshd and its per-connection children. */
    readonly sshd: number[];
}

/** Counters the agent exposes on /metrics that the bench reports per transfer. */
interface AgentCounters {
    readonly majorGcs: number;
    readonly freshSlabs: number;
    readonly reusedSlabs: number;
}

interface Contender {
    readonly name: "agent" | "openssh";
    readonly directPort: number;
    readonly hairpinPort: number;
    /** The process whose memory is reported (the agent; ssh under autossh). */
    pid(): number | undefined;
    /** The agent's own counters so far, from one read of its /metrics; the agent only. */
    counters?(): Promise<AgentCounters>;
    stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
    return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));
}

export async function startTarget(): Promise<{ port: number; child: ChildProcess }> {
    const child = spawn(process.execPath, [join(__dirname, "target.js")], { stdio: ["pipe", "pipe", "inherit"] });
    const port = await new Promise<number>((resolve, reject) => {
        child.stdout?.once("data", (line: Buffer) => resolve(Number(line.toString().trim())));
        child.once("exit", (code) => reject(new Error(`bench target exited ${code}`)));
    });
    return { port, child };
}

/**
 * The agent as a process of its own on `lab`'s relay, forwarding `directPort` to the target and
 * `hairpinPort` through the tunnel; `baseline` (--baseline-env) makes it the second contender with
 * those variables, `launch` starts it under a wrapper, given `readyTimeoutMs` to answer /readyz.
 */
export async function startAgentProcess(
    lab: TunnelLab,
    options: Pick<BenchOptions, "nodeFlags" | "profile">,
    directPort: number,
    hairpinPort: number,
    targetPort: number,
    { baseline, launch = launchDirectly, readyTimeoutMs = 20_000 }: { baseline?: Readonly<Record<string, string>>; launch?: Launch; readyTimeoutMs?: number } = {},
): Promise<Contender> {
    const healthPort = await freePort();
    // Production defaults for keepalive and backoff: the reconnect number is what operators get.
    const config = lab.config({
        routes: [
            { name: "direct", listen: `127.0.0.1:${directPort}`, target: `127.0.0.1:${targetPort}`, via: "direct" },
            { name: "hairpin", listen: `127.0.0.1:${hairpinPort}`, target: `127.0.0.1:${targetPort}`, via: "tunnel" },
        ],
        keepalive: { intervalSeconds: 15, countMax: 3 },
        reconnect: RECONNECT_DEFAULTS,
        health: { listen: `127.0.0.1:${healthPort}` },
    });
    const configFile = writeConfigFile(lab.dir, config, baseline ? "bench-baseline-agent.yaml" : "bench-agent.yaml");
    // --profile: the agent writes a V8 CPU profile (open in Chrome DevTools) when it exits.
    const profile = options.profile ? ["--cpu-prof", "--cpu-prof-dir", join(ROOT, "bench", "results", "profiles")] : [];
    const child = launch(process.execPath, [...options.nodeFlags, ...profile, join(ROOT, "dist", "connector", "cli.js"), "run", "--config", configFile, "--log-level", "warn"], {
        stdio: ["ignore", "ignore", "inherit"],
        env: { ...process.env, ...baseline },
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`).then((r) => r.status, () => 0)) === 200, {
        timeoutMs: readyTimeoutMs,
        what: baseline ? "baseline agent ready" : "agent ready",
    });
    if (baseline && child.pid !== undefined) {
        // Read back from the running process, so the log says what it really got.
        const environ = readFileSync(`/proc/${child.pid}/environ`, "latin1").split("\0");
        const got = Object.keys(baseline).map((name) => environ.find((v) => v.startsWith(`${name}=`)) ?? `${name} unset`);
        process.stdout.write(`[bench] baseline agent environment: ${got.join(" ")}\n`);
    }
    return {
        name: baseline ? "openssh" : "agent",
        directPort,
        hairpinPort,
        pid: () => child.pid,
        counters: async () => {
            const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
            const slabs = "firefly_connector_relay_read_slabs_total";
            return {
                majorGcs: sample(text, "firefly_connector_nodejs_gc_duration_seconds_count", { kind: "major" }) ?? 0,
                freshSlabs: sample(text, slabs, { outcome: "new" }) ?? 0,
                reusedSlabs: sample(text, slabs, { outcome: "reused" }) ?? 0,
            };
        },
        stop: async () => {
            child.kill("SIGTERM");
            await exited(child);
        },
    };
}

/**
 * `ssh`'s arguments for a tunnel to `lab`'s relay with `forwards` (-L/-R options), authenticated as
 * the agent is (its key and certificate), at the agent's cipher, the relay's host key pinned.
 */
export function opensshArgs(lab: TunnelLab, forwards: string[]): string[] {
    const relay = lab.relays[0]!;
    const knownHosts = join(lab.dir, "known_hosts");
    writeFileSync(knownHosts, `[${relay.host}]:${relay.port} ${relay.hostKey.publicKey}\n`);
    return [
        "-N", "-T", "-F", "/dev/null",
        "-i", lab.agentKey.privateKeyFile, // picks up the -cert.pub beside it
        "-p", String(relay.port),
        "-c", CIPHER,
        "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none",
        "-o", `UserKnownHostsFile=${knownHosts}`,
        "-o", "StrictHostKeyChecking=yes",
        "-o", "ExitOnForwardFailure=yes",
        "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=3",
        ...forwards,
        `${TEST_LOGIN_USER}@${relay.host}`,
    ];
}

async function startOpenSsh(lab: TunnelLab, directPort: number, hairpinPort: number, targetPort: number): Promise<Contender> {
    // The hairpin as OpenSSH does it: a local forward on the same connection (direct-tcpip to the
    // target as seen from the relay), and the remote forward pointing at it.
    const localHop = await freePort();
    const args = [
        "-M", "0", // autossh: no monitor port, rely on ServerAlive like the agent relies on keepalives
        ...opensshArgs(lab, [
            "-L", `127.0.0.1:${localHop}:127.0.0.1:${targetPort}`,
            "-R", `127.0.0.1:${directPort}:127.0.0.1:${targetPort}`,
            "-R", `127.0.0.1:${hairpinPort}:127.0.0.1:${localHop}`,
        ]),
    ];
    // AUTOSSH_GATETIME=0: keep retrying even when the first attempt fails (as under systemd).
    const child = spawn("autossh", args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, AUTOSSH_GATETIME: "0" } });
    await waitFor(async () => (await probe(directPort)) && (await probe(hairpinPort)), { timeoutMs: 20_000, what: "ssh -R forwards" });
    return {
        name: "openssh",
        directPort,
        hairpinPort,
        pid: () => (child.pid ? descendantsOf(child.pid).find((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "ssh") : undefined),
        stop: async () => {
            child.kill("SIGTERM");
            await exited(child);
        },
    };
}

/** Makes sure `command` is on PATH, installing Debian package `pkg` with apt-get as root when it is not; `purpose` says why it is needed. */
export async function ensureCommand(command: string, pkg: string, purpose: string): Promise<void> {
    const has = () => execFileAsync("sh", ["-c", `command -v ${command}`]).then(() => true, () => false);
    if (await has()) return;
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    if (!isRoot) throw new Error(`${command} is missing (${purpose}): sudo apt-get install -y ${pkg}`);
    process.stdout.write(`installing ${pkg} (apt-get): ${purpose}\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = () => execFileAsync("apt-get", ["install", "-y", "--no-install-recommends", pkg], { env });
    // A machine whose package lists were never fetched cannot find the package: update, then retry.
    await install().catch(async () => {
        await execFileAsync("apt-get", ["update"], { env });
        await install();
    });
    if (!(await has())) throw new Error(`apt-get installed ${pkg} but ${command} is not on PATH`);
}

// ---- floors: the same relay job without SSH or encryption ------------------------------------
//
// Beside the two contenders, the bench measures two relays that only carry bytes between the
// client and the target: a plain Node.js one (relayFloor.js) and socat, the same in C. What they
// cost is the floor of each runtime: the agent's distance to the Node.js relay is what its SSH
// framing and AES-GCM cost, OpenSSH's distance to socat what its own do, and the distance between
// the two floors is the runtime's alone, which no change to the agent's SSH layer can take away.
// Their round trips are taken in turns with the contenders' (roundTrips in main), so each p50 is
// subtracted from one measured over the same seconds; their bulk transfers run on their own.

export type FloorKind = "node" | "socat";
export const FLOOR_KINDS: readonly FloorKind[] = ["node", "socat"];
const FLOOR_LABEL: Record<FloorKind, string> = { node: "plain Node.js relay", socat: "socat relay (C)" };

/** One run of a floor relay's bulk transfers (measureFloor). */
interface FloorBulk {
    readonly pushCpuSecondsPerGiB: number;
    readonly pushMBps: number;
    readonly pullCpuSecondsPerGiB: number;
    readonly pullMBps: number;
}

/** One run of a floor relay's round trips, taken in turns with the contenders' (roundTrips). */
interface FloorRoundTrips {
    readonly roundTripCpuMicros: number;
    readonly p50Micros: number;
}

/** Each floor's runs: the round trips (absent with --bulk-only) and the bulk transfers (absent with --latency-only). */
interface Floors {
    readonly roundTrips: Record<FloorKind, FloorRoundTrips[]>;
    readonly bulk: Record<FloorKind, FloorBulk[]>;
}

/** One report entry per run of a floor (`relayFloors` in the JSON): what was not measured is null. */
function floorRunsForReport(floors: Floors): Record<FloorKind, Record<keyof FloorRoundTrips | keyof FloorBulk, number | null>[]> {
    const entries = (kind: FloorKind) =>
        Array.from({ length: Math.max(floors.roundTrips[kind].length, floors.bulk[kind].length) }, (_, run) => ({
            roundTripCpuMicros: floors.roundTrips[kind][run]?.roundTripCpuMicros ?? null,
            p50Micros: floors.roundTrips[kind][run]?.p50Micros ?? null,
            pushCpuSecondsPerGiB: floors.bulk[kind][run]?.pushCpuSecondsPerGiB ?? null,
            pushMBps: floors.bulk[kind][run]?.pushMBps ?? null,
            pullCpuSecondsPerGiB: floors.bulk[kind][run]?.pullCpuSecondsPerGiB ?? null,
            pullMBps: floors.bulk[kind][run]?.pullMBps ?? null,
        }));
    return { node: entries("node"), socat: entries("socat") };
}

/**
 * A floor relay in front of the target; `next()` gives the port and pid for one connection. The
 * Node.js relay is one process for all of them (warmed up like the agent); socat runs without
 * `fork`, one process per connection, so the process measured is the one that carried it.
 */
export async function startFloorRelay(kind: FloorKind, targetPort: number, launch: Launch = launchDirectly): Promise<{ next(): Promise<{ endpoint: Endpoint; pid: number }>; stop(): Promise<void> }> {
    if (kind === "node") {
        // It dials out to us for every connection (as the agent dials the relay): listen, and
        // hand out each connection it makes.
        const server = createServer({ noDelay: true });
        const accepted: Socket[] = [];
        const waiting: { resolve(socket: Socket): void; reject(err: Error): void }[] = [];
        server.on("connection", (socket: Socket) => {
            const take = waiting.shift();
            if (take) take.resolve(socket);
            else accepted.push(socket);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const clientPort = (server.address() as AddressInfo).port;
        const child = launch(process.execPath, [join(__dirname, "relayFloor.js"), String(clientPort), String(targetPort)], { stdio: ["pipe", "pipe", "inherit"] });
        await new Promise<void>((resolve, reject) => {
            child.stdout?.once("data", () => resolve());
            child.once("exit", (code) => reject(new Error(`floor relay exited ${code}`)));
        });
        // A relay that died would never dial: fail the measurement instead of waiting forever.
        let died: Error | undefined;
        child.once("exit", (code, signal) => {
            died = new Error(`floor relay exited (${code ?? signal}) before dialing`);
            for (const take of waiting.splice(0)) take.reject(died);
        });
        // One line on its stdin asks for one connection.
        const dialed = (): Promise<Socket> =>
            new Promise((resolve, reject) => {
                if (died) return reject(died);
                const ready = accepted.shift();
                if (ready) return resolve(ready);
                waiting.push({ resolve, reject });
                child.stdin?.write("\n");
            });
        return {
            next: async () => ({ endpoint: dialed, pid: child.pid! }),
            stop: async () => {
                child.stdin?.end();
                await exited(child);
                await new Promise<void>((resolve) => server.close(() => resolve()));
            },
        };
    }
    let current: ChildProcess | undefined;
    const stopCurrent = async () => {
        if (!current) return;
        current.kill("SIGTERM");
        await exited(current);
        current = undefined;
    };
    return {
        next: async () => {
            await stopCurrent();
            const port = await freePort();
            // -b: reads of up to 256 KiB, as OpenSSH's client makes (socat's default is 8 KiB).
            // -t: after one side's end, time for the other to finish (the upload's answer).
            const child = launch("socat", ["-b", "262144", "-t", "5", `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,nodelay`, `TCP:127.0.0.1:${targetPort},nodelay`], {
                stdio: ["ignore", "ignore", "inherit"],
            });
            current = child;
            // Checked in /proc, not by connecting: without fork, socat serves the first connection only.
            await waitFor(async () => listeningSockets(child.pid!).includes(`127.0.0.1:${port}`), { timeoutMs: 10_000, what: `socat listening on ${port}`, intervalMs: 5 });
            return { endpoint: port, pid: child.pid! };
        },
        stop: stopCurrent,
    };
}

/**
 * Warms a floor relay up as the contenders are (its JIT, for Node.js), then measures one run of
 * its bulk transfers. Its round trips are measured with the contenders' (roundTrips in main).
 */
async function measureFloor(kind: FloorKind, targetPort: number, options: BenchOptions, warmBytes: number): Promise<FloorBulk> {
    const relay = await startFloorRelay(kind, targetPort);
    try {
        await upload((await relay.next()).endpoint, warmBytes);
        await download((await relay.next()).endpoint, warmBytes);
        let next = await relay.next();
        const pushCpu = cpuSpan(next.pid);
        const pushMs = await upload(next.endpoint, options.bulkBytes, pushCpu);
        next = await relay.next();
        const pullCpu = cpuSpan(next.pid);
        const pullMs = await download(next.endpoint, options.bulkBytes, pullCpu);
        const gib = options.bulkBytes / 1024 ** 3;
        return {
            pushCpuSecondsPerGiB: pushCpu.micros() / 1e6 / gib,
            pushMBps: options.bulkBytes / 1e6 / (pushMs / 1000),
            pullCpuSecondsPerGiB: pullCpu.micros() / 1e6 / gib,
            pullMBps: options.bulkBytes / 1e6 / (pullMs / 1000),
        };
    } finally {
        await relay.stop();
    }
}

/**
 * The floors' medians, then each contender's distance to its own runtime's floor (agent to the
 * Node.js relay, OpenSSH to socat): what its SSH layer and encryption cost on top of moving bytes.
 */
function printFloors(floors: Floors, metrics: readonly Metric[], second: string): void {
    const lines: string[][] = [["floor: relay without SSH or encryption", "CPU per round trip (us)", "p50 (us)", "push: CPU per GiB (s)", "push (MB/s)", "pull: CPU per GiB (s)", "pull (MB/s)"]];
    // median([]) is NaN: a phase this invocation skipped prints as "n/a", and nothing is subtracted from it.
    const floor = (kind: FloorKind, field: keyof FloorRoundTrips | keyof FloorBulk) =>
        field === "roundTripCpuMicros" || field === "p50Micros" ? median(floors.roundTrips[kind].map((r) => r[field])) : median(floors.bulk[kind].map((r) => r[field]));
    for (const kind of FLOOR_KINDS) {
        lines.push([
            FLOOR_LABEL[kind],
            format(floor(kind, "roundTripCpuMicros")),
            format(floor(kind, "p50Micros")),
            format(floor(kind, "pushCpuSecondsPerGiB")),
            format(floor(kind, "pushMBps")),
            format(floor(kind, "pullCpuSecondsPerGiB")),
            format(floor(kind, "pullMBps")),
        ]);
    }
    // The same figures of the contenders, from this run's metrics (absent with --bulk-only: "-").
    const contender = (name: "agent" | "openssh", metric: string) => median(metrics.find((m) => m.name === metric)?.[name] ?? []);
    const above = (value: number, base: number) => (Number.isFinite(value) && Number.isFinite(base) ? `${value >= base ? "+" : ""}${format(value - base)}` : "-");
    // A baseline agent (--baseline-env) runs on Node.js, so its floor is the Node.js relay too.
    const secondFloor: [FloorKind, string] = second === "OpenSSH" ? ["socat", "OpenSSH, above the socat floor"] : ["node", `${second}, above the Node.js floor`];
    for (const [name, kind, label] of [["agent", "node", "agent, above the Node.js floor"], ["openssh", ...secondFloor]] as const) {
        lines.push([
            label,
            above(contender(name, ROUND_TRIP_CPU), floor(kind, "roundTripCpuMicros")),
            above(contender(name, P50_PERSISTENT), floor(kind, "p50Micros")),
            above(contender(name, cpuPerGiBName("pushDirect")), floor(kind, "pushCpuSecondsPerGiB")),
            "",
            above(contender(name, cpuPerGiBName("pullDirect")), floor(kind, "pullCpuSecondsPerGiB")),
            "",
        ]);
    }
    process.stdout.write(`\n${renderTable(lines, [0]).join("\n")}\n`);
}

// ---- statistics and report ------------------------------------------------------------------

type Better = "higher" | "lower";

interface Metric {
    readonly name: string;
    readonly unit: string;
    readonly better: Better;
    readonly agent: number[];
    readonly openssh: number[];
    /** What the issue asks of the ratio or the value, for the table. */
    readonly target?: string;
}

function row(metric: Metric): { agent: number; openssh: number; ratio: number } {
    const agent = median(metric.agent);
    const openssh = median(metric.openssh);
    return { agent, openssh, ratio: agent / openssh };
}

function format(value: number): string {
    if (!Number.isFinite(value)) return "n/a";
    if (Math.abs(value) >= 100) return value.toFixed(0);
    if (Math.abs(value) >= 10) return value.toFixed(1);
    return value.toFixed(2);
}

/**
 * The ratio of each run's pair (run i of the agent against run i of the other contender, measured
 * one after the other), when there is more than one: the column ratio is of the two medians, and
 * on a noisy host the pairs show how far apart the runs were and how many of them met a target.
 */
function byRun(metric: Metric): string {
    if (metric.agent.length < 2 || metric.agent.length !== metric.openssh.length) return "";
    return metric.agent.map((a, i) => format(a / metric.openssh[i]!)).join(" ");
}

/** The table of metrics; the raw loopback ceiling last when it was measured (not with --latency-only). */
function printTable(metrics: readonly Metric[], second: string, ceilingMBps?: number): void {
    const lines: string[][] = [["metric", "unit", "agent", second, `agent/${second}`, "by run", "target"]];
    for (const metric of metrics) {
        const r = row(metric);
        // The targets are against OpenSSH: an A/B of two agents has none.
        lines.push([metric.name, metric.unit, format(r.agent), format(r.openssh), `${format(r.ratio)}x`, byRun(metric), second === "OpenSSH" ? (metric.target ?? "") : ""]);
    }
    if (ceilingMBps !== undefined) lines.push(["raw loopback TCP (ceiling)", "MB/s", format(ceilingMBps), "", "", "", ""]);
    process.stdout.write(`${renderTable(lines, [0, 1]).join("\n")}\n`);
}

/** Each metric as the JSON keeps it: per-run values (agent and OpenSSH, in run order), medians, ratio. */
function reportMetrics(metrics: readonly Metric[]) {
    return metrics.map((m) => ({ ...m, runs: { agent: m.agent, openssh: m.openssh }, ...row(m) }));
}

function printComparison(options: BenchOptions, metrics: readonly Metric[], tcpCongestionControl: string): void {
    if (!options.compare) return;
    const now: BenchReport = {
        date: new Date().toISOString(),
        quick: options.quick,
        runs: options.runs,
        relayGlibcTunables: options.relayGlibcTunables ?? null,
        tcpCongestionControl,
        roundTrips: ROUND_TRIP_METHOD,
        metrics: reportMetrics(metrics),
    };
    process.stdout.write(`\n${comparisonTable(options.compare.report, options.compare.file, now).join("\n")}\n`);
}

function machine(): Record<string, string | number> {
    const openssh = execFileSync("ssh", ["-V"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim() ||
        String(execFileSync("sh", ["-c", "ssh -V 2>&1"])).trim();
    return {
        cpu: cpus()[0]?.model ?? "unknown",
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 1024 ** 3),
        kernel: release(),
        node: process.version,
        openssh,
        ssh2: (JSON.parse(readFileSync(join(ROOT, "node_modules", "ssh2", "package.json"), "utf8")) as { version: string }).version,
        cipher: CIPHER,
    };
}

// ---- the run --------------------------------------------------------------------------------

async function main(): Promise<void> {
    let options: BenchOptions;
    try {
        options = parseOptions(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\nusage: npm run bench -- [--quick] [--bulk-only | --latency-only] [--runs N] [--streams N] [--bulk-mib N] [--relay-glibc-tunables T] [--tcp-congestion-control NAME] [--profile] [--node-flags "FLAGS"] [--compare FILE | --baseline-env NAME=VALUE[,...]] [--out DIR] [--no-build]\n`);
        process.exit(2);
    }
    const log = (text: string) => process.stdout.write(`[bench] ${text}\n`);
    /** Logs a metric's medians and their ratio once its runs are done. */
    const logMedians = (metric: Metric) => {
        const r = row(metric);
        log(`${metric.name}: agent ${format(r.agent)} ${metric.unit}, ${secondLabel(options)} ${format(r.openssh)} ${metric.unit} (${format(r.ratio)}x)`);
    };
    const startedAt = Date.now();
    if (options.baselineEnv) log(`against a baseline agent (the same build) with ${Object.entries(options.baselineEnv).map(([k, v]) => `${k}=${v}`).join(" ")}, instead of OpenSSH`);
    else await ensureCommand("autossh", "autossh", "the OpenSSH side runs under it");
    await ensureCommand("socat", "socat", "the C floor relay beside the contenders");
    if (!options.noBuild) {
        log("building dist/ (the agent runs compiled, as in production)");
        await execFileAsync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json")]);
    } else if (!existsSync(join(ROOT, "dist", "connector", "cli.js"))) {
        process.stderr.write("bench: --no-build, but dist/connector/cli.js does not exist: run `npm run build` first\n");
        process.exit(2);
    }

    const congestion = useCongestionControl(options.tcpCongestionControl);
    log(
        congestion.inEffect === congestion.was
            ? `TCP congestion control: ${congestion.inEffect} (${options.tcpCongestionControl ? "as asked, the machine's already" : "the machine's; --tcp-congestion-control to choose"})`
            : `TCP congestion control: ${congestion.inEffect} for this run (the machine's ${congestion.was} is restored at the end)`,
    );
    const target = await startTarget();
    const ports = { agentDirect: await freePort(), agentHairpin: await freePort(), sshDirect: await freePort(), sshHairpin: await freePort() };
    const lab = await TunnelLab.create({
        label: "bench",
        ...(options.relayGlibcTunables ? { sshdEnv: { GLIBC_TUNABLES: options.relayGlibcTunables } } : {}),
        // The relay grants both contenders' listen ports and the hairpin target to our principal.
        routes: [
            { name: "agent-direct", listen: `127.0.0.1:${ports.agentDirect}`, target: `127.0.0.1:${target.port}` },
            { name: "agent-hairpin", listen: `127.0.0.1:${ports.agentHairpin}`, target: `127.0.0.1:${target.port}`, via: "tunnel" },
            { name: "ssh-direct", listen: `127.0.0.1:${ports.sshDirect}`, target: `127.0.0.1:${target.port}` },
            { name: "ssh-hairpin", listen: `127.0.0.1:${ports.sshHairpin}`, target: `127.0.0.1:${target.port}` },
        ],
    });
    if (options.relayGlibcTunables) {
        // Read back from the running sshd, so the log says what it really got.
        const environ = readFileSync(`/proc/${lab.relays[0]!.pid}/environ`, "latin1").split("\0");
        log(`relay sshd environment: ${environ.find((v) => v.startsWith("GLIBC_TUNABLES=")) ?? "no GLIBC_TUNABLES"}`);
    }
    const contenders: Contender[] = [];
    /** Starts both contenders (each its own relay session); `contenders` holds what runs, for the cleanup. */
    const startContenders = async (): Promise<[Contender, Contender]> => {
        contenders.push(await startAgentProcess(lab, options, ports.agentDirect, ports.agentHairpin, target.port));
        contenders.push(
            options.baselineEnv
                ? await startAgentProcess(lab, options, ports.sshDirect, ports.sshHairpin, target.port, { baseline: options.baselineEnv })
                : await startOpenSsh(lab, ports.sshDirect, ports.sshHairpin, target.port),
        );
        return contenders as [Contender, Contender];
    };
    try {
        let [agent, openssh] = await startContenders();
        const idleRss = memoryOf(agent.pid()!).rssBytes;
        // Warm-up: the agent is a long-running daemon, so what is measured is its steady state,
        // after V8 has compiled the data path (in a cold agent's first GiB, a profile showed about
        // 7% of its CPU in the optimizing compiler). Both contenders carry the same warm-up
        // transfers, each path and direction once, so page cache and socket buffers favour neither.
        const warmBytes = Math.min(options.bulkBytes, 256 * MiB) / (options.quick ? 8 : 1);
        const warmUp = async () => {
            for (const c of [agent, openssh]) {
                for (const port of [c.directPort, c.hairpinPort]) {
                    await download(port, warmBytes);
                    await upload(port, warmBytes);
                }
            }
        };
        await warmUp();
        log(`warm-up: ${warmBytes / MiB} MiB each way, direct and hairpin, through each contender`);
        // New relay sessions for both contenders (each bulk run after the first): sshd's cost per
        // byte depends on its session. Pushing through one session, sshd spent about a quarter of
        // its CPU in memmove, through another under 4%, and a session kept its mode for every
        // transfer it carried, whichever contender was its peer: glibc's `rep movsb` copy of each
        // 32 KiB payload is ten times slower at some buffer alignments on AMD, and the alignment is
        // fixed per session (connector/PERFORMANCE.md; --relay-glibc-tunables removes it). With one
        // session per contender for all runs, that draw decided the direct rows; a session per run
        // makes the runs independent draws, and the median no longer rests on one.
        const newSessions = async () => {
            await agent.stop();
            await openssh.stop();
            contenders.length = 0;
            await waitFor(async () => !(await probe(ports.agentDirect)) && !(await probe(ports.sshDirect)) && !(await probe(ports.agentHairpin)) && !(await probe(ports.sshHairpin)), {
                timeoutMs: 10_000,
                what: "the relay to release both contenders' ports",
            });
            [agent, openssh] = await startContenders();
            await warmUp();
        };

        const metrics: Metric[] = [];
        const measure = async (
            name: string,
            unit: string,
            better: Better,
            target: string | undefined,
            once: (c: Contender) => Promise<number>,
        ): Promise<Metric> => {
            const metric: Metric = { name, unit, better, agent: [], openssh: [], ...(target ? { target } : {}) };
            for (let run = 0; run < options.runs; run++) {
                // Alternate who goes first, so drift (page cache, CPU boost) favours neither.
                const order = run % 2 === 0 ? [agent, openssh] : [openssh, agent];
                for (const contender of order) metric[contender.name].push(await once(contender));
            }
            metrics.push(metric);
            logMedians(metric);
            return metric;
        };

        // Each floor's runs. Its round trips are taken in roundTrips, in turns with the contenders'
        // (so "above the floor" subtracts a p50 measured over the same seconds); its bulk
        // transfers on their own, before the contenders' (measureFloor).
        const floors: Floors = { roundTrips: { node: [], socat: [] }, bulk: { node: [], socat: [] } };

        // The persistent-stream rows: p50 and p99 of round trips on one open stream, and the tunnel
        // process's CPU per round trip. Each run interleaves the two contenders' round trips, and
        // the two floor relays', in turns of PING_BLOCK over the same seconds (pingInterleaved).
        const roundTrips = async () => {
            const persistent: Record<string, number[][]> = { agent: [], openssh: [] };
            const roundTripCpu: Record<string, number[]> = { agent: [], openssh: [] };
            const p50: Metric = { name: P50_PERSISTENT, unit: "us", better: "lower", agent: [], openssh: [], target: "<= 1.1x" };
            // One unmeasured run first. The bulk warm-up never takes the agent's 64-byte path (one
            // packet per read, writes the kernel takes at once), and without this the agent's first
            // measured run was its slowest in five of six full runs of 2026-12-07; why is not
            // established (PERFORMANCE.md, the bench warm-up rows). A long-running agent is past its
            // first round trips, and so are both contenders here.
            // The floor relays run beside the contenders for the whole phase (socat: one process per
            // run's connection), warmed by the same unmeasured run.
            const floorRelays = await Promise.all(FLOOR_KINDS.map((kind) => startFloorRelay(kind, target.port)));
            try {
                for (let run = -1; run < options.runs; run++) {
                    type Side = { endpoint: Endpoint; pid: number } & ({ contender: Contender } | { floor: FloorKind });
                    const sides: Side[] = [agent, openssh].map((c) => ({ contender: c, endpoint: c.directPort, pid: c.pid()! }));
                    for (const [i, kind] of FLOOR_KINDS.entries()) sides.push({ floor: kind, ...(await floorRelays[i]!.next()) });
                    // Who takes the first turn alternates between runs as well.
                    const order = run % 2 === 0 ? sides : [...sides].reverse();
                    const results = await pingInterleaved(order, options.pingCount);
                    if (run < 0) continue;
                    for (const [i, side] of order.entries()) {
                        if ("floor" in side) {
                            const samples = results[i]!.samples.sort((a, b) => a - b);
                            const r = { roundTripCpuMicros: results[i]!.cpuMicros / options.pingCount, p50Micros: quantile(samples, 0.5) };
                            floors.roundTrips[side.floor].push(r);
                            log(`persistent stream, floor, ${FLOOR_LABEL[side.floor]}: p50 ${format(r.p50Micros)} us, CPU ${format(r.roundTripCpuMicros)} us per round trip`);
                            continue;
                        }
                        const c = side.contender;
                        const samples = results[i]!.samples.sort((a, b) => a - b);
                        // The tunnel process's CPU per round trip: on two shared cores its processing of
                        // the two messages sits on the round trip's path, so this is what the p50 moves
                        // with, measured without the machine's wake-up latency in it.
                        const cpuMicros = results[i]!.cpuMicros / options.pingCount;
                        roundTripCpu[c.name]!.push(cpuMicros);
                        persistent[c.name]!.push(samples);
                        p50[c.name].push(quantile(samples, 0.5));
                        log(`persistent stream, ${contenderLabel(c.name, options)}: p50 ${format(quantile(samples, 0.5))} us, tunnel process CPU ${format(cpuMicros)} us per round trip`);
                    }
                }
            } finally {
                for (const relay of floorRelays) await relay.stop();
            }
            metrics.push(p50);
            logMedians(p50);
            metrics.push({ name: "latency p99, persistent stream", unit: "us", better: "lower", agent: persistent.agent!.map((s) => quantile(s, 0.99)), openssh: persistent.openssh!.map((s) => quantile(s, 0.99)) });
            metrics.push({ name: ROUND_TRIP_CPU, unit: "us", better: "lower", agent: roundTripCpu.agent!, openssh: roundTripCpu.openssh! });
        };

        if (options.latencyOnly) {
            await roundTrips();
            process.stdout.write("\n");
            printTable(metrics, secondLabel(options));
            printFloors(floors, metrics, secondLabel(options));
            printComparison(options, metrics, congestion.inEffect);
            return;
        }

        const ceiling: number[] = [];
        for (let run = 0; run < options.runs; run++) ceiling.push(options.bulkBytes / 1e6 / ((await download(target.port, options.bulkBytes)) / 1000));
        log(`raw loopback TCP: ${format(median(ceiling))} MB/s`);
        for (let run = 0; run < options.runs; run++) {
            for (const kind of run % 2 === 0 ? FLOOR_KINDS : [...FLOOR_KINDS].reverse()) {
                const r = await measureFloor(kind, target.port, options, warmBytes);
                floors.bulk[kind].push(r);
                log(`floor, ${FLOOR_LABEL[kind]}: push ${format(r.pushMBps)} MB/s, ${format(r.pushCpuSecondsPerGiB)} s CPU per GiB; pull ${format(r.pullMBps)} MB/s, ${format(r.pullCpuSecondsPerGiB)} s CPU per GiB`);
            }
        }

        const mb = options.bulkBytes / 1e6;
        const size = `${options.bulkBytes / MiB} MiB`;
        // Both directions, each directly and through the hairpin: "pull" is a download from the
        // target (target to client: the agent reads the target and encrypts towards the relay),
        // "push" an upload to it (client to target: the agent decrypts what the relay sends and
        // writes it onward). Throughput, and the CPU the tunnel process spent per GiB carried: on
        // a shared 2-core machine the CPU cost is the steadier of the two numbers.
        const cpuPerGiB = (kind: BulkKind): Metric => ({ name: cpuPerGiBName(kind), unit: "s", better: "lower", agent: [], openssh: [] });
        // Major GCs in the agent per GiB carried: what most of its CPU beyond ssh's went to before
        // packetReuse.ts and the shared read buffer; logged and kept in the JSON, not a ratio.
        const majorGcPerGiB: Record<BulkKind, number[]> = { pullDirect: [], pullHairpin: [], pushDirect: [], pushHairpin: [] };
        // Share of the agent's relay reads that went into a slab written again (relayReads.ts), not a new one.
        const slabReuse: Record<BulkKind, number[]> = { pullDirect: [], pullHairpin: [], pushDirect: [], pushHairpin: [] };
        // The other processes' CPU per GiB in the same transfers: on 2 cores, throughput is about
        // 2 / (the sum of all four), so this shows what the tunnel process's share means.
        const around = (): Record<Contender["name"], SurroundingCpu> => ({ agent: { client: [], target: [], sshd: [] }, openssh: { client: [], target: [], sshd: [] } });
        const surrounding: Record<BulkKind, Record<Contender["name"], SurroundingCpu>> = {
            pullDirect: around(),
            pullHairpin: around(),
            pushDirect: around(),
            pushHairpin: around(),
        };
        const relayPid = lab.relays[0]!.pid!;
        const targetPid = target.child.pid!;
        const clientCpuSeconds = () => {
            const usage = process.cpuUsage();
            return (usage.user + usage.system) / 1e6;
        };
        const throughput = async (c: Contender, kind: BulkKind, cpu: Metric) => {
            const pid = c.pid()!;
            const port = kind === "pullDirect" || kind === "pushDirect" ? c.directPort : c.hairpinPort;
            const countersBefore = await c.counters?.();
            const others = { client: clientCpuSeconds(), target: cpuSeconds(targetPid), sshd: treeCpuSeconds(relayPid) };
            const before = cpuSeconds(pid);
            const sysBefore = { tunnel: syscallsOf([pid]), sshd: syscallsOf([relayPid, ...descendantsOf(relayPid)]) };
            const ms = kind.startsWith("pull") ? await download(port, options.bulkBytes) : await upload(port, options.bulkBytes);
            const gib = options.bulkBytes / 1024 ** 3;
            const tunnelCpu = (cpuSeconds(pid) - before) / gib;
            cpu[c.name].push(tunnelCpu);
            const sysAfter = { tunnel: syscallsOf([pid]), sshd: syscallsOf([relayPid, ...descendantsOf(relayPid)]) };
            // Per run, for reading a noisy result: system calls and context switches per GiB of the
            // tunnel process and of sshd (when one process falls behind, the others' reads grow).
            const perGiB = (after: number, before: number) => format((after - before) / gib);
            const sshdCpu = (treeCpuSeconds(relayPid) - others.sshd) / gib;
            log(
                `${BULK_LABEL[kind]}, ${contenderLabel(c.name, options)}: ${format(mb / (ms / 1000))} MB/s, ${format(tunnelCpu)} s CPU per GiB (sshd ${format(sshdCpu)} s); per GiB: ` +
                    `tunnel ${perGiB(sysAfter.tunnel.reads, sysBefore.tunnel.reads)} reads, ${perGiB(sysAfter.tunnel.writes, sysBefore.tunnel.writes)} writes, ${perGiB(sysAfter.tunnel.switches, sysBefore.tunnel.switches)} context switches; ` +
                    `sshd ${perGiB(sysAfter.sshd.reads, sysBefore.sshd.reads)} reads, ${perGiB(sysAfter.sshd.writes, sysBefore.sshd.writes)} writes, ${perGiB(sysAfter.sshd.switches, sysBefore.sshd.switches)} context switches`,
            );
            const share = surrounding[kind][c.name];
            share.client.push((clientCpuSeconds() - others.client) / gib);
            share.target.push((cpuSeconds(targetPid) - others.target) / gib);
            share.sshd.push(sshdCpu);
            if (c.counters && countersBefore !== undefined) {
                const after = await c.counters();
                majorGcPerGiB[kind].push((after.majorGcs - countersBefore.majorGcs) / gib);
                const fresh = after.freshSlabs - countersBefore.freshSlabs;
                const reused = after.reusedSlabs - countersBefore.reusedSlabs;
                slabReuse[kind].push(fresh + reused === 0 ? 0 : reused / (fresh + reused));
            }
            return mb / (ms / 1000);
        };
        // Run by run, each on new relay sessions (see newSessions): every path and direction through
        // both contenders, alternating who goes first.
        const bulk = BULK_KINDS.map((kind) => {
            const rate: Metric = { name: `throughput ${BULK_LABEL[kind]}, 1 stream, ${size}`, unit: "MB/s", better: "higher", target: ">= 1.0x", agent: [], openssh: [] };
            return { kind, rate, cpu: cpuPerGiB(kind) };
        });
        for (let run = 0; run < options.runs; run++) {
            if (run > 0) {
                await newSessions();
                log(`bulk run ${run + 1}: new relay sessions for both contenders, warmed up again`);
            }
            const order = run % 2 === 0 ? [agent, openssh] : [openssh, agent];
            for (const { kind, rate, cpu } of bulk) {
                for (const contender of order) rate[contender.name].push(await throughput(contender, kind, cpu));
            }
        }
        for (const { rate, cpu } of bulk) {
            metrics.push(rate, cpu);
            logMedians(rate);
        }
        log(`agent relay read slabs written again (share of slabs filled): ${BULK_KINDS.map((kind) => `${BULK_LABEL[kind]} ${format(median(slabReuse[kind]))}`).join(", ")}`);
        log(`agent major GCs per GiB: ${BULK_KINDS.map((kind) => `${BULK_LABEL[kind]} ${format(median(majorGcPerGiB[kind]))}`).join(", ")}`);
        for (const { kind, cpu } of bulk) {
            const [agentSide, secondSide] = (["agent", "openssh"] as const).map((name) => {
                const s = surrounding[kind][name];
                // The whole pipeline, run by run (throughput() records all four per run): with every
                // process busy on the machine's cores, a transfer's throughput goes as the inverse of
                // this sum, whichever process spends it.
                const pipeline = median(cpu[name].map((tunnel, run) => tunnel + s.client[run]! + s.target[run]! + s.sshd[run]!));
                return { text: `with ${contenderLabel(name, options)}: client ${format(median(s.client))}, target ${format(median(s.target))}, sshd ${format(median(s.sshd))}`, pipeline };
            }) as [{ text: string; pipeline: number }, { text: string; pipeline: number }];
            log(`CPU per GiB (s) of the other processes, ${BULK_LABEL[kind]}: ${agentSide.text}; ${secondSide.text}`);
            log(
                `CPU per GiB (s) of all four processes (client, target, sshd, tunnel process), ${BULK_LABEL[kind]}: with agent ${format(agentSide.pipeline)}, ` +
                    `with ${contenderLabel("openssh", options)} ${format(secondSide.pipeline)} (${format(agentSide.pipeline / secondSide.pipeline)}x)`,
            );
        }
        if (options.bulkOnly) {
            process.stdout.write("\n");
            printTable(metrics, secondLabel(options), median(ceiling));
            printFloors(floors, metrics, secondLabel(options));
            printComparison(options, metrics, congestion.inEffect);
            return;
        }
        await roundTrips();
        const fresh: Record<string, number[][]> = { agent: [], openssh: [] };
        await measure("latency p50, new connection per request", "us", "lower", "<= 1.2x", async (c) => {
            const samples = (await pingNewConnection(c.directPort, options.connectCount)).sort((a, b) => a - b);
            fresh[c.name]!.push(samples);
            return quantile(samples, 0.5);
        });
        metrics.push({ name: "latency p99, new connection per request", unit: "us", better: "lower", agent: fresh.agent!.map((s) => quantile(s, 0.99)), openssh: fresh.openssh!.map((s) => quantile(s, 0.99)) });
        await measure(`${options.streams} concurrent streams x 1 MiB, total`, "ms", "lower", undefined, (c) => concurrentDownloads(c.directPort, options.streams, options.streamBytes));
        const peak = { agent: memoryOf(agent.pid()!).peakRssBytes, openssh: memoryOf(openssh.pid()!).peakRssBytes };
        metrics.push({ name: "peak RSS (after all of the above)", unit: "MiB", better: "lower", agent: [peak.agent / MiB], openssh: [peak.openssh / MiB], target: "agent < 256 MiB" });

        // Reconnect: SIGKILL the relay (and its per-connection children), start it again at once,
        // and time from "relay accepts TCP again" to the first echo through each tunnel.
        const reconnect: Metric = { name: "reconnect after relay restart", unit: "ms", better: "lower", agent: [], openssh: [], target: "agent <= 1000 ms" };
        for (let run = 0; run < options.reconnectRuns; run++) {
            const relay = lab.relays[0]!;
            await relay.kill();
            await waitFor(async () => !(await probe(agent.directPort)) && !(await probe(openssh.directPort)), { timeoutMs: 10_000, what: "both tunnels down" });
            await relay.start();
            const back = performance.now();
            const until = async (port: number) => {
                await waitFor(() => probe(port), { timeoutMs: 120_000, what: `tunnel on ${port} back`, intervalMs: 5 });
                return performance.now() - back;
            };
            const [a, o] = await Promise.all([until(agent.directPort), until(openssh.directPort)]);
            reconnect.agent.push(a);
            reconnect.openssh.push(o);
            log(`reconnect run ${run + 1}: agent ${format(a)} ms, OpenSSH ${format(o)} ms`);
            // Let both settle (hairpin forward too) before the next kill.
            await waitFor(async () => (await probe(agent.hairpinPort)) && (await probe(openssh.hairpinPort)), { timeoutMs: 120_000, what: "hairpins back" });
        }
        metrics.push(reconnect);

        process.stdout.write("\n");
        printTable(metrics, secondLabel(options), median(ceiling));
        printFloors(floors, metrics, secondLabel(options));
        const report = {
            date: new Date().toISOString(),
            quick: options.quick,
            runs: options.runs,
            agentNodeFlags: options.nodeFlags,
            relayGlibcTunables: options.relayGlibcTunables ?? null,
            tcpCongestionControl: congestion.inEffect,
            roundTrips: ROUND_TRIP_METHOD,
            // The floors' round trips are taken in the contenders' turns (before 2026-12-07 21:10 UTC,
            // one floor after the other, apart from the contenders').
            floorRoundTrips: ROUND_TRIP_METHOD,
            machine: machine(),
            sizes: { bulkBytes: options.bulkBytes, pingCount: options.pingCount, connectCount: options.connectCount, streams: options.streams, streamBytes: options.streamBytes },
            agentIdleRssMiB: idleRss / MiB,
            rawLoopbackMBps: { median: median(ceiling), runs: ceiling },
            agentMajorGcPerGiB: majorGcPerGiB,
            agentRelaySlabReuse: slabReuse,
            // Per run: CPU seconds per GiB of the client, the target and sshd in each bulk transfer.
            surroundingCpuPerGiB: surrounding,
            // Per run: the relays without SSH or encryption (plain Node.js, socat), for the floors.
            relayFloors: floorRunsForReport(floors),
            // Each metric: the per-run values (agent and OpenSSH, in run order) and their medians and ratio.
            metrics: reportMetrics(metrics),
            durationSeconds: (Date.now() - startedAt) / 1000,
        };
        const dir = options.outDir;
        mkdirSync(dir, { recursive: true });
        const file = join(dir, `${report.date.replace(/[:.]/g, "-")}${options.quick ? "-quick" : ""}.json`);
        writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
        writeFileSync(join(dir, options.quick ? "latest-quick.json" : "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
        log(`wrote ${file} (${format(report.durationSeconds)} s in all)`);
        printComparison(options, metrics, congestion.inEffect);
    } finally {
        for (const contender of contenders) await contender.stop().catch(() => undefined);
        await lab.cleanup();
        target.child.stdin?.end();
        await exited(target.child);
        congestion.restore();
    }
}

// Run when started as a script; imported (the bench's tests check parseOptions), it only defines.
if (require.main === module) {
    main().catch((err: unknown) => {
        process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
        process.exit(1);
    });
}
