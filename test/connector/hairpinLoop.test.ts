// The whole hairpin loop, with real clients: a platform client (git) uses the platform proxy
// (tinyproxy) through the relay; the agent carries it back through the tunnel (via: tunnel) to
// the proxy; the proxy reaches the customer's private git server through the tunnel again
// (tinyproxy `upstream socks5` to the relay's dynamic port, the agent's reverse SOCKS5); the clone
// arrives and its content's SHA-256 matches.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { startAgent, type InProcessAgent } from "../../connector/lab/agent";
import { startGitHttpServer, type GitHttpServer } from "../../connector/lab/gitHttp";
import { TunnelLab } from "../../connector/lab/lab";
import { freePort, makeWorkDir, removeWorkDir } from "../../connector/lab/relay";
import { Tinyproxy } from "../../connector/lab/tinyproxy";
import { testPayload } from "./helpers/targets";

const execFileAsync = promisify(execFile);

describe("the hairpin loop: git clone through the platform proxy and back through the tunnel", function () {
    this.timeout(60_000);
    let dir: string;
    let git: GitHttpServer;
    let platformProxy: Tinyproxy;
    let lab: TunnelLab;
    let agent: InProcessAgent;
    let proxyRoutePort: number;

    before(async () => {
        dir = makeWorkDir("hairpin-loop");
        git = await startGitHttpServer(dir, testPayload(2 * 1024 * 1024));
        proxyRoutePort = await freePort();
        const socksPort = await freePort();
        // The platform proxy sends everything back through the tunnel: the relay's dynamic port.
        platformProxy = await Tinyproxy.start({ dir, upstreamSocks5: `127.0.0.1:${socksPort}` });
        lab = await TunnelLab.create({
            label: "hairpin-loop",
            routes: [{ name: "platform-proxy", listen: `127.0.0.1:${proxyRoutePort}`, target: `127.0.0.1:${platformProxy.port}`, via: "tunnel" }],
            dynamic: { listen: `127.0.0.1:${socksPort}`, allow: [`127.0.0.1:${git.port}`] },
        });
        agent = await startAgent(lab.config());
        await agent.waitUntilReady();
    });

    after(async () => {
        await agent?.stop();
        await lab?.cleanup();
        await platformProxy?.stop();
        await git?.close();
        if (dir) removeWorkDir(dir);
    });

    it("clones the customer's private repository over HTTP, content intact", async () => {
        const clone = join(dir, "clone");
        await execFileAsync("git", ["-c", `http.proxy=http://127.0.0.1:${proxyRoutePort}`, "clone", "-q", git.url, clone], { timeout: 45_000 });
        const head = (await execFileAsync("git", ["-C", clone, "rev-parse", "HEAD"])).stdout.trim();
        assert.equal(head, git.head);
        assert.equal(createHash("sha256").update(readFileSync(join(clone, git.file.name))).digest("hex"), git.file.sha256);
        // Both legs went through the agent: the hairpin to the proxy, and the SOCKS route to git.
        const metrics = await agent.connector.metrics.text();
        assert.match(metrics, /firefly_connector_streams_total\{route="platform-proxy"\} [1-9]/);
        assert.match(metrics, /firefly_connector_streams_total\{route="dynamic"\} [1-9]/);
        assert.match(platformProxy.log(), new RegExp(`GET http://127\\.0\\.0\\.1:${git.port}/`));
    });
});
