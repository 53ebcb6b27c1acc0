// Liveness and high availability: relay crash and restart, one of two relays lost, and a relay
// that refuses a forward (reported, retried with backoff, never in a tight loop).
import { strict as assert } from "node:assert";
import { backoffDelay } from "../../connector/supervisor";
import { startAgent, type InProcessAgent } from "../../connector/lab/agent";
import { TunnelLab } from "../../connector/lab/lab";
import { signalProcessTree } from "../../connector/lab/processes";
import { freePort } from "../../connector/lab/relay";
import { connect } from "node:net";
import { httpsHead, httpsHeadInNamespace, makeTlsMaterial, startBulkSender, startHttpsService, testPayload, type RunningServer, type TlsMaterial } from "./helpers/targets";
import { waitFor, within } from "../../connector/lab/wait";

describe("reconnect backoff", () => {
    it("doubles from initialDelayMs up to maxDelayMs", () => {
        const ceilings = [0, 1, 2, 3, 4, 5, 40].map((attempt) => backoffDelay(attempt, 500, 5000, () => 1));
        assert.deepEqual(ceilings, [500, 1000, 2000, 4000, 5000, 5000, 5000]);
    });

    it("jitters each delay between half and all of its ceiling, so agents do not reconnect in lockstep", () => {
        assert.equal(backoffDelay(3, 500, 30_000, () => 0), 2000);
        assert.equal(backoffDelay(3, 500, 30_000, () => 0.5), 3000);
        assert.equal(backoffDelay(3, 500, 30_000, () => 1), 4000);
        const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(5, 500, 30_000)));
        assert.ok(spread.size > 10, "Math.random jitter spreads the delays");
        for (const delay of spread) assert.ok(delay >= 8000 && delay <= 16_000);
    });
});

describe("connector resilience (real sshd relays)", function () {
    this.timeout(40_000);
    let tls: TlsMaterial;
    let service: RunningServer;
    let lab: TunnelLab | undefined;
    let agent: InProcessAgent | undefined;

    before(async () => {
        tls = await makeTlsMaterial();
        service = await startHttpsService(tls, "private-service");
    });
    after(async () => {
        await service?.close();
    });
    afterEach(async () => {
        await agent?.stop();
        await lab?.cleanup();
        agent = undefined;
        lab = undefined;
    });

    async function reconnects(a: InProcessAgent, relay: string): Promise<number> {
        const metric = await a.connector.metrics.reconnects.get();
        return metric.values.filter((v) => v.labels.relay === relay).reduce((sum, v) => sum + v.value, 0);
    }

    it("reconnects after the relay is SIGKILLed mid-transfer, counts it, leaks no stream, and traffic flows again", async () => {
        const listenPort = await freePort();
        const bulkPort = await freePort();
        // 8 MiB in 64 KiB pieces 10 ms apart: still running when the relay dies.
        const sender = await startBulkSender(testPayload(8 * 1024 * 1024), 64 * 1024, 10);
        try {
            lab = await TunnelLab.create({
                label: "restart",
                routes: [
                    { name: "app", listen: `127.0.0.1:${listenPort}`, target: `127.0.0.1:${service.port}` },
                    { name: "bulk", listen: `127.0.0.1:${bulkPort}`, target: `127.0.0.1:${sender.port}` },
                ],
            });
            agent = await startAgent(lab.config());
            await agent.waitUntilReady();
            assert.equal((await httpsHead(tls, { port: listenPort })).status, 200);
            const a = agent;

            const transfer = connect({ host: "127.0.0.1", port: bulkPort });
            let received = 0;
            transfer.on("data", (chunk: Buffer) => (received += chunk.length));
            transfer.on("error", () => undefined);
            const transferClosed = new Promise((resolve) => transfer.once("close", resolve));
            await waitFor(() => received > 0, { timeoutMs: 5000, what: "transfer under way" });
            assert.equal(a.connector.status().activeStreams, 1);

            const relay = lab.relays[0]!;
            await relay.kill();
            await waitFor(() => !a.connector.isReady(), { timeoutMs: 5000, what: "agent to notice the relay is gone" });
            await a.logs.waitFor((r) => r.relay === "relay0" && typeof r.retryInMs === "number", 5000, "a reconnect scheduled with a reason");
            await within(transferClosed, 5000, "the platform side of the cut transfer to close");
            await waitFor(() => a.connector.status().activeStreams === 0, { timeoutMs: 5000, what: "the cut stream released by the agent" });
            assert.ok(received < 8 * 1024 * 1024, "the relay died mid-transfer");

            await relay.start();
            await agent.waitUntilReady(10_000);
            assert.equal((await httpsHead(tls, { port: listenPort })).status, 200);
            assert.ok((await reconnects(agent, "relay0")) >= 1);
        } finally {
            await sender.close();
        }
    });

    it("detects a relay that stops answering by SSH keepalive, and reconnects once it answers again", async () => {
        const listenPort = await freePort();
        lab = await TunnelLab.create({
            label: "keepalive",
            routes: [{ name: "app", listen: `127.0.0.1:${listenPort}`, target: `127.0.0.1:${service.port}` }],
        });
        agent = await startAgent(lab.config({ keepalive: { intervalSeconds: 0.5, countMax: 2 }, connectTimeoutSeconds: 2 }));
        await agent.waitUntilReady();
        const relay = lab.relays[0]!;
        // SIGSTOP freezes sshd and its session processes: the TCP connection stays up but nothing
        // answers, like a relay behind a blackholing network.
        signalProcessTree(relay.pid!, "SIGSTOP");
        try {
            const detected = await agent.logs.waitFor((r) => r.reason === "keepalive", 5000, "keepalive timeout detected");
            assert.match(String(detected.msg), /did not answer 2 keepalives/);
        } finally {
            signalProcessTree(relay.pid!, "SIGCONT");
        }
        await agent.waitUntilReady(10_000);
        assert.equal((await httpsHead(tls, { port: listenPort })).status, 200);
    });

    it("detects a relay whose network link goes down within keepalive interval x count, and reconnects when it is back", async () => {
        const listenPort = await freePort();
        // Relay 1 of the lab runs in its own network namespace; take its link down and every
        // packet to it vanishes: no RST, no FIN, only silence.
        lab = await TunnelLab.create({
            label: "blackhole",
            relayCount: 2,
            routes: [{ name: "app", listen: `127.0.0.1:${listenPort}`, target: `127.0.0.1:${service.port}` }],
        });
        const config = lab.config({ keepalive: { intervalSeconds: 0.5, countMax: 2 }, connectTimeoutSeconds: 2 });
        agent = await startAgent({ ...config, relays: [config.relays[1]!] });
        await agent.waitUntilReady();
        const network = lab.namespaceOf(1)!;
        await network.setLinkUp(false);
        try {
            // interval x count = 1 s; the bound leaves room for a loaded machine.
            const detected = await agent.logs.waitFor((r) => r.reason === "keepalive", 1000 + 4000, "keepalive timeout detected");
            assert.match(String(detected.msg), /did not answer 2 keepalives/);
            assert.equal(agent.connector.isReady(), false);
        } finally {
            await network.setLinkUp(true);
        }
        await agent.waitUntilReady(15_000);
        assert.equal((await httpsHeadInNamespace(network, tls, listenPort)).status, 200);
    });

    it("forwards every route again within 2 s of a network cut healing: the relay frees the old session's ports at once", async () => {
        const listenPort = await freePort();
        lab = await TunnelLab.create({
            label: "recovery",
            relayCount: 2,
            routes: [{ name: "app", listen: `127.0.0.1:${listenPort}`, target: `127.0.0.1:${service.port}` }],
        });
        const config = lab.config({ keepalive: { intervalSeconds: 0.5, countMax: 2 }, connectTimeoutSeconds: 1, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } });
        agent = await startAgent({ ...config, relays: [config.relays[1]!] });
        const a = agent;
        await a.waitUntilReady();
        const network = lab.namespaceOf(1)!;
        // A 7 s cut: the agent notices (keepalive), gives the session up and keeps trying; the relay
        // still holds the old session and its listen port. The agent's kernel retransmits its FIN
        // at 0.2, 0.6, 1.4, 3.0, 6.2, 12.6 s: without the relay's own probes, the old session (and
        // the port) would last until 12.6 s, 5 s after the link is back.
        await network.setLinkUp(false);
        try {
            await a.logs.waitFor((r) => r.reason === "keepalive", 5000, "keepalive timeout detected");
            await new Promise((resolve) => setTimeout(resolve, 6000));
        } finally {
            await network.setLinkUp(true);
        }
        const healed = Date.now();
        await a.waitUntilReady(10_000);
        const recoveredMs = Date.now() - healed;
        const refused = a.logs.records.filter((r) => r.route === "app" && typeof r.retryInMs === "number" && Date.parse(String(r.time)) >= healed).length;
        console.log(`      recovery after the cut healed: route forwarded again in ${recoveredMs} ms, ${refused} forward(s) refused meanwhile`);
        assert.equal((await httpsHeadInNamespace(network, tls, listenPort)).status, 200);
        // 2 s is the goal; the margin is for this shared 2-core machine.
        assert.ok(recoveredMs < 3000, `route forwarded again only ${recoveredMs} ms after the link came back`);
    });

    it("keeps serving every route through the second relay when the first is killed", async () => {
        const listenPort = await freePort();
        // relay1 runs in its own network namespace: both relays listen on 127.0.0.1:listenPort.
        lab = await TunnelLab.create({
            label: "ha",
            relayCount: 2,
            routes: [{ name: "app", listen: `127.0.0.1:${listenPort}`, target: `127.0.0.1:${service.port}` }],
        });
        agent = await startAgent(lab.config());
        const a = agent;
        await waitFor(() => a.connector.status().routes.app?.length === 2, { timeoutMs: 10_000, what: "route forwarded on both relays" });
        const secondRelayNetwork = lab.namespaceOf(1)!;
        assert.equal((await httpsHead(tls, { port: listenPort })).servedBy, "private-service", "via relay0");
        assert.equal((await httpsHeadInNamespace(secondRelayNetwork, tls, listenPort)).servedBy, "private-service", "via relay1");
        const relay1Reconnects = await reconnects(a, "relay1");

        await lab.relays[0]!.kill();
        await waitFor(() => a.connector.status().relays[0]?.state !== "connected", { timeoutMs: 5000, what: "relay0 to drop" });
        assert.equal(a.connector.isReady(), true, "still ready through relay1");
        assert.deepEqual(a.connector.status().routes.app, ["relay1"]);
        assert.equal((await httpsHeadInNamespace(secondRelayNetwork, tls, listenPort)).status, 200, "route still served by relay1");
        assert.equal(a.connector.status().relays[1]?.state, "connected");
        assert.equal(await reconnects(a, "relay1"), relay1Reconnects, "relay1's connection was not touched");
    });

    it("reports a forward the relay refuses and retries it soon but never in a tight loop (100 ms doubling to 500 ms)", async () => {
        const granted = await freePort();
        const notPermitted = await freePort();
        lab = await TunnelLab.create({
            label: "refused",
            routes: [{ name: "app", listen: `127.0.0.1:${granted}`, target: `127.0.0.1:${service.port}` }],
        });
        // The agent asks for one more route than the relay's principals file grants.
        const config = lab.config({
            routes: [
                { name: "app", listen: `127.0.0.1:${granted}`, target: `127.0.0.1:${service.port}` },
                { name: "sneaky", listen: `127.0.0.1:${notPermitted}`, target: `127.0.0.1:${service.port}` },
            ],
        });
        agent = await startAgent(config, { random: () => 1 });
        const a = agent;
        const refusal = await a.logs.waitFor((r) => r.route === "sneaky" && r.level === "error", 5000, "refusal reported");
        assert.match(String(refusal.msg), /relay refused to listen on 127\.0\.0\.1:\d+ for route sneaky: .*permitlisten/);
        // The permitted route works regardless; readiness reflects the missing one.
        await waitFor(() => a.connector.status().routes.app?.length === 1, { timeoutMs: 5000, what: "app forwarded" });
        assert.equal((await httpsHead(tls, { port: granted })).status, 200);
        assert.equal(a.connector.isReady(), false);

        // Jitter pinned to its maximum: the schedule is exactly 100, 200, 400, 500, 500 ms. Timers never
        // fire early, so each retry must come at least its scheduled delay after the previous one.
        const refusals = () => a.logs.records.filter((r) => r.route === "sneaky" && typeof r.retryInMs === "number");
        await waitFor(() => refusals().length >= 5, { timeoutMs: 10_000, what: "five refusals" });
        const seen = refusals().slice(0, 5);
        assert.deepEqual(seen.map((r) => r.retryInMs), [100, 200, 400, 500, 500]);
        // The first three are errors; then only every 60th, so a route refused for good does not flood the log.
        assert.deepEqual(seen.map((r) => r.level), ["error", "error", "error", "debug", "debug"]);
        for (let i = 1; i < seen.length; i++) {
            const gap = Date.parse(String(seen[i]!.time)) - Date.parse(String(seen[i - 1]!.time));
            assert.ok(gap >= Number(seen[i - 1]!.retryInMs) - 2, `retry ${i} came ${gap} ms after the previous refusal, scheduled ${String(seen[i - 1]!.retryInMs)}`);
        }
        const metric = await a.connector.metrics.forwardRefusals.get();
        assert.equal(metric.values.find((v) => v.labels.route === "sneaky")?.value, refusals().length, "every refusal counted");
        assert.equal(await reconnects(a, "relay0"), 0, "a refused forward must not tear the connection down");
    });
});
