// The agent's version: its package's, found by walking up from this file, so it works from
// connector/ (ts-node), dist/connector/ (compiled) and an unpacked bundle alike.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

let cached: string | undefined;

export function agentVersion(): string {
    if (cached !== undefined) return cached;
    cached = "unknown";
    for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
        try {
            const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
            if (pkg.name === "@firefly/private-connectivity" && pkg.version) {
                cached = pkg.version;
                break;
            }
        } catch {
            // keep walking up
        }
    }
    return cached;
}
