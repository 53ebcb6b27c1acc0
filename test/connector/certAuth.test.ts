// certAuth.ts: certificate parsing and identity checks (against files made by ssh-keygen), and
// the containment of the ssh2 fix (one connection at a time, never the shared prototype).
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { Client } from "ssh2";
import { IdentityError, enableCertificateAuth, loadIdentity, parseOpenSshCertificate } from "../../connector/ssh2/certAuth";
import { CertificateAuthority, fingerprintOf, generateKey, makeWorkDir, removeWorkDir } from "../../connector/lab/relay";

describe("certificate parsing and identity checks", function () {
    this.timeout(20_000);
    let dir: string;
    let ca: CertificateAuthority;
    before(async () => {
        dir = makeWorkDir("certauth");
        ca = await CertificateAuthority.create(dir);
    });
    after(() => removeWorkDir(dir));

    it("reads every field ssh-keygen -s wrote", async () => {
        const key = await generateKey(dir, "parse");
        const certFile = await ca.issueUserCertificate(key, { principals: ["customer-a", "ops"], keyId: "agent-7", validity: "20300101:20300201" });
        const cert = parseOpenSshCertificate(readFileSync(certFile, "utf8"));
        assert.equal(cert.certType, "ssh-ed25519-cert-v01@openssh.com");
        assert.equal(cert.keyType, "ssh-ed25519");
        assert.equal(cert.kind, "user");
        assert.equal(cert.keyId, "agent-7");
        assert.deepEqual(cert.principals, ["customer-a", "ops"]);
        assert.deepEqual(cert.extensions, ["permit-port-forwarding"]);
        assert.equal(cert.caFingerprint, await fingerprintOf(ca.key.publicKeyFile));
        assert.equal(cert.validAfter?.getUTCFullYear(), 2030);
        assert.equal(cert.validBefore?.getUTCMonth(), 1);
    });

    it("refuses a certificate that certifies a different key, naming both fingerprints", async () => {
        const key = await generateKey(dir, "mine");
        const other = await generateKey(dir, "other");
        const certFile = await ca.issueUserCertificate(other, { principals: ["customer-a"] });
        await assert.rejects(
            loadIdentity({ privateKeyFile: key.privateKeyFile, certificateFile: certFile }),
            (err: Error) => err instanceof IdentityError && err.field === "identity.certificateFile" && /certifies SHA256:\S+, not the key in identity\.privateKeyFile/.test(err.message),
        );
    });

    it("refuses a certificate without permit-port-forwarding, saying how to re-sign", async () => {
        const key = await generateKey(dir, "noforward");
        const certFile = await ca.issueUserCertificate(key, { principals: ["customer-a"], extensions: ["permit-pty"] });
        await assert.rejects(loadIdentity({ privateKeyFile: key.privateKeyFile, certificateFile: certFile }), /permit-port-forwarding/);
    });

    it("refuses a public key given as the private key, without quoting key material", async () => {
        const key = await generateKey(dir, "pub");
        await assert.rejects(loadIdentity({ privateKeyFile: key.publicKeyFile }), (err: Error) => {
            assert.match(err.message, /^identity\.privateKeyFile: .* holds a public key/);
            assert.ok(!err.message.includes(key.publicKey.split(" ")[1] as string), "key material in the message");
            return true;
        });
    });

    it("reports a missing file by its config field", async () => {
        await assert.rejects(loadIdentity({ privateKeyFile: `${dir}/missing` }), /^IdentityError: identity\.privateKeyFile: cannot read .*ENOENT/);
    });

    it("replaces authPK on one connection only, never on ssh2's shared prototype", () => {
        const Protocol = require("ssh2/lib/protocol/Protocol.js") as { prototype: { authPK: unknown } };
        const original = Protocol.prototype.authPK;
        const client = new Client();
        client.on("error", () => undefined);
        client.connect({ host: "127.0.0.1", port: 9, username: "probe", readyTimeout: 1000 });
        enableCertificateAuth(client);
        const protocol = (client as unknown as { _protocol: { authPK: unknown } })._protocol;
        assert.notEqual(protocol.authPK, original);
        assert.equal(Protocol.prototype.authPK, original);
        client.destroy();
    });
});
