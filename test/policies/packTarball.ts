// The policy pack as `pulumi policy publish` ships it: `npm pack` in the pack directory, whose
// prepack script compiles the pack into bin/ (the directory's `main`). Packed once per test run;
// engine.test.ts starts the pack from that directory (which the packing built) and from the
// tarball installed alone.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const root = path.resolve(__dirname, "..", "..");

/**
 * The pack directory these tests pack and start: a private copy of policies/ (its sources,
 * PulumiPolicy.yaml and package.json, not bin/), inside the repository so its dependencies
 * resolve from this repository's node_modules exactly as policies/ does; removed when the process
 * exits. Not policies/ itself: packing rebuilds bin/ in place, and the test command runs its passes
 * side by side (test/setup/passes.js), where another pass packs the root package, whose files
 * include policies/bin, and would read it half-written. The repository's policies/bin is built by
 * `npm run build` (npm test's first step) and only read by the tests.
 */
let packCopy: string | undefined;

/** The copy, made the first time it is asked for (not when a test file merely imports this module). */
export function packDir(): string {
    packCopy ??= copyOfPack();
    return packCopy;
}

function copyOfPack(): string {
    const source = path.join(root, "policies");
    fs.mkdirSync(path.join(root, ".cache"), { recursive: true });
    const copy = fs.mkdtempSync(path.join(root, ".cache", "policy-pack-"));
    process.once("exit", () => fs.rmSync(copy, { recursive: true, force: true }));
    fs.cpSync(source, copy, { recursive: true, filter: (file) => !["bin", "node_modules"].includes(path.relative(source, file)) });
    return copy;
}

let tarball: string | undefined;

/** A scratch directory removed when the test process exits (links in it are removed, not followed). */
function scratch(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
}

/** Runs `npm pack` in policies/ (building bin/ through prepack); returns the tarball's path. */
export function packPolicyPack(): string {
    if (tarball === undefined) {
        const destination = scratch("policy-pack-");
        const output = execFileSync("npm", ["pack", "--silent", "--pack-destination", destination], { cwd: packDir(), encoding: "utf8" });
        const name = output.trim().split("\n").pop() ?? "";
        tarball = path.join(destination, name);
        if (!name.endsWith(".tgz") || !fs.existsSync(tarball)) {
            throw new Error(`npm pack in policies/ did not report a tarball:\n${output}`);
        }
    }
    return tarball;
}

/** The files a tarball holds, as `tar -tzf` lists them (package/...). */
export function tarballFiles(file: string): string[] {
    return execFileSync("tar", ["-tzf", file], { encoding: "utf8" }).trim().split("\n");
}

/**
 * Installs the tarball alone into an empty project, offline: the pack is extracted from the
 * tarball, and its dependencies are linked from this repository's node_modules (the same versions
 * a registry install would pick, without downloading @pulumi/aws). Returns the installed pack's directory.
 */
export function installAlone(file: string): string {
    const project = scratch("policy-pack-consumer-");
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "policy-pack-consumer", private: true }));
    const manifest = JSON.parse(fs.readFileSync(path.join(packDir(), "package.json"), "utf8")) as { name: string; dependencies: Record<string, string> };
    const dependencies = Object.keys(manifest.dependencies).map((name) => path.join(root, "node_modules", name));
    execFileSync(
        "npm",
        ["install", file, ...dependencies, "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--install-links=false", "--loglevel=error"],
        { cwd: project, encoding: "utf8" },
    );
    return path.join(project, "node_modules", ...manifest.name.split("/"));
}
