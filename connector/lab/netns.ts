// Network namespaces the tests create themselves, so two relays on one machine can each listen on
// the same route port (127.0.0.1:P inside their own namespace), as two relay hosts would. A veth
// pair joins the namespace to this host on a private /30 that exists only inside this test.
import { execFile, spawn } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

async function ip(...args: string[]): Promise<void> {
    await execFileAsync("ip", args);
}

export class NetworkNamespace {
    private constructor(
        readonly name: string,
        private readonly hostInterface: string,
        /** This host's end of the veth pair. */
        readonly hostAddress: string,
        /** The namespace's end: where a relay inside it listens. */
        readonly address: string,
    ) {}

    static async create(): Promise<NetworkNamespace> {
        const id = randomBytes(3).toString("hex");
        const name = `ffc-${id}`;
        const hostInterface = `ffc${id}h`;
        const innerInterface = `ffc${id}n`;
        // 10.201.x.y/30 blocks, picked at random; only ever routed over this veth pair.
        const block = randomInt(0, 16384) * 4;
        const base = `10.201.${Math.floor(block / 256)}.${block % 256}`;
        const [a, b, c] = base.split(".");
        const last = Number(base.split(".")[3]);
        const hostAddress = `${a}.${b}.${c}.${last + 1}`;
        const address = `${a}.${b}.${c}.${last + 2}`;
        await ip("netns", "add", name);
        const ns = new NetworkNamespace(name, hostInterface, hostAddress, address);
        try {
            await ip("link", "add", hostInterface, "type", "veth", "peer", "name", innerInterface, "netns", name);
            await ip("addr", "add", `${hostAddress}/30`, "dev", hostInterface);
            await ip("link", "set", hostInterface, "up");
            await ip("netns", "exec", name, "ip", "addr", "add", `${address}/30`, "dev", innerInterface);
            await ip("netns", "exec", name, "ip", "link", "set", innerInterface, "up");
            await ip("netns", "exec", name, "ip", "link", "set", "lo", "up");
        } catch (err) {
            await ns.destroy();
            throw err;
        }
        return ns;
    }

    /** argv that runs `command` inside the namespace (ip netns exec execs it: same PID). */
    wrap(command: string, args: readonly string[]): [string, string[]] {
        return ["ip", ["netns", "exec", this.name, command, ...args]];
    }

    /** Runs a Node.js script inside the namespace; resolves with its stdout. */
    runNode(script: string, env: Record<string, string> = {}, timeoutMs = 15_000): Promise<string> {
        const [command, args] = this.wrap(process.execPath, ["-e", script]);
        return new Promise((resolve, reject) => {
            const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
            let out = "";
            let err = "";
            const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
            child.stdout.on("data", (d: Buffer) => (out += d.toString()));
            child.stderr.on("data", (d: Buffer) => (err += d.toString()));
            child.once("exit", (code) => {
                clearTimeout(timer);
                if (code === 0) resolve(out);
                else reject(new Error(`script in ${this.name} exited ${code}: ${err.trim()}`));
            });
        });
    }

    /** Takes this host's end of the link down (or up): the namespace is unreachable, packets vanish. */
    async setLinkUp(up: boolean): Promise<void> {
        await ip("link", "set", this.hostInterface, up ? "up" : "down");
    }

    async destroy(): Promise<void> {
        await ip("link", "del", this.hostInterface).catch(() => undefined);
        await ip("netns", "del", this.name).catch(() => undefined);
    }
}
