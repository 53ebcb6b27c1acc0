// Process-tree handling for tests: sshd forks a child per connection that calls setsid(), so
// neither killing the listener nor its process group reaches them. Walk /proc instead.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

function parentOf(pid: number): number | undefined {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
        const afterName = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(afterName[1]);
    } catch {
        return undefined;
    }
}

/** Every live descendant of `pid`, children before grandchildren. */
export function descendantsOf(pid: number): number[] {
    const children = new Map<number, number[]>();
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        const child = Number(entry);
        const parent = parentOf(child);
        if (parent === undefined) continue;
        const list = children.get(parent) ?? [];
        list.push(child);
        children.set(parent, list);
    }
    const out: number[] = [];
    const queue = [...(children.get(pid) ?? [])];
    while (queue.length > 0) {
        const next = queue.shift() as number;
        out.push(next);
        queue.push(...(children.get(next) ?? []));
    }
    return out;
}

/** Signals a process and all its descendants (collected first, before they can be reparented). */
export function signalProcessTree(pid: number, signal: NodeJS.Signals): void {
    const tree = [pid, ...descendantsOf(pid)];
    for (const member of tree) {
        try {
            process.kill(member, signal);
        } catch {
            // already gone
        }
    }
}

/** "127.0.0.1" from /proc/net/tcp's little-endian hex (8 digits IPv4, 32 digits IPv6). */
function procNetAddress(hex: string): string {
    const words = hex.match(/.{8}/g) ?? [];
    const bytes = words.flatMap((word) => (word.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
    if (bytes.length === 4) return bytes.join(".");
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
    const text = groups.join(":");
    if (text.startsWith("0:0:0:0:0:ffff:")) return `::ffff:${bytes.slice(12).join(".")}`;
    return text === "0:0:0:0:0:0:0:1" ? "::1" : text === "0:0:0:0:0:0:0:0" ? "::" : text;
}

/** Every TCP socket `pid` holds in LISTEN state, as "address:port", read from /proc. */
export function listeningSockets(pid: number): string[] {
    const inodes = new Set<string>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
            const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
            if (match) inodes.add(match[1] as string);
        } catch {
            // closed meanwhile
        }
    }
    const out: string[] = [];
    for (const table of ["tcp", "tcp6"]) {
        for (const line of readFileSync(`/proc/${pid}/net/${table}`, "utf8").split("\n").slice(1)) {
            const fields = line.trim().split(/\s+/);
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if (fields.length < 10 || fields[3] !== "0A" || !inodes.has(fields[9] as string)) continue;
            const [address, port] = (fields[1] as string).split(":");
            out.push(`${procNetAddress(address as string)}:${parseInt(port as string, 16)}`);
        }
    }
    return out;
}
