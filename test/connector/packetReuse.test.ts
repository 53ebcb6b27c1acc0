// connector/ssh2/packetReuse.ts builds SSH packets in reused buffers. What must hold: every byte
// arrives intact in both directions on direct and hairpin routes, with several streams
// interleaved and across key re-exchanges (each installs a new ssh2 PacketWriter), and the
// reuse is really in effect (else an ssh2 change would silently bring back the old cost).
import { strict as assert } from "node:assert";
import { packetReuseStats } from "../../connector/ssh2/packetReuse";
import { startAgent, type InProcessAgent } from "../../connector/lab/agent";
import { TunnelLab } from "../../connector/lab/lab";
import { freePort } from "../../connector/lab/relay";
import { echoThrough, sha256, startEchoService, testPayload, type RunningServer } from "./helpers/targets";

describe("connector SSH packet buffer reuse (real sshd relay, rekeying every 1 MiB)", function () {
    this.timeout(60_000);
    let lab: TunnelLab;
    let agent: InProcessAgent;
    let echo: RunningServer;
    const ports: Record<string, number> = {};

    before(async () => {
        for (const name of ["direct", "hairpin"]) ports[name] = await freePort();
        echo = await startEchoService();
        lab = await TunnelLab.create({
            label: "packet-reuse",
            routes: [
                { name: "direct", listen: `127.0.0.1:${ports.direct}`, target: `127.0.0.1:${echo.port}`, via: "direct" },
                { name: "hairpin", listen: `127.0.0.1:${ports.hairpin}`, target: `127.0.0.1:${echo.port}`, via: "tunnel" },
            ],
            // sshd starts a key re-exchange after every MiB in either direction.
            sshdConfigPrefix: "RekeyLimit 1M\n",
        });
        agent = await startAgent(lab.config());
        await agent.waitUntilReady();
    });

    after(async () => {
        await agent?.stop();
        await lab?.cleanup();
        await echo?.close();
    });

    it("carries 4 streams x 8 MiB both ways intact on direct and hairpin routes, across rekeys", async () => {
        const before = { ...packetReuseStats };
        const payloads = [0, 1, 2, 3].map((i) => testPayload(8 * 1024 * 1024 + i * 4099));
        const results = await Promise.all(
            payloads.flatMap((payload) => [ports.direct as number, ports.hairpin as number].map(async (port) => ({ payload, echoed: await echoThrough(port, payload) }))),
        );
        for (const { payload, echoed } of results) {
            assert.equal(echoed.length, payload.length);
            assert.equal(sha256(echoed), sha256(payload));
        }
        // 8 streams x 8 MiB leave the agent (the hairpin twice): thousands of 32 KiB packets.
        const packets = packetReuseStats.packets - before.packets;
        const allocated = packetReuseStats.buffersAllocated - before.buffersAllocated;
        assert.ok(packets > 2000, `packets built in reused buffers: ${packets}`);
        assert.ok(allocated < packets / 4, `${allocated} buffers allocated for ${packets} packets`);
    });
});
