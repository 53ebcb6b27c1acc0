// Runs the relay host's user data for real: the real bash, ssh-keygen and `sshd -t` of this
// machine, inside a private mount namespace whose /etc/ssh is a throwaway directory, so the
// absolute paths the generated sshd_config names are the ones checked. Stand-ins first on PATH
// answer for aws (the host key secret), useradd/usermod/id and systemctl, and record their calls.
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { relayPaths } from "../../../components/tunnel/userData";
import { defaultRelayRun, heredocIn, userCaKey, userDataOf } from "../../helpers/tunnel";
import { removeScriptRuns, runScript, scratchDirectory, type ScriptRun } from "../../helpers/userData";

/** A private mount namespace needs root and unshare; the test command runs as root (sshd needs it too). */
function canIsolate(): boolean {
    return process.getuid?.() === 0 && spawnSync("unshare", ["-m", "true"]).status === 0 && fs.existsSync("/usr/sbin/sshd");
}

interface Boot extends ScriptRun {
    /** The throwaway directory mounted on /etc/ssh during the run. */
    etc: string;
    /** Mounted on /etc/systemd/system. */
    units: string;
    /** Mounted on /usr/local/sbin. */
    sbin: string;
}

async function boot(userData: string, hostKeyFile: string, previousSshdConfig: string): Promise<Boot> {
    let etc = "";
    let units = "";
    let sbin = "";
    const run = await runScript(userData, {
        stubs: {
            aws: 'if [ "$1" = secretsmanager ]; then cat "$HOST_KEY_FILE"; fi',
            useradd: "",
            usermod: "",
            systemctl: "",
            id: "exit 0",
        },
        env: { HOST_KEY_FILE: hostKeyFile },
        setup: (dir) => {
            etc = path.join(dir, "etc-ssh");
            units = path.join(dir, "systemd-system");
            sbin = path.join(dir, "usr-local-sbin");
            for (const d of [etc, units, sbin]) fs.mkdirSync(d);
            fs.writeFileSync(path.join(etc, "sshd_config"), previousSshdConfig);
        },
        command: (script) => [
            "unshare",
            ["-m", "--propagation", "private", "bash", "-c", `mount --bind "${etc}" /etc/ssh && mount --bind "${units}" /etc/systemd/system && mount --bind "${sbin}" /usr/local/sbin && exec bash "${script}"`],
        ],
    });
    return { ...run, etc, units, sbin };
}

describe("TunnelRelay user data, run for real with sshd -t in a private mount namespace", function () {
    this.timeout(60_000);
    let userData: string;
    let hostKeyFile: string;

    const isolated = canIsolate();

    before(async function () {
        if (!isolated) {
            this.skip(); // reported as pending: needs root, unshare and sshd (the test command has them)
        }
        const run = await defaultRelayRun();
        userData = userDataOf(run);
        hostKeyFile = path.join(scratchDirectory("relay-host-key"), "host_key");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "relay", "-f", hostKeyFile]);
    });

    it("installs the generator's sshd_config after sshd -t accepts it, then restarts sshd", async () => {
        const result = await boot(userData, hostKeyFile, "# the AMI's config\n");
        assert.equal(result.status, 0, result.output);
        // The files the user data carries (tunnelRelay.test.ts checks they are the generator's output).
        assert.equal(fs.readFileSync(path.join(result.etc, "sshd_config"), "utf8"), heredocIn(userData, "FIREFLY_SSHD_CONFIG"));
        assert.equal(fs.readFileSync(path.join(result.etc, path.basename(relayPaths.principals)), "utf8"), heredocIn(userData, "FIREFLY_PRINCIPALS"));
        assert.equal(fs.readFileSync(path.join(result.etc, path.basename(relayPaths.userCaKeys)), "utf8"), `${userCaKey}\n`);
        // sshd refuses every key when its RevokedKeys file is missing: it is written, readable, with nothing revoked.
        const revoked = path.join(result.etc, path.basename(relayPaths.revokedKeys));
        assert.equal(fs.readFileSync(revoked, "utf8"), heredocIn(userData, "FIREFLY_REVOKED_KEYS"));
        assert.equal(fs.statSync(revoked).mode & 0o777, 0o644);
        assert.match(fs.readFileSync(path.join(result.etc, "sshd_config"), "utf8"), new RegExp(`^RevokedKeys ${relayPaths.revokedKeys}$`, "m"));
        assert.ok(result.calls.includes("systemctl restart sshd.service"), result.calls.join("\n"));
        assert.ok(result.calls.some((c) => c.startsWith("usermod -p * tunnel")), "the login user is unlocked without a password");
    });

    it("installs the sshd health check and starts its timer once sshd runs the new config", async () => {
        const result = await boot(userData, hostKeyFile, "");
        assert.equal(result.status, 0, result.output);
        const script = path.join(result.sbin, path.basename(relayPaths.healthScript));
        assert.equal(fs.statSync(script).mode & 0o777, 0o755);
        assert.equal(fs.readFileSync(script, "utf8"), heredocIn(userData, "FIREFLY_HEALTH_SCRIPT"));
        for (const unit of [`${relayPaths.healthUnit}.service`, `${relayPaths.healthUnit}.timer`]) assert.ok(fs.existsSync(path.join(result.units, unit)), unit);
        const restart = result.calls.indexOf("systemctl restart sshd.service");
        const enable = result.calls.indexOf(`systemctl enable --now ${relayPaths.healthUnit}.timer`);
        assert.ok(restart >= 0 && enable > restart, result.calls.join("\n"));
    });

    it("installs the stack's host key privately, with the public half the connectors pin", async () => {
        const result = await boot(userData, hostKeyFile, "");
        assert.equal(result.status, 0, result.output);
        const installed = path.join(result.etc, path.basename(relayPaths.hostKey));
        assert.equal(fs.statSync(installed).mode & 0o777, 0o600);
        const pub = fs.readFileSync(`${installed}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
        assert.equal(pub, fs.readFileSync(`${hostKeyFile}.pub`, "utf8").split(" ").slice(0, 2).join(" "));
    });

    it("keeps the running config and does not restart sshd when sshd -t refuses the new one", async () => {
        const broken = userData.replace("\nFIREFLY_SSHD_CONFIG\n", "\nNotAnSshdOption yes\nFIREFLY_SSHD_CONFIG\n");
        assert.notEqual(broken, userData, "the test found the sshd_config heredoc");
        const result = await boot(broken, hostKeyFile, "# the AMI's config\n");
        assert.notEqual(result.status, 0);
        assert.match(result.output, /NotAnSshdOption/);
        assert.equal(fs.readFileSync(path.join(result.etc, "sshd_config"), "utf8"), "# the AMI's config\n");
        assert.ok(!result.calls.some((c) => c.startsWith("systemctl restart")));
    });

    after(() => removeScriptRuns());
});
