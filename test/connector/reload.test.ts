// SIGHUP reloads the config file of a running agent (the real CLI, as systemd's ExecReload sends
// it): routes are added and removed while another route's transfer carries on intact, and a
// config the agent cannot apply is refused with the reason while the old one stays in force.
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RESTART_ONLY_FIELDS } from "../../connector/agent";
import { AgentProcess, writeConfigFile, type LogRecord } from "../../connector/lab/agent";
import { TunnelLab } from "../../connector/lab/lab";
import { freePort } from "../../connector/lab/relay";
import { waitFor, within } from "../../connector/lab/wait";
import { connectionRefused, echoThrough, httpStatus, sha256, startBulkSender, startEchoService, startTransfer, testPayload, type RunningServer } from "./helpers/targets";

describe("firefly-connector run: SIGHUP reloads the config", function () {
    this.timeout(60_000);
    let lab: TunnelLab;
    let sender: Awaited<ReturnType<typeof startBulkSender>>;
    let echo: RunningServer;
    let agent: AgentProcess | undefined;
    let bulkPort: number;
    let extraPort: number;
    let healthPort: number;
    // 3 MiB in 16 KiB pieces, 20 ms apart: about 4 s, long enough to reload twice meanwhile.
    const payload = testPayload(3 * 1024 * 1024);

    before(async () => {
        sender = await startBulkSender(payload, 16 * 1024, 20);
        echo = await startEchoService();
        bulkPort = await freePort();
        extraPort = await freePort();
        healthPort = await freePort();
        lab = await TunnelLab.create({
            label: "reload",
            routes: [
                { name: "bulk", listen: `127.0.0.1:${bulkPort}`, target: `127.0.0.1:${sender.port}` },
                { name: "extra", listen: `127.0.0.1:${extraPort}`, target: `127.0.0.1:${echo.port}` },
            ],
        });
    });

    after(async () => {
        await agent?.kill();
        await lab?.cleanup();
        await sender?.close();
        await echo?.close();
    });

    const reloads = (logs: AgentProcess["logs"], msg: string) => logs.records.filter((r: LogRecord) => r.msg === msg).length;

    it("adds and removes routes without touching another route's transfer; refuses a bad file, keeping the old config", async () => {
        const routes = lab.config().routes;
        const only = (...names: string[]) => lab.config({ health: { listen: `127.0.0.1:${healthPort}` }, routes: routes.filter((r) => names.includes(r.name)) });
        const configFile = writeConfigFile(lab.dir, only("bulk"), "reload.yaml");
        agent = AgentProcess.spawn(["run", "--config", configFile]);
        await agent.waitReady(healthPort);
        assert.ok(await connectionRefused(extraPort), "extra is not forwarded yet");

        const transfer = startTransfer(bulkPort);
        await waitFor(() => transfer.received.length > 0, { timeoutMs: 10_000, what: "bulk transfer under way" });

        // Added.
        writeConfigFile(lab.dir, only("bulk", "extra"), "reload.yaml");
        agent.signal("SIGHUP");
        await agent.logs.waitFor((r) => r.msg === "config reloaded", 10_000, "first reload");
        await waitFor(async () => !(await connectionRefused(extraPort)), { timeoutMs: 10_000, what: "relay to listen for the added route" });
        assert.equal((await echoThrough(extraPort, Buffer.from("ping"))).toString(), "ping");

        // Removed.
        writeConfigFile(lab.dir, only("bulk"), "reload.yaml");
        agent.signal("SIGHUP");
        await waitFor(() => reloads(agent!.logs, "config reloaded") === 2, { timeoutMs: 10_000, what: "second reload" });
        await waitFor(() => connectionRefused(extraPort), { timeoutMs: 10_000, what: "relay to stop listening for the removed route" });

        // Not YAML at all, then a change only a restart can apply: both refused, with the reason.
        writeFileSync(configFile, "routes: [unclosed\n");
        agent.signal("SIGHUP");
        const invalid = await agent.logs.waitFor((r) => r.msg === "config reload refused: keeping the current config", 10_000, "refused reload");
        assert.match(String(invalid.reason), /not valid YAML/);
        writeConfigFile(lab.dir, lab.config({ health: { listen: `127.0.0.1:${healthPort}` }, routes: routes.filter((r) => r.name === "bulk"), user: "someone-else" }), "reload.yaml");
        agent.signal("SIGHUP");
        await waitFor(() => reloads(agent!.logs, "config reload refused: keeping the current config") === 2, { timeoutMs: 10_000, what: "second refused reload" });
        assert.match(String(agent.logs.records.filter((r) => r.msg === "config reload refused: keeping the current config")[1]?.reason), /user changed: .*restart the agent/);
        assert.equal(await httpStatus(healthPort, "/readyz"), 200, "still ready on the old config");

        // The transfer that ran through all of it arrived whole.
        assert.equal(agent.child.exitCode, null, "SIGHUP never stops the agent");
        await within(transfer.done, 20_000, "bulk transfer to complete");
        const data = Buffer.concat(transfer.received);
        assert.equal(data.length, payload.length);
        assert.equal(sha256(data), sha256(payload));
        assert.equal(sender.connections(), 1, "one connection to the target: the stream was never re-opened");

        agent.signal("SIGTERM");
        assert.equal((await within(agent.exited, 15_000, "agent exit")).code, 0, agent.stderr);
    });
});

describe("the README's reload paragraph", () => {
    it("lists every field a reload refuses (agent.ts RESTART_ONLY_FIELDS), so an operator knows which changes need a restart", () => {
        const readme = readFileSync(join(__dirname, "..", "..", "connector", "README.md"), "utf8");
        const paragraph = readme.split("\n\n").find((p) => p.startsWith("**Reload.**"));
        assert.ok(paragraph, "connector/README.md has a **Reload.** paragraph");
        const listed = /changes what shapes\s+the relay connections themselves \(([^)]*)\)/.exec(paragraph)?.[1];
        assert.ok(listed, "the paragraph lists the refused fields in parentheses");
        assert.deepEqual(
            [...listed.matchAll(/`([^`]+)`/g)].map((m) => m[1]).sort(),
            [...RESTART_ONLY_FIELDS].sort(),
        );
    });
});
