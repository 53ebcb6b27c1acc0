#!/usr/bin/env node
// `npm run test:sdk-latest` (part of `npm test`): the components, the example stacks and the
// component provider against the NEWEST Pulumi Node.js SDK, on Node.js 22.
//
// Why a separate pass: SDK releases after 3.248 require Node.js 22, while this machine (and anyone
// still on Node 20, which `engines` admits) runs 3.248 from the lockfile. The dependency range
// (`^3.248.0`) lets a Node 22 consumer resolve the newest 3.x, so that is tested here: the SDK's
// `latest` release goes into .cache/sdk-latest, and test/setup/redirectModules.js makes every
// require of @pulumi/pulumi in the run (ours, @pulumi/aws's, the provider process's) load it.
"use strict";

const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { ensureNode22, runMocha, version } = require("./node22");

const root = path.resolve(__dirname, "..", "..");
const dir = path.join(root, ".cache", "sdk-latest");
const specs = ["test/components/**/*.test.ts", "test/stacks/*.test.ts", "test/provider/*.test.ts"];
const log = (message) => process.stdout.write(`[sdk-latest] ${message}\n`);

const node22 = ensureNode22();
if (node22 === undefined) process.exit(0);

const wanted = spawnSync("npm", ["view", "@pulumi/pulumi@latest", "version"], { encoding: "utf8" }).stdout.trim();
const installedVersion = () => {
    try {
        return JSON.parse(fs.readFileSync(path.join(dir, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")).version;
    } catch {
        return undefined;
    }
};
if (!wanted) {
    process.stderr.write("[sdk-latest] ERROR: npm view @pulumi/pulumi@latest failed (is the npm registry reachable?)\n");
    process.exit(1);
}
if (installedVersion() !== wanted) {
    log(`installing @pulumi/pulumi@${wanted} into ${path.relative(root, dir)}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const install = spawnSync("npm", ["install", "--prefix", dir, "--no-audit", "--no-fund", "--no-save", "--ignore-scripts", `@pulumi/pulumi@${wanted}`], { stdio: "inherit" });
    if (install.status !== 0 || installedVersion() !== wanted) {
        process.stderr.write(`[sdk-latest] ERROR: could not install @pulumi/pulumi@${wanted}\n`);
        process.exit(1);
    }
}

const env = { ...process.env, PULUMI_SDK_DIR: dir };
const hook = path.join(__dirname, "redirectModules.js");
// Prove the redirect before trusting the run: our code and @pulumi/aws must both load the new SDK.
const probe = spawnSync(
    node22,
    ["-r", hook, "-e", 'const a = require.resolve("@pulumi/pulumi"); const b = require.resolve("@pulumi/pulumi", { paths: [require.resolve("@pulumi/aws")] }); console.log(JSON.stringify({ version: require("@pulumi/pulumi/package.json").version, same: a === b, a }))'],
    { cwd: root, env, encoding: "utf8" },
);
const seen = probe.status === 0 ? JSON.parse(probe.stdout) : undefined;
if (!seen || seen.version !== wanted || !seen.same || !seen.a.startsWith(dir)) {
    process.stderr.write(`[sdk-latest] ERROR: the SDK redirect does not hold: ${probe.stdout}${probe.stderr}\n`);
    process.exit(1);
}
log(`running ${specs.length} suites on Node ${version(node22)} with @pulumi/pulumi ${wanted}`);
// FIREFLY_TEST_PASS: a repeat pass (test/helpers/testPass.ts).
process.exit(runMocha(specs, ["--require", hook], { PULUMI_SDK_DIR: dir, FIREFLY_TEST_PASS: "sdk-latest" }) ?? 1);
