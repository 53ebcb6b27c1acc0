// `firefly-connector check` tells the truth about what `run` will meet: hairpin targets are
// opened through the relay, the health port is bound, and a private key others can read is
// refused with the chmod that fixes it. Real sshd, loopback only.
import { strict as assert } from "node:assert";
import { chmodSync, chownSync, copyFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { runCheck } from "../../connector/check";
import { LogCapture } from "../../connector/lab/agent";
import { TunnelLab } from "../../connector/lab/lab";
import { freePort } from "../../connector/lab/relay";
import { createLogger } from "../../connector/log";
import type { ConnectorConfig, ConnectorConfigInput } from "../../connector/spec";
import { startEchoService, type RunningServer } from "./helpers/targets";

describe("firefly-connector check", function () {
    this.timeout(30_000);
    let lab: TunnelLab;
    let proxy: RunningServer;
    let listenPort: number;
    let proxyPort: number;

    before(async () => {
        proxy = await startEchoService();
        proxyPort = proxy.port;
        listenPort = await freePort();
        lab = await TunnelLab.create({
            label: "check",
            routes: [{ name: "proxy", listen: `127.0.0.1:${listenPort}`, target: `127.0.0.1:${proxyPort}`, via: "tunnel" }],
        });
    });

    after(async () => {
        await lab?.cleanup();
        await proxy?.close();
    });

    const check = (config: ConnectorConfig) => runCheck(config, createLogger({ level: "error", destination: new LogCapture() }));
    const hairpinTo = (target: string): Partial<ConnectorConfigInput> => ({
        routes: [{ name: "proxy", listen: `127.0.0.1:${listenPort}`, target, via: "tunnel" }],
    });

    it("opens and closes a direct-tcpip channel to each hairpin target, and binds the health port", async () => {
        const healthPort = await freePort();
        const result = await check(lab.config({ health: { listen: `127.0.0.1:${healthPort}` } }));
        const report = result.lines.join("\n");
        assert.ok(result.ok, report);
        assert.match(report, new RegExp(`route proxy hairpin to 127\\.0\\.0\\.1:${proxyPort}: direct-tcpip channel opened and closed`));
        assert.match(report, new RegExp(`health 127\\.0\\.0\\.1:${healthPort}: can be bound`));
    });

    it("fails when the relay refuses the hairpin target (outside permitopen)", async () => {
        const other = await freePort();
        const result = await check(lab.config(hairpinTo(`127.0.0.1:${other}`)));
        assert.equal(result.ok, false);
        assert.match(result.lines.join("\n"), new RegExp(`route proxy hairpin to 127\\.0\\.0\\.1:${other}: REFUSED .*permitopen`));
    });

    it("fails when nothing listens at a permitted hairpin target", async () => {
        await proxy.close();
        try {
            const result = await check(lab.config());
            assert.equal(result.ok, false);
            assert.match(result.lines.join("\n"), /route proxy hairpin to .*: REFUSED \(relay refused direct-tcpip/);
        } finally {
            proxy = await startEchoService(proxyPort);
        }
    });

    it("fails when the health port is taken, naming it", async () => {
        const holder: Server = createServer();
        const healthPort = await freePort();
        await new Promise<void>((resolve) => holder.listen(healthPort, "127.0.0.1", resolve));
        try {
            const result = await check(lab.config({ health: { listen: `127.0.0.1:${healthPort}` } }));
            assert.equal(result.ok, false);
            assert.match(result.lines.join("\n"), new RegExp(`health 127\\.0\\.0\\.1:${healthPort}: CANNOT BIND \\(EADDRINUSE\\)`));
        } finally {
            await new Promise((resolve) => holder.close(resolve));
        }
    });

    for (const [mode, fix] of [
        [0o644, "chmod o-rwx"],
        [0o640, "chmod 600"],
    ] as const) {
        it(`refuses a private key file with mode ${mode.toString(8)}, printing "${fix}"`, async () => {
            const key = join(lab.dir, `exposed-${mode.toString(8)}`);
            copyFileSync(lab.agentKey.privateKeyFile, key);
            chmodSync(key, mode);
            const config = lab.config({ identity: { privateKeyFile: key, certificateFile: lab.agentCertificate } });
            const result = await check(config);
            assert.equal(result.ok, false);
            assert.equal(result.lines[0], `identity: identity.privateKeyFile ${key} is ${mode & 0o007 ? "readable or writable by others" : "accessible by its group"} (mode 0${mode.toString(8)}): ${fix} ${key}`);
        });
    }

    it("run as root on the hosts' layout (a root-owned key readable by the service user's group), says to check as that user instead of a chmod that would lock it out", async function () {
        if (process.getuid?.() !== 0) this.skip();
        const key = join(lab.dir, "hosts-layout-key");
        copyFileSync(lab.agentKey.privateKeyFile, key);
        chownSync(key, 0, 65534); // nogroup on Debian: any group but root's
        chmodSync(key, 0o640);
        const result = await check(lab.config({ identity: { privateKeyFile: key, certificateFile: lab.agentCertificate } }));
        assert.equal(result.ok, false);
        assert.match(result.lines[0]!, new RegExp(`^identity: identity\\.privateKeyFile ${key} is root's and readable by group '(nogroup|65534)' \\(mode 0640\\), as the hosts share it with the service user`));
        assert.match(result.lines[0]!, /Run this as the user the agent runs as \(runuser -u <that user> -- firefly-connector check --config FILE\), or, for a key only root uses: chmod 600 /);
    });
});
