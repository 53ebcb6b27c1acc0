// The agent reaches its relays through the customer's HTTP CONNECT proxy: a real tinyproxy on
// loopback, with and without BasicAuth, and every way a proxy says no (403, 407, silence). A
// refusal is reported as the proxy's, naming it; credentials never appear in output or logs.
import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { runCheck } from "../../connector/check";
import { LogCapture, startAgent } from "../../connector/lab/agent";
import { TunnelLab } from "../../connector/lab/lab";
import { freePort } from "../../connector/lab/relay";
import { Tinyproxy } from "../../connector/lab/tinyproxy";
import { createLogger } from "../../connector/log";
import type { ConnectorConfig, ConnectorConfigInput } from "../../connector/spec";
import { echoThrough, startEchoService, type RunningServer } from "./helpers/targets";

const PASSWORD = "pr0xy-s3cret-value";

describe("egress proxy (HTTP CONNECT, tinyproxy)", function () {
    this.timeout(30_000);
    let lab: TunnelLab;
    let echo: RunningServer;
    let open: Tinyproxy;
    let authenticating: Tinyproxy;
    let forbidding: Tinyproxy;
    let listenPort: number;

    before(async () => {
        echo = await startEchoService();
        listenPort = await freePort();
        lab = await TunnelLab.create({ label: "proxy", routes: [{ name: "echo", listen: `127.0.0.1:${listenPort}`, target: `127.0.0.1:${echo.port}` }] });
        const relayPort = lab.relays[0]!.port;
        open = await Tinyproxy.start({ dir: lab.dir, connectPorts: [relayPort] });
        authenticating = await Tinyproxy.start({ dir: lab.dir, connectPorts: [relayPort], basicAuth: { user: "agent", password: PASSWORD } });
        forbidding = await Tinyproxy.start({ dir: lab.dir, connectPorts: [443] });
    });

    after(async () => {
        for (const proxy of [open, authenticating, forbidding]) await proxy?.stop();
        await lab?.cleanup();
        await echo?.close();
    });

    const check = async (overrides: Partial<ConnectorConfigInput>) => {
        const result = await runCheck(lab.config(overrides), createLogger({ level: "error", destination: new LogCapture() }));
        const report = result.lines.join("\n");
        assert.ok(!report.includes(PASSWORD), "the proxy password appeared in check's output");
        return { ok: result.ok, report };
    };

    it("carries the tunnel through the proxy: CONNECT to the relay, then routes work", async () => {
        const config: ConnectorConfig = lab.config({ proxy: open.url() });
        const agent = await startAgent(config);
        try {
            await agent.waitUntilReady();
            assert.equal((await echoThrough(listenPort, Buffer.from("through the proxy"))).toString(), "through the proxy");
            assert.match(open.log(), new RegExp(`CONNECT 127\\.0\\.0\\.1:${lab.relays[0]!.port}`));
        } finally {
            await agent.stop();
        }
    });

    it("authenticates with BasicAuth from the URL, a file or an environment variable, and never logs the password", async () => {
        const credentialsFile = join(lab.dir, "proxy-credentials");
        writeFileSync(credentialsFile, `agent:${PASSWORD}\n`, { mode: 0o600 });
        process.env.FIREFLY_TEST_PROXY_CREDENTIALS = `agent:${PASSWORD}`;
        try {
            for (const proxy of [
                authenticating.url(`agent:${PASSWORD}`),
                { url: authenticating.url(), credentialsFile },
                { url: authenticating.url(), credentialsEnv: "FIREFLY_TEST_PROXY_CREDENTIALS" },
            ]) {
                const { ok, report } = await check({ proxy });
                assert.ok(ok, report);
                assert.match(report, new RegExp(`connected through proxy http://127\\.0\\.0\\.1:${authenticating.port},`));
            }
        } finally {
            delete process.env.FIREFLY_TEST_PROXY_CREDENTIALS;
        }
        // The running agent's logs, with wrong credentials, name the proxy but not the password.
        const agent = await startAgent(lab.config({ proxy: authenticating.url(`agent:wrong-${PASSWORD}`) }));
        try {
            await agent.logs.waitFor((r) => r.reason === "proxy", 10_000, "proxy refusal logged");
            assert.ok(!agent.logs.text().includes(PASSWORD), "the proxy password appeared in the agent's logs");
        } finally {
            await agent.stop();
        }
    });

    it("reports a 407 or 401 (no or wrong credentials) as the proxy's refusal, naming the proxy", async () => {
        for (const proxy of [authenticating.url(), authenticating.url("agent:wrong")]) {
            const { ok, report } = await check({ proxy });
            assert.equal(ok, false);
            assert.match(report, new RegExp(`FAILED \\(proxy\\): proxy http://127\\.0\\.0\\.1:${authenticating.port}: refused CONNECT 127\\.0\\.0\\.1:\\d+: 40[17] .*wants credentials`));
        }
    });

    it("reports a 403 (CONNECT to a port the proxy does not allow) as the proxy's refusal", async () => {
        const { ok, report } = await check({ proxy: forbidding.url() });
        assert.equal(ok, false);
        assert.match(report, new RegExp(`FAILED \\(proxy\\): proxy http://127\\.0\\.0\\.1:${forbidding.port}: refused CONNECT .*: 403 .*forbids CONNECT`));
    });

    it("reports a proxy that never answers, and one that is not there, as the proxy's", async () => {
        const sockets: Socket[] = [];
        const silent: Server = createServer((socket) => sockets.push(socket));
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const silentPort = (silent.address() as { port: number }).port;
        try {
            const quiet = await check({ proxy: `http://127.0.0.1:${silentPort}`, connectTimeoutSeconds: 1 });
            assert.equal(quiet.ok, false);
            assert.match(quiet.report, new RegExp(`FAILED \\(proxy\\): proxy http://127\\.0\\.0\\.1:${silentPort}: no answer to CONNECT`));
        } finally {
            for (const socket of sockets) socket.destroy();
            await new Promise((resolve) => silent.close(resolve));
        }
        const gone = await freePort();
        const absent = await check({ proxy: `http://127.0.0.1:${gone}` });
        assert.equal(absent.ok, false);
        assert.match(absent.report, new RegExp(`FAILED \\(proxy\\): proxy http://127\\.0\\.0\\.1:${gone}: TCP connect to the proxy failed: ECONNREFUSED`));
    });

    it("lets one relay bypass the proxy with proxy: none", async () => {
        const gone = await freePort();
        const relay = lab.relays[0]!;
        const { ok, report } = await check({
            proxy: `http://127.0.0.1:${gone}`,
            relays: [{ name: "relay0", host: relay.host, port: relay.port, hostKeys: [relay.hostKey.publicKey], proxy: "none" }],
        });
        assert.ok(ok, report);
        assert.doesNotMatch(report, /through proxy/);
    });

    it("refuses a proxy that is not http://host:port, naming the field", () => {
        assert.throws(() => lab.config({ proxy: "https://proxy.example:3128" }), /proxy: .*https:\/\/ proxies are not supported/);
        assert.throws(() => lab.config({ proxy: "proxy.example:3128" }), /proxy: must be "http:\/\/\[user:password@\]host:port"/);
    });
});
