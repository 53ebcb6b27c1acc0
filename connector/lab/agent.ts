// Running the agent under test: in-process (a Connector with its logs captured) or as the real
// CLI in a child process (for signals, exit codes and the systemd-style invocation).
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { Connector, type ConnectorOptions } from "../agent";
import { renderConnectorConfig, type ConnectorConfig } from "../spec";
import { createLogger } from "../log";
import { waitFor } from "./wait";

export type LogRecord = Record<string, unknown> & { level?: string; msg?: string };

/** Collects the agent's JSON log lines so tests can assert on what an operator would read. */
export class LogCapture extends Writable {
    readonly records: LogRecord[] = [];
    private partial = "";

    override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
        this.ingest(chunk.toString("utf8"));
        callback();
    }

    ingest(text: string): void {
        const lines = (this.partial + text).split("\n");
        this.partial = lines.pop() ?? "";
        for (const line of lines) {
            if (!line.trim()) continue;
            try {
                this.records.push(JSON.parse(line) as LogRecord);
            } catch {
                this.records.push({ msg: line, level: "raw" });
            }
        }
    }

    find(predicate: (record: LogRecord) => boolean): LogRecord | undefined {
        return this.records.find(predicate);
    }

    async waitFor(predicate: (record: LogRecord) => boolean, timeoutMs: number, what: string): Promise<LogRecord> {
        await waitFor(() => this.find(predicate) !== undefined, { timeoutMs, what: `log: ${what}` });
        return this.find(predicate) as LogRecord;
    }

    text(): string {
        return this.records.map((r) => JSON.stringify(r)).join("\n");
    }
}

export interface InProcessAgent {
    readonly connector: Connector;
    readonly logs: LogCapture;
    waitUntilReady(timeoutMs?: number): Promise<void>;
    stop(graceMs?: number): Promise<void>;
}

export async function startAgent(config: ConnectorConfig, options: Omit<ConnectorOptions, "log"> = {}): Promise<InProcessAgent> {
    const logs = new LogCapture();
    const connector = new Connector(config, { ...options, log: createLogger({ level: "debug", destination: logs }) });
    await connector.start();
    let stopped = false;
    return {
        connector,
        logs,
        waitUntilReady: (timeoutMs = 10_000) =>
            waitFor(() => connector.isReady(), { timeoutMs, what: `agent ready (${JSON.stringify(connector.status().relays)})` }),
        stop: async (graceMs = 0) => {
            if (stopped) return;
            stopped = true;
            await connector.shutdown(graceMs);
        },
    };
}

const REPO_ROOT = resolve(__dirname, "..", "..");

/** Writes a config as the YAML file the CLI reads (rendered by the production renderer). */
export function writeConfigFile(dir: string, config: ConnectorConfig, name = "connector.yaml"): string {
    const path = join(dir, name);
    writeFileSync(path, renderConnectorConfig(config));
    return path;
}

export interface ExitStatus {
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
}

/** The real CLI (connector/cli.ts via ts-node), as systemd would run it. */
export class AgentProcess {
    readonly logs = new LogCapture();
    stderr = "";
    readonly exited: Promise<ExitStatus>;
    private constructor(readonly child: ChildProcess) {
        child.stdout?.on("data", (chunk: Buffer) => this.logs.ingest(chunk.toString("utf8")));
        child.stderr?.on("data", (chunk: Buffer) => (this.stderr += chunk.toString("utf8")));
        this.exited = new Promise((done) => child.once("exit", (code, signal) => done({ code, signal })));
    }

    /** Runs the CLI from source; `preload` modules are loaded first (`node -r`), e.g. to hide the native crypto binding. */
    static spawn(args: readonly string[], options: { preload?: readonly string[] } = {}): AgentProcess {
        const preload = (options.preload ?? []).flatMap((module) => ["-r", module]);
        const child = spawn(process.execPath, [...preload, "-r", "ts-node/register/transpile-only", join(REPO_ROOT, "connector", "cli.ts"), ...args], {
            cwd: REPO_ROOT,
            stdio: ["ignore", "pipe", "pipe"],
            env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
        });
        return new AgentProcess(child);
    }

    /**
     * Waits until the agent's /readyz answers 200 (every route forwarded on at least one relay).
     * Fails at once if the process exits, and on timeout with what the agent said: its last
     * /readyz body (each relay's state and last error), its last log lines and its stderr.
     */
    async waitReady(healthPort: number, timeoutMs = 20_000): Promise<void> {
        let exit: ExitStatus | undefined;
        void this.exited.then((status) => (exit = status));
        const deadline = Date.now() + timeoutMs;
        let last = "(no answer yet)";
        for (;;) {
            const status = await fetch(`http://127.0.0.1:${healthPort}/readyz`).then(
                async (r) => {
                    last = `${r.status} ${await r.text()}`;
                    return r.status;
                },
                (err: Error) => {
                    last = `no answer: ${err.message}`;
                    return 0;
                },
            );
            if (status === 200) return;
            if (exit !== undefined || Date.now() >= deadline) {
                const why = exit !== undefined ? `exited (code ${exit.code}, signal ${exit.signal})` : `timed out after ${timeoutMs} ms`;
                const logs = this.stdout.split("\n").slice(-30).join("\n");
                throw new Error(`agent not ready: ${why}\nlast /readyz: ${last.trim()}\nlast log lines:\n${logs}\nstderr:\n${this.stderr.slice(-4000)}`);
            }
            await new Promise((resolve) => setTimeout(resolve, 25));
        }
    }

    get stdout(): string {
        return this.logs.records.map((r) => (r.level === "raw" ? r.msg : JSON.stringify(r))).join("\n");
    }

    signal(signal: NodeJS.Signals): void {
        this.child.kill(signal);
    }

    /** Kills the process if it is still running (for after hooks). */
    async kill(): Promise<void> {
        if (this.child.exitCode === null && this.child.signalCode === null) {
            this.child.kill("SIGKILL");
            await this.exited;
        }
    }
}
