// The agent and the relay generator agree on AES-256-GCM, curve25519 and modern host key
// signatures, and nothing weaker is negotiated: checked in sshd's own DEBUG1 log.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { runCheck } from "../../connector/check";
import { createLogger } from "../../connector/log";
import { LogCapture } from "../../connector/lab/agent";
import { OUR_PRINCIPAL } from "../../connector/lab/lab";
import { CertificateAuthority, TEST_LOGIN_USER, TestRelay, freePort, generateKey, makeWorkDir, removeWorkDir, type KeyPair } from "../../connector/lab/relay";
import { waitFor } from "../../connector/lab/wait";
import { parseConnectorConfig, type ConnectorConfigInput } from "../../connector/spec";

const execFileAsync = promisify(execFile);

describe("SSH algorithms: AES-256-GCM by default on both sides", function () {
    this.timeout(30_000);
    let dir: string;
    let relay: TestRelay;
    let key: KeyPair;
    let cert: string;
    let listenPort: number;

    before(async () => {
        dir = makeWorkDir("algorithms");
        const ca = await CertificateAuthority.create(dir);
        listenPort = await freePort();
        relay = await TestRelay.create({
            dir,
            ca,
            customers: [{ name: "a", principal: OUR_PRINCIPAL, listen: [`127.0.0.1:${listenPort}`] }],
            // sshd keeps the first value it reads: DEBUG1 logs the negotiated algorithms.
            sshdConfigPrefix: "LogLevel DEBUG1\n",
        });
        await relay.start();
        key = await generateKey(dir, "agent");
        cert = await ca.issueUserCertificate(key, { principals: [OUR_PRINCIPAL] });
    });

    after(async () => {
        await relay?.kill();
        if (dir) removeWorkDir(dir);
    });

    const config = (extra: Partial<ConnectorConfigInput> = {}) =>
        parseConnectorConfig({
            user: TEST_LOGIN_USER,
            identity: { privateKeyFile: key.privateKeyFile, certificateFile: cert },
            relays: [{ host: "127.0.0.1", port: relay.port, hostKeys: [relay.hostKey.publicKey] }],
            routes: [{ name: "app", listen: `127.0.0.1:${listenPort}`, target: "127.0.0.1:9" }],
            connectTimeoutSeconds: 5,
            ...extra,
        });

    it("negotiates aes256-gcm@openssh.com and curve25519, as sshd logs and check prints", async () => {
        const result = await runCheck(config(), createLogger({ level: "error", destination: new LogCapture() }));
        assert.ok(result.ok, result.lines.join("\n"));
        assert.match(
            result.lines.join("\n"),
            /algorithms: cipher aes256-gcm@openssh\.com \(relay to agent aes256-gcm@openssh\.com\), mac implicit, kex curve25519-sha256(@libssh\.org)?, host key ssh-ed25519/,
        );
        await waitFor(() => /kex: client->server cipher: aes256-gcm@openssh\.com/.test(relay.log()), { timeoutMs: 5000, what: "sshd to log the client->server cipher" });
        assert.match(relay.log(), /kex: server->client cipher: aes256-gcm@openssh\.com/);
        assert.match(relay.log(), /kex: algorithm: curve25519-sha256/);
    });

    it("is refused by the generated relay when configured for a cipher the relay does not accept", async () => {
        const result = await runCheck(config({ ciphers: ["aes128-gcm@openssh.com"] }), createLogger({ level: "error", destination: new LogCapture() }));
        assert.equal(result.ok, false);
        await waitFor(() => /no matching cipher found/.test(relay.log()), { timeoutMs: 5000, what: "sshd to log the cipher mismatch" });
    });

    it("refuses OpenSSH's client offering only AES-128 (the relay pins AES-256-GCM)", async () => {
        const failed = await execFileAsync("ssh", [
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-c", "aes128-gcm@openssh.com", "-p", String(relay.port), "-i", key.privateKeyFile, "-N", `${TEST_LOGIN_USER}@127.0.0.1`,
        ], { timeout: 10_000 }).then(
            () => undefined,
            (err: { stderr?: string }) => err.stderr ?? "",
        );
        assert.match(failed ?? "(ssh succeeded)", /no matching cipher found/);
    });

    it("refuses a cipher outside the supported list, naming the field", () => {
        assert.throws(() => config({ ciphers: ["aes256-cbc" as "aes256-ctr"] }), /ciphers\[0\]/);
    });
});
