// The lab's test ports: below the kernel's ephemeral range, so no outgoing connection (whose local
// port the kernel picks from that range) can take one between freePort() and the listen that uses
// it, which once left a relay's remote forward refused for a whole test.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
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
