import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as tls from "node:tls";
import { describeFailure, handler, probeConnectivity, ProbeResult } from "../../../components/privatelink/probe/connectivityProbe";
import { probeModuleSource, probeRunnerScript } from "../../../components/privatelink/probe/probeSource";
import { makeTestPki, TestPki } from "../../helpers/tls";

/** A local HTTPS-ish server: TLS with the test PKI, answering any request with a status line. */
function startTlsServer(pki: TestPki, options: { reply?: string; maxVersion?: tls.SecureVersion } = {}) {
    const server = tls.createServer(
        { key: pki.keyPem, cert: pki.certPem, ...(options.maxVersion ? { maxVersion: options.maxVersion, minVersion: "TLSv1" } : {}) },
        (socket) => {
            socket.on("data", () => {
                socket.end(options.reply ?? "HTTP/1.1 204 No Content\r\nServer: test\r\n\r\n");
            });
            socket.on("error", () => undefined);
        },
    );
    server.on("tlsClientError", () => undefined);
    return listen(server);
}

function listen<T extends net.Server>(server: T): Promise<{ server: T; port: number }> {
    return new Promise((resolve) => {
        server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as net.AddressInfo).port }));
    });
}

async function closedPort(): Promise<number> {
    const { server, port } = await listen(net.createServer());
    await new Promise((resolve) => server.close(resolve));
    return port;
}

describe("connectivity probe (against a real local TLS server)", () => {
    let pki: TestPki;
    const servers: net.Server[] = [];
    before(() => {
        pki = makeTestPki(["localhost", "gitlab.acme.example.com"]);
    });
    after(() => {
        for (const s of servers) s.close();
        pki.cleanup();
    });
    async function tlsServer(options?: Parameters<typeof startTlsServer>[1]) {
        const started = await startTlsServer(pki, options);
        servers.push(started.server);
        return started.port;
    }

    it("passes a TCP connect, a verified TLS 1.2+ handshake and an HTTP HEAD, like curl -I", async () => {
        const port = await tlsServer();
        const result = await probeConnectivity({ host: "localhost", port, caPem: pki.caPem, httpHeadPath: "/" });
        assert.equal(result.ok, true, JSON.stringify(result.failure));
        assert.equal(result.address, "127.0.0.1");
        assert.equal(result.tls?.authorized, true);
        assert.match(result.tls?.protocol ?? "", /^TLSv1\.[23]$/);
        assert.equal(result.http?.statusCode, 204);
        assert.equal(result.http?.statusLine, "HTTP/1.1 204 No Content");
        for (const stage of ["dns", "connect", "tls", "http"] as const) assert.equal(typeof result.timings[stage], "number");
    });

    it("verifies the certificate against servername when it differs from the host", async () => {
        const port = await tlsServer();
        const ok = await probeConnectivity({ host: "127.0.0.1", port, servername: "gitlab.acme.example.com", caPem: pki.caPem });
        assert.equal(ok.ok, true, JSON.stringify(ok.failure));
        const wrongName = await probeConnectivity({ host: "127.0.0.1", port, servername: "other.example.com", caPem: pki.caPem });
        assert.equal(wrongName.ok, false);
        assert.equal(wrongName.failure?.stage, "tls");
        assert.match(wrongName.failure!.message, /other\.example\.com/);
    });

    it("fails at tls on an untrusted certificate, and only reports it when rejectUnauthorized is false", async () => {
        const port = await tlsServer();
        const strict = await probeConnectivity({ host: "localhost", port });
        assert.equal(strict.ok, false);
        assert.equal(strict.failure?.stage, "tls");
        assert.equal(strict.failure?.code, "CERT_UNTRUSTED");
        const lenient = await probeConnectivity({ host: "localhost", port, rejectUnauthorized: false });
        assert.equal(lenient.ok, true);
        assert.equal(lenient.tls?.authorized, false);
        assert.match(lenient.tls?.authorizationError ?? "", /UNABLE_TO_VERIFY|certificate/i);
    });

    it("refuses a server that only speaks TLS 1.1", async () => {
        const port = await tlsServer({ maxVersion: "TLSv1.1" });
        const result = await probeConnectivity({ host: "localhost", port, caPem: pki.caPem });
        assert.equal(result.ok, false);
        assert.equal(result.failure?.stage, "tls");
    });

    it("fails at connect with ECONNREFUSED when nothing listens", async () => {
        const port = await closedPort();
        const result = await probeConnectivity({ host: "127.0.0.1", port });
        assert.equal(result.ok, false);
        assert.deepEqual([result.failure?.stage, result.failure?.code], ["connect", "ECONNREFUSED"]);
        assert.match(describeFailure(result), /failed at connect \[ECONNREFUSED\].*accepted the endpoint connection/);
    });

    it("fails at dns for a name that does not resolve", async () => {
        const result = await probeConnectivity({ host: "no-such-host.invalid", port: 443, timeoutMs: 5000 });
        assert.equal(result.ok, false);
        assert.equal(result.failure?.stage, "dns");
        assert.match(describeFailure(result), /private hosted zone/);
    });

    it("times out at tls when the server accepts but never answers", async () => {
        const silent = await listen(net.createServer(() => undefined));
        servers.push(silent.server);
        const started = Date.now();
        const result = await probeConnectivity({ host: "127.0.0.1", port: silent.port, timeoutMs: 300 });
        assert.equal(result.failure?.stage, "tls");
        assert.equal(result.failure?.code, "ETIMEDOUT");
        assert.ok(Date.now() - started < 3000, "respects the deadline");
    });

    it("fails at http when the TLS service does not speak HTTP", async () => {
        const port = await tlsServer({ reply: "SSH-2.0-OpenSSH_9.2\r\n" });
        const result = await probeConnectivity({ host: "localhost", port, caPem: pki.caPem, httpHeadPath: "/" });
        assert.equal(result.failure?.stage, "http");
        assert.match(result.failure!.message, /not HTTP/);
    });

    it("checks plain TCP when tls is off", async () => {
        const { server, port } = await listen(net.createServer((s) => s.end()));
        servers.push(server);
        const result: ProbeResult = await probeConnectivity({ host: "127.0.0.1", port, tls: false });
        assert.equal(result.ok, true);
        assert.equal(result.tls, undefined);
    });

    describe("Lambda handler", () => {
        it("returns the result on success and throws the described failure otherwise", async () => {
            const port = await tlsServer();
            const ok = await handler({ request: { host: "localhost", port, caPem: pki.caPem, httpHeadPath: "/" } });
            assert.equal(ok.skipped, undefined);
            assert.equal(ok.skipped !== true && ok.ok, true);
            const closed = await closedPort();
            await assert.rejects(handler({ request: { host: "127.0.0.1", port: closed } }), /failed at connect \[ECONNREFUSED\]/);
        });

        it("records a skip without probing while the path is not ready", async () => {
            const closed = await closedPort();
            const outcome = await handler({ ready: false, notReadyReason: "pending acceptance", request: { host: "127.0.0.1", port: closed } });
            assert.deepEqual(outcome, { skipped: true, reason: "pending acceptance" });
        });
    });

    describe("shipped artifacts", () => {
        it("the Lambda's index.js is self-contained and its handler probes a real server", async () => {
            const dir = fs.mkdtempSync(path.join(pki.dir, "lambda-"));
            const file = path.join(dir, "index.js");
            fs.writeFileSync(file, probeModuleSource());
            assert.doesNotMatch(fs.readFileSync(file, "utf8"), /require\("(?!node:)/, "imports Node built-ins only");
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const lambda = require(file) as { handler: typeof handler };
            const port = await tlsServer();
            const outcome = await lambda.handler({ request: { host: "localhost", port, caPem: pki.caPem, httpHeadPath: "/" } });
            assert.ok(outcome.skipped !== true, "probed, not skipped");
            assert.equal(outcome.ok, true);
        });

        it("the runner script exits 0 with the result on success and 1 with the reason on failure", async () => {
            const port = await tlsServer();
            // Asynchronous: the test's own TLS server must keep answering while the child runs.
            const run = (event: unknown) =>
                new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
                    const child = spawn(process.execPath, ["-"], {
                        env: { ...process.env, FIREFLY_PROBE_EVENT: JSON.stringify(event) },
                    });
                    let stdout = "";
                    let stderr = "";
                    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
                    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
                    child.on("close", (status) => resolve({ status, stdout, stderr }));
                    child.stdin.end(probeRunnerScript());
                });
            const ok = await run({ request: { host: "localhost", port, caPem: pki.caPem, httpHeadPath: "/" } });
            assert.equal(ok.status, 0, ok.stderr);
            assert.equal(JSON.parse(ok.stdout).http.statusCode, 204);
            const closed = await closedPort();
            const failed = await run({ request: { host: "127.0.0.1", port: closed } });
            assert.equal(failed.status, 1);
            assert.match(failed.stderr, /failed at connect \[ECONNREFUSED\]/);
        });
    });
});
