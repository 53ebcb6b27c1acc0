// The test lab's own helpers, where a mistake would make other tests flaky or mute:
// - test ports: below the kernel's ephemeral range, so no outgoing connection (whose local port the
//   kernel picks from that range) can take one between freePort() and the listen that uses it,
//   which once left a relay's remote forward refused for a whole test;
// - waitReady(): an agent that never gets ready says why, at once when it exits.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { AgentProcess } from "../../connector/lab/agent";
import { TEST_PORT_RANGE, freePort } from "../../connector/lab/relay";

describe("lab: freePort", () => {
    it("hands out distinct ports below the ephemeral range, each of which a listener can take", async () => {
        const ephemeralLow = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
        assert.ok(TEST_PORT_RANGE[1] < ephemeralLow, `range ${TEST_PORT_RANGE.join("-")} ends below ${ephemeralLow}`);
        const ports: number[] = [];
        for (let i = 0; i < 50; i++) ports.push(await freePort());
        assert.equal(new Set(ports).size, ports.length, "no port handed out twice");
        for (const port of ports) assert.ok(port >= TEST_PORT_RANGE[0] && port <= TEST_PORT_RANGE[1], `${port} in ${TEST_PORT_RANGE.join("-")}`);
        const servers: Server[] = [];
        try {
            for (const port of ports) {
                const server = createServer();
                servers.push(server);
                await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
            }
        } finally {
            await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
        }
    });
});

describe("lab: AgentProcess.waitReady", () => {
    it("fails as soon as the agent exits, with its exit status and what it printed", async () => {
        const agent = AgentProcess.spawn(["run", "--config", "/nonexistent/agent.yaml"]);
        const started = Date.now();
        try {
            await assert.rejects(agent.waitReady(await freePort(), 30_000), (err: Error) => {
                assert.match(err.message, /^agent not ready: exited \(code 1, signal null\)/);
                assert.match(err.message, /cannot read \/nonexistent\/agent\.yaml: ENOENT/, "the agent's stderr is in the message");
                return true;
            });
            assert.ok(Date.now() - started < 20_000, "did not wait for the timeout");
        } finally {
            await agent.kill();
        }
    });
});
