// Authentication and relay verification against real sshd: certificates (ed25519, RSA), plain
// keys, the ways a certificate is refused, host key pinning, and per-customer isolation.
import { strict as assert } from "node:assert";
import { runCheck } from "../../connector/check";
import { type ConnectorConfig, HostKeyPins, parseConnectorConfig } from "../../connector/spec";
import { createLogger } from "../../connector/log";
import { RelayConnection, RelayError } from "../../connector/relayConnection";
import { loadIdentity } from "../../connector/ssh2/certAuth";
import { connect } from "node:net";
import { LogCapture, startAgent } from "../../connector/lab/agent";
import { OUR_PRINCIPAL } from "../../connector/lab/lab";
import {
    CertificateAuthority,
    TEST_LOGIN_USER,
    TestRelay,
    fingerprintOf,
    freePort,
    generateKey,
    makeWorkDir,
    removeWorkDir,
    type KeyPair,
} from "../../connector/lab/relay";
import { startEchoService, type RunningServer } from "./helpers/targets";
import { waitFor, within } from "../../connector/lab/wait";

describe("connector authentication against real sshd", function () {
    this.timeout(30_000);
    let dir: string;
    let ca: CertificateAuthority;
    let relay: TestRelay;
    let ourPort: number;
    let otherCustomerPort: number;
    let otherCustomersProxy: RunningServer;

    before(async () => {
        dir = makeWorkDir("auth");
        ca = await CertificateAuthority.create(dir);
        ourPort = await freePort();
        otherCustomerPort = await freePort();
        otherCustomersProxy = await startEchoService();
        relay = await TestRelay.create({
            dir,
            ca,
            customers: [
                { name: "a", principal: OUR_PRINCIPAL, listen: [`127.0.0.1:${ourPort}`], publicKeys: [] },
                { name: "b", principal: "customer-b", listen: [`127.0.0.1:${otherCustomerPort}`], permitOpen: [`127.0.0.1:${otherCustomersProxy.port}`] },
            ],
        });
        await relay.start();
    });

    after(async () => {
        await otherCustomersProxy?.close();
        await relay?.kill();
        if (dir) removeWorkDir(dir);
    });

    function configFor(key: KeyPair, certificateFile: string | undefined, listenPort = ourPort, hostKeys = [relay.hostKey.publicKey]): ConnectorConfig {
        return parseConnectorConfig({
            user: TEST_LOGIN_USER,
            identity: { privateKeyFile: key.privateKeyFile, ...(certificateFile ? { certificateFile } : {}) },
            relays: [{ host: "127.0.0.1", port: relay.port, hostKeys }],
            routes: [{ name: "app", listen: `127.0.0.1:${listenPort}`, target: "127.0.0.1:9", via: "direct" }],
            connectTimeoutSeconds: 5,
        });
    }

    async function check(config: ConnectorConfig) {
        const logs = new LogCapture();
        return runCheck(config, createLogger({ level: "error", destination: logs }));
    }

    for (const keyType of ["ed25519", "rsa"] as const) {
        it(`authenticates with an OpenSSH ${keyType} user certificate and gets its forward`, async () => {
            const key = await generateKey(dir, `agent-${keyType}`, keyType);
            const cert = await ca.issueUserCertificate(key, { principals: [OUR_PRINCIPAL], keyId: `agent-${keyType}` });
            const result = await check(configFor(key, cert));
            assert.ok(result.ok, result.lines.join("\n"));
            assert.match(result.lines.join("\n"), /route app \(127\.0\.0\.1:\d+\): forward granted and released/);
            // The relay accepted the certificate itself (not some other key), as its log records.
            const algorithm = keyType === "ed25519" ? "ED25519-CERT" : "RSA-CERT";
            await waitFor(() => new RegExp(`Accepted publickey for tunnel .* ${algorithm} .* ID agent-${keyType} `).test(relay.log()), {
                timeoutMs: 5000,
                what: `sshd to log the accepted ${algorithm}`,
            });
        });
    }

    it("authenticates with a plain public key listed for the customer", async () => {
        const key = await generateKey(dir, "agent-plain");
        const plainDir = makeWorkDir("auth-plain");
        const plainPort = await freePort();
        const plainRelay = await TestRelay.create({
            dir: plainDir,
            ca,
            customers: [{ name: "a", principal: OUR_PRINCIPAL, listen: [`127.0.0.1:${plainPort}`], publicKeys: [key.publicKey] }],
        });
        try {
            await plainRelay.start();
            const config = parseConnectorConfig({
                ...configFor(key, undefined, plainPort),
                relays: [{ host: "127.0.0.1", port: plainRelay.port, hostKeys: [plainRelay.hostKey.publicKey] }],
            });
            const result = await check(config);
            assert.ok(result.ok, result.lines.join("\n"));
        } finally {
            await plainRelay.kill();
            removeWorkDir(plainDir);
        }
    });

    it("rejects an expired certificate, saying it expired", async () => {
        const key = await generateKey(dir, "agent-expired");
        const cert = await ca.issueUserCertificate(key, { principals: [OUR_PRINCIPAL], validity: "-2h:-1h", keyId: "expired-cert" });
        const result = await check(configFor(key, cert));
        assert.equal(result.ok, false);
        assert.match(result.lines.join("\n"), /relay 127\.0\.0\.1:\d+: FAILED \(auth\): the relay refused the certificate: certificate 'expired-cert' \(serial \d+\) expired at/);
        // The relay, not the agent, made the decision.
        await waitFor(() => /expired/i.test(relay.log()), { timeoutMs: 5000, what: "sshd to log the expired certificate" });
    });

    it("rejects a certificate whose principal is not authorized, naming the principals", async () => {
        const key = await generateKey(dir, "agent-wrong-principal");
        const cert = await ca.issueUserCertificate(key, { principals: ["customer-z"], keyId: "wrong-principal" });
        const result = await check(configFor(key, cert));
        assert.equal(result.ok, false);
        assert.match(result.lines.join("\n"), /FAILED \(auth\): the relay refused certificate 'wrong-principal' .*principals \[customer-z\].*AuthorizedPrincipalsFile/);
    });

    it("rejects a certificate from a CA the relay does not trust, naming that CA", async () => {
        const rogueCa = await CertificateAuthority.create(dir, "rogue-ca");
        const key = await generateKey(dir, "agent-rogue");
        const cert = await rogueCa.issueUserCertificate(key, { principals: [OUR_PRINCIPAL], keyId: "rogue" });
        const result = await check(configFor(key, cert));
        assert.equal(result.ok, false);
        const rogueFingerprint = await fingerprintOf(rogueCa.key.publicKeyFile);
        assert.ok(result.lines.join("\n").includes(`signed by CA ${rogueFingerprint}`), result.lines.join("\n"));
        assert.match(result.lines.join("\n"), /TrustedUserCAKeys/);
    });

    it("connects to a relay pinned by its SHA256 fingerprint, as ssh-keygen -l prints it", async () => {
        const key = await generateKey(dir, "agent-fingerprint-pin");
        const cert = await ca.issueUserCertificate(key, { principals: [OUR_PRINCIPAL], keyId: "fingerprint-pin" });
        const fingerprint = await fingerprintOf(relay.hostKey.publicKeyFile);
        const result = await check(configFor(key, cert, ourPort, [fingerprint]));
        assert.ok(result.ok, result.lines.join("\n"));
    });

    it("refuses a relay whose host key is not pinned, before authenticating, naming the presented key", async () => {
        const key = await generateKey(dir, "agent-hostkey");
        const cert = await ca.issueUserCertificate(key, { principals: [OUR_PRINCIPAL], keyId: "hostkey-test" });
        const impostor = await generateKey(dir, "impostor-host-key");
        const logBefore = relay.log().length;
        const identity = await loadIdentity({ privateKeyFile: key.privateKeyFile, certificateFile: cert });
        let forwarded = 0;
        const attempt = RelayConnection.open({
            label: "relay0",
            host: "127.0.0.1",
            port: relay.port,
            user: TEST_LOGIN_USER,
            identity,
            pins: new HostKeyPins([impostor.publicKey]),
            pinsField: "relays[0].hostKeys",
            keepaliveIntervalMs: 1000,
            keepaliveCountMax: 3,
            connectTimeoutMs: 5000,
            log: createLogger({ level: "error", destination: new LogCapture() }),
            onForwardedConnection: () => forwarded++,
        });
        const error = await attempt.then(
            () => assert.fail("connected despite an unpinned host key"),
            (err: unknown) => err,
        );
        assert.ok(error instanceof RelayError);
        assert.equal(error.kind, "host_key");
        const presented = await fingerprintOf(relay.hostKey.publicKeyFile);
        assert.ok(error.message.includes(presented), error.message);
        assert.match(error.message, /not pinned in relays\[0\]\.hostKeys/);
        assert.equal(forwarded, 0);
        // No authentication was attempted: the relay never saw our certificate.
        assert.ok(!relay.log().slice(logBefore).includes("hostkey-test"), "the certificate reached the relay");
    });

    it("isolates customers: our certificate cannot bind another customer's port", async () => {
        const key = await generateKey(dir, "agent-isolation");
        const cert = await ca.issueUserCertificate(key, { principals: [OUR_PRINCIPAL], keyId: "isolation" });
        const result = await check(configFor(key, cert, otherCustomerPort));
        assert.equal(result.ok, false);
        assert.match(result.lines.join("\n"), new RegExp(`route app \\(127\\.0\\.0\\.1:${otherCustomerPort}\\): REFUSED by the relay`));
        await waitFor(() => relay.log().includes(`remote forward to host 127.0.0.1 port ${otherCustomerPort}, but the request was denied`), {
            timeoutMs: 5000,
            what: "sshd to log the denied forward",
        });
    });

    it("isolates customers: our hairpin cannot open another customer's permitopen target", async () => {
        const key = await generateKey(dir, "agent-hairpin-isolation");
        const cert = await ca.issueUserCertificate(key, { principals: [OUR_PRINCIPAL], keyId: "hairpin-isolation" });
        const config = parseConnectorConfig({
            ...configFor(key, cert),
            routes: [{ name: "sneaky", listen: `127.0.0.1:${ourPort}`, target: `127.0.0.1:${otherCustomersProxy.port}`, via: "tunnel" }],
        });
        const agent = await startAgent(config);
        try {
            await agent.waitUntilReady();
            // The forward is ours, so the platform side connects; the onward direct-tcpip is refused.
            const socket = connect({ host: "127.0.0.1", port: ourPort });
            let received = 0;
            socket.on("data", (c: Buffer) => (received += c.length));
            socket.on("error", () => undefined);
            socket.write("hello");
            await within(new Promise((resolve) => socket.once("close", resolve)), 5000, "relay to close the refused connection");
            assert.equal(received, 0, "no byte came back from the other customer's target");
            const failure = await agent.logs.waitFor((r) => r.route === "sneaky" && r.reason === "CHANNEL_OPEN_FAILED", 5000, "onward failure logged");
            assert.match(String(failure.msg), /relay refused direct-tcpip to 127\.0\.0\.1:\d+/);
        } finally {
            await agent.stop();
        }
    });
});
