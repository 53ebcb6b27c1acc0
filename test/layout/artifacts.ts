// What a deployment of the example stacks generates, as one JSON document: every resource's URN
// and inputs (user data decoded from base64, so a diff reads as text), every stack output, and the
// connector bundle's SHA-256. A restructuring of the code must leave it unchanged; the recorded
// copy (artifacts.json) is compared by artifacts.test.ts. After a deliberate change, record it
// again with `npx ts-node --transpile-only test/layout/artifacts.ts --write` and say why in the commit.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Plan } from "../../offline/plan";

export const recordedFile = path.join(__dirname, "recorded-artifacts.json");

export interface Artifacts {
    bundleSha256: string[];
    stacks: Record<string, { resources: Array<{ urn: string; inputs: unknown }>; outputs: unknown }>;
}

/** Runs `npm start -- --json` (the offline plan of the example stacks) and returns the plan and its artifacts. */
export function currentPlan(): { plan: Plan; artifacts: Artifacts } {
    const root = path.join(__dirname, "..", "..");
    const run = spawnSync("npm", ["start", "--silent", "--", "--json", "--no-policy"], { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (run.status !== 0) throw new Error(`npm start failed (${run.status}): ${run.stderr}`);
    // --json prints only the JSON document on stdout.
    const plan = JSON.parse(run.stdout) as Plan;
    const stacks: Artifacts["stacks"] = {};
    for (const s of plan.stacks) {
        stacks[s.stack] = {
            resources: s.resources
                .map((r) => ({ urn: r.urn, inputs: decodeUserData(r.inputs) }))
                .sort((a, b) => a.urn.localeCompare(b.urn)),
            outputs: s.outputs,
        };
    }
    const bundleSha256 = [...new Set(run.stdout.match(/firefly-connector-[0-9a-f]{64}/g) ?? [])].sort();
    return { plan, artifacts: { bundleSha256, stacks } };
}

export function currentArtifacts(): Artifacts {
    return currentPlan().artifacts;
}

function decodeUserData(inputs: Record<string, unknown>): Record<string, unknown> {
    if (typeof inputs.userData !== "string") return inputs;
    return { ...inputs, userData: Buffer.from(inputs.userData, "base64").toString("utf8").split("\n") };
}

if (require.main === module && process.argv.includes("--write")) {
    fs.writeFileSync(recordedFile, `${JSON.stringify(currentArtifacts(), null, 1)}\n`);
    process.stdout.write(`recorded ${recordedFile}\n`);
}
