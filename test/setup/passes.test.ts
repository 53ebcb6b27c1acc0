// test/setup/passes.js, the runner behind `npm test`, with stand-in steps (small `node -e`
// scripts) in place of mocha and the repeat passes: its exit status, its report, the lanes really
// running side by side, and a SIGTERM reaching what a step started.
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const runner = path.resolve(__dirname, "passes.js");

interface Step {
    title: string;
    command: string;
    args: string[];
}

function nodeStep(title: string, script: string): Step {
    return { title, command: process.execPath, args: ["-e", script] };
}

/** Runs the runner in a process of its own with these steps and lanes; its status and output. */
function runRunner(steps: Record<string, Step>, lanes: string[][], dir: string, onStarted?: (pid: number) => void): Promise<{ status: number | null; signal: NodeJS.Signals | null; output: string }> {
    const driver = `require(${JSON.stringify(runner)}).runSteps(${JSON.stringify({ steps, lanes, logDir: path.join(dir, "logs"), cwd: dir })}).then((s) => process.exit(s));`;
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["-e", driver], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        if (onStarted) onStarted(child.pid!);
        child.once("error", reject);
        child.once("close", (status, signal) => resolve({ status, signal, output }));
    });
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

describe("npm test's runner (test/setup/passes.js)", function () {
    this.timeout(20_000);
    let dir: string;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "passes-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("runs the lanes side by side, prints the second lane's output after the first's, and exits 0 when every step passed", async () => {
        const marker = path.join(dir, "lane1-running");
        const { status, output } = await runRunner(
            {
                // Lane 1 waits until lane 2's step has seen it running: the test would time out if they ran in turn.
                first: nodeStep("lane one", `require("fs").writeFileSync(${JSON.stringify(marker)}, ""); const t = setInterval(() => { if (!require("fs").existsSync(${JSON.stringify(marker)})) { clearInterval(t); clearTimeout(g); console.log("LANE1-OUT"); } }, 20); const g = setTimeout(() => process.exit(9), 8000);`),
                second: nodeStep("lane two", `const t = setInterval(() => { if (require("fs").existsSync(${JSON.stringify(marker)})) { clearInterval(t); require("fs").rmSync(${JSON.stringify(marker)}); clearTimeout(g); console.log("LANE2-OUT"); } }, 20); const g = setTimeout(() => process.exit(9), 8000);`),
                third: nodeStep("lane two, next", `console.log("THIRD-OUT")`),
            },
            [["first"], ["second", "third"]],
            dir,
        );
        assert.equal(status, 0, output);
        assert.ok(output.indexOf("LANE1-OUT") < output.indexOf("LANE2-OUT"), "the second lane's output is printed after the first lane's");
        assert.ok(output.indexOf("LANE2-OUT") < output.indexOf("THIRD-OUT"), "a lane's steps in order");
        assert.match(output, /\[npm test\] lane two: started beside lane one, output in logs\/second\.log/);
        assert.match(output, /\[npm test\] ===== lane two \(logs\/second\.log\) =====\nLANE2-OUT\n/);
        assert.match(output, /\[npm test\] summary\n\[npm test\] {3}lane one +passed +\d+ s\n\[npm test\] {3}lane two +passed/);
    });

    it("exits 1 when a step fails, still runs the rest of its lane, and names the failure in the summary", async () => {
        const { status, output } = await runRunner(
            {
                first: nodeStep("mocha stand-in", `console.log("fine")`),
                failing: nodeStep("typecheck stand-in", `console.error("error TS2322: broken"); process.exit(2)`),
                after: nodeStep("pass after it", `console.log("STILL-RAN")`),
            },
            [["first"], ["failing", "after"]],
            dir,
        );
        assert.equal(status, 1, output);
        assert.match(output, /\[npm test\] typecheck stand-in: FAILED in \d+ s/);
        assert.match(output, /error TS2322: broken/, "the failing step's log is printed");
        assert.match(output, /STILL-RAN/);
        assert.match(output, /typecheck stand-in +FAILED \(exit 2\)/);
        assert.match(output, /pass after it +passed/);
    });

    it("reports a step whose command cannot start as failed, with the reason", async () => {
        const { status, output } = await runRunner({ only: { title: "missing tool", command: path.join(dir, "no-such-command"), args: [] } }, [["only"]], dir);
        assert.equal(status, 1, output);
        assert.match(output, /missing tool +FAILED \(exit 1, spawn .*no-such-command ENOENT\)/);
    });

    it("passes SIGTERM on to every running step's process group, grandchildren included, and exits 143", async () => {
        const pidFile = path.join(dir, "grandchild.pid");
        // Each step starts a long-lived grandchild (as mocha starts sshd) and waits.
        const sleeper = (file: string) =>
            nodeStep("sleeper", `const c = require("child_process").spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" }); require("fs").writeFileSync(${JSON.stringify(file)}, String(c.pid)); setTimeout(() => {}, 60000);`);
        let runnerPid = 0;
        const finished = runRunner({ a: sleeper(pidFile), b: sleeper(`${pidFile}.2`) }, [["a"], ["b"]], dir, (pid) => (runnerPid = pid));
        // A pid file exists, empty, before its pid is written in it: wait for the pid itself (an
        // empty file read as 0 made kill(0) test this very process group and pass as alive).
        const pidIn = (file: string): number => (fs.existsSync(file) ? Number(fs.readFileSync(file, "utf8")) : 0);
        const deadline = Date.now() + 10_000;
        while (!(pidIn(pidFile) > 0 && pidIn(`${pidFile}.2`) > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
        const grandchildren = [pidFile, `${pidFile}.2`].map(pidIn);
        assert.ok(grandchildren.every((pid) => Number.isInteger(pid) && pid > 0), `pid files: ${grandchildren.join(", ")}`);
        assert.ok(grandchildren.every(alive));
        process.kill(runnerPid, "SIGTERM");
        const { status } = await finished;
        assert.equal(status, 143);
        const gone = Date.now() + 5000;
        while (grandchildren.some(alive) && Date.now() < gone) await new Promise((r) => setTimeout(r, 25));
        assert.deepEqual(grandchildren.filter(alive), [], "no step's grandchild outlives the runner");
    });

    it("lanes: mocha in the first lane; the type check, a few suites of the same mocha pass and the repeat passes in the second, or all in one lane when serial", () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { lanesFor, steps } = require(runner) as { lanesFor: (serial: boolean) => string[][]; steps: Record<string, Step> };
        assert.deepEqual(lanesFor(false), [["mocha"], ["typecheck", "mochaLane2", "node22", "sdkLatest"]]);
        assert.deepEqual(lanesFor(true), [["typecheck", "mocha", "mochaLane2", "node22", "sdkLatest"]]);
        assert.deepEqual(steps.typecheck!.args, ["run", "--silent", "typecheck"]);
        assert.deepEqual(steps.node22!.args, ["run", "--silent", "test:node22"]);
        assert.deepEqual(steps.sdkLatest!.args, ["run", "--silent", "test:sdk-latest"]);
    });

    it("the two mocha steps on the machine's Node.js together run every suite once", () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { steps } = require(runner) as { steps: Record<string, Step> };
        const root = path.resolve(__dirname, "..", "..");
        // Lane 2's step names its suites and leaves package.json's config (whose spec would add
        // every suite again) out; lane 1's runs that config and ignores exactly those suites.
        const lane2 = steps.mochaLane2!.args;
        assert.ok(lane2.includes("--no-package"), lane2.join(" "));
        // ...with the options of that config all the same (a timeout raised there applies to both lanes).
        const config = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).mocha as { require: string[]; extension: string[]; timeout: number };
        const valueOf = (flag: string) => lane2.flatMap((arg, i) => (lane2[i - 1] === flag ? [arg] : []));
        assert.deepEqual(valueOf("--require"), config.require);
        assert.deepEqual(valueOf("--extension"), config.extension);
        assert.deepEqual(valueOf("--timeout"), [String(config.timeout)]);
        assert.ok(!lane2.includes("--spec"), "lane 2 must not take the config's spec (every suite)");
        const suites = lane2.filter((arg) => arg.endsWith(".test.ts"));
        assert.ok(suites.length > 0, "the second lane's mocha step names no suite");
        for (const suite of suites) assert.ok(fs.existsSync(path.join(root, suite)), `${suite} does not exist`);
        const ignored = steps.mocha!.args.flatMap((arg, i, all) => (all[i - 1] === "--ignore" ? [arg] : []));
        assert.deepEqual(ignored, suites);
        assert.ok(!steps.mocha!.args.includes("--no-package"), "lane 1's mocha must run package.json's config: every suite");

        // The Node 22 pass takes the same options too, but for its deliberate 60 s timeout.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { mochaArgs } = require(path.resolve(__dirname, "node22.js")) as { mochaArgs(specs: string[], extra: string[]): string[] };
        const node22 = mochaArgs(["test/x.test.ts"], ["--require", "redirect.js"]);
        const valueOf22 = (flag: string) => node22.flatMap((arg, i) => (node22[i - 1] === flag ? [arg] : []));
        assert.deepEqual(valueOf22("--require"), ["redirect.js", ...config.require]);
        assert.deepEqual(valueOf22("--extension"), config.extension);
        assert.deepEqual(valueOf22("--timeout"), ["60000"]);
        assert.ok(node22.includes("--no-package") && !node22.includes("--spec"), node22.join(" "));
        assert.equal(node22.at(-1), "test/x.test.ts");
    });
});
