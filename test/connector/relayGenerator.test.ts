// The relay generator's output, checked as text and by sshd itself (sshd -t). Its behaviour on a
// running sshd (isolation, forwarding, certificates) is proven in auth/routes/resilience tests,
// whose relays it configures.
import { strict as assert } from "node:assert";
import { execFile, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseConnectorConfig, relayCustomerForConnector, type RelaySshdOptions, renderRelay } from "../../connector/spec";
import { CertificateAuthority, SSHD, TEST_LOGIN_USER, TestRelay, fileEntries, freePort, generateKey, makeWorkDir, removeWorkDir, tryConnect, type KeyPair } from "../../connector/lab/relay";
import { waitFor } from "../../connector/lab/wait";

const execFileAsync = promisify(execFile);

function options(overrides: Partial<RelaySshdOptions> = {}): RelaySshdOptions {
    return {
        hostKeyFiles: ["/etc/ssh/ssh_host_ed25519_key"],
        trustedUserCaKeysFile: "/etc/ssh/firefly_user_ca.pub",
        authorizedPrincipalsFile: "/etc/ssh/firefly_principals",
        customers: [
            { name: "acme", principal: "customer-acme", listen: ["127.0.0.1:40001", "127.0.0.1:40002"], permitOpen: ["127.0.0.1:8443"] },
            { name: "globex", principal: "customer-globex", listen: ["127.0.0.1:40010"] },
        ],
        ...overrides,
    };
}

describe("relay sshd_config generator", () => {
    it("locks sshd down to certificate logins that can only forward", () => {
        const { sshdConfig } = renderRelay(options());
        for (const directive of [
            "TrustedUserCAKeys /etc/ssh/firefly_user_ca.pub",
            "AuthorizedPrincipalsFile /etc/ssh/firefly_principals",
            "AuthorizedKeysFile none",
            "AuthenticationMethods publickey",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin no",
            "AllowUsers tunnel",
            "MaxSessions 0",
            "PermitTTY no",
            "X11Forwarding no",
            "AllowAgentForwarding no",
            "AllowTcpForwarding yes",
            "GatewayPorts no",
            "PermitListen 127.0.0.1:40001 127.0.0.1:40002 127.0.0.1:40010",
            "PermitOpen 127.0.0.1:8443",
        ]) {
            assert.ok(sshdConfig.split("\n").includes(directive), `missing: ${directive}`);
        }
        assert.ok(!/^UnusedConnectionTimeout/m.test(sshdConfig), "UnusedConnectionTimeout would cut idle tunnels");
        assert.ok(!/^AllowTcpForwarding remote/m.test(sshdConfig), "'remote' would block the hairpin's direct-tcpip");
    });

    it("pins each customer principal to its own listen ports and hairpin targets", () => {
        const { authorizedPrincipals } = renderRelay(options());
        assert.deepEqual(fileEntries(authorizedPrincipals), [
            'restrict,port-forwarding,permitlisten="127.0.0.1:40001",permitlisten="127.0.0.1:40002",permitopen="127.0.0.1:8443" customer-acme',
            // No hairpin routes: a permitopen that matches nothing, so globex cannot use acme's.
            'restrict,port-forwarding,permitlisten="127.0.0.1:40010",permitopen="nothing.invalid:1" customer-globex',
        ]);
    });

    it("writes plain customer keys with the same restrictions", () => {
        const rendered = renderRelay(
            options({
                authorizedKeysFile: "/etc/ssh/firefly_keys",
                customers: [{ name: "acme", principal: "customer-acme", listen: ["127.0.0.1:40001"], publicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl agent"] }],
            }),
        );
        assert.match(rendered.sshdConfig, /^AuthorizedKeysFile \/etc\/ssh\/firefly_keys$/m);
        assert.match(rendered.authorizedKeys ?? "", /^restrict,port-forwarding,permitlisten="127\.0\.0\.1:40001",permitopen="nothing\.invalid:1" ssh-ed25519 AAAA\S+ agent$/m);
        // Checked like every key line: an ed25519 key relabelled as RSA is refused.
        const relabelled = { name: "acme", principal: "customer-acme", listen: ["127.0.0.1:40001"], publicKeys: ["ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl agent"] };
        assert.throws(() => renderRelay(options({ authorizedKeysFile: "/etc/ssh/firefly_keys", customers: [relabelled] })), /customers\.0\.publicKeys\.0: has corrupt base64 data/);
    });

    it("names a RevokedKeys file, always rendered: a header alone when nothing is revoked", () => {
        const none = renderRelay(options({ revokedKeysFile: "/etc/ssh/firefly_revoked_keys" }));
        assert.ok(none.sshdConfig.split("\n").includes("RevokedKeys /etc/ssh/firefly_revoked_keys"));
        assert.deepEqual(fileEntries(none.revokedKeys!), []);
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl leaked agent";
        const some = renderRelay(options({ revokedKeysFile: "/etc/ssh/firefly_revoked_keys", revokedKeys: [`  ${key}\n`] }));
        assert.deepEqual(fileEntries(some.revokedKeys!), [key]);
        // Without a file there is no RevokedKeys line, and keys to revoke need one.
        assert.ok(!/^RevokedKeys/m.test(renderRelay(options()).sshdConfig));
        assert.throws(() => renderRelay(options({ revokedKeys: [key] })), /revokedKeysFile: required when revokedKeys lists keys/);
    });

    it("refuses revoked keys that are not one public key or certificate line", () => {
        const file = { revokedKeysFile: "/etc/ssh/firefly_revoked_keys" };
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
        assert.throws(() => renderRelay(options({ ...file, revokedKeys: ["SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"] })), /revokedKeys\.0: must be an OpenSSH public key or certificate line/);
        assert.throws(() => renderRelay(options({ ...file, revokedKeys: [`${key}\n${key}`] })), /revokedKeys\.0: must be one line/);
        assert.throws(() => renderRelay(options({ ...file, revokedKeys: [key.replace("ssh-ed25519 ", "ssh-dss ")] })), /revokedKeys\.0: has key type "ssh-dss"/);
        // An ed25519 key relabelled as RSA: the blob's own type disagrees.
        assert.throws(() => renderRelay(options({ ...file, revokedKeys: [key.replace("ssh-ed25519 ", "ssh-rsa ")] })), /revokedKeys\.0: has corrupt base64 data/);
    });

    it("refuses values that could inject options or directives", () => {
        assert.throws(() => renderRelay(options({ customers: [{ name: "x", principal: 'evil" permitopen="*:*', listen: ["127.0.0.1:1"] }] })), /customers\.0\.principal/);
        assert.throws(() => renderRelay(options({ trustedUserCaKeysFile: "/tmp/ca.pub\nPermitRootLogin yes" })), /trustedUserCaKeysFile/);
        assert.throws(() => renderRelay(options({ customers: [{ name: "x", principal: "p", listen: ["127.0.0.1:1\"", "h"] }] })), /customers\.0\.listen/);
    });

    it("refuses two customers on one port, or sharing a principal", () => {
        assert.throws(
            () => renderRelay(options({ customers: [{ name: "a", principal: "pa", listen: ["127.0.0.1:40001"] }, { name: "b", principal: "pb", listen: ["127.0.0.2:40001"] }] })),
            /customers a and b both listen on port 40001/,
        );
        assert.throws(
            () => renderRelay(options({ customers: [{ name: "a", principal: "p", listen: ["127.0.0.1:1"] }, { name: "b", principal: "p", listen: ["127.0.0.1:2"] }] })),
            /share principal p/,
        );
    });

    it("derives a customer's grants from its connector config", () => {
        const config = parseConnectorConfig({
            user: "tunnel",
            identity: { privateKeyFile: "/k" },
            relays: [{ host: "relay", hostKeys: ["SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"] }],
            routes: [
                { name: "gitlab", listen: "127.0.0.1:45678", target: "gitlab.internal:443", via: "direct" },
                { name: "proxy", listen: "127.0.0.1:45680", target: "127.0.0.1:8443", via: "tunnel" },
            ],
            dynamic: { listen: "127.0.0.1:45679", allow: ["gitlab.internal:443"] },
        });
        assert.deepEqual(relayCustomerForConnector("acme", "customer-acme", config), {
            name: "acme",
            principal: "customer-acme",
            listen: ["127.0.0.1:45678", "127.0.0.1:45680", "127.0.0.1:45679"],
            permitOpen: ["127.0.0.1:8443"],
        });
    });

    it("produces a config that sshd -t accepts", async () => {
        const dir = makeWorkDir("generator");
        try {
            const hostKey = await generateKey(dir, "host");
            const ca = await generateKey(dir, "ca");
            const rendered = renderRelay(
                options({
                    hostKeyFiles: [hostKey.privateKeyFile],
                    trustedUserCaKeysFile: ca.publicKeyFile,
                    authorizedPrincipalsFile: join(dir, "principals"),
                    listenAddresses: ["127.0.0.1", "::1"],
                    gatewayPorts: "clientspecified",
                }),
            );
            writeFileSync(join(dir, "sshd_config"), rendered.sshdConfig);
            await execFileAsync(SSHD, ["-t", "-f", join(dir, "sshd_config")]);
        } finally {
            removeWorkDir(dir);
        }
    });
});

/**
 * sshd started with the generator's output and a RevokedKeys file, and OpenSSH's own client as the
 * agent (independent of the connector's code): what a revocation does to logins, for real.
 */
describe("relay RevokedKeys on a real sshd", function () {
    this.timeout(30_000);
    let dir: string;
    let ca: CertificateAuthority;
    let relay: TestRelay | undefined;
    let relays = 0;
    const listenPorts: Record<string, number> = {};
    const agents: Record<string, KeyPair> = {};

    before(async () => {
        dir = makeWorkDir("revoked");
        ca = await CertificateAuthority.create(dir);
        for (const name of ["acme", "acme-spare", "globex"]) listenPorts[name] = await freePort();
        for (const name of ["acme", "acme-spare", "globex"]) {
            agents[name] = await generateKey(dir, `agent-${name}`);
            await ca.issueUserCertificate(agents[name]!, { principals: [name === "globex" ? "customer-globex" : "customer-acme"], keyId: name });
        }
    });

    afterEach(() => sshdStopped());

    after(() => {
        if (dir) removeWorkDir(dir);
    });

    /** A relay (the test helper's: generator output, sshd -t, sshd started) with these revoked keys and the RevokedKeys file rendered, empty or missing. */
    async function startRelay(revokedKeys: string[], revokedKeysFile: "rendered" | "empty" | "missing" = "rendered"): Promise<void> {
        const relayDir = join(dir, `relay-${++relays}`);
        mkdirSync(relayDir, { mode: 0o755 });
        relay = await TestRelay.create({
            dir: relayDir,
            ca,
            revokedKeys,
            revokedKeysFile,
            customers: [
                { name: "acme", principal: "customer-acme", listen: [`127.0.0.1:${listenPorts.acme}`, `127.0.0.1:${listenPorts["acme-spare"]}`] },
                { name: "globex", principal: "customer-globex", listen: [`127.0.0.1:${listenPorts.globex}`] },
            ],
        });
        await relay.start();
    }

    async function sshdStopped(): Promise<void> {
        const stopping = relay;
        relay = undefined;
        if (!stopping) return;
        await stopping.kill();
        await waitFor(async () => (await tryConnect(stopping.port)) !== "accepted", { timeoutMs: 5000, what: "sshd to stop listening" });
    }

    /** Logs in with OpenSSH's ssh and asks for the agent's remote forward: "forwarding" once the relay listens for it, else what ssh said. */
    async function login(agent: string): Promise<string> {
        const key = agents[agent]!;
        const ssh = spawn(
            "ssh",
            [
                "-F", "/dev/null", "-N", "-p", String(relay!.port), "-i", key.privateKeyFile, "-o", `CertificateFile=${key.privateKeyFile}-cert.pub`,
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=ERROR",
                "-R", `127.0.0.1:${listenPorts[agent]}:127.0.0.1:9`, `${TEST_LOGIN_USER}@127.0.0.1`,
            ],
            { stdio: ["ignore", "ignore", "pipe"] },
        );
        let stderr = "";
        ssh.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        let exited = false;
        const exit = new Promise<void>((resolve) => ssh.once("exit", () => ((exited = true), resolve())));
        try {
            await waitFor(async () => exited || (await tryConnect(listenPorts[agent]!)) === "accepted", { timeoutMs: 10_000, what: `ssh as ${agent} to forward or fail` });
            return exited ? stderr.trim() : "forwarding";
        } finally {
            ssh.kill("SIGKILL");
            await exit;
        }
    }

    it("refuses a certificate whose key is revoked (by its certificate line) while another customer's still logs in", async () => {
        const leaked = readFileSync(`${agents.acme!.privateKeyFile}-cert.pub`, "utf8").trim();
        await startRelay([leaked]);
        assert.match(await login("acme"), /Permission denied \(publickey\)/);
        assert.equal(await login("globex"), "forwarding");
        // The customer's other key, with its own certificate for the same principal, is not affected.
        assert.equal(await login("acme-spare"), "forwarding");
        await waitFor(() => /revoked by file/.test(relay!.log()), { timeoutMs: 5000, what: "sshd to log the revocation" });
    });

    it("refuses every certificate of a key revoked by its public key line", async () => {
        await startRelay([agents.globex!.publicKey]);
        assert.match(await login("globex"), /Permission denied \(publickey\)/);
        assert.equal(await login("acme"), "forwarding");
    });

    it("logs everyone in with the file of an empty list, and with an empty file", async () => {
        await startRelay([]);
        assert.equal(await login("acme"), "forwarding");
        await sshdStopped();
        await startRelay([], "empty");
        assert.equal(await login("globex"), "forwarding");
    });

    it("refuses every key when the RevokedKeys file is missing (why the relay host always writes it)", async () => {
        await startRelay([], "missing");
        assert.match(await login("acme"), /Permission denied \(publickey\)/);
        assert.match(await login("globex"), /Permission denied \(publickey\)/);
    });
});
