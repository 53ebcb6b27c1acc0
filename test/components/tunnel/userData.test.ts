// Runs the connector host's user data for real, in a throwaway root: everything but AWS and the
// package manager is the real thing (bash, tar, sha256sum, install, the agent bundle, the units).
// Stand-ins first on PATH answer for dnf, aws, useradd, id, chown, systemctl and the CloudWatch
// agent, and record how they were called.
import * as assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import * as http from "node:http";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildConnectorBundle, bundleEntryPoint } from "../../../components/tunnel/bundle";
import { TunnelConnector } from "../../../components/tunnel/tunnelConnector";
import { connectorPaths, nativeCryptoBuildBudgetSeconds } from "../../../components/tunnel/userData";
import { parseConnectorConfig } from "../../../connector/spec";
import { deploy } from "../../helpers/pulumi";
import { certArn, connectorArgs, fetchedSecretVersions, keyArn, userDataOf } from "../../helpers/tunnel";
import { single, types } from "../../helpers/resources";
import { removeScriptRuns, runScript, scratchDirectory, verifySystemdUnits, type ScriptRun } from "../../helpers/userData";
import { skipInRepeatPass } from "../../helpers/testPass";

const fakeKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nZmFrZQ==\n-----END OPENSSH PRIVATE KEY-----";
const fakeCert = "ssh-ed25519-cert-v01@openssh.com AAAAfake acme";

const stubs: Record<string, string> = {
    aws: `if [ "$1" = s3 ] && [ "$2" = cp ]; then cp "$FAKE_BUNDLE" "\${@: -1}"; exit 0; fi
if [ "$1" = secretsmanager ]; then
    while [ $# -gt 0 ]; do if [ "$1" = --secret-id ]; then id="$2"; fi; shift; done
    case "$id" in
        ${keyArn}) echo "$FAKE_KEY" ;;
        ${certArn}) echo "$FAKE_CERT" ;;
        *) echo "no such secret $id" >&2; exit 254 ;;
    esac
    exit 0
fi
exit 0`,
    id: "exit 1",
    // No package is installed, and there is no npm-<major>: the native crypto build fails, as on a
    // host that cannot reach the repositories, and the install goes on without it.
    rpm: "exit 1",
    ...Object.fromEntries(["dnf", "useradd", "chown", "systemctl", "amazon-cloudwatch-agent-ctl"].map((name) => [name, ""])),
};

interface Installed extends ScriptRun {
    /** The throwaway root the script installed into ($FIREFLY_ROOT). */
    root: string;
}

async function install(userData: string, bundleFile: string, extra: { stubs?: Record<string, string>; env?: Record<string, string> } = {}): Promise<Installed> {
    const root = path.join(scratchDirectory("connector-root"), "root");
    fs.mkdirSync(root);
    const run = await runScript(userData, {
        stubs: { ...stubs, ...extra.stubs },
        env: { FIREFLY_ROOT: root, FAKE_BUNDLE: bundleFile, FAKE_KEY: fakeKey, FAKE_CERT: fakeCert, ...extra.env },
        timeoutMs: 120_000,
    });
    return { ...run, root };
}

/** Does the release the script installed load ssh2's native binding? */
function bindingLoads(installed: Installed): boolean {
    const release = path.join(installed.root, connectorPaths.appDir, "current");
    // The node on PATH: the one whose npm built the binding (the tests may run on another Node).
    const probe = spawnSync("node", [bundleEntryPoint, "native-crypto"], { cwd: release });
    return probe.status === 0;
}

describe("TunnelConnector user data, run in a throwaway root", function () {
    this.timeout(60_000);
    let userData: string;
    let installed: Installed;
    before(async () => {
        const run = await deploy(() => {
            new TunnelConnector("acme-tunnel", connectorArgs({ identity: { privateKeySecretArn: keyArn, certificateSecretArn: certArn } }));
        });
        userData = userDataOf(run);
        installed = await install(userData, buildConnectorBundle().file);
    });
    after(() => removeScriptRuns());

    const at = (file: string) => path.join(installed.root, file);

    it("completes", () => {
        assert.equal(installed.status, 0, installed.output);
        assert.match(installed.output, /firefly-connector install: done/);
    });

    it("installs Node.js from the Amazon Linux repositories and creates the service user", () => {
        assert.ok(installed.calls.includes("dnf install -y nodejs22 amazon-cloudwatch-agent logrotate"), installed.calls.join("\n"));
        assert.ok(installed.calls.some((c) => c.startsWith("useradd --system --no-create-home") && c.endsWith(connectorPaths.user)));
    });

    it("fetches the bundle it was rendered for, checks its SHA-256, and unpacks an agent that runs on its own", () => {
        const bundle = buildConnectorBundle();
        assert.ok(installed.calls.some((c) => c.startsWith("aws s3 cp") && c.includes(`/agent/firefly-connector-${bundle.sha256}.tar.gz`)));
        const current = at(`${connectorPaths.appDir}/current`);
        assert.equal(fs.realpathSync(current), at(`${connectorPaths.appDir}/releases/${bundle.sha256}`));
        // From a directory outside this repository, so nothing resolves from the repo's node_modules.
        const version = execFileSync(process.execPath, [path.join(current, "connector/cli.js"), "--version"], { cwd: os.tmpdir(), encoding: "utf8" });
        assert.match(version, /^\d+\.\d+\.\d+/);
        execFileSync(process.execPath, ["-e", `require(${JSON.stringify(path.join(current, "connector/agent.js"))})`], { cwd: os.tmpdir() });
    });

    it("writes the rendered config, which the agent's validator accepts", () => {
        const text = fs.readFileSync(at(connectorPaths.config), "utf8");
        const config = parseConnectorConfig(text);
        assert.equal(config.identity.privateKeyFile, connectorPaths.privateKey);
        assert.equal((fs.statSync(at(connectorPaths.config)).mode & 0o777).toString(8), "640");
    });

    it("fetches exactly the two secrets into files only root and the service user can read", () => {
        const fetched = installed.calls.filter((c) => c.startsWith("aws secretsmanager get-secret-value")).map((c) => /--secret-id (\S+)/.exec(c)![1]);
        assert.deepEqual(fetched, [keyArn, certArn]);
        assert.equal(fs.readFileSync(at(connectorPaths.privateKey), "utf8").trim(), fakeKey);
        assert.equal(fs.readFileSync(at(connectorPaths.certificate), "utf8").trim(), fakeCert);
        for (const file of [connectorPaths.privateKey, connectorPaths.certificate]) {
            assert.equal((fs.statSync(at(file)).mode & 0o777).toString(8), "640", file);
        }
        assert.ok(installed.calls.includes(`chown root:${connectorPaths.user} ${at(connectorPaths.privateKey)}.new`));
    });

    it("writes a hardened systemd unit running the agent as its own user", () => {
        const unit = fs.readFileSync(at(`/etc/systemd/system/${connectorPaths.unit}`), "utf8");
        for (const line of [
            `User=${connectorPaths.user}`,
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "CapabilityBoundingSet=",
            "Restart=on-failure",
            // systemctl reload sends SIGHUP: the agent re-reads its config file (test/connector/reload.test.ts).
            "ExecReload=/bin/kill -HUP $MAINPID",
            // The V8 flag keeps bulk transfers free of major GCs (connector/nodeFlags.ts).
            `ExecStart=${execFileSync("bash", ["-c", "command -v node"], { encoding: "utf8" }).trim()} --initial-old-space-size=64 ${connectorPaths.appDir}/current/connector/cli.js run --config ${connectorPaths.config}`,
        ]) {
            assert.ok(unit.split("\n").includes(line), `missing ${line}`);
        }
        assert.ok(!unit.includes("@NODE_BIN@"));
    });

    it("enables the agent and the readiness timer, and starts the CloudWatch agent with the log config", () => {
        assert.ok(installed.calls.includes(`systemctl enable --now ${connectorPaths.unit} ${connectorPaths.readinessUnit}.timer`));
        assert.ok(installed.calls.some((c) => c.startsWith("amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:")));
        const cw = JSON.parse(fs.readFileSync(at(`${connectorPaths.etcDir}/cloudwatch-agent.json`), "utf8")) as {
            logs: { logs_collected: { files: { collect_list: { file_path: string }[] } } };
        };
        assert.equal(cw.logs.logs_collected.files.collect_list[0]!.file_path, connectorPaths.logFile);
        const reporter = fs.readFileSync(at(`${connectorPaths.appDir}/bin/report-readiness`), "utf8");
        execFileSync("bash", ["-n", at(`${connectorPaths.appDir}/bin/report-readiness`)]);
        assert.match(reporter, /http:\/\/127\.0\.0\.1:9101\/readyz/);
    });

    /** The reporter as installed, run against a stand-in agent serving `metricsText`, with an aws that records its arguments: the metric data it sent. */
    async function report(metricsText: string): Promise<{ MetricName: string; Value: number; Unit: string; Dimensions: { Name: string; Value: string }[] }[]> {
        const server = http.createServer((req, res) => {
            if (req.url === "/readyz") res.writeHead(200).end("{}");
            else if (req.url === "/metrics") res.writeHead(200, { "content-type": "text/plain" }).end(`${metricsText}\n`);
            else res.writeHead(404).end();
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as import("node:net").AddressInfo).port;
        const scratch = scratchDirectory("reporter");
        try {
            const reporter = fs.readFileSync(at(`${connectorPaths.appDir}/bin/report-readiness`), "utf8").replaceAll("127.0.0.1:9101", `127.0.0.1:${port}`);
            fs.writeFileSync(path.join(scratch, "report"), reporter, { mode: 0o755 });
            fs.writeFileSync(path.join(scratch, "aws"), `#!/bin/bash\nprintf '%s\\n' "$@" > ${path.join(scratch, "aws-args")}\n`, { mode: 0o755 });
            await new Promise<void>((resolve, reject) =>
                execFile("bash", [path.join(scratch, "report")], { env: { ...process.env, PATH: `${scratch}:${process.env.PATH}` } }, (err) => (err ? reject(err) : resolve())),
            );
            const args = fs.readFileSync(path.join(scratch, "aws-args"), "utf8").split("\n");
            return JSON.parse(args[args.indexOf("--metric-data") + 1]!);
        } finally {
            await new Promise((resolve) => server.close(resolve));
        }
    }

    const gauges = [
        "# TYPE firefly_connector_relay_connected gauge",
        'firefly_connector_relay_connected{relay="relay0"} 1',
        'firefly_connector_relay_connected{relay="relay1"} 1',
        'firefly_connector_route_forwarded{relay="relay0",route="gitlab"} 1',
        'firefly_connector_streams_active{route="gitlab"} 7',
        "firefly_connector_native_crypto 1",
    ];

    it("publishes readiness and the agent's main gauges from its loopback /metrics to CloudWatch (no inbound port)", async () => {
        const data = await report(gauges.join("\n"));
        assert.deepEqual(
            Object.fromEntries(data.map((d) => [d.MetricName, d.Value])),
            { AgentReady: 1, RelaysConnected: 2, RoutesForwarded: 1, StreamsActive: 7, NativeCrypto: 1 },
            "no CertificateSecondsLeft when the agent reports no certificate end",
        );
        assert.deepEqual(data[0]!.Dimensions, [{ Name: "Connector", Value: "test/acme-tunnel" }]);
    });

    it("publishes the seconds the agent's certificate has left, when the agent reports its end", async () => {
        const end = Math.floor(Date.now() / 1000) + 3 * 86400;
        const data = await report([...gauges, `firefly_connector_certificate_expiry_timestamp_seconds{key_id="acme-agent",serial="7"} ${end}`].join("\n"));
        const left = data.find((d) => d.MetricName === "CertificateSecondsLeft");
        assert.ok(left, JSON.stringify(data));
        assert.equal(left.Unit, "Seconds");
        assert.ok(Math.abs(left.Value - 3 * 86400) <= 5, `about 3 days left, got ${left.Value} s`);
        assert.deepEqual(left.Dimensions, [{ Name: "Connector", Value: "test/acme-tunnel" }]);
        assert.equal(data.length, 6);
    });

    it("passes systemd-analyze verify (units with their executables in the throwaway root)", function () {
        const units = Object.fromEntries(
            [connectorPaths.unit, `${connectorPaths.readinessUnit}.service`, `${connectorPaths.readinessUnit}.timer`].map((name) => [
                name,
                fs.readFileSync(at(`/etc/systemd/system/${name}`), "utf8").replace(`ExecStart=${connectorPaths.appDir}/bin/`, `ExecStart=${installed.root}${connectorPaths.appDir}/bin/`),
            ]),
        );
        const result = verifySystemdUnits(units);
        if (!result) this.skip(); // systemd-analyze is not installed on this machine: the unit syntax check is skipped.
        assert.equal(result.status, 0, result.output);
        assert.equal(result.output, "");
    });

    it("completes without ssh2's native binding when it cannot be built, and says so", () => {
        assert.match(installed.output, /native crypto: the build failed/);
        assert.match(installed.output, /native crypto: not built; the agent runs ssh2's fallback/);
        assert.equal(bindingLoads(installed), false);
        assert.ok(!installed.calls.some((c) => c.startsWith("dnf remove")), "nothing was installed for the build, nothing is removed");
    });

    describe("native crypto build", () => {
        // dnf records what it installed in $TOOLS; rpm answers from it: the tools are absent at first.
        // rpm -ql of the devel package names this machine's node.h, when there is one.
        const nodeHeader = "/usr/include/node/node.h";
        const toolStubs = {
            dnf: `if [ "$1" = install ]; then shift 2; echo "$@" >> "$TOOLS"; fi
if [ "$1" = remove ]; then : > "$TOOLS"; fi`,
            rpm: `installed() { [ -f "$TOOLS" ] && grep -qw -- "$1" "$TOOLS"; }
if [ "$1" = -ql ]; then installed "$2" && [ -f ${nodeHeader} ] && echo ${nodeHeader}; exit 0; fi
installed "$2"`,
            // The host's npm-<major>: this machine's npm, for real.
            "npm-22": 'exec npm "$@"',
        };

        it("builds ssh2's binding in the release before the agent starts, then removes the tools it installed", async function () {
            // The build is the machine's npm and node (npm-22 above), and so is the probe: the same in either pass.
            skipInRepeatPass(this);
            const tools = path.join(scratchDirectory("tools"), "installed");
            const built = await install(userData, buildConnectorBundle().file, { stubs: toolStubs, env: { TOOLS: tools } });
            assert.equal(built.status, 0, built.output);
            assert.match(built.output, /native crypto: built/);
            assert.equal(bindingLoads(built), true);

            const index = (prefix: string) => built.calls.findIndex((c) => c.startsWith(prefix));
            const nodedir = fs.existsSync(nodeHeader) ? " --nodedir=/usr" : "";
            assert.ok(built.calls.includes("dnf install -y gcc-c++ make nodejs22-npm"), built.calls.join("\n"));
            assert.ok(built.calls.includes("dnf install -y nodejs22-devel"));
            assert.ok(built.calls.includes(`npm-22 rebuild ssh2 --foreground-scripts${nodedir}`), built.calls.join("\n"));
            assert.ok(built.calls.includes("dnf remove -y gcc-c++ make nodejs22-npm nodejs22-devel"), built.calls.join("\n"));
            assert.ok(index("npm-22 rebuild") < index("dnf remove"));
            assert.ok(index("npm-22 rebuild") < index("systemctl enable"), "built before the agent starts");
        });

        it("removes the tools it installed also when the build fails, and the install goes on", async () => {
            const tools = path.join(scratchDirectory("tools"), "installed");
            const failed = await install(userData, buildConnectorBundle().file, { stubs: { ...toolStubs, "npm-22": "exit 1" }, env: { TOOLS: tools } });
            assert.equal(failed.status, 0, failed.output);
            assert.match(failed.output, /native crypto: the build failed or ran out of its \d+ s/);
            assert.equal(bindingLoads(failed), false);
            assert.ok(failed.calls.includes("dnf remove -y gcc-c++ make nodejs22-npm nodejs22-devel"), failed.calls.join("\n"));
            assert.match(failed.output, /firefly-connector install: done/);
        });

        it("fits the build's time budget inside the instance refresh's warm-up, with room for the rest of first boot", async () => {
            const run = await deploy(() => {
                new TunnelConnector("acme-tunnel", connectorArgs());
            });
            const asg = single(run, types.autoscalingGroup);
            const warmup = Number((asg.inputs.instanceRefresh as { preferences: { instanceWarmup: string } }).preferences.instanceWarmup);
            assert.ok(nativeCryptoBuildBudgetSeconds + 120 <= warmup, `budget ${nativeCryptoBuildBudgetSeconds} s, warm-up ${warmup} s`);
            assert.match(userDataOf(run), new RegExp(`native_deadline=\\$\\(\\(SECONDS \\+ ${nativeCryptoBuildBudgetSeconds}\\)\\)`));
        });

        it("leaves alone build tools the host already had", async () => {
            // What is removed depends on rpm only: no second real build (npm-22 succeeds doing nothing).
            const built = await install(userData, buildConnectorBundle().file, { stubs: { ...toolStubs, rpm: "exit 0", "npm-22": "" } });
            assert.equal(built.status, 0, built.output);
            assert.ok(built.calls.some((c) => c.startsWith("npm-22 rebuild ssh2")), built.calls.join("\n"));
            assert.ok(!built.calls.some((c) => c.startsWith("dnf remove")), built.calls.join("\n"));
        });
    });

    it("fetches the exact secret versions the stack holds when it holds the identity (--version-id through fetch_secret)", async () => {
        const inline = await deploy(() => {
            new TunnelConnector("acme-tunnel", connectorArgs());
        });
        const versions = fetchedSecretVersions(userDataOf(inline));
        assert.equal(Object.keys(versions).length, 2);
        // Answers with what it was asked for, so the files show which secret version reached the call.
        const echoingAws = `if [ "$1" = s3 ]; then cp "$FAKE_BUNDLE" "\${@: -1}"; exit 0; fi
while [ $# -gt 0 ]; do case "$1" in --secret-id) id="$2" ;; --version-id) version="$2" ;; esac; shift; done
echo "$id@\${version:-current}"`;
        const fetched = await install(userDataOf(inline), buildConnectorBundle().file, { stubs: { aws: echoingAws, "npm-22": "" } });
        assert.equal(fetched.status, 0, fetched.output);
        const [[keyId, keyVersion], [certId, certVersion]] = Object.entries(versions) as [[string, string], [string, string]];
        assert.ok(keyVersion && certVersion, "the stack's own secrets are fetched by version");
        assert.equal(fs.readFileSync(path.join(fetched.root, connectorPaths.privateKey), "utf8").trim(), `${keyId}@${keyVersion}`);
        assert.equal(fs.readFileSync(path.join(fetched.root, connectorPaths.certificate), "utf8").trim(), `${certId}@${certVersion}`);
    });

    it("stops before installing anything when the bundle's SHA-256 does not match", async () => {
        const other = path.join(scratchDirectory("not-the-bundle"), "bundle.tar.gz");
        fs.writeFileSync(other, "tampered");
        const tampered = await install(userData, other);
        assert.notEqual(tampered.status, 0);
        assert.match(tampered.output, /does not have the expected SHA-256/);
        assert.ok(!fs.existsSync(path.join(tampered.root, connectorPaths.config)));
        assert.ok(!tampered.calls.some((c) => c.startsWith("systemctl")));
    });
});
