// Process-tree handling for tests: sshd forks a child per connection that calls setsid(), so
// neither killing the listener nor its process group reaches them. Walk /proc instead.
import { readdirSync, readFileSync } from "node:fs";

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
