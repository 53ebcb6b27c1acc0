#!/usr/bin/env node
// `npm test` after the build: the type check and the three test passes, two lanes side by side.
//
//   lane 1, output live:  mocha, every suite on the machine's Node.js (`mocha`, package.json's config)
//                         but the few listed in `secondLaneSuites`
//   lane 2, output kept:  the type check (`npm run typecheck`), then those few suites on the
//                         machine's Node.js, then the Node.js 22 pass (`npm run test:node22`), then
//                         the newest-SDK pass (`npm run test:sdk-latest`)
//
// Why two lanes: run one after another they took 7 to 9 minutes of a 10-minute budget on the
// 2-core machines, while lane 1 keeps about one core busy (its sshd, agents and Pulumi programs
// wait on each other much of the time). Lane 2's output goes to .cache/test-logs/<step>.log and is
// printed whole once lane 1 is done, each step announced in one line as it starts and ends, so
// neither pass's report is interleaved with the other's.
//
// The suites are written to run beside another pass: ports are picked free, network namespaces,
// scratch directories and the agent copies are named at random, and the two suites that write into
// the repository (the policy pack's `npm pack`, the consumer fixture's install) work on a private
// copy in a repeat pass or in every pass (test/policies/packTarball.ts, test/package/consumer.test.ts).
//
// FIREFLY_TEST_SERIAL=1, or a machine with one core, runs the steps one after another, all output
// live, in the order above. The exit status is 0 only when every step passed; a summary of every
// step and its time closes the output. SIGINT and SIGTERM are passed on to every step's process
// group (sshd and agents included), and the runner exits 130 or 143.
//
// Plain JavaScript on purpose, like the other files in test/setup.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { mochaOptionsWithoutSpec } = require("./mochaOptions");

const root = path.resolve(__dirname, "..", "..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** The steps of `npm test` after the build, by name: a title, and the command that runs the step. */
const mochaBin = path.join(root, "node_modules", "mocha", "bin", "mocha.js");
/**
 * Suites of the machine's Node.js pass that run in lane 2 instead of lane 1, to even the lanes out
 * (lane 1 had become the long pole by about two minutes). They are the same suites on the same
 * Node.js, only started from the other lane; serial runs take them in their place in the order.
 */
const secondLaneSuites = ["test/connector/reload.test.ts"];
const steps = {
    mocha: {
        title: `mocha on Node.js ${process.versions.node}`,
        command: process.execPath,
        args: [mochaBin, ...secondLaneSuites.flatMap((suite) => ["--ignore", suite])],
    },
    // package.json's mocha config would add every suite again (its spec): its other options are
    // passed on the command line instead (mochaOptionsWithoutSpec).
    mochaLane2: {
        title: `reload suite on Node.js ${process.versions.node}`,
        command: process.execPath,
        args: [mochaBin, "--no-package", ...mochaOptionsWithoutSpec(), ...secondLaneSuites],
    },
    typecheck: { title: "typecheck", command: npm, args: ["run", "--silent", "typecheck"] },
    node22: { title: "Node.js 22 pass", command: npm, args: ["run", "--silent", "test:node22"] },
    sdkLatest: { title: "newest-SDK pass", command: npm, args: ["run", "--silent", "test:sdk-latest"] },
};

/** The lanes: each a list of step names run in order; the first lane's output is live. */
function lanesFor(serial) {
    return serial ? [["typecheck", "mocha", "mochaLane2", "node22", "sdkLatest"]] : [["mocha"], ["typecheck", "mochaLane2", "node22", "sdkLatest"]];
}

function seconds(ms) {
    return `${Math.round(ms / 1000)} s`;
}

/**
 * Runs `lanes` of `steps` side by side and reports on `out`; installs the SIGINT and SIGTERM
 * forwarding. Resolves with the exit status `npm test` should have: 0 when every step passed.
 */
async function runSteps({ steps, lanes, logDir, cwd = root, out = process.stdout }) {
    const say = (message) => out.write(`[npm test] ${message}\n`);
    const running = new Set();
    const forward = (signal, exitCode) =>
        process.on(signal, () => {
            for (const child of running) {
                try {
                    process.kill(-child.pid, signal);
                } catch {
                    // already gone
                }
            }
            process.exit(exitCode);
        });
    forward("SIGINT", 130);
    forward("SIGTERM", 143);
    fs.mkdirSync(logDir, { recursive: true });

    /** One step to its end: its output live, or into its log file. */
    const run = (name, live) => {
        const step = steps[name];
        const started = Date.now();
        const logFile = live ? undefined : path.join(logDir, `${name}.log`);
        const fd = logFile === undefined ? "inherit" : fs.openSync(logFile, "w");
        if (!live) say(`${step.title}: started beside ${steps[lanes[0][0]].title}, output in ${path.relative(cwd, logFile)}`);
        return new Promise((resolve) => {
            // Its own process group, so a signal reaches what it started (sshd, agents) as well.
            const child = spawn(step.command, step.args, { cwd, stdio: ["ignore", fd, fd], detached: true });
            running.add(child);
            let done = false;
            const finish = (status, error) => {
                if (done) return;
                done = true;
                running.delete(child);
                if (typeof fd === "number") fs.closeSync(fd);
                const result = { title: step.title, status, ms: Date.now() - started, logFile, error };
                if (!live) say(`${step.title}: ${status === 0 ? "passed" : "FAILED"} in ${seconds(result.ms)}`);
                resolve(result);
            };
            child.once("error", (error) => finish(1, error));
            child.once("exit", (code, signal) => finish(code ?? 128 + (os.constants.signals[signal] ?? 0)));
        });
    };
    const runLane = async (names, live) => {
        const results = [];
        for (const name of names) results.push(await run(name, live));
        return results;
    };

    const results = (await Promise.all(lanes.map((names, index) => runLane(names, index === 0)))).flat();
    for (const result of results) {
        if (result.logFile === undefined) continue;
        out.write(`\n[npm test] ===== ${result.title} (${path.relative(cwd, result.logFile)}) =====\n`);
        out.write(fs.readFileSync(result.logFile, "utf8"));
    }
    out.write("\n");
    say("summary");
    for (const result of results) {
        const verdict = result.status === 0 ? "passed" : `FAILED (exit ${result.status}${result.error ? `, ${result.error.message}` : ""})`;
        say(`  ${result.title.padEnd(28)} ${verdict.padEnd(12)} ${seconds(result.ms)}`);
    }
    return results.every((result) => result.status === 0) ? 0 : 1;
}

module.exports = { runSteps, lanesFor, steps };
if (require.main !== module) return;
const serial = process.env.FIREFLY_TEST_SERIAL === "1" || (os.availableParallelism?.() ?? os.cpus().length) < 2;
if (serial) process.stdout.write("[npm test] running the steps one after another (FIREFLY_TEST_SERIAL=1 or a single core)\n");
runSteps({ steps, lanes: lanesFor(serial), logDir: path.join(root, ".cache", "test-logs") }).then(
    (status) => process.exit(status),
    (error) => {
        process.stderr.write(`[npm test] ${error.stack ?? error}\n`);
        process.exit(1);
    },
);
