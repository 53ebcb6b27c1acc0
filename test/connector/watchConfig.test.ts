// `run --watch-config SECONDS`: a changed config file is reloaded without a signal, as a container
// needs (no shell to send SIGHUP; a Kubernetes secret or ConfigMap volume swaps its files in place
// through a symlink). The real CLI against a real sshd relay: a route added by rewriting the file
// is forwarded, a file that does not validate is refused once (not at every look) while the old
// config keeps serving, the next good file applies, and a file swapped as Kubernetes swaps it
// (a new directory behind a renamed symlink) is seen too.
import { strict as assert } from "node:assert";
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AgentProcess, writeConfigFile, type LogRecord } from "../../connector/lab/agent";
import { TunnelLab } from "../../connector/lab/lab";
import { freePort } from "../../connector/lab/relay";
import { waitFor, within } from "../../connector/lab/wait";
import { renderConnectorConfig, type ConnectorConfig } from "../../connector/spec";
import { connectionRefused, echoThrough, startEchoService, type RunningServer } from "./helpers/targets";

const REFUSED = "config reload refused: keeping the current config";

describe("firefly-connector run --watch-config: a changed config file is reloaded without a signal", function () {
    this.timeout(60_000);
    let lab: TunnelLab;
    let echo: RunningServer;
    let agent: AgentProcess | undefined;
    let firstPort: number;
    let secondPort: number;
    let healthPort: number;

    before(async () => {
        echo = await startEchoService();
        firstPort = await freePort();
        secondPort = await freePort();
        healthPort = await freePort();
        lab = await TunnelLab.create({
            label: "watch",
            routes: [
                { name: "first", listen: `127.0.0.1:${firstPort}`, target: `127.0.0.1:${echo.port}` },
                { name: "second", listen: `127.0.0.1:${secondPort}`, target: `127.0.0.1:${echo.port}` },
            ],
        });
    });

    // A test that fails midway leaves its agent running on the shared ports: stop it before the next.
    afterEach(async () => {
        await agent?.kill();
        agent = undefined;
    });

    after(async () => {
        await agent?.kill();
        await lab?.cleanup();
        await echo?.close();
    });

    const count = (msg: string) => agent!.logs.records.filter((r: LogRecord) => r.msg === msg).length;
    const only = (...names: string[]): ConnectorConfig => lab.config({ health: { listen: `127.0.0.1:${healthPort}` }, routes: lab.config().routes.filter((r) => names.includes(r.name)) });
    const works = async (port: number) => (await echoThrough(port, Buffer.from("ping"))).toString() === "ping";

    it("applies a rewritten file, refuses a bad one once and keeps serving, then applies the next good one", async () => {
        const file = writeConfigFile(lab.dir, only("first"), "watched.yaml");
        agent = AgentProcess.spawn(["run", "--config", file, "--watch-config", "1"]);
        await agent.waitReady(healthPort);
        assert.ok(await connectionRefused(secondPort), "second is not forwarded yet");

        writeConfigFile(lab.dir, only("first", "second"), "watched.yaml");
        await waitFor(async () => !(await connectionRefused(secondPort)), { timeoutMs: 10_000, what: "the added route forwarded without SIGHUP" });
        assert.ok(await works(secondPort));
        // The log line follows the forward the relay confirmed: it may still be on its way here.
        await waitFor(() => count("config reloaded") === 1, { timeoutMs: 5_000, what: `one "config reloaded" (${count("config reloaded")})` });
        assert.equal(agent.logs.records.filter((r) => r.msg === "config file changed: reloading the config file").length, 1);

        // Not valid YAML: refused once, not again at every look, and the routes keep working.
        writeFileSync(file, "routes: [unclosed\n");
        await waitFor(() => count(REFUSED) === 1, { timeoutMs: 10_000, what: "the bad file refused" });
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        assert.equal(count(REFUSED), 1, "a refused file is not tried again until it changes");
        assert.ok((await works(firstPort)) && (await works(secondPort)), "the config in force keeps serving");

        writeConfigFile(lab.dir, only("first"), "watched.yaml");
        await waitFor(() => connectionRefused(secondPort), { timeoutMs: 10_000, what: "the removed route no longer forwarded" });
        // The port closes when the relay cancels the forward, before the agent logs the reload.
        await waitFor(() => count("config reloaded") === 2, { timeoutMs: 5_000, what: `a second "config reloaded" (${count("config reloaded")})` });

        agent.signal("SIGTERM");
        assert.equal((await within(agent.exited, 15_000, "agent exit")).code, 0, agent.stderr);
        agent = undefined;
    });

    it("sees a file swapped as a Kubernetes volume swaps it: a new directory behind a renamed symlink", async () => {
        // The layout of a secret or ConfigMap volume: config.yaml -> ..data/config.yaml, ..data -> ..<timestamp>/
        const volume = join(lab.dir, "volume");
        const version = (name: string, config: ConnectorConfig) => {
            mkdirSync(join(volume, name), { recursive: true });
            writeFileSync(join(volume, name, "config.yaml"), renderConnectorConfig(config));
        };
        version("..2026_12_07_00_00_00.1", only("first"));
        symlinkSync("..2026_12_07_00_00_00.1", join(volume, "..data"));
        symlinkSync("..data/config.yaml", join(volume, "config.yaml"));
        agent = AgentProcess.spawn(["run", "--config", join(volume, "config.yaml"), "--watch-config", "1"]);
        await agent.waitReady(healthPort);
        assert.ok(await connectionRefused(secondPort));

        version("..2026_12_07_00_01_00.2", only("first", "second"));
        symlinkSync("..2026_12_07_00_01_00.2", join(volume, "..data_tmp"));
        renameSync(join(volume, "..data_tmp"), join(volume, "..data"));
        await waitFor(async () => !(await connectionRefused(secondPort)), { timeoutMs: 10_000, what: "the swapped-in file applied" });
        assert.ok(await works(secondPort));
    });

    it("refuses a watch interval that is not a whole number of seconds, naming the option", async () => {
        const run = AgentProcess.spawn(["run", "--config", join(lab.dir, "watched.yaml"), "--watch-config", "soon"]);
        const exit = await within(run.exited, 15_000, "agent exit");
        assert.equal(exit.code, 1);
        assert.match(run.stderr, /--watch-config must be a whole number of seconds from 0 to 3600 \(got soon\)/);
    });
});
