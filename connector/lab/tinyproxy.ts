// A private tinyproxy (Debian's) on 127.0.0.1 for tests: the customer's egress proxy (HTTP
// CONNECT, optionally with BasicAuth), or the platform proxy that sends its requests back through
// the tunnel (upstream socks5). Foreground (-d), its own config file, logs captured from stderr.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, tryConnect } from "./relay";
import { waitFor } from "./wait";

export interface TinyproxyOptions {
    readonly dir: string;
    /** Ports CONNECT may reach (tinyproxy allows only 443 and 563 by default). */
    readonly connectPorts?: readonly number[];
    readonly basicAuth?: { readonly user: string; readonly password: string };
    /** Send every request through this SOCKS5 proxy ("127.0.0.1:port"). */
    readonly upstreamSocks5?: string;
}

export class Tinyproxy {
    private output = "";
    private constructor(readonly port: number, private readonly child: ChildProcess) {
        child.stderr?.on("data", (chunk: Buffer) => (this.output += chunk.toString("utf8")));
        child.stdout?.on("data", (chunk: Buffer) => (this.output += chunk.toString("utf8")));
    }

    static async start(options: TinyproxyOptions): Promise<Tinyproxy> {
        const port = await freePort();
        const lines = [
            `Port ${port}`,
            "Listen 127.0.0.1",
            "Allow 127.0.0.1",
            "Timeout 30",
            "MaxClients 50",
            "LogLevel Connect",
            ...(options.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
            ...(options.basicAuth ? [`BasicAuth ${options.basicAuth.user} ${options.basicAuth.password}`] : []),
            ...(options.upstreamSocks5 ? [`Upstream socks5 ${options.upstreamSocks5}`] : []),
        ];
        const configFile = join(options.dir, `tinyproxy-${port}.conf`);
        writeFileSync(configFile, `${lines.join("\n")}\n`);
        const child = spawn("tinyproxy", ["-d", "-c", configFile], { stdio: ["ignore", "pipe", "pipe"] });
        const proxy = new Tinyproxy(port, child);
        await waitFor(async () => (await tryConnect(port)) === "accepted", { timeoutMs: 10_000, what: `tinyproxy on ${port}` });
        return proxy;
    }

    /** http://127.0.0.1:port, with credentials when given. */
    url(credentials?: string): string {
        return `http://${credentials ? `${credentials}@` : ""}127.0.0.1:${this.port}`;
    }

    log(): string {
        return this.output;
    }

    async stop(): Promise<void> {
        if (this.child.exitCode !== null || this.child.signalCode !== null) return;
        const exited = new Promise((resolve) => this.child.once("exit", resolve));
        this.child.kill("SIGKILL");
        await exited;
    }
}
