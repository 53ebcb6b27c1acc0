// `firefly-connector issue-cert` for real: ssh-keygen signs, ssh-keygen -L reads the result back.
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseOpenSshCertificate } from "../../connector/ssh2/certAuth";

const root = resolve(__dirname, "..", "..");

// The compiled CLI, as installed (`npm test` builds dist/ first): ts-node would add seconds per run.
function cli(...args: string[]) {
    return spawnSync(process.execPath, [join(root, "dist", "connector", "cli.js"), "issue-cert", ...args], {
        cwd: root,
        encoding: "utf8",
    });
}

describe("firefly-connector issue-cert", function () {
    this.timeout(60_000);
    let dir: string;
    before(() => {
        dir = mkdtempSync(join(tmpdir(), "issue-cert-"));
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "platform-ca", "-f", join(dir, "ca")]);
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "acme-connector", "-f", join(dir, "agent_key")]);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("writes a user certificate for one principal, limited in time, that permits port forwarding and nothing else", () => {
        const result = cli("--ca", join(dir, "ca"), "--public-key", join(dir, "agent_key.pub"), "--principal", "customer-acme", "--validity", "-5m:+30d", "--key-id", "acme-2025", "--serial", "42");
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, new RegExp(`^wrote ${join(dir, "agent_key-cert.pub")}`));
        // Read back by OpenSSH itself.
        const listing = execFileSync("ssh-keygen", ["-L", "-f", join(dir, "agent_key-cert.pub")], { encoding: "utf8" });
        assert.match(listing, /Type: ssh-ed25519-cert-v01@openssh\.com user certificate/);
        assert.match(listing, /Key ID: "acme-2025"/);
        assert.match(listing, /Serial: 42/);
        assert.match(listing, /Principals: \n\s+customer-acme\n/);
        assert.match(listing, /Critical Options: \(none\)/);
        assert.match(listing, /Extensions: \n\s+permit-port-forwarding\n\s*$/);
        const valid = /Valid: from (\S+) to (\S+)/.exec(listing);
        assert.ok(valid, listing);
        const days = (Date.parse(valid[2]!) - Date.parse(valid[1]!)) / 86_400_000;
        assert.ok(days > 29.9 && days < 30.1, `valid for ${days} days`);
    });

    it("issues what the agent's own certificate parser accepts for its key", () => {
        const result = cli("--ca", join(dir, "ca"), "--public-key", join(dir, "agent_key.pub"), "--principal", "customer-acme");
        assert.equal(result.status, 0, result.stderr);
        const cert = parseOpenSshCertificate(readFileSync(join(dir, "agent_key-cert.pub"), "utf8"));
        assert.equal(cert.kind, "user");
        assert.deepEqual(cert.principals, ["customer-acme"]);
        assert.deepEqual(cert.extensions, ["permit-port-forwarding"]);
        assert.deepEqual(cert.criticalOptions, []);
        assert.ok(readFileSync(join(dir, "ca.pub"), "utf8").startsWith("ssh-ed25519 "));
    });

    for (const [what, args, expected] of [
        ["a certificate that never expires", ["--validity", "always:forever"], /--validity must end/],
        ["a principal with a comma (two principals)", ["--principal", "customer-acme,customer-globex"], /--principal must be 1-128 characters/],
        ["the private key instead of the .pub", ["--public-key", "KEY"], /--public-key must be the \.pub file/],
    ] as const) {
        it(`refuses ${what}`, () => {
            const base: Record<string, string> = { "--ca": join(dir, "ca"), "--public-key": join(dir, "agent_key.pub"), "--principal": "customer-acme" };
            const overrides = Object.fromEntries([[args[0], args[1] === "KEY" ? join(dir, "agent_key") : args[1]]]);
            const result = cli(...Object.entries({ ...base, ...overrides }).flat());
            assert.equal(result.status, 1);
            assert.match(result.stderr, expected);
        });
    }
});
