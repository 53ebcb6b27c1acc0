import { spawnSync } from "node:child_process";
import * as path from "node:path";

export const repositoryRoot = path.resolve(__dirname, "..", "..");

/** `npm start -- <args>` as a user runs it: a child process, judged by its exit code and output. */
export function offlinePlan(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(repositoryRoot, "offline", "cli.ts"), ...args], {
        cwd: repositoryRoot,
        encoding: "utf8",
        timeout: 240_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
