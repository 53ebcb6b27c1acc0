// A new operator's path to a relay, as connector/README.md tells it: relay options in a file,
// `firefly-connector relay render`, the files installed, sshd -t, sshd started, an agent accepted.
// And the first thing a refused agent is told to look at: the relay's login user.
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCheck } from "../../connector/check";
import { AgentProcess, LogCapture } from "../../connector/lab/agent";
import { OUR_PRINCIPAL } from "../../connector/lab/lab";
import { signalProcessTree } from "../../connector/lab/processes";
import { CertificateAuthority, SSHD, TEST_LOGIN_USER, freePort, generateKey, makeWorkDir, removeWorkDir, tryConnect, type KeyPair } from "../../connector/lab/relay";
import { waitFor, within } from "../../connector/lab/wait";
import { createLogger } from "../../connector/log";
import { parseConnectorConfig, renderRelay, type RelaySshdOptions } from "../../connector/spec";

describe("relay onboarding: firefly-connector relay render", function () {
    this.timeout(40_000);
    let dir: string;
    let ca: CertificateAuthority;
    let hostKey: KeyPair;
    let agentKey: KeyPair;
    let certificate: string;
    let options: RelaySshdOptions;
    let sshd: ChildProcess | undefined;
    let relayPort: number;
    let listenPort: number;

    before(async () => {
        dir = makeWorkDir("onboard");
        ca = await CertificateAuthority.create(dir);
        hostKey = await generateKey(dir, "ssh_host_ed25519_key");
        agentKey = await generateKey(dir, "agent");
        certificate = await ca.issueUserCertificate(agentKey, { principals: [OUR_PRINCIPAL] });
        relayPort = await freePort();
        listenPort = await freePort();
        options = {
            port: relayPort,
            listenAddresses: ["127.0.0.1"],
            hostKeyFiles: [hostKey.privateKeyFile],
            trustedUserCaKeysFile: join(dir, "user_ca.pub"),
            authorizedPrincipalsFile: join(dir, "principals"),
            revokedKeysFile: join(dir, "revoked_keys"),
            pidFile: join(dir, "sshd.pid"),
            loginUser: TEST_LOGIN_USER,
            logLevel: "VERBOSE",
            customers: [{ name: "acme", principal: OUR_PRINCIPAL, listen: [`127.0.0.1:${listenPort}`] }],
        };
    });

    after(async () => {
        if (sshd?.pid) signalProcessTree(sshd.pid, "SIGKILL");
        if (dir) removeWorkDir(dir);
    });

    const cli = async (...args: string[]) => {
        const run = AgentProcess.spawn(args);
        const status = await within(run.exited, 20_000, `firefly-connector ${args.join(" ")}`);
        return { code: status.code, stdout: run.stdout, stderr: run.stderr };
    };

    it("renders the generator's files from a relay options file; the installed relay accepts an agent", async () => {
        const optionsFile = join(dir, "relay.yaml");
        writeFileSync(optionsFile, JSON.stringify(options));
        const out = join(dir, "out");
        const rendered = await cli("relay", "render", "--config", optionsFile, "--out", out);
        assert.equal(rendered.code, 0, rendered.stderr);
        assert.match(rendered.stdout, /wrote .*sshd_config/);
        assert.match(rendered.stdout, new RegExp(`wrote .*authorized_principals \\(install at ${options.authorizedPrincipalsFile}\\)`));
        assert.match(rendered.stdout, /wrote .*sshd_config \(install at \/etc\/ssh\/sshd_config on a relay-only host, or a second sshd's own file for sshd -f; a whole config, not a drop-in/);
        const expected = renderRelay(options);
        assert.equal(readFileSync(join(out, "sshd_config"), "utf8"), expected.sshdConfig);
        assert.equal(readFileSync(join(out, "authorized_principals"), "utf8"), expected.authorizedPrincipals);

        // Installed where sshd_config says, as the README's steps do.
        copyFileSync(ca.key.publicKeyFile, options.trustedUserCaKeysFile);
        copyFileSync(join(out, "authorized_principals"), options.authorizedPrincipalsFile);
        copyFileSync(join(out, "revoked_keys"), options.revokedKeysFile!);
        sshd = spawn(SSHD, ["-D", "-f", join(out, "sshd_config"), "-E", join(dir, "sshd.log")], { stdio: "ignore" });
        await waitFor(async () => (await tryConnect(relayPort)) === "accepted", { timeoutMs: 10_000, what: "the rendered relay to listen" });

        const result = await runCheck(agentConfig(TEST_LOGIN_USER), createLogger({ level: "error", destination: new LogCapture() }));
        assert.ok(result.ok, result.lines.join("\n"));
    });

    it("names a missing or locked login user as the first likely cause when the relay refuses the agent", async () => {
        const result = await runCheck(agentConfig("no-such-user"), createLogger({ level: "error", destination: new LogCapture() }));
        assert.equal(result.ok, false);
        assert.match(result.lines.join("\n"), /FAILED \(auth\): the relay refused certificate .* Likely causes, most common first: \(1\) the login user 'no-such-user' is missing or locked on the relay .*usermod -p '\*' no-such-user\); \(2\) 'no-such-user' is not the relay's login user .*\(3\) the relay does not trust this CA/);
        await waitFor(() => /Invalid user no-such-user/.test(readFileSync(join(dir, "sshd.log"), "utf8")), { timeoutMs: 5000, what: "sshd to log the invalid user" });
    });

    it("names a user the relay does not allow (not its login user) as the second likely cause, and the files' modes and owners among the rest", async () => {
        // nobody exists and is not locked on Debian, so sshd refuses it for AllowUsers alone.
        const result = await runCheck(agentConfig("nobody"), createLogger({ level: "error", destination: new LogCapture() }));
        assert.equal(result.ok, false);
        const text = result.lines.join("\n");
        assert.match(text, /\(2\) 'nobody' is not the relay's login user \(its sshd log says "User nobody \.\.\. not allowed because not listed in AllowUsers"; set user to the relay options' loginUser\)/);
        assert.match(text, /\(5\) sshd cannot use the relay's principals or CA file for its owner or mode .*StrictModes/);
        await waitFor(() => /User nobody from 127\.0\.0\.1 not allowed because not listed in AllowUsers/.test(readFileSync(join(dir, "sshd.log"), "utf8")), {
            timeoutMs: 5000,
            what: "sshd to log the user AllowUsers does not list",
        });
    });

    it("refuses relay options with a missing field, naming it", async () => {
        const bad = join(dir, "bad.yaml");
        writeFileSync(bad, JSON.stringify({ ...options, customers: undefined }));
        const rendered = await cli("relay", "render", "--config", bad, "--out", join(dir, "bad-out"));
        assert.equal(rendered.code, 1);
        assert.match(rendered.stderr, /bad\.yaml: invalid relay options:\n\s+- customers: /);
    });

    function agentConfig(user: string) {
        return parseConnectorConfig({
            user,
            identity: { privateKeyFile: agentKey.privateKeyFile, certificateFile: certificate },
            relays: [{ host: "127.0.0.1", port: relayPort, hostKeys: [hostKey.publicKey] }],
            routes: [{ name: "app", listen: `127.0.0.1:${listenPort}`, target: "127.0.0.1:9" }],
            connectTimeoutSeconds: 5,
        });
    }
});
