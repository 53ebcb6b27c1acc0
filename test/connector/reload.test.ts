// SIGHUP reloads the config file of a running agent (the real CLI, as systemd's ExecReload sends
// it) against real OpenSSH relays: routes are added and removed, relays are added, removed and
// reconnected with new settings (host keys, identity), the health endpoint moves, and transfers in
// flight carry on byte-exact throughout; a config the agent cannot apply is refused with the
// reason while the old one stays in force.
import { strict as assert } from "node:assert";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { join } from "node:path";
import type { ConnectorStatus } from "../../connector/agent";
import { RELOAD_EFFECTS, type ReloadEffect } from "../../connector/reloadPlan";
import { AgentProcess, writeConfigFile, type LogRecord } from "../../connector/lab/agent";
import { OUR_PRINCIPAL, TunnelLab } from "../../connector/lab/lab";
import { NetworkNamespace } from "../../connector/lab/netns";
import { descendantsOf, listeningSockets } from "../../connector/lab/processes";
import { Tinyproxy } from "../../connector/lab/tinyproxy";
import { freePort, generateKey, makeWorkDir, removeWorkDir, TestRelay } from "../../connector/lab/relay";
import { waitFor, within } from "../../connector/lab/wait";
import { relayCustomerForConnector, type ConnectorConfig, type ConnectorConfigInput } from "../../connector/spec";
import { connectionRefused, echoThrough, httpStatus, sha256, startBulkSender, startEchoService, startTransfer, testPayload, type RunningServer } from "./helpers/targets";

const REFUSED = "config reload refused: keeping the current config";

/**
 * A TCP relay path with `delayMs` each way (a relay across the internet rather than on this
 * host's loopback): listens on 127.0.0.1 and passes every chunk, and the end, on after the delay.
 */
async function startDelayProxy(target: { host: string; port: number }, delayMs: number): Promise<Server> {
    const server = createServer({ allowHalfOpen: true }, (client) => {
        const upstream = connect({ ...target, allowHalfOpen: true });
        const later = (f: () => void) => setTimeout(f, delayMs);
        for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
            from.on("data", (chunk: Buffer) => later(() => to.write(chunk)));
            from.once("end", () => later(() => to.end()));
            from.once("error", () => later(() => to.destroy()));
            from.once("close", () => later(() => to.destroy()));
        }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return server;
}

describe("firefly-connector run: SIGHUP reloads the config", function () {
    this.timeout(60_000);
    let lab: TunnelLab;
    let sender: Awaited<ReturnType<typeof startBulkSender>>;
    let echo: RunningServer;
    let agent: AgentProcess | undefined;
    let bulkPort: number;
    let extraPort: number;
    let socksPort: number;
    let healthPort: number;
    // 3 MiB in 16 KiB pieces, 20 ms apart: about 4 s, long enough to reload (and reconnect) meanwhile.
    const payload = testPayload(3 * 1024 * 1024);

    before(async () => {
        sender = await startBulkSender(payload, 16 * 1024, 20);
        echo = await startEchoService();
        bulkPort = await freePort();
        extraPort = await freePort();
        socksPort = await freePort();
        lab = await TunnelLab.create({
            label: "reload",
            routes: [
                { name: "bulk", listen: `127.0.0.1:${bulkPort}`, target: `127.0.0.1:${sender.port}` },
                { name: "extra", listen: `127.0.0.1:${extraPort}`, target: `127.0.0.1:${echo.port}` },
            ],
            // Granted on the relay; only the test that needs it configures it on the agent.
            dynamic: { listen: `127.0.0.1:${socksPort}`, allow: [`127.0.0.1:${echo.port}`] },
        });
    });

    beforeEach(async () => {
        healthPort = await freePort();
    });

    afterEach(async () => {
        await agent?.kill();
        agent = undefined;
    });

    after(async () => {
        await lab?.cleanup();
        await sender?.close();
        await echo?.close();
    });

    const count = (msg: string) => agent!.logs.records.filter((r: LogRecord) => r.msg === msg).length;
    const records = (msg: string) => agent!.logs.records.filter((r: LogRecord) => r.msg === msg);
    const status = async (port = healthPort) => (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as ConnectorStatus;
    const config = (overrides: Partial<ConnectorConfigInput> = {}) => lab.config({ health: { listen: `127.0.0.1:${healthPort}` }, dynamic: undefined, ...overrides });

    /** Writes `next` as the agent's config file, sends SIGHUP and returns the `config reloaded` record it produced. */
    async function reload(file: string, next: ConnectorConfig): Promise<LogRecord> {
        const accepted = count("config reloaded");
        const refused = count(REFUSED);
        writeConfigFile(lab.dir, next, file);
        agent!.signal("SIGHUP");
        await waitFor(() => count("config reloaded") > accepted || count(REFUSED) > refused, { timeoutMs: 10_000, what: `reload of ${file}` });
        assert.equal(count(REFUSED), refused, `reload of ${file} refused: ${String(records(REFUSED).at(-1)?.reason)}`);
        return records("config reloaded")[accepted]!;
    }

    /** Writes `text` as the config file, sends SIGHUP and returns the reason it was refused for. */
    async function refusedReload(file: string, text: string): Promise<string> {
        const accepted = count("config reloaded");
        const refused = count(REFUSED);
        writeFileSync(join(lab.dir, file), text);
        agent!.signal("SIGHUP");
        await waitFor(() => count("config reloaded") > accepted || count(REFUSED) > refused, { timeoutMs: 10_000, what: `refusal of ${file}` });
        assert.equal(count("config reloaded"), accepted, `${file} was accepted`);
        return String(records(REFUSED)[refused]!.reason);
    }

    async function startAgent(file: string, initial: ConnectorConfig): Promise<AgentProcess> {
        const path = writeConfigFile(lab.dir, initial, file);
        agent = AgentProcess.spawn(["run", "--config", path]);
        await agent.waitReady(healthPort);
        return agent;
    }

    async function stopAgent(): Promise<void> {
        agent!.signal("SIGTERM");
        assert.equal((await within(agent!.exited, 15_000, "agent exit")).code, 0, agent!.stderr);
    }

    /** The transfer arrived whole and the target saw one connection for it: the stream was never re-opened. */
    async function assertWhole(transfer: ReturnType<typeof startTransfer>, connectionsBefore: number): Promise<void> {
        await within(transfer.done, 20_000, "bulk transfer to complete");
        const data = Buffer.concat(transfer.received);
        assert.equal(data.length, payload.length);
        assert.equal(sha256(data), sha256(payload));
        assert.equal(sender.connections() - connectionsBefore, 1, "one connection to the target for the transfer");
    }

    it("adds and removes routes without touching another route's transfer; refuses a bad file or an invalid change, keeping the old config", async () => {
        const routes = lab.config().routes;
        const only = (...names: string[]) => config({ routes: routes.filter((r) => names.includes(r.name)) });
        await startAgent("routes.yaml", only("bulk"));
        assert.ok(await connectionRefused(extraPort), "extra is not forwarded yet");
        const connections = sender.connections();
        const transfer = startTransfer(bulkPort);
        await waitFor(() => transfer.received.length > 0, { timeoutMs: 10_000, what: "bulk transfer under way" });

        // Added.
        const added = await reload("routes.yaml", only("bulk", "extra"));
        assert.deepEqual(added.routes, { added: ["extra"], removed: [], retargeted: [] });
        assert.deepEqual(added.relays, { added: [], removed: [], reconnected: [] }, "a route change reconnects no relay");
        await waitFor(async () => !(await connectionRefused(extraPort)), { timeoutMs: 10_000, what: "relay to listen for the added route" });
        assert.equal((await echoThrough(extraPort, Buffer.from("ping"))).toString(), "ping");

        // Removed.
        await reload("routes.yaml", only("bulk"));
        await waitFor(() => connectionRefused(extraPort), { timeoutMs: 10_000, what: "relay to stop listening for the removed route" });

        // Not YAML at all; a file that does not validate (a health endpoint off loopback); an
        // identity whose certificate cannot be read; a private key others can read: all refused,
        // with the reason.
        assert.match(await refusedReload("routes.yaml", "routes: [unclosed\n"), /not valid YAML/);
        const offLoopback = { ...only("bulk"), health: { listen: `0.0.0.0:${healthPort}` } };
        assert.match(await refusedReload("routes.yaml", JSON.stringify(offLoopback)), /health\.listen: must be a loopback address/);
        const missingCertificate = { ...only("bulk"), identity: { privateKeyFile: lab.agentKey.privateKeyFile, certificateFile: join(lab.dir, "no-such-cert.pub") } };
        assert.match(await refusedReload("routes.yaml", JSON.stringify(missingCertificate)), /identity\.certificateFile: cannot read .*no-such-cert\.pub: ENOENT; the relays keep their sessions/);
        const exposedKey = join(lab.dir, "exposed_key");
        copyFileSync(lab.agentKey.privateKeyFile, exposedKey);
        chmodSync(exposedKey, 0o644);
        const exposed = { ...only("bulk"), identity: { privateKeyFile: exposedKey, certificateFile: lab.agentCertificate } };
        assert.match(await refusedReload("routes.yaml", JSON.stringify(exposed)), /identity\.privateKeyFile .*exposed_key is readable or writable by others \(mode 0644\)/);
        assert.equal(count("connected to relay"), 1, "a refused reload touches no session");
        assert.equal(await httpStatus(healthPort, "/readyz"), 200, "still ready on the old config");
        assert.ok(await connectionRefused(extraPort), "the refused files' routes were not applied");

        assert.equal(agent!.child.exitCode, null, "SIGHUP never stops the agent");
        await assertWhole(transfer, connections);
        await stopAgent();
    });

    it("reconnects a relay whose host-key pins changed: the transfer in flight on the old session finishes byte-exact, new connections use the new session", async () => {
        const keyDir = makeWorkDir("reload-rotated");
        const rotated = await generateKey(keyDir, "rotated_host_key");
        await startAgent("pins.yaml", config());
        const connections = sender.connections();
        const transfer = startTransfer(bulkPort);
        await waitFor(() => transfer.received.length > 0, { timeoutMs: 10_000, what: "bulk transfer under way" });

        // Pin the relay's next host key beside its current one, as a key rotation starts.
        const relay0 = config().relays[0]!;
        const reloaded = await reload("pins.yaml", config({ relays: [{ ...relay0, hostKeys: [...relay0.hostKeys, rotated.publicKey] }] }));
        assert.deepEqual(reloaded.relays, { added: [], removed: [], reconnected: [{ relay: "relay0", because: ["relays[0].hostKeys"] }] });
        assert.deepEqual(reloaded.changed, ["relays"]);

        // The new session is authenticated and holds both ports while the old one still carries the transfer.
        await waitFor(() => count("connected to relay") === 2, { timeoutMs: 10_000, what: "the new session" });
        await waitFor(async () => (await status()).relays[0]?.forwardedRoutes.length === 2, { timeoutMs: 10_000, what: "both routes forwarded on the new session" });
        const during = await status();
        assert.equal(during.ready, true);
        assert.deepEqual(during.routes, { bulk: ["relay0"], extra: ["relay0"] });
        assert.equal(during.retiring.length, 1, "the old session is still open");
        assert.deepEqual(during.retiring[0]?.forwardedRoutes, [], "the old session gave its ports up");
        assert.equal(during.retiring[0]?.activeStreams, 1, "the old session carries the transfer");
        assert.ok(Buffer.concat(transfer.received).length < payload.length, "the transfer was still in flight when the new session took the ports");
        // sshd freed the port at the cancel and bound it again for the new session although a
        // connection the old listener accepted is still open on it: no refusal, no retry.
        assert.equal(agent!.logs.records.filter((r) => String(r.msg).startsWith("relay refused to listen")).length, 0, agent!.stdout);
        assert.equal((await echoThrough(extraPort, Buffer.from("new session"))).toString(), "new session");

        await assertWhole(transfer, connections);
        await agent!.logs.waitFor((r) => r.msg === "replaced session of the relay disconnected: its streams had finished", 10_000, "old session closed after its stream");
        const after = await status();
        assert.equal(after.retiring.length, 0);
        // Only the new session is left: a second transfer on the same port goes through it.
        const before = sender.connections();
        await assertWhole(startTransfer(bulkPort), before);
        await stopAgent();
        removeWorkDir(keyDir);
    });

    it("cuts the streams a replaced session still carries when the grace period ends, and closes it", async () => {
        const keyDir = makeWorkDir("reload-grace");
        const rotated = await generateKey(keyDir, "rotated_host_key");
        try {
            await startAgent("grace.yaml", config({ shutdown: { gracePeriodSeconds: 1 } }));
            const transfer = startTransfer(bulkPort);
            await waitFor(() => transfer.received.length > 0, { timeoutMs: 10_000, what: "bulk transfer under way" });
            const relay0 = config().relays[0]!;
            await reload("grace.yaml", config({ shutdown: { gracePeriodSeconds: 1 }, relays: [{ ...relay0, hostKeys: [...relay0.hostKeys, rotated.publicKey] }] }));
            const cut = await agent!.logs.waitFor((r) => r.msg === "replaced session of the relay disconnected: grace period over, its remaining streams were cut", 10_000, "the old session cut");
            assert.equal(cut.cut, 1);
            await within(transfer.done, 5_000, "the cut transfer to end");
            assert.ok(Buffer.concat(transfer.received).length < payload.length, "the 4 s transfer was cut after the 1 s grace period");
            assert.equal((await status()).retiring.length, 0);
            await waitFor(async () => (await status()).ready, { timeoutMs: 10_000, what: "ready on the new session" });
            assert.equal((await echoThrough(extraPort, Buffer.from("after the cut"))).toString(), "after the cut");
            await stopAgent();
        } finally {
            removeWorkDir(keyDir);
        }
    });

    it("carries a connection the old session accepted before the handover even while it was still being set up (a SOCKS request not yet sent)", async () => {
        const keyDir = makeWorkDir("reload-socks");
        const rotated = await generateKey(keyDir, "rotated_host_key");
        try {
            const dynamic = lab.config().dynamic;
            await startAgent("socks.yaml", config({ dynamic }));
            // Connected to the SOCKS route, request not sent: the relay has opened the channel on the old session.
            const client = connect({ host: "127.0.0.1", port: socksPort });
            const received: Buffer[] = [];
            client.on("data", (chunk: Buffer) => received.push(chunk));
            await new Promise<void>((resolve, reject) => client.once("connect", resolve).once("error", reject));
            await waitFor(async () => (await status()).relays[0]?.activeStreams === 1, { timeoutMs: 5_000, what: "the SOCKS connection on the old session" });

            const relay0 = config().relays[0]!;
            await reload("socks.yaml", config({ dynamic, relays: [{ ...relay0, hostKeys: [...relay0.hostKeys, rotated.publicKey] }] }));
            await waitFor(async () => (await status()).relays[0]?.forwardedRoutes.length === 3, { timeoutMs: 10_000, what: "the new session to forward every route" });
            assert.equal((await status()).retiring[0]?.activeStreams, 1, "the old session waits for the connection it accepted");

            // Now the request: CONNECT to the echo service, through the old session.
            client.write(Buffer.from([0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, echo.port >> 8, echo.port & 0xff]));
            await waitFor(() => Buffer.concat(received).length >= 12, { timeoutMs: 5_000, what: "the SOCKS replies" });
            assert.equal(Buffer.concat(received)[3], 0x00, "SOCKS CONNECT succeeded");
            client.end("late but carried");
            await waitFor(() => Buffer.concat(received).subarray(12).toString() === "late but carried", { timeoutMs: 5_000, what: "the echo" });
            await agent!.logs.waitFor((r) => r.msg === "replaced session of the relay disconnected: its streams had finished", 10_000, "old session closed after the SOCKS stream");
            await stopAgent();
        } finally {
            removeWorkDir(keyDir);
        }
    });

    it("keeps the old session forwarding while the new settings cannot connect, and hands over once they can", async () => {
        const keyDir = makeWorkDir("reload-wrong");
        const wrong = await generateKey(keyDir, "wrong_host_key");
        await startAgent("wrong.yaml", config());
        const relay0 = config().relays[0]!;

        // Only an unrelated key pinned: the relay's real key is refused, the old session serves on.
        await reload("wrong.yaml", config({ relays: [{ ...relay0, hostKeys: [wrong.publicKey] }] }));
        await agent!.logs.waitFor((r) => r.reason === "host_key" && r.relay === "relay0", 10_000, "the new session refused for its host key");
        const meanwhile = await status();
        assert.equal(meanwhile.ready, true, "the old session still forwards every route");
        assert.equal(meanwhile.relays[0]?.lastError?.kind, "host_key");
        assert.deepEqual([...(meanwhile.retiring[0]?.forwardedRoutes ?? [])].sort(), ["bulk", "extra"]);
        assert.equal((await echoThrough(extraPort, Buffer.from("old session"))).toString(), "old session");

        // Fixed: the replacement of the replacement takes over from the session that kept serving.
        await reload("wrong.yaml", config());
        await waitFor(async () => (await status()).relays[0]?.forwardedRoutes.length === 2, { timeoutMs: 15_000, what: "the fixed session to forward both routes" });
        await waitFor(async () => (await status()).retiring.length === 0, { timeoutMs: 5_000, what: "the old session to be retired" });
        assert.equal((await status()).ready, true);
        assert.equal((await echoThrough(extraPort, Buffer.from("fixed"))).toString(), "fixed");
        assert.equal(count("connected to relay"), 2, "the first session, then the fixed one");
        await stopAgent();
        removeWorkDir(keyDir);
    });

    it("adds a relay and removes another: routes move to the new one, the removed one's transfer completes within the grace period", async () => {
        const routes = lab.config().routes;
        const relayDir = makeWorkDir("reload-relay-b");
        const relayB = await TestRelay.create({ dir: relayDir, ca: lab.ca, customers: [relayCustomerForConnector("a", OUR_PRINCIPAL, { routes })] });
        try {
            await relayB.start();
            const relayBConfig = { name: "relay-b", host: relayB.host, port: relayB.port, hostKeys: [relayB.hostKey.publicKey] };
            await startAgent("relays.yaml", config({ shutdown: { gracePeriodSeconds: 30 } }));
            const connections = sender.connections();
            const transfer = startTransfer(bulkPort);
            await waitFor(() => transfer.received.length > 0, { timeoutMs: 10_000, what: "bulk transfer under way" });

            const reloaded = await reload("relays.yaml", config({ shutdown: { gracePeriodSeconds: 30 }, relays: [relayBConfig] }));
            assert.deepEqual(reloaded.relays, { added: ["relay-b"], removed: ["relay0"], reconnected: [] });

            // Both routes are forwarded on relay-b (its sshd holds the ports) while relay0's session carries the transfer.
            await waitFor(async () => JSON.stringify((await status()).routes) === JSON.stringify({ bulk: ["relay-b"], extra: ["relay-b"] }), { timeoutMs: 10_000, what: "both routes on relay-b" });
            const during = await status();
            assert.equal(during.ready, true);
            assert.equal(during.retiring[0]?.relay, "relay0");
            assert.equal(during.retiring[0]?.activeStreams, 1);
            const relayBListens = [relayB.pid!, ...descendantsOf(relayB.pid!)].flatMap((pid) => listeningSockets(pid));
            assert.ok(relayBListens.includes(`127.0.0.1:${extraPort}`) && relayBListens.includes(`127.0.0.1:${bulkPort}`), relayBListens.join(" "));
            assert.equal((await echoThrough(extraPort, Buffer.from("via relay-b"))).toString(), "via relay-b");
            assert.ok(Buffer.concat(transfer.received).length < payload.length, "the transfer was still in flight on relay0");

            await assertWhole(transfer, connections);
            await agent!.logs.waitFor((r) => r.msg === "removed relay disconnected: its streams had finished" && r.relay === "relay0", 10_000, "relay0 closed after its stream");
            // The removed relay's series are gone; relay-b's are there.
            await waitFor(async () => !(await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text()).includes('relay="relay0"'), { timeoutMs: 5_000, what: "relay0's series to go" });
            const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
            assert.match(metrics, /firefly_connector_relay_connected\{relay="relay-b"\} 1/);
            assert.match(metrics, /firefly_connector_route_forwarded\{relay="relay-b",route="bulk"\} 1/);
            await stopAgent();
        } finally {
            await relayB.kill();
            removeWorkDir(relayDir);
        }
    });

    /**
     * Runs `body` with the agent connected to relay0 as "edge" (30 s keepalives), relay0's session
     * processes frozen (SIGSTOP: nothing it is sent is answered), and a second relay up on another
     * host (its own network namespace, so the frozen session's ports are not in the way).
     */
    async function withFrozenRelay(file: string, body: (relayB: TestRelay, keepalive: { intervalSeconds: number; countMax: number }) => Promise<void>): Promise<void> {
        const routes = lab.config().routes;
        const namespace = await NetworkNamespace.create();
        const relayDir = makeWorkDir("reload-frozen");
        const frozen: number[] = [];
        let relayB: TestRelay | undefined;
        try {
            relayB = await TestRelay.create({ dir: relayDir, ca: lab.ca, customers: [relayCustomerForConnector("a", OUR_PRINCIPAL, { routes })], namespace });
            await relayB.start();
            // Keepalives would take 30 s to give the frozen session up.
            const keepalive = { intervalSeconds: 10, countMax: 3 };
            await startAgent(file, config({ keepalive, relays: [{ ...config().relays[0]!, name: "edge" }] }));
            frozen.push(...descendantsOf(lab.relays[0]!.pid!));
            for (const pid of frozen) process.kill(pid, "SIGSTOP");
            await body(relayB, keepalive);
            // Shutdown closes the frozen session too: its polite disconnect is never answered.
            await stopAgent();
        } finally {
            for (const pid of frozen) {
                try {
                    process.kill(pid, "SIGCONT");
                } catch {
                    // gone
                }
            }
            await relayB?.kill();
            removeWorkDir(relayDir);
            await namespace.destroy();
        }
    }

    it("does not wait on a replaced session that cannot answer (its relay frozen): the new session asks for the ports after 5 s", async () => {
        await withFrozenRelay("frozen.yaml", async (relayB, keepalive) => {
            // The relay moves: same name, another host, its own pin.
            const moved = { name: "edge", host: relayB.host, port: relayB.port, hostKeys: [relayB.hostKey.publicKey] };
            const reloaded = await reload("frozen.yaml", config({ keepalive, relays: [moved] }));
            assert.deepEqual(reloaded.relays, { added: [], removed: [], reconnected: [{ relay: "edge", because: ["relays[0].host", "relays[0].port", "relays[0].hostKeys"] }] });
            const gaveUp = await agent!.logs.waitFor((r) => r.msg === "the replaced session did not cancel its forwards in time: requesting them anyway", 15_000, "the handover wait to end");
            assert.equal(gaveUp.waitedMs, 5_000);
            await waitFor(async () => (await status()).relays[0]?.forwardedRoutes.length === 2, { timeoutMs: 5_000, what: "both routes forwarded on the moved relay" });
            assert.equal((await status()).ready, true);
        });
    });

    it("hands the relays over one at a time, yet a relay whose replaced session cannot answer (frozen) holds the next one up for 10 s at most", async () => {
        await withFrozenRelay("frozen-stagger.yaml", async (relayB, keepalive) => {
            // The other relay 150 ms away: its new session authenticates well after edge's, so
            // edge's handover comes first and the other one waits behind it.
            const far = await startDelayProxy({ host: relayB.host, port: relayB.port }, 150);
            try {
                const relays = [{ ...config().relays[0]!, name: "edge" }, { name: "other", host: "127.0.0.1", port: (far.address() as AddressInfo).port, hostKeys: [relayB.hostKey.publicKey] }];
                await reload("frozen-stagger.yaml", config({ keepalive, relays }));
                await waitFor(async () => (await status()).relays[1]?.forwardedRoutes.length === 2, { timeoutMs: 10_000, what: "both routes on the other relay" });
                // A global change: both relays get a new session. Edge's can authenticate (only its
                // old session is frozen) but its old session never gives the ports up.
                const mark = agent!.logs.records.length;
                const sent = Date.now();
                const reloaded = await reload("frozen-stagger.yaml", config({ keepalive: { ...keepalive, countMax: 4 }, relays }));
                assert.deepEqual((reloaded.relays as { reconnected: { relay: string }[] }).reconnected.map((r) => r.relay), ["edge", "other"]);
                const done = await agent!.logs.waitFor((r) => r.msg === "relay handed over: its new session holds every route" && r.relay === "other", 20_000, "the other relay handed over");
                const since = agent!.logs.records.slice(mark);
                const begun = since.find((r) => r.msg === "handing the relay's ports over to its new session" && r.relay === "other")!;
                // Behind edge in the queue, it waited for edge's two bounded steps (5 s each), no more.
                assert.ok(Number(begun.waitedMs) <= 10_000 + 2_000, `the other relay waited ${String(begun.waitedMs)} ms for its turn`);
                assert.ok(Date.parse(String(done.time)) - sent < 15_000, "the other relay handed over within 15 s of the reload");
                const edgeBegun = since.findIndex((r) => r.relay === "edge" && r.msg === "handing the relay's ports over to its new session");
                assert.ok(edgeBegun >= 0 && edgeBegun < since.indexOf(begun), "edge handed over first");
                assert.ok(Number(begun.waitedMs) >= 5_000, `the other relay waited ${String(begun.waitedMs)} ms for edge's handover`);
                assert.ok(since.some((r) => r.relay === "edge" && String(r.msg).startsWith("the relay's new session does not hold every route")), "edge's step gave up");
                const now = await status();
                assert.equal(now.ready, true);
                assert.equal(now.relays[1]?.forwardedRoutes.length, 2, "the other relay's new session holds both routes");
            } finally {
                far.close();
            }
        });
    });

    it("removes a relay that cannot answer (frozen) without holding the reload up; the added relay serves at once", async () => {
        await withFrozenRelay("frozen-removed.yaml", async (relayB, keepalive) => {
            const other = { name: "other", host: relayB.host, port: relayB.port, hostKeys: [relayB.hostKey.publicKey] };
            // reload() gives the reload 10 s: waiting for the frozen relay's cancels would take 30.
            const reloaded = await reload("frozen-removed.yaml", config({ keepalive, relays: [other] }));
            assert.deepEqual(reloaded.relays, { added: ["other"], removed: ["edge"], reconnected: [] });
            await waitFor(async () => JSON.stringify((await status()).routes) === JSON.stringify({ bulk: ["other"], extra: ["other"] }), { timeoutMs: 10_000, what: "both routes on the added relay" });
            assert.equal((await status()).retiring[0]?.relay, "edge", "the frozen session is still being retired");
            // The next reload is not held up either.
            await reload("frozen-removed.yaml", config({ keepalive, relays: [other], shutdown: { gracePeriodSeconds: 1 } }));
        });
    });

    it("switches to a new identity (another key and certificate file): the relays reconnect and authenticate with it", async () => {
        const dir = join(lab.dir, "rotated-identity");
        mkdirSync(dir, { recursive: true });
        chmodSync(dir, 0o755);
        const key = await generateKey(dir, "agent2");
        const certificateFile = await lab.ca.issueUserCertificate(key, { principals: [OUR_PRINCIPAL], keyId: "agent-a-rotated" });
        await startAgent("identity.yaml", config());
        const connections = sender.connections();
        const transfer = startTransfer(bulkPort);
        await waitFor(() => transfer.received.length > 0, { timeoutMs: 10_000, what: "bulk transfer under way" });

        const reloaded = await reload("identity.yaml", config({ identity: { privateKeyFile: key.privateKeyFile, certificateFile } }));
        assert.deepEqual(reloaded.relays, { added: [], removed: [], reconnected: [{ relay: "relay0", because: ["identity"] }] });
        const connected = await agent!.logs.waitFor((r) => r.msg === "connected to relay" && JSON.stringify(r.identity).includes("agent-a-rotated"), 10_000, "a session with the new certificate");
        assert.ok(connected);
        // The relay's own word: sshd accepted the new certificate.
        await waitFor(() => /Accepted publickey for tunnel .*ID agent-a-rotated/.test(lab.relays[0]!.log()), { timeoutMs: 5_000, what: "sshd to log the new certificate" });
        await waitFor(async () => (await status()).relays[0]?.forwardedRoutes.length === 2, { timeoutMs: 10_000, what: "routes on the new session" });
        assert.equal((await echoThrough(extraPort, Buffer.from("new identity"))).toString(), "new identity");
        // The certificate's end is the new one's from the reload on, not from the next hourly look.
        const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
        assert.match(metrics, /firefly_connector_certificate_expiry_timestamp_seconds\{key_id="agent-a-rotated",serial="\d+"\}/);
        assert.doesNotMatch(metrics, /key_id="agent-a"[,}]/);
        await assertWhole(transfer, connections);
        await stopAgent();
    });

    it("sends the relays through a new egress proxy with credentials: they reconnect through it, and no log line holds the credentials", async () => {
        const password = "s3cret-pw-7f";
        const proxy = await Tinyproxy.start({ dir: lab.dir, connectPorts: [lab.relays[0]!.port], basicAuth: { user: "firefly", password } });
        try {
            await startAgent("proxy.yaml", config());
            const connections = sender.connections();
            const transfer = startTransfer(bulkPort);
            await waitFor(() => transfer.received.length > 0, { timeoutMs: 10_000, what: "bulk transfer under way" });

            const reloaded = await reload("proxy.yaml", config({ proxy: proxy.url(`firefly:${password}`) }));
            assert.deepEqual(reloaded.relays, { added: [], removed: [], reconnected: [{ relay: "relay0", because: ["proxy"] }] });
            await waitFor(() => count("connected to relay") === 2, { timeoutMs: 10_000, what: "the session through the proxy" });
            await waitFor(() => proxy.log().includes(`127.0.0.1:${lab.relays[0]!.port}`), { timeoutMs: 5_000, what: "tinyproxy to log the CONNECT to the relay" });
            await waitFor(async () => (await status()).relays[0]?.forwardedRoutes.length === 2, { timeoutMs: 10_000, what: "routes on the session through the proxy" });
            assert.equal((await echoThrough(extraPort, Buffer.from("via proxy"))).toString(), "via proxy");
            await assertWhole(transfer, connections);
            await stopAgent();
            assert.ok(!agent!.stdout.includes(password) && !agent!.stderr.includes(password), "the proxy password is in the agent's output");
        } finally {
            await proxy.stop();
        }
    });

    it("moves the health endpoint to a new port, and refuses a port it cannot bind, keeping the current one", async () => {
        await startAgent("health.yaml", config());
        const newPort = await freePort();
        const reloaded = await reload("health.yaml", config({ health: { listen: `127.0.0.1:${newPort}` } }));
        assert.deepEqual(reloaded.health, { from: `127.0.0.1:${healthPort}`, to: `127.0.0.1:${newPort}` });
        assert.equal(await httpStatus(newPort, "/readyz"), 200);
        await waitFor(() => connectionRefused(healthPort), { timeoutMs: 5_000, what: "the old health port to close" });

        const taken: Server = createServer();
        const takenPort = await freePort();
        await new Promise<void>((resolve) => taken.listen(takenPort, "127.0.0.1", resolve));
        try {
            const text = readFileSync(join(lab.dir, "health.yaml"), "utf8").replace(`127.0.0.1:${newPort}`, `127.0.0.1:${takenPort}`);
            assert.match(await refusedReload("health.yaml", text), new RegExp(`health\\.listen 127\\.0\\.0\\.1:${takenPort}: cannot listen \\(EADDRINUSE\\); the endpoint stays on 127\\.0\\.0\\.1:${newPort}`));
            assert.equal(await httpStatus(newPort, "/readyz"), 200, "the current endpoint still serves");
        } finally {
            await new Promise<void>((resolve) => taken.close(() => resolve()));
        }
        await stopAgent();
    });
});

describe("the README's reload paragraph", () => {
    it("says what a reload does with every config field, as agent's RELOAD_EFFECTS (reloadPlan.ts) does it", () => {
        const readme = readFileSync(join(__dirname, "..", "..", "connector", "README.md"), "utf8");
        const paragraph = readme.split("\n\n").find((p) => p.startsWith("**Reload.**"));
        assert.ok(paragraph, "connector/README.md has a **Reload.** paragraph");
        const phrases: Record<ReloadEffect, RegExp> = {
            applied: /applied as they are \(([^)]*)\)/,
            reconnects: /reconnect the relays they shape \(([^)]*)\)/,
            rebinds: /moves the health endpoint \(([^)]*)\)/,
        };
        for (const [effect, phrase] of Object.entries(phrases) as [ReloadEffect, RegExp][]) {
            const listed: string | undefined = phrase.exec(paragraph)?.[1];
            assert.ok(listed, `the paragraph lists the fields that are ${effect} in parentheses (${phrase})`);
            assert.deepEqual(
                [...listed.matchAll(/`([^`]+)`/g)].map((m) => m[1]).sort(),
                Object.entries(RELOAD_EFFECTS).filter(([, e]) => e === effect).map(([field]) => field).sort(),
                effect,
            );
        }
    });
});

describe("firefly-connector run: a reload that replaces every relay's session", function () {
    this.timeout(60_000);
    let lab: TunnelLab | undefined;
    let echo: RunningServer | undefined;
    let agent: AgentProcess | undefined;
    let forwarder: ChildProcess | undefined;
    const proxies: Server[] = [];

    afterEach(async () => {
        forwarder?.kill("SIGKILL");
        await agent?.kill();
        for (const proxy of proxies.splice(0)) proxy.close();
        await lab?.cleanup();
        await echo?.close();
        [forwarder, agent, lab, echo] = [undefined, undefined, undefined, undefined];
    });

    /** One attempt at `port` on `host`: "ok" when the echo came back through the tunnel, else why not. */
    function probe(host: string, port: number): Promise<string> {
        return new Promise((resolve) => {
            const socket = connect({ host, port });
            const received: Buffer[] = [];
            const timer = setTimeout(() => done("timeout"), 3_000);
            function done(result: string) {
                clearTimeout(timer);
                socket.destroy();
                resolve(result);
            }
            socket.on("data", (chunk: Buffer) => received.push(chunk));
            socket.once("end", () => done(Buffer.concat(received).toString() === "ping" ? "ok" : `got "${Buffer.concat(received).toString()}"`));
            socket.once("close", () => done("closed without the echo"));
            socket.once("error", (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
            socket.end("ping");
        });
    }

    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    /**
     * Two relays, each behind a TCP proxy `delayMs` away, one route (to an echo service) on both,
     * and the agent running on them with both relays forwarding it. relay1 listens inside its
     * namespace: a forwarder there lets this process reach it (a refused connection inside is a
     * reset connection outside).
     */
    async function startStaggered(label: string, file: string, delayMs: number) {
        echo = await startEchoService();
        const routePort = await freePort();
        const healthPort = await freePort();
        lab = await TunnelLab.create({ label, relayCount: 2, routes: [{ name: "app", listen: `127.0.0.1:${routePort}`, target: `127.0.0.1:${echo.port}` }] });
        const namespace = lab.namespaceOf(1)!;
        const forwarderPort = await freePort();
        const [command, args] = namespace.wrap(process.execPath, [
            "-e",
            `const net = require("node:net");
             net.createServer({ allowHalfOpen: true }, (client) => {
                 const inner = net.connect({ host: "127.0.0.1", port: ${routePort}, allowHalfOpen: true });
                 inner.once("error", () => client.resetAndDestroy());
                 client.once("error", () => inner.destroy());
                 client.pipe(inner).pipe(client);
             }).listen(${forwarderPort}, "${namespace.address}", () => console.log("listening"));`,
        ]);
        forwarder = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
        await new Promise<void>((resolve, reject) => {
            forwarder!.stdout!.once("data", () => resolve());
            forwarder!.once("exit", (code) => reject(new Error(`forwarder exited ${code}`)));
        });

        const direct = lab.config();
        const relays = await Promise.all(
            direct.relays.map(async (relay) => {
                const proxy = await startDelayProxy({ host: relay.host, port: relay.port }, delayMs);
                proxies.push(proxy);
                return { ...relay, host: "127.0.0.1", port: (proxy.address() as AddressInfo).port };
            }),
        );
        const initial = lab.config({ health: { listen: `127.0.0.1:${healthPort}` }, relays });
        const path = writeConfigFile(lab.dir, initial, file);
        agent = AgentProcess.spawn(["run", "--config", path]);
        const a = agent;
        await a.waitReady(healthPort);
        const status = async () => (await (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).json()) as ConnectorStatus;
        await waitFor(async () => (await status()).routes.app?.length === 2, { timeoutMs: 10_000, what: "the route forwarded on both relays" });
        assert.equal(await probe("127.0.0.1", routePort), "ok", "via relay0");
        assert.equal(await probe(namespace.address, forwarderPort), "ok", "via relay1");
        return { a, dir: lab.dir, initial, status, healthPort, relay0: () => probe("127.0.0.1", routePort), relay1: () => probe(namespace.address, forwarderPort) };
    }

    /**
     * Probes while reloads run: /readyz every 5 ms, and a platform connection every 10 ms that
     * tries both relays at once (as a platform with a relay to fail over to would). stop() ends
     * them and resolves once the last attempt is in.
     */
    function startProbing(healthPort: number, relay0: () => Promise<string>, relay1: () => Promise<string>) {
        let probing = true;
        const readiness: number[] = [];
        const platform: { at: number; relay0: string; relay1: string }[] = [];
        const readinessLoop = (async () => {
            while (probing) {
                readiness.push(await fetch(`http://127.0.0.1:${healthPort}/readyz`).then((r) => r.status, () => 0));
                await sleep(5);
            }
        })();
        const platformLoop = (async () => {
            // Each attempt takes a few round trips to the relay: they overlap, one begun every 10 ms.
            const attempts: Promise<void>[] = [];
            while (probing) {
                const at = Date.now();
                attempts.push(Promise.all([relay0(), relay1()]).then(([r0, r1]) => void platform.push({ at, relay0: r0, relay1: r1 })));
                await sleep(10);
            }
            await Promise.all(attempts);
        })();
        const stop = async () => {
            probing = false;
            await Promise.all([readinessLoop, platformLoop]);
        };
        /** Asserts /readyz was never other than 200 and no platform connection found both relays refusing. */
        const assertServedThroughout = () => {
            assert.ok(readiness.length > 20 && platform.length > 10, `probed enough (${readiness.length} /readyz, ${platform.length} connections)`);
            const notReady = readiness.filter((code) => code !== 200);
            const refused = platform.filter((p) => p.relay0 !== "ok" && p.relay1 !== "ok");
            assert.ok(
                notReady.length === 0 && refused.length === 0,
                `/readyz answered ${notReady.length} of ${readiness.length} times with ${[...new Set(notReady)].join(", ")}; ` +
                    `${refused.length} of ${platform.length} platform connections found no relay listening: ${JSON.stringify(refused.slice(0, 3))}`,
            );
        };
        return { stop, assertServedThroughout, readiness, platform };
    }

    it("hands the relays over one at a time: /readyz stays 200 and a platform connection always finds a relay listening", async () => {
        // Both relays 40 ms away (80 ms round trips): a port handover takes two round trips, long
        // enough to be seen from outside, and the two new sessions authenticate at about the same
        // time, as relays at similar distances do.
        const { a, dir, initial, status, healthPort, relay0, relay1 } = await startStaggered("stagger", "stagger.yaml", 40);
        const probes = startProbing(healthPort, relay0, relay1);
        try {
            await sleep(200);
            const mark = a.logs.records.length;
            // A global change: every relay gets a new session.
            writeConfigFile(dir, { ...initial, keepalive: { intervalSeconds: 2, countMax: 3 } }, "stagger.yaml");
            a.signal("SIGHUP");
            await a.logs.waitFor((r) => r.msg === "config reloaded", 10_000, "the reload");
            const reloaded = a.logs.records.slice(mark).find((r) => r.msg === "config reloaded")!;
            assert.deepEqual(reloaded.relays, { added: [], removed: [], reconnected: [{ relay: "relay0", because: ["keepalive"] }, { relay: "relay1", because: ["keepalive"] }] });
            // Both relays on their new sessions, the old ones gone.
            await waitFor(
                async () => {
                    const s = await status();
                    return s.retiring.length === 0 && s.routes.app?.length === 2 && s.relays.every((r) => r.state === "connected");
                },
                { timeoutMs: 20_000, what: "both relays on new sessions, the old ones closed" },
            );
            await sleep(200);
            await probes.stop();

            const since = a.logs.records.slice(mark);
            for (const relay of ["relay0", "relay1"]) {
                assert.equal(since.filter((r) => r.msg === "connected to relay" && r.relay === relay).length, 1, `one new session to ${relay}`);
                assert.equal(since.filter((r) => r.msg === "replaced session of the relay disconnected: its streams had finished" && r.relay === relay).length, 1, `${relay}'s old session closed`);
            }
            probes.assertServedThroughout();
            // The log says when each relay handed over: one after the other.
            const handovers = since
                .filter((r) => r.msg === "handing the relay's ports over to its new session" || r.msg === "relay handed over: its new session holds every route")
                .map((r) => `${String(r.relay)} ${r.msg === "relay handed over: its new session holds every route" ? "done" : "begins"}`);
            const [first, second] = handovers[0] === "relay0 begins" ? ["relay0", "relay1"] : ["relay1", "relay0"];
            assert.deepEqual(handovers, [`${first} begins`, `${first} done`, `${second} begins`, `${second} done`]);
        } finally {
            await probes.stop();
        }
        a.signal("SIGTERM");
        assert.equal((await within(a.exited, 15_000, "agent exit")).code, 0, a.stderr);
    });

    it("takes a second reload that arrives while the first one's handovers are still queued: one session per relay on the second config, none leaked, a relay always listening", async () => {
        // Relays 100 ms away: one relay's handover (a cancel, then a request: two 200 ms round
        // trips) takes 400 ms or more, while the other relay's new session, authenticated at about
        // the same time, waits its turn in the queue. The second reload lands in that window.
        const { a, dir, initial, status, healthPort, relay0, relay1 } = await startStaggered("requeue", "requeue.yaml", 100);
        const HANDING = "handing the relay's ports over to its new session";
        const probes = startProbing(healthPort, relay0, relay1);
        try {
            await sleep(200);
            const mark = a.logs.records.length;
            const since = () => a.logs.records.slice(mark);
            const reloads = () => since().filter((r) => r.msg === "config reloaded");
            writeConfigFile(dir, { ...initial, keepalive: { intervalSeconds: 2, countMax: 3 } }, "requeue.yaml");
            a.signal("SIGHUP");
            // Both new sessions authenticated and one relay's handover begun: the other's is queued.
            await waitFor(
                () => {
                    const records = since();
                    return ["relay0", "relay1"].every((relay) => records.some((r) => r.msg === "connected to relay" && r.relay === relay)) && records.some((r) => r.msg === HANDING);
                },
                { timeoutMs: 15_000, intervalMs: 1, what: "both relays' new sessions authenticated, one handing over" },
            );
            // The second reload: another keepalive, so every relay gets a session again.
            writeConfigFile(dir, { ...initial, keepalive: { intervalSeconds: 3, countMax: 4 } }, "requeue.yaml");
            a.signal("SIGHUP");
            await waitFor(() => reloads().length === 2, { timeoutMs: 10_000, what: "the second reload" });
            const [first, second] = reloads();
            const reconnected = { added: [], removed: [], reconnected: [{ relay: "relay0", because: ["keepalive"] }, { relay: "relay1", because: ["keepalive"] }] };
            assert.deepEqual(first!.relays, reconnected);
            assert.deepEqual(second!.relays, reconnected);

            // What the log says before the second reload applied: one relay's new session handing
            // over (or done), the other's authenticated and still waiting for its turn.
            const before = since().slice(0, since().indexOf(second!));
            const began = before.filter((r) => r.msg === HANDING).map((r) => String(r.relay));
            assert.equal(began.length, 1, `one handover begun before the second reload: ${JSON.stringify(began)}`);
            const queued = began[0] === "relay0" ? "relay1" : "relay0";
            assert.ok(before.some((r) => r.msg === "connected to relay" && r.relay === queued), `${queued}'s new session was authenticated and queued`);

            // Settles, within a bound: each relay on one session of the second config, every
            // session before it (the original and the first reload's) closed: no leaked session.
            let last: ConnectorStatus | undefined;
            await waitFor(
                async () => {
                    const s = (last = await status());
                    return s.retiring.length === 0 && s.routes.app?.length === 2 && s.relays.length === 2 && s.relays.every((r) => r.state === "connected" && r.forwardedRoutes.length === 1);
                },
                { timeoutMs: 20_000, what: "both relays on the second reload's sessions, the others closed" },
            ).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(last)}`));
            await sleep(200);
            await probes.stop();

            const records = since();
            const afterSecond = records.slice(records.indexOf(second!));
            // The relay whose handover had begun kept a session listening: the first reload's,
            // replaced in mid-handover, forwards until the second reload's takes over from it.
            const handing = began[0]!;
            const ofHanding = records.filter((r) => r.relay === handing);
            const turns = ofHanding.flatMap((r, i) => (r.msg === HANDING ? [i] : []));
            assert.ok(
                ofHanding.slice(turns[0], turns[1]).some((r) => r.msg === "route forwarded"),
                `${handing}'s first-reload session forwarded the route before its replacement's handover: ${JSON.stringify(ofHanding.map((r) => r.msg))}`,
            );

            for (const relay of ["relay0", "relay1"]) {
                const sessions = records.filter((r) => r.msg === "connected to relay" && r.relay === relay).length;
                assert.equal(afterSecond.filter((r) => r.msg === "connected to relay" && r.relay === relay).length, 1, `one session to ${relay} after the second reload`);
                assert.equal(sessions, 2, `${relay}: one session per reload`);
                // Every session replaced (the original, the first reload's) closed, and said so.
                assert.equal(
                    records.filter((r) => r.msg === "replaced session of the relay disconnected: its streams had finished" && r.relay === relay).length,
                    sessions,
                    `${relay}'s replaced sessions closed`,
                );
            }
            probes.assertServedThroughout();
            const errors = a.logs.records.filter((r) => r.level === "error" || r.level === "fatal" || r.level === "raw");
            assert.deepEqual(errors, [], "no error in the agent's log");
            assert.equal(a.stderr, "");
        } finally {
            await probes.stop();
        }
        a.signal("SIGTERM");
        assert.equal((await within(a.exited, 15_000, "agent exit")).code, 0, a.stderr);
    });
});
