// The pack's identity, shared by index.ts (the real analyzer) and offline.ts.
import * as fs from "node:fs";
import * as path from "node:path";

export const policyPackName = "private-connectivity";

/**
 * The version the analyzer reports, read from the pack directory's package.json as
 * `PolicyPack` does (it requires `<cwd>/package.json`, and the CLI runs it in the pack directory).
 * From source this module sits beside that file; compiled by the pack's own build it is
 * <pack>/bin/pack.js; compiled by the package's build (for the offline evaluator other projects
 * import) it is dist/policies/pack.js and the pack directory is ../../policies.
 */
function readPolicyPackVersion(): string {
    const candidates = [
        path.join(__dirname, "package.json"),
        path.join(__dirname, "..", "package.json"),
        path.join(__dirname, "..", "..", "policies", "package.json"),
    ];
    for (const candidate of candidates) {
        if (fs.existsSync(candidate) && fs.existsSync(path.join(path.dirname(candidate), "PulumiPolicy.yaml"))) {
            const manifest: unknown = JSON.parse(fs.readFileSync(candidate, "utf8"));
            const version = (manifest as { version?: unknown }).version;
            if (typeof version === "string" && version.length > 0) {
                return version;
            }
        }
    }
    throw new Error(`cannot find the policy pack's package.json (looked at ${candidates.join(", ")})`);
}

export const policyPackVersion = readPolicyPackVersion();
