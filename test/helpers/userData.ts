// Runs a host script (user data, or a script it installs) for real with bash, in a throwaway
// directory: stand-ins first on PATH answer for what only exists on an instance (aws, dnf,
// systemctl, useradd, …) and record every call. Shared by the connector's and the relay's
// user-data tests and the relay's health check test.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface ScriptRunOptions {
    /**
     * Stand-in commands by name: each records `<name> <args>` in the calls log, then runs this bash
     * body (empty: succeed silently).
     */
    stubs: Record<string, string>;
    /** Extra environment for the script (and the stubs). */
    env?: Record<string, string>;
    /** Prepares the run's directory before the script starts, e.g. files the script expects. */
    setup?: (dir: string) => void;
    /**
     * The command that runs the script; default `bash <script>`. The relay's test wraps it in a
     * private mount namespace.
     */
    command?: (script: string, dir: string) => [string, string[]];
    /** Default 30 s. */
    timeoutMs?: number;
}

export interface ScriptRun {
    /** The run's throwaway directory (removed by removeScriptRuns). */
    dir: string;
    /** Every stub call, in order: `<name> <args>`. */
    calls: string[];
    status: number | null;
    output: string;
}

const runDirectories: string[] = [];

/** A throwaway directory that removeScriptRuns() deletes. */
export function scratchDirectory(label: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${label}-`));
    runDirectories.push(dir);
    return dir;
}

/** Runs `script` with bash and the stand-ins; resolves when it exits (never rejects on a failing script). */
export async function runScript(script: string, options: ScriptRunOptions): Promise<ScriptRun> {
    const dir = scratchDirectory("host-script");
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const [name, body] of Object.entries(options.stubs)) {
        fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> "$CALLS"\n${body}\n`, { mode: 0o755 });
    }
    const scriptFile = path.join(dir, "script.sh");
    fs.writeFileSync(scriptFile, script, { mode: 0o755 });
    options.setup?.(dir);
    const calls = path.join(dir, "calls.log");
    const [command, args] = options.command?.(scriptFile, dir) ?? ["bash", [scriptFile]];
    const result = await new Promise<{ status: number | null; output: string }>((resolve, reject) => {
        const child = spawn(command, args, {
            env: { ...process.env, ...options.env, PATH: `${bin}:${process.env.PATH}`, CALLS: calls },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
        child.once("error", reject);
        child.once("close", (status) => {
            clearTimeout(timer);
            resolve({ status, output });
        });
    });
    return {
        dir,
        calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n").filter(Boolean) : [],
        ...result,
    };
}

/** Removes every directory runScript and scratchDirectory made. */
export function removeScriptRuns(): void {
    for (const dir of runDirectories.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export interface UnitVerification {
    status: number | null;
    /** Everything systemd-analyze printed: unknown or misspelt directives are only warnings, so any output is a finding. */
    output: string;
}

/**
 * `systemd-analyze verify` over unit files (name → text), written to a throwaway directory;
 * undefined when systemd-analyze is not installed. ExecStart paths must exist: pass units whose
 * executables point into a throwaway root.
 */
export function verifySystemdUnits(units: Record<string, string>): UnitVerification | undefined {
    if (spawnSync("systemd-analyze", ["--version"]).status !== 0) return undefined;
    const dir = scratchDirectory("units");
    for (const [name, text] of Object.entries(units)) fs.writeFileSync(path.join(dir, name), text);
    const result = spawnSync("systemd-analyze", ["verify", "--man=no", ...Object.keys(units).map((name) => path.join(dir, name))], { encoding: "utf8" });
    return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}
