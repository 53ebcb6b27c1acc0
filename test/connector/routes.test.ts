// Direct, hairpin and dynamic routes carry real bytes both ways through a real sshd relay.
import { strict as assert } from "node:assert";
import { connect, type Socket } from "node:net";
import { SocksClient } from "socks";
import { startAgent, type InProcessAgent } from "../../connector/lab/agent";
import { TunnelLab } from "../../connector/lab/lab";
import { freePort } from "../../connector/lab/relay";
import { httpsHead, makeTlsMaterial, sha256, startEchoService, startHttpsService, testPayload, type RunningServer, type TlsMaterial } from "./helpers/targets";

describe("connector routes (real sshd relay)", function () {
    this.timeout(30_000);
    let lab: TunnelLab;
    let agent: InProcessAgent;
    let tls: TlsMaterial;
    const services: RunningServer[] = [];
    let privateHttps: RunningServer;
    let platformProxy: RunningServer;
    let echo: RunningServer;
    const ports: Record<string, number> = {};

    before(async () => {
        for (const name of ["direct", "hairpin", "echo", "dynamic"]) ports[name] = await freePort();
        echo = await startEchoService();
        services.push(echo);
        tls = await makeTlsMaterial();
        privateHttps = await startHttpsService(tls, "private-service");
        platformProxy = await startHttpsService(tls, "platform-proxy");
        services.push(privateHttps, platformProxy);
        lab = await TunnelLab.create({
            label: "routes",
            routes: [
                { name: "gitlab", listen: `127.0.0.1:${ports.direct}`, target: `127.0.0.1:${privateHttps.port}`, via: "direct" },
                { name: "proxy", listen: `127.0.0.1:${ports.hairpin}`, target: `127.0.0.1:${platformProxy.port}`, via: "tunnel" },
                { name: "echo", listen: `127.0.0.1:${ports.echo}`, target: `127.0.0.1:${echo.port}`, via: "direct" },
            ],
            dynamic: { listen: `127.0.0.1:${ports.dynamic}`, allow: [`localhost:${privateHttps.port}`, `127.0.0.0/8:${echo.port}`] },
        });
        agent = await startAgent(lab.config());
        await agent.waitUntilReady();
    });

    after(async () => {
        await agent?.stop();
        await lab?.cleanup();
        for (const service of services) await service.close();
    });

    it("carries an HTTPS HEAD request over a direct route to a private service", async () => {
        const result = await httpsHead(tls, { port: ports.direct as number });
        assert.equal(result.status, 200);
        assert.equal(result.servedBy, "private-service");
    });

    it("carries an HTTPS HEAD request over the hairpin (direct-tcpip back through the relay)", async () => {
        const result = await httpsHead(tls, { port: ports.hairpin as number });
        assert.equal(result.status, 200);
        assert.equal(result.servedBy, "platform-proxy");
    });

    it("carries 4 MiB both ways intact, with half-close passed through", async () => {
        const payload = testPayload(4 * 1024 * 1024);
        const socket = connect({ host: "127.0.0.1", port: ports.echo as number });
        const received: Buffer[] = [];
        socket.on("data", (chunk: Buffer) => received.push(chunk));
        const ended = new Promise<void>((resolve, reject) => {
            socket.once("end", resolve);
            socket.once("error", reject);
        });
        socket.end(payload); // FIN after the payload: the echo service sees EOF and ends its side
        await ended;
        const echoed = Buffer.concat(received);
        assert.equal(echoed.length, payload.length);
        assert.equal(sha256(echoed), sha256(payload));
    });

    it("serves SOCKS5 CONNECT on the dynamic route: HTTPS HEAD to an allowlisted name", async () => {
        // socks5h semantics: the agent resolves "localhost"; the rule allows it by name.
        const socket = await socksConnect(ports.dynamic as number, "localhost", privateHttps.port);
        const result = await httpsHead(tls, { port: privateHttps.port, socket });
        assert.equal(result.status, 200);
        assert.equal(result.servedBy, "private-service");
    });

    it("serves SOCKS5 CONNECT to an address inside an allowed CIDR block, bytes both ways", async () => {
        const socket = await socksConnect(ports.dynamic as number, "127.0.0.1", echo.port);
        const payload = testPayload(256 * 1024);
        const received: Buffer[] = [];
        socket.on("data", (chunk: Buffer) => received.push(chunk));
        const ended = new Promise<void>((resolve) => socket.once("end", resolve));
        socket.end(payload);
        await ended;
        assert.equal(sha256(Buffer.concat(received)), sha256(payload));
    });

    it("refuses a SOCKS destination outside the allowlist with reply 0x02, logs it and counts it", async () => {
        const refusedBefore = await refusedCount();
        // Allowed by name only: the same service by address literal is not in the list.
        await assert.rejects(socksConnect(ports.dynamic as number, "127.0.0.1", privateHttps.port), /rejected connection - NotAllowed/);
        await assert.rejects(socksConnect(ports.dynamic as number, "127.0.0.1", platformProxy.port), /rejected connection - NotAllowed/);
        const logged = await agent.logs.waitFor(
            (r) => r.msg === "SOCKS destination refused: not in dynamic.allow" && r.destination === `127.0.0.1:${platformProxy.port}`,
            5000,
            "refusal logged with the destination",
        );
        assert.equal(logged.level, "warn");
        assert.equal((await refusedCount()) - refusedBefore, 2);
    });

    async function refusedCount(): Promise<number> {
        const metric = await agent.connector.metrics.refusedDestinations.get();
        return metric.values.filter((v) => v.labels.reason === "not_allowed").reduce((sum, v) => sum + v.value, 0);
    }
});

async function socksConnect(proxyPort: number, host: string, port: number): Promise<Socket> {
    const { socket } = await SocksClient.createConnection({
        proxy: { host: "127.0.0.1", port: proxyPort, type: 5 },
        command: "connect",
        destination: { host, port },
        timeout: 10_000,
    });
    return socket;
}
