// The relay host's sshd health check, as its user data installs it: the script runs for real with
// bash, against a real TCP listener standing in for sshd, with stand-ins for systemctl, the
// instance metadata service (curl) and the AWS CLI; the units go through systemd-analyze verify.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { createServer, type Server } from "node:net";
import * as path from "node:path";
import { relayHealthCheck, relayPaths } from "../../../components/tunnel/userData";
import type { ProgramRun } from "../../helpers/pulumi";
import { named, single, types } from "../../helpers/resources";
import { defaultRelayRun, heredocIn, userDataOf } from "../../helpers/tunnel";
import { removeScriptRuns, runScript, scratchDirectory, verifySystemdUnits, type ScriptRun } from "../../helpers/userData";

const instanceId = "i-0123456789abcdef0";
const imdsToken = "imds-token-for-the-test";

const stubs: Record<string, string> = {
    systemctl: 'if [ "$1" = is-active ]; then exit "$SSHD_ACTIVE_STATUS"; fi',
    // IMDSv2: a token from PUT /latest/api/token, then metadata only with that token (else 401, curl -f exits 22).
    curl: `args="$*"
case "$args" in
    *"-X PUT"*"/latest/api/token"*) printf %s "${imdsToken}" ;;
    *"X-aws-ec2-metadata-token: ${imdsToken}"*"/latest/meta-data/instance-id"*) printf %s "${instanceId}" ;;
    *) exit 22 ;;
esac`,
    aws: "",
};

/** A stand-in sshd: a listener that greets each connection as sshd does (or with something else). */
async function listener(greeting: string): Promise<Server & { port: number }> {
    const server = createServer((socket) => {
        socket.on("error", () => undefined); // the check hangs up after the banner's first bytes
        socket.end(greeting);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return Object.assign(server, { port: (server.address() as { port: number }).port });
}

function close(server: Server): Promise<void> {
    return new Promise((resolve) => server.close(() => resolve()));
}

describe("TunnelRelay sshd health check", function () {
    this.timeout(60_000);
    let userData: string;
    let run: ProgramRun;

    before(async () => {
        run = await defaultRelayRun();
        userData = userDataOf(run);
    });
    after(() => removeScriptRuns());

    /** The installed script, pointed at `port` instead of sshd's 22. */
    function scriptFor(port: number): string {
        const script = heredocIn(userData, "FIREFLY_HEALTH_SCRIPT");
        assert.match(script, /^SSH_PORT=22$/m, "the relay's check connects to sshd's port");
        return script.replace(/^SSH_PORT=22$/m, `SSH_PORT=${port}`);
    }

    /** Runs the check `times` times with one runtime directory (as the timer's service would), returning every run. */
    async function check(port: number, sshdActive: boolean, runtimeDirectory: string, times = 1): Promise<ScriptRun[]> {
        const runs: ScriptRun[] = [];
        for (let i = 0; i < times; i++) {
            runs.push(await runScript(scriptFor(port), { stubs, env: { RUNTIME_DIRECTORY: runtimeDirectory, SSHD_ACTIVE_STATUS: sshdActive ? "0" : "3" } }));
        }
        for (const r of runs) assert.equal(r.status, 0, r.output);
        return runs;
    }

    const reported = (runs: ScriptRun[]) => runs.flatMap((r) => r.calls).filter((c) => c.startsWith("aws "));
    const limit = relayHealthCheck.failuresBeforeUnhealthy;

    it("does nothing while sshd is active and answers with its banner", async () => {
        const sshd = await listener("SSH-2.0-OpenSSH_9.2\r\n");
        try {
            const runs = await check(sshd.port, true, scratchDirectory("health"), limit + 1);
            assert.deepEqual(runs.flatMap((r) => r.calls).filter((c) => !c.startsWith("systemctl")), []);
        } finally {
            await close(sshd);
        }
    });

    it(`marks this instance (its ID from IMDSv2) Unhealthy after ${limit} failed checks in a row, not before`, async () => {
        const sshd = await listener("SSH-2.0-OpenSSH_9.2\r\n");
        try {
            const state = scratchDirectory("health");
            const before = await check(sshd.port, false, state, limit - 1);
            assert.deepEqual(reported(before), []);
            assert.match(before.at(-1)!.output, new RegExp(`check failed \\(${limit - 1} in a row, replaced after ${limit}\\): sshd.service is not active`));
            const [last] = await check(sshd.port, false, state);
            assert.ok(last!.calls.some((c) => c.startsWith("curl ") && c.includes("-X PUT") && c.includes("X-aws-ec2-metadata-token-ttl-seconds")), last!.calls.join("\n"));
            assert.deepEqual(reported([last!]), [`aws autoscaling set-instance-health --region us-east-1 --instance-id ${instanceId} --health-status Unhealthy`]);
        } finally {
            await close(sshd);
        }
    });

    it("counts a port that does not answer like SSH as a failure although systemd reports sshd active, and starts over after a success", async () => {
        const state = scratchDirectory("health");
        const notSsh = await listener("HTTP/1.1 400 Bad Request\r\n\r\n");
        const sshd = await listener("SSH-2.0-OpenSSH_9.2\r\n");
        try {
            const failed = await check(notSsh.port, true, state, limit - 1);
            assert.match(failed.at(-1)!.output, /127\.0\.0\.1:\d+ does not answer with an SSH banner/);
            await check(sshd.port, true, state);
            assert.ok(!fs.existsSync(path.join(state, "failures")), "a success clears the count");
            // limit - 1 failures after the success are not enough.
            assert.deepEqual(reported(await check(notSsh.port, true, state, limit - 1)), []);
        } finally {
            await Promise.all([close(notSsh), close(sshd)]);
        }
    });

    it("exits with an error, marking nothing, when the instance metadata service gives no instance ID", async () => {
        const state = scratchDirectory("health");
        fs.writeFileSync(path.join(state, "failures"), String(limit - 1));
        const result = await runScript(scriptFor(1), {
            stubs: { ...stubs, curl: "exit 22" },
            env: { RUNTIME_DIRECTORY: state, SSHD_ACTIVE_STATUS: "3" },
        });
        assert.notEqual(result.status, 0);
        assert.match(result.output, /cannot read this instance ID/);
        assert.deepEqual(reported([result]), []);
    });

    it("runs from a timer every 30 s as a hardened oneshot that keeps its count in its runtime directory; systemd-analyze verify passes", function () {
        const root = scratchDirectory("health-root");
        const script = path.join(root, relayPaths.healthScript);
        fs.mkdirSync(path.dirname(script), { recursive: true });
        fs.writeFileSync(script, heredocIn(userData, "FIREFLY_HEALTH_SCRIPT"), { mode: 0o755 });
        const service = heredocIn(userData, "FIREFLY_HEALTH_SERVICE");
        const timer = heredocIn(userData, "FIREFLY_HEALTH_TIMER");
        for (const line of ["Type=oneshot", "DynamicUser=yes", `RuntimeDirectory=${relayPaths.healthUnit}`, "RuntimeDirectoryPreserve=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet="]) {
            assert.ok(service.split("\n").includes(line), `missing ${line}`);
        }
        assert.ok(timer.split("\n").includes(`OnUnitInactiveSec=${relayHealthCheck.intervalSeconds}s`));
        const result = verifySystemdUnits({
            [`${relayPaths.healthUnit}.service`]: service.replace(`ExecStart=${relayPaths.healthScript}`, `ExecStart=${script}`),
            [`${relayPaths.healthUnit}.timer`]: timer,
        });
        if (!result) this.skip(); // systemd-analyze is not installed on this machine.
        assert.equal(result.status, 0, result.output);
        assert.equal(result.output, "");
    });

    it("lets the hosts mark instances Unhealthy in their own group only", () => {
        const asg = single(run, types.autoscalingGroup);
        const policy = named(run, "relay-report-health", types.iamRolePolicy);
        assert.deepEqual(JSON.parse(String(policy.inputs.policy)).Statement, [
            { Sid: "MarkOwnGroupInstancesUnhealthy", Effect: "Allow", Action: "autoscaling:SetInstanceHealth", Resource: asg.outputs.arn },
        ]);
    });
});
