// The agent warns while its certificate can still be renewed, says so once it has expired, and
// exports its end as a metric; a certificate renewed in place ends the warnings. Certificates from
// ssh-keygen (a throwaway CA), a real sshd relay.
import { strict as assert } from "node:assert";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import {
    EXPIRY_WARNING_MAX_MS,
    certificateExpiryNotice,
    expiryWarningPeriodMs,
    humanDuration,
} from "../../connector/certificateExpiry";
import { runCheck } from "../../connector/check";
import { createLogger } from "../../connector/log";
import { LogCapture, startAgent, type InProcessAgent } from "../../connector/lab/agent";
import { OUR_PRINCIPAL, TunnelLab } from "../../connector/lab/lab";
import { sample } from "../../connector/lab/prometheus";
import { freePort } from "../../connector/lab/relay";
import { waitFor } from "../../connector/lab/wait";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("certificate expiry", function () {
    this.timeout(30_000);

    describe("when a certificate counts as close to its end", () => {
        const cert = (validAfter: number | undefined, validBefore: number | undefined) => ({
            keyId: "agent-a",
            serial: 7n,
            validAfter: validAfter === undefined ? undefined : new Date(validAfter),
            validBefore: validBefore === undefined ? undefined : new Date(validBefore),
        });
        const now = Date.UTC(2026, 11, 7, 12);

        it("warns in the last 7 days of a long certificate, not before", () => {
            const monthly = cert(now - 23 * DAY, now + 7 * DAY + 60_000);
            assert.equal(certificateExpiryNotice(monthly, new Date(now)), undefined);
            const notice = certificateExpiryNotice(monthly, new Date(now + 120_000));
            assert.equal(notice?.level, "warn");
            assert.equal(
                notice?.message,
                "certificate 'agent-a' (serial 7) expires at 2026-12-14T12:01:00.000Z, in 6 d 23 h: issue a new one and write it to identity.certificateFile (the agent reads it at every connection attempt, no restart needed)",
            );
        });

        it("warns in the last quarter of a certificate shorter than 28 days, so a 1-day certificate is not a warning all its life", () => {
            assert.equal(expiryWarningPeriodMs(cert(now, now + DAY)), 6 * HOUR);
            assert.equal(expiryWarningPeriodMs(cert(now, now + 60 * DAY)), EXPIRY_WARNING_MAX_MS);
            assert.equal(expiryWarningPeriodMs(cert(undefined, now + DAY)), EXPIRY_WARNING_MAX_MS, "valid from always: 7 days");
            const daily = cert(now - 17 * HOUR, now + 7 * HOUR);
            assert.equal(certificateExpiryNotice(daily, new Date(now)), undefined);
            assert.equal(certificateExpiryNotice(daily, new Date(now + 2 * HOUR))?.level, "warn");
        });

        it("is an error once expired, saying that open sessions carry on and new ones will be refused", () => {
            const notice = certificateExpiryNotice(cert(now - DAY, now - 1000), new Date(now));
            assert.equal(notice?.level, "error");
            assert.equal(notice?.expiresInMs, -1000);
            assert.match(notice!.message, /^certificate 'agent-a' \(serial 7\) expired at 2026-12-07T11:59:59\.000Z: relay sessions already open carry on, every new one will be refused; issue a new one/);
        });

        it("says nothing about a certificate valid forever", () => {
            assert.equal(certificateExpiryNotice(cert(undefined, undefined), new Date(now)), undefined);
        });

        it("writes durations for people", () => {
            assert.deepEqual([42_000, 5 * 60_000, 5 * HOUR + 12 * 60_000, 3 * DAY + 4 * HOUR, -5].map(humanDuration), ["42 s", "5 min", "5 h 12 min", "3 d 4 h", "0 s"]);
        });
    });

    describe("the running agent and check", () => {
        let lab: TunnelLab;
        let agent: InProcessAgent | undefined;
        let healthPort: number;

        before(async () => {
            lab = await TunnelLab.create({ label: "cert-expiry", routes: [{ name: "app", listen: `127.0.0.1:${await freePort()}`, target: "127.0.0.1:9" }] });
        });

        afterEach(async () => {
            await agent?.stop();
            agent = undefined;
        });

        after(async () => {
            await lab?.cleanup();
        });

        const metrics = async () => (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();

        it("warns at start when the certificate is close to its end, exports its end, and stops warning once it is renewed in place", async () => {
            // 32 minutes long with 2 left: inside its last quarter.
            const soon = await lab.ca.issueUserCertificate(lab.agentKey, { principals: [OUR_PRINCIPAL], keyId: "agent-soon", validity: "-30m:+2m" });
            // A file of its own, renewed in place below, as a host's certificate rotation does.
            const certificateFile = join(lab.dir, "renewed-in-place-cert.pub");
            copyFileSync(soon, certificateFile);
            healthPort = await freePort();
            const config = lab.config({ identity: { privateKeyFile: lab.agentKey.privateKeyFile, certificateFile }, health: { listen: `127.0.0.1:${healthPort}` } });
            agent = await startAgent(config, { certificateCheckIntervalMs: 200 });
            const a = agent;
            const warning = a.logs.records.find((r) => r.level === "warn" && /certificate 'agent-soon'/.test(String(r.msg)));
            assert.ok(warning, "a warning at start");
            assert.match(String(warning.msg), /^certificate 'agent-soon' \(serial \d+\) expires at \S+, in (1 min|2 min|1\d\d? s): issue a new one/);
            const soonEnd = Date.parse((warning.certificate as { validBefore: string }).validBefore);
            const serial = (warning.certificate as { serial: string }).serial;
            assert.equal(sample(await metrics(), "firefly_connector_certificate_expiry_timestamp_seconds", { key_id: "agent-soon", serial }), soonEnd / 1000);
            await a.waitUntilReady();

            // Renewed in place: the next look reads the new one, exports it, and the warnings stop.
            // (ssh-keygen writes every certificate of a key to the same <key>-cert.pub: copied at once.)
            const renewed = await lab.ca.issueUserCertificate(lab.agentKey, { principals: [OUR_PRINCIPAL], keyId: "agent-renewed", validity: "-5m:+1h" });
            copyFileSync(renewed, certificateFile);
            await waitFor(async () => /key_id="agent-renewed"/.test(await metrics()), { timeoutMs: 5000, what: "the renewed certificate exported" });
            const text = await metrics();
            assert.doesNotMatch(text, /key_id="agent-soon"/, "the old certificate's sample is gone");
            const warningsBefore = a.logs.records.filter((r) => r.level === "warn" && /certificate '/.test(String(r.msg))).length;
            await new Promise((resolve) => setTimeout(resolve, 600));
            assert.equal(a.logs.records.filter((r) => r.level === "warn" && /certificate '/.test(String(r.msg))).length, warningsBefore, "no more warnings");
        });

        it("logs an error when the certificate has expired while the agent runs", async () => {
            const expired = await lab.ca.issueUserCertificate(lab.agentKey, { principals: [OUR_PRINCIPAL], keyId: "agent-expired", validity: "-2h:-1h" });
            agent = await startAgent(lab.config({ identity: { privateKeyFile: lab.agentKey.privateKeyFile, certificateFile: expired } }));
            const error = agent.logs.records.find((r) => r.level === "error" && /certificate 'agent-expired'/.test(String(r.msg)));
            assert.ok(error, "an error at start");
            assert.match(String(error.msg), /expired at \S+: relay sessions already open carry on, every new one will be refused/);
            assert.ok(Number(error.expiresInSeconds) < -3000);
        });

        it("check prints the warning beside the certificate it reports", async () => {
            const soon = await lab.ca.issueUserCertificate(lab.agentKey, { principals: [OUR_PRINCIPAL], keyId: "agent-soon-check", validity: "-30m:+2m" });
            const result = await runCheck(lab.config({ identity: { privateKeyFile: lab.agentKey.privateKeyFile, certificateFile: soon } }), createLogger({ level: "error", destination: new LogCapture() }));
            const at = result.lines.findIndex((line) => line.startsWith("identity: "));
            assert.match(result.lines[at + 1] ?? "", /^ {2}warning: certificate 'agent-soon-check' \(serial \d+\) expires at \S+, in .*: issue a new one/);
            assert.ok(result.ok, "close to its end is still valid");
        });
    });
});
