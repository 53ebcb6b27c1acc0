// ssh2's native crypto binding: the agent says whether it has it (a hot path at half the CPU per
// byte), and without it (a host where it was never built) still carries every byte intact, in
// both directions, direct and hairpin, through the real relay.
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { nativeCryptoAvailable } from "../../connector/ssh2/internals";
import { AgentProcess, writeConfigFile } from "../../connector/lab/agent";
import { TunnelLab } from "../../connector/lab/lab";
import { sample } from "../../connector/lab/prometheus";
import { freePort } from "../../connector/lab/relay";
import { echoThrough, sha256, startEchoService, type RunningServer } from "./helpers/targets";
import { within } from "../../connector/lab/wait";

const WITHOUT_NATIVE_CRYPTO = join(__dirname, "helpers", "withoutNativeCrypto.js");

describe("native crypto binding", function () {
    this.timeout(60_000);
    let lab: TunnelLab;
    let echo: RunningServer;
    let direct: number;
    let hairpin: number;
    let agent: AgentProcess | undefined;
    before(async () => {
        echo = await startEchoService();
        direct = await freePort();
        hairpin = await freePort();
        lab = await TunnelLab.create({
            label: "native-crypto",
            routes: [
                { name: "direct", listen: `127.0.0.1:${direct}`, target: `127.0.0.1:${echo.port}` },
                { name: "hairpin", listen: `127.0.0.1:${hairpin}`, target: `127.0.0.1:${echo.port}`, via: "tunnel" },
            ],
        });
    });
    afterEach(async () => {
        await agent?.kill();
        agent = undefined;
    });
    after(async () => {
        await lab?.cleanup();
        await echo?.close();
    });

    /** Starts the agent CLI (optionally with preloads) and resolves with its /metrics reader once ready. */
    async function startReady(preload: string[]): Promise<{ agent: AgentProcess; healthPort: number; metrics: () => Promise<string> }> {
        const healthPort = await freePort();
        const configFile = writeConfigFile(lab.dir, lab.config({ health: { listen: `127.0.0.1:${healthPort}` } }), `agent-${healthPort}.yaml`);
        agent = AgentProcess.spawn(["run", "--config", configFile], { preload });
        const metrics = () => fetch(`http://127.0.0.1:${healthPort}/metrics`).then((r) => r.text(), () => "");
        await agent.waitReady(healthPort);
        return { agent, healthPort, metrics };
    }

    it("is loaded in this test run (the test setup builds it), so the other tests measure the fast path", () => {
        assert.equal(nativeCryptoAvailable, true);
    });

    it("without it: the agent warns, reports 0 in /metrics and /readyz, and carries data intact direct and hairpin", async () => {
        const { agent, healthPort, metrics } = await startReady([WITHOUT_NATIVE_CRYPTO]);

        assert.equal(sample(await metrics(), "firefly_connector_native_crypto"), 0);
        const status = (await (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).json()) as { nativeCrypto?: unknown };
        assert.equal(status.nativeCrypto, false);
        assert.ok(
            agent.logs.find((r) => r.level === "warn" && typeof r.msg === "string" && r.msg.includes("native crypto binding is not loaded") && r.msg.includes("npm rebuild ssh2")),
            `a warning naming the fix; logs:\n${agent.stdout}`,
        );

        // 4 MiB each way: many full 32 KiB packets through the fallback cipher and back.
        for (const port of [direct, hairpin]) {
            const payload = randomBytes(4 * 1024 * 1024);
            const back = await within(echoThrough(port, payload), 30_000, `echo through ${port === direct ? "direct" : "hairpin"}`);
            assert.equal(back.length, payload.length);
            assert.equal(sha256(back), sha256(payload));
        }
    });

    it("with it: the agent reports 1 and does not warn", async () => {
        const { agent, metrics } = await startReady([]);
        assert.equal(sample(await metrics(), "firefly_connector_native_crypto"), 1);
        assert.equal(agent.logs.find((r) => typeof r.msg === "string" && r.msg.includes("native crypto binding")), undefined);
    });
});
