// Where a callgrind dump's counts go, by function: `npm run bench:callgrind -- --top N`.
//
// callgrind_annotate names what has symbols: Node.js's own C++ and V8's builtins (the machine's
// /usr/bin/node is not stripped), libuv, OpenSSL, libc, ssh2's binding. V8's JIT code has none: it
// shows as `???:0x… [???]`. A Node.js process started with `--perf-basic-prof` writes
// /tmp/perf-<pid>.map (start, size, name per compiled function, appended as code is made), and
// valgrind runs the program in its own pid, so those addresses resolve to the JavaScript functions
// they belong to (`JS:*name file:line:col`, `*` optimized). Code moved by the GC or recompiled can
// reuse an address: the latest entry that covers it wins, as it is the one alive at the end.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

/** One function's own (exclusive) counts in a dump. */
export interface FunctionCounts {
    name: string;
    instructions: number;
    instructionCacheMisses: number;
    dataReadMisses: number;
}

/** A /tmp/perf-<pid>.map: resolves a JIT address to the name of the code that covers it. */
export class PerfMap {
    private readonly starts: number[] = [];
    private readonly ends: number[] = [];
    private readonly names: string[] = [];

    constructor(text: string) {
        for (const line of text.split("\n")) {
            const match = /^([0-9a-f]+) ([0-9a-f]+) (.+)$/i.exec(line);
            if (!match) continue;
            const start = Number.parseInt(match[1]!, 16);
            this.starts.push(start);
            this.ends.push(start + Number.parseInt(match[2]!, 16));
            this.names.push(match[3]!);
        }
    }

    static ofPid(pid: number): PerfMap | undefined {
        const file = `/tmp/perf-${pid}.map`;
        return existsSync(file) ? new PerfMap(readFileSync(file, "utf8")) : undefined;
    }

    /** The latest entry covering `address`, or undefined. A few hundred lookups per dump: a scan is enough. */
    nameOf(address: number): string | undefined {
        for (let i = this.starts.length - 1; i >= 0; i--) {
            if (this.starts[i]! <= address && address < this.ends[i]!) return this.names[i];
        }
        return undefined;
    }
}

const NUMBER = /^[\d,]+$/;

/**
 * The per-function lines of `callgrind_annotate --show=Ir,I1mr,D1mr` output: three count columns
 * (a count, optionally followed by its percentage in parentheses, or "." for none), then
 * `file:function [object]`. Header and total lines are skipped.
 */
export function parseAnnotate(text: string): FunctionCounts[] {
    const rows: FunctionCounts[] = [];
    for (const line of text.split("\n")) {
        const tokens = line.trim().split(/\s+/);
        const counts: number[] = [];
        let i = 0;
        while (counts.length < 3 && i < tokens.length) {
            const token = tokens[i]!;
            if (token === ".") counts.push(0);
            else if (NUMBER.test(token)) counts.push(Number(token.replaceAll(",", "")));
            else break;
            i++;
            // A percentage after a count: "(12.34%)" or "( 1.82%)", split over two tokens.
            if (tokens[i] === "(") i++;
            if (tokens[i]?.startsWith("(") || /^[\d.]+%\)$/.test(tokens[i] ?? "")) i++;
        }
        if (counts.length < 3 || i >= tokens.length) continue;
        const name = tokens.slice(i).join(" ");
        if (name === "PROGRAM TOTALS" || !name.includes(":")) continue;
        rows.push({ name, instructions: counts[0]!, instructionCacheMisses: counts[1]!, dataReadMisses: counts[2]! });
    }
    return rows;
}

/** A function's name as printed: JIT addresses resolved through `map`, paths and objects shortened. */
export function displayName(name: string, map: PerfMap | undefined): string {
    const jit = /^\?\?\?:0x([0-9a-f]+)('\d+)? \[\?\?\?\]$/i.exec(name);
    if (jit) {
        const resolved = map?.nameOf(Number.parseInt(jit[1]!, 16));
        return resolved ? `JIT ${resolved.replace(/^JS:/, "").replace(/ \/\S*\/(node_modules|dist)\//, " $1/")}` : `JIT code at 0x${jit[1]} (no perf map entry)`;
    }
    // "???:Builtins_LoadIC [/usr/bin/node]", "/home/iojs/…/linux.c:uv__io_poll [/usr/bin/node]"
    const symbol = /^(?:.*?:)?([^:[\s][^[]*?)(?:'\d+)? \[(.+)\]$/.exec(name);
    if (!symbol) return name;
    const object = symbol[2]!.split("/").pop()!;
    const fn = symbol[1]!.length > 90 ? `${symbol[1]!.slice(0, 87)}...` : symbol[1]!;
    return `${fn} (${object})`;
}

/**
 * A dump's functions by their own counts, divided by `per` (round trips or MiB), the JIT ones
 * named through the process's perf map; functions of the same name (a recursion's `'2`) summed.
 */
export function functionsOf(dumpFile: string, per: number, map: PerfMap | undefined): FunctionCounts[] {
    const text = execFileSync("callgrind_annotate", ["--show=Ir,I1mr,D1mr", "--sort=Ir", "--threshold=100", dumpFile], {
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        // Captured, not shown: callgrind_annotate 3.19 warns ("Use of uninitialized value") on dumps whose
        // miss events are all zero, as socat's are; a failure still carries it in the error thrown.
        stdio: ["ignore", "pipe", "pipe"],
    });
    const byName = new Map<string, FunctionCounts>();
    for (const row of parseAnnotate(text)) {
        const name = displayName(row.name, map);
        const sum = byName.get(name) ?? { name, instructions: 0, instructionCacheMisses: 0, dataReadMisses: 0 };
        sum.instructions += row.instructions / per;
        sum.instructionCacheMisses += row.instructionCacheMisses / per;
        sum.dataReadMisses += row.dataReadMisses / per;
        byName.set(name, sum);
    }
    return [...byName.values()];
}
