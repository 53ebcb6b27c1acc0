// The firefly-connector CLI as operators and systemd run it: a child process, real signals,
// exit codes, and a transfer that must survive SIGTERM.
import { strict as assert } from "node:assert";
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { EXIT_STREAMS_CUT } from "../../connector/cli";
import { AgentProcess, writeConfigFile } from "../../connector/lab/agent";
import { TunnelLab } from "../../connector/lab/lab";
import { listeningSockets } from "../../connector/lab/processes";
import { freePort } from "../../connector/lab/relay";
import { connectionRefused, sha256, startBulkSender, startTransfer, testPayload, type RunningServer } from "./helpers/targets";
import { waitFor, within } from "../../connector/lab/wait";

describe("firefly-connector CLI", function () {
    this.timeout(40_000);
    const processes: AgentProcess[] = [];
    let lab: TunnelLab;
    let sender: RunningServer;
    let listenPort: number;
    let healthPort: number;
    const payload = testPayload(3 * 1024 * 1024);

    function cli(...args: string[]): AgentProcess {
        const agent = AgentProcess.spawn(args);
        processes.push(agent);
        return agent;
    }

    before(async () => {
        // 3 MiB in 64 KiB pieces, 25 ms apart: a transfer that lasts over a second.
        sender = await startBulkSender(payload, 64 * 1024, 25);
        listenPort = await freePort();
        healthPort = await freePort();
        lab = await TunnelLab.create({
            label: "cli",
            routes: [{ name: "bulk", listen: `127.0.0.1:${listenPort}`, target: `127.0.0.1:${sender.port}` }],
        });
    });

    after(async () => {
        for (const agent of processes) await agent.kill();
        await lab?.cleanup();
        await sender?.close();
    });

    it("prints its version and help", async () => {
        const version = cli("--version");
        assert.equal((await within(version.exited, 15_000, "--version")).code, 0);
        const pkg = (await import("../../package.json")) as { version: string };
        assert.equal(version.stdout.trim(), pkg.version);

        const help = cli("--help");
        assert.equal((await within(help.exited, 15_000, "--help")).code, 0);
        for (const command of ["run", "check", "schema"]) assert.match(help.stdout, new RegExp(`\\b${command}\\b`));

        // run's help states the exit codes the drain tests below check, and the reload.
        const runHelp = cli("run", "--help");
        assert.equal((await within(runHelp.exited, 15_000, "run --help")).code, 0);
        const text = runHelp.stdout.replace(/\s+/g, " ");
        assert.match(text, /exit 0 when they all finished, 2 when the grace period cut some, 1 on a second signal/);
        assert.match(text, /SIGHUP re-reads the config file/);
        // And the top-level help says what check covers (item 5 of issue 18).
        assert.match(help.stdout.replace(/\s+/g, " "), /check .*private key's file mode and the health port.*each hairpin target/);
    });

    it("check exits 0 after connecting, authenticating and trying every forward", async () => {
        const configFile = writeConfigFile(lab.dir, lab.config(), "check-ok.yaml");
        const check = cli("check", "--config", configFile);
        const status = await within(check.exited, 20_000, "check");
        assert.equal(status.code, 0, `${check.stdout}\n${check.stderr}`);
        assert.match(check.stdout, /route bulk \(127\.0\.0\.1:\d+\): forward granted and released/);
        assert.match(check.stdout, /check passed/);
    });

    it("check exits 1 naming the field when the config is invalid", async () => {
        const configFile = join(lab.dir, "bad.yaml");
        writeFileSync(configFile, "user: tunnel\nidentity: { privateKeyFile: ./k }\nrelays: []\nhealth: { listen: '0.0.0.0:9464' }\n");
        const check = cli("check", "--config", configFile);
        assert.equal((await within(check.exited, 15_000, "check")).code, 1);
        assert.match(check.stderr, /relays: configure at least one relay/);
        assert.match(check.stderr, /health\.listen: must be a loopback address/);
    });

    it("run exits 1 before connecting when the private key is readable by others, with the chmod that fixes it", async () => {
        const key = join(lab.dir, "exposed-run-key");
        copyFileSync(lab.agentKey.privateKeyFile, key);
        chmodSync(key, 0o644);
        const configFile = writeConfigFile(lab.dir, lab.config({ identity: { privateKeyFile: key, certificateFile: lab.agentCertificate } }), "exposed.yaml");
        const run = cli("run", "--config", configFile);
        assert.equal((await within(run.exited, 15_000, "run")).code, 1);
        assert.equal(run.stderr, `firefly-connector: identity.privateKeyFile ${key} is readable or writable by others (mode 0644): chmod o-rwx ${key}\n`);
    });

    it("run listens on loopback only and logs JSON lines that never contain key material", async () => {
        const ownHealthPort = await freePort();
        const config = lab.config({ health: { listen: `127.0.0.1:${ownHealthPort}` } });
        const configFile = writeConfigFile(lab.dir, config, "run-ops.yaml");
        const agent = cli("run", "--config", configFile, "--log-level", "trace");
        await agent.waitReady(ownHealthPort);
        // One forwarded stream, so the data path has logged too.
        const client = connect({ host: "127.0.0.1", port: listenPort });
        await within(new Promise((resolve) => client.once("data", resolve)), 10_000, "first bytes through the tunnel");
        client.destroy();

        // The relay connection is outbound; the only listener is the loopback health endpoint.
        assert.deepEqual(listeningSockets(agent.child.pid as number), [`127.0.0.1:${ownHealthPort}`]);

        agent.signal("SIGTERM");
        assert.equal((await within(agent.exited, 15_000, "agent exit")).code, 0, agent.stderr);
        assert.ok(agent.logs.records.length > 5);
        assert.deepEqual(agent.logs.records.filter((r) => r.level === "raw"), [], "every stdout line is a JSON object");
        assert.ok(agent.logs.find((r) => r.msg === "connected to relay" && typeof r.hostKey === "string"), "connection logged with the relay's key fingerprint");
        const secrets = [
            ...base64Lines(readFileSync(config.identity.privateKeyFile, "utf8")),
            (readFileSync(config.identity.certificateFile as string, "utf8").split(" ")[1] as string).slice(0, 64),
        ];
        const everything = `${agent.stdout}\n${agent.stderr}`;
        for (const secret of secrets) assert.ok(!everything.includes(secret), "key material appeared in the logs");
    });

    it("run drains on SIGTERM: 10 transfers in flight complete intact, new connections are refused, exit 0", async () => {
        const configFile = writeConfigFile(lab.dir, lab.config({ health: { listen: `127.0.0.1:${healthPort}` } }), "run.yaml");
        const agent = cli("run", "--config", configFile);
        await agent.waitReady(healthPort);

        const transfers = Array.from({ length: 10 }, () => startTransfer(listenPort));
        await waitFor(() => transfers.every((t) => t.received.length > 0), { timeoutMs: 10_000, what: "first bytes of all 10 transfers" });

        agent.signal("SIGTERM");
        await agent.logs.waitFor((r) => typeof r.msg === "string" && r.msg.startsWith("draining"), 5000, "drain started");
        // The relay stops listening: new platform connections are refused while the old ones run.
        await waitFor(() => connectionRefused(listenPort), { timeoutMs: 5000, what: "relay port to refuse new connections" });
        assert.equal(agent.child.exitCode, null, "the agent waits for the in-flight transfers");

        for (const [i, transfer] of transfers.entries()) {
            await within(transfer.done, 20_000, `transfer ${i} to complete`);
            const data = Buffer.concat(transfer.received);
            assert.equal(data.length, payload.length, `transfer ${i} length`);
            assert.equal(sha256(data), sha256(payload), `transfer ${i} checksum`);
        }
        const status = await within(agent.exited, 10_000, "agent exit");
        assert.equal(status.code, 0, agent.stderr);
        assert.ok(agent.logs.find((r) => r.msg === "connector stopped" && r.drained === true), "logged a clean drain");
    });

    it("run ends a drain early on a second SIGTERM (exit 1), and at the grace period (exit 2: streams were cut)", async () => {
        for (const mode of ["second signal", "grace period"] as const) {
            const config = lab.config({ health: { listen: `127.0.0.1:${healthPort}` }, shutdown: { gracePeriodSeconds: mode === "grace period" ? 0.5 : 60 } });
            const agent = cli("run", "--config", writeConfigFile(lab.dir, config, "short-grace.yaml"));
            await agent.waitReady(healthPort);
            const transfer = startTransfer(listenPort);
            await waitFor(() => transfer.received.length > 0, { timeoutMs: 10_000, what: "transfer under way" });
            agent.signal("SIGTERM");
            await agent.logs.waitFor((r) => typeof r.msg === "string" && r.msg.startsWith("draining"), 5000, "drain started");
            if (mode === "second signal") agent.signal("SIGTERM");
            // Both end well before the 1.2 s transfer would have.
            const status = await within(agent.exited, 10_000, `exit on ${mode}`);
            assert.equal(status.code, mode === "second signal" ? 1 : EXIT_STREAMS_CUT, `${mode}: ${agent.stderr}`);
            if (mode === "grace period") assert.ok(agent.logs.find((r) => r.msg === "connector stopped" && r.drained === false), "logged the cut");
            await transfer.done.catch(() => undefined);
            assert.ok(Buffer.concat(transfer.received).length < payload.length, `${mode}: the transfer was cut`);
        }
    });
});

/** The base64 body lines of a PEM/OpenSSH private key file (each a fragment of the key). */
function base64Lines(pem: string): string[] {
    return pem.split("\n").filter((line) => line.length >= 40 && !line.startsWith("-----"));
}
