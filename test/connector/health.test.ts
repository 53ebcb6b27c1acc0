// /healthz, /readyz and /metrics tell the truth about relays, routes, streams and bytes.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { SUPPORTED_SSH2_VERSION } from "../../connector/ssh2/internals";
import { startAgent, type InProcessAgent } from "../../connector/lab/agent";
import { TunnelLab } from "../../connector/lab/lab";
import { freePort } from "../../connector/lab/relay";
import { startEchoService, testPayload, type RunningServer } from "./helpers/targets";
import { sample } from "../../connector/lab/prometheus";
import { waitFor } from "../../connector/lab/wait";


describe("connector health and metrics endpoints", function () {
    this.timeout(30_000);
    let lab: TunnelLab;
    let agent: InProcessAgent;
    let echo: RunningServer;
    let healthPort: number;
    let listenPort: number;
    const get = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${healthPort}${path}`);
        return { status: res.status, text: await res.text(), type: res.headers.get("content-type") ?? "" };
    };

    before(async () => {
        echo = await startEchoService();
        listenPort = await freePort();
        healthPort = await freePort();
        lab = await TunnelLab.create({ label: "health", routes: [{ name: "echo", listen: `127.0.0.1:${listenPort}`, target: `127.0.0.1:${echo.port}` }] });
        // Start with the relay down, to see the not-ready state first.
        await lab.relays[0]!.kill();
        agent = await startAgent(lab.config({ health: { listen: `127.0.0.1:${healthPort}` } }));
    });

    after(async () => {
        await agent?.stop();
        await lab?.cleanup();
        await echo?.close();
    });

    it("is live but not ready while no relay is connected, and says why", async () => {
        assert.equal((await get("/healthz")).status, 200);
        type Status = { ready: boolean; routes: Record<string, string[]>; relays: { lastError?: { kind: string } }[] };
        const readyz = async () => {
            const res = await get("/readyz");
            return { status: res.status, body: JSON.parse(res.text) as Status };
        };
        // The agent's first attempt to reach the (stopped) relay must have failed before the next
        // test starts the relay, or no refused connect would ever be counted.
        await waitFor(async () => (await readyz()).body.relays[0]?.lastError?.kind === "tcp", { timeoutMs: 5000, what: "the refused connect reported" });
        const { status: code, body: status } = await readyz();
        assert.equal(code, 503);
        assert.equal(status.ready, false);
        assert.deepEqual(status.routes, { echo: [] });
        const metrics = (await get("/metrics")).text;
        assert.equal(sample(metrics, "firefly_connector_relay_connected", { relay: "relay0" }), 0);
        assert.equal(sample(metrics, "firefly_connector_ready"), 0);
    });

    it("turns ready when the route is forwarded, and says so in /readyz and /metrics", async () => {
        await lab.relays[0]!.start();
        await waitFor(async () => (await get("/readyz")).status === 200, { timeoutMs: 10_000, what: "/readyz 200" });
        assert.deepEqual((JSON.parse((await get("/readyz")).text) as { routes: unknown }).routes, { echo: ["relay0"] });
        const metrics = await get("/metrics");
        assert.match(metrics.type, /^text\/plain/);
        assert.equal(sample(metrics.text, "firefly_connector_relay_connected", { relay: "relay0" }), 1);
        assert.equal(sample(metrics.text, "firefly_connector_route_forwarded", { relay: "relay0", route: "echo" }), 1);
        assert.equal(sample(metrics.text, "firefly_connector_ready"), 1);
        assert.ok((sample(metrics.text, "firefly_connector_relay_reconnects_total", { relay: "relay0", reason: "tcp" }) ?? 0) >= 1, "the refused connects were counted");
    });

    it("counts streams and the exact payload bytes each way", async () => {
        const payload = testPayload(100_000);
        const socket = connect({ host: "127.0.0.1", port: listenPort });
        let received = 0;
        socket.on("data", (chunk: Buffer) => (received += chunk.length));
        await waitFor(() => socket.readyState === "open", { timeoutMs: 5000, what: "client connected" });
        socket.write(payload);
        await waitFor(() => received === payload.length, { timeoutMs: 5000, what: "echo received" });
        const during = (await get("/metrics")).text;
        assert.equal(sample(during, "firefly_connector_streams_active", { route: "echo" }), 1);
        socket.end();
        await waitFor(async () => sample((await get("/metrics")).text, "firefly_connector_streams_active", { route: "echo" }) === 0, {
            timeoutMs: 5000,
            what: "stream closed in metrics",
        });
        const after = (await get("/metrics")).text;
        assert.equal(sample(after, "firefly_connector_streams_total", { route: "echo" }), 1);
        assert.equal(sample(after, "firefly_connector_bytes_total", { route: "echo", direction: "to_target" }), payload.length);
        assert.equal(sample(after, "firefly_connector_bytes_total", { route: "echo", direction: "from_target" }), payload.length);
        assert.ok((sample(after, "firefly_connector_process_resident_memory_bytes") ?? 0) > 0, "process metrics exported");
    });

    it("reports the relay loss: not ready, disconnected, a reconnect counted", async () => {
        await lab.relays[0]!.kill();
        await waitFor(async () => (await get("/readyz")).status === 503, { timeoutMs: 5000, what: "/readyz 503" });
        const metrics = (await get("/metrics")).text;
        assert.equal(sample(metrics, "firefly_connector_relay_connected", { relay: "relay0" }), 0);
        assert.equal(sample(metrics, "firefly_connector_route_forwarded", { relay: "relay0", route: "echo" }), 0);
        const status = JSON.parse((await get("/readyz")).text) as { relays: { lastError?: { kind: string } }[] };
        assert.ok(status.relays[0]?.lastError, "the last error is reported");
    });

    it("exports firefly_connector_build_info with the version, and logs the version at startup", async () => {
        const version = (JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as { version: string }).version;
        const metrics = (await get("/metrics")).text;
        assert.equal(sample(metrics, "firefly_connector_build_info", { version, node: process.versions.node, ssh2: SUPPORTED_SSH2_VERSION }), 1);
        assert.equal(agent.logs.find((r) => r.msg === "connector starting")?.version, version);
    });

    it("answers 404 for unknown paths", async () => {
        assert.equal((await get("/nope")).status, 404);
    });
});
