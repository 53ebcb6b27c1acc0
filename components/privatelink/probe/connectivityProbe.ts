// The connectivity probe: what `curl -I https://<hostname>` checks, as a function that reports
// which step failed. It runs inside the ConnectivityCheck Lambda (in the endpoint's subnets) or
// on the deploy runner, so this file must stay self-contained: Node built-ins only, no imports
// from the rest of the package (its compiled text is shipped as the Lambda's code).
import * as dns from "node:dns";
import * as net from "node:net";
import * as tls from "node:tls";

export interface ProbeRequest {
    /** Name (or address) to connect to, e.g. the endpoint's stable hostname. */
    host: string;
    port: number;
    /** Do a TLS handshake after connecting. Default true. */
    tls?: boolean;
    /**
     * Name sent as SNI and checked against the certificate. Default: `host`. Set it when the
     * service's certificate names the service (gitlab.acme.com) rather than the endpoint name.
     */
    servername?: string;
    /** Fail when the certificate does not verify (default true). False: report it, still pass. */
    rejectUnauthorized?: boolean;
    /** Extra trusted CA certificates (PEM), e.g. the customer's private CA. */
    caPem?: string;
    /** Send `HEAD <path>` after the handshake and require a status line. Default: no request. */
    httpHeadPath?: string;
    /** Overall deadline for all steps, milliseconds. Default 10000. */
    timeoutMs?: number;
}

export type ProbeStage = "dns" | "connect" | "tls" | "http";

export interface ProbeResult {
    ok: boolean;
    host: string;
    port: number;
    /** The address the name resolved to. */
    address?: string;
    /** Milliseconds each completed step took. */
    timings: Partial<Record<ProbeStage, number>>;
    tls?: {
        protocol: string | null;
        cipher: string;
        authorized: boolean;
        authorizationError?: string;
        subject?: string;
        validTo?: string;
    };
    http?: { statusLine: string; statusCode: number };
    /** Set when `ok` is false: the step that failed and why. */
    failure?: { stage: ProbeStage; code?: string; message: string };
}

class StageError extends Error {
    constructor(
        readonly stage: ProbeStage,
        message: string,
        readonly code?: string,
    ) {
        super(message);
    }
}

/** Resolves, connects, shakes hands and optionally sends a HEAD request; never throws. */
export async function probeConnectivity(request: ProbeRequest): Promise<ProbeResult> {
    const result: ProbeResult = { ok: false, host: request.host, port: request.port, timings: {} };
    const deadline = Date.now() + (request.timeoutMs ?? 10_000);
    const remaining = () => Math.max(1, deadline - Date.now());
    let socket: net.Socket | undefined;
    try {
        let started = Date.now();
        const { address } = await withDeadline("dns", remaining(), dns.promises.lookup(request.host));
        result.address = address;
        result.timings.dns = Date.now() - started;

        started = Date.now();
        socket = await withDeadline("connect", remaining(), connect(address, request.port));
        result.timings.connect = Date.now() - started;

        let stream: net.Socket = socket;
        if (request.tls ?? true) {
            started = Date.now();
            const { secure, authorizationError } = await withDeadline("tls", remaining(), handshake(socket, request));
            result.timings.tls = Date.now() - started;
            const cert = secure.getPeerCertificate();
            result.tls = {
                protocol: secure.getProtocol(),
                cipher: secure.getCipher().name,
                authorized: authorizationError === undefined,
                ...(authorizationError ? { authorizationError } : {}),
                ...(cert && cert.subject ? { subject: formatSubject(cert.subject), validTo: cert.valid_to } : {}),
            };
            stream = secure;
        }

        if (request.httpHeadPath !== undefined) {
            started = Date.now();
            const statusLine = await withDeadline("http", remaining(), headRequest(stream, request));
            result.timings.http = Date.now() - started;
            const code = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(statusLine);
            if (!code) throw new StageError("http", `the reply is not HTTP: ${JSON.stringify(statusLine.slice(0, 80))}`);
            result.http = { statusLine, statusCode: Number(code[1]) };
        }
        result.ok = true;
    } catch (err) {
        const stageError =
            err instanceof StageError ? err : new StageError("connect", err instanceof Error ? err.message : String(err));
        result.failure = {
            stage: stageError.stage,
            message: stageError.message,
            ...(stageError.code ? { code: stageError.code } : {}),
        };
    } finally {
        socket?.destroy();
    }
    return result;
}

/** One sentence for a failed probe: what failed, where, and the likely cause to look at. */
export function describeFailure(result: ProbeResult): string {
    const target = `${result.host}:${result.port}${result.address ? ` (${result.address})` : ""}`;
    const failure = result.failure;
    if (!failure) return `connectivity to ${target} works`;
    const hints: Record<ProbeStage, string> = {
        dns: "check the private hosted zone is associated with this VPC and the alias record exists",
        connect:
            "check the customer accepted the endpoint connection, the endpoint's security group allows this source on the port, and the NLB's targets are healthy",
        tls: "the path is open but the TLS handshake failed: check the service's certificate, the SNI name (servername) and TLS 1.2+ support",
        http: "TLS works but the service did not answer HTTP: check the target serves HTTP on this port",
    };
    const code = failure.code ? ` [${failure.code}]` : "";
    return `connectivity check to ${target} failed at ${failure.stage}${code}: ${failure.message}; ${hints[failure.stage]}`;
}

/** The event the Lambda receives from `aws.lambda.Invocation`. */
export interface ProbeEvent {
    request: ProbeRequest;
    /** False while the path cannot work yet (e.g. endpoint pending acceptance): report a skip. */
    ready?: boolean;
    notReadyReason?: string;
}

export type ProbeOutcome = (ProbeResult & { skipped?: false }) | { skipped: true; reason: string };

/**
 * Lambda entry point. Throws on failure, so `aws.lambda.Invocation` (and with it the deployment)
 * fails with the message; returns the result otherwise.
 */
export async function handler(event: ProbeEvent): Promise<ProbeOutcome> {
    if (event.ready === false) {
        return { skipped: true, reason: event.notReadyReason ?? "the path is not ready yet" };
    }
    const result = await probeConnectivity(event.request);
    if (!result.ok) throw new Error(describeFailure(result));
    return result;
}

function withDeadline<T>(stage: ProbeStage, ms: number, work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new StageError(stage, `timed out after ${ms} ms`, "ETIMEDOUT")), ms);
        work.then(
            (value) => {
                clearTimeout(timer);
                resolve(value);
            },
            (err: unknown) => {
                clearTimeout(timer);
                if (err instanceof StageError) return reject(err);
                const e = err as NodeJS.ErrnoException;
                reject(new StageError(stage, e?.message ?? String(err), e?.code));
            },
        );
    });
}

function connect(address: string, port: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
        const socket = net.connect({ host: address, port });
        socket.once("connect", () => {
            socket.removeListener("error", reject);
            resolve(socket);
        });
        socket.once("error", (err) => {
            socket.destroy();
            reject(err);
        });
    });
}

/** Completes the handshake; `authorizationError` says why the certificate is not trusted, if it is not. */
function handshake(socket: net.Socket, request: ProbeRequest): Promise<{ secure: tls.TLSSocket; authorizationError?: string }> {
    return new Promise((resolve, reject) => {
        const servername = request.servername ?? request.host;
        const secure = tls.connect({
            socket,
            servername: net.isIP(servername) ? undefined : servername,
            minVersion: "TLSv1.2",
            // Verified below ourselves, so an unverified certificate can be reported, not hidden.
            rejectUnauthorized: false,
            ...(request.caPem ? { ca: [...tls.rootCertificates, request.caPem] } : {}),
        });
        secure.once("secureConnect", () => {
            secure.removeListener("error", reject);
            const error = secure.authorizationError
                ? String(secure.authorizationError)
                : tls.checkServerIdentity(servername, secure.getPeerCertificate())?.message;
            if (error && (request.rejectUnauthorized ?? true)) {
                secure.destroy();
                reject(new StageError("tls", `certificate not trusted for ${servername}: ${error}`, "CERT_UNTRUSTED"));
                return;
            }
            resolve(error ? { secure, authorizationError: error } : { secure });
        });
        secure.once("error", reject);
    });
}

function headRequest(stream: net.Socket, request: ProbeRequest): Promise<string> {
    return new Promise((resolve, reject) => {
        const hostHeader = request.servername ?? request.host;
        let received = "";
        const onData = (chunk: Buffer) => {
            received += chunk.toString("latin1");
            const end = received.indexOf("\r\n");
            if (end >= 0) {
                cleanup();
                resolve(received.slice(0, end));
            } else if (received.length > 8192) {
                cleanup();
                reject(new StageError("http", "no HTTP status line in the first 8 KiB of the reply"));
            }
        };
        const onEnd = () => {
            cleanup();
            reject(new StageError("http", received ? `connection closed mid status line: ${JSON.stringify(received.slice(0, 80))}` : "connection closed without a reply", "ECONNRESET"));
        };
        const cleanup = () => {
            stream.removeListener("data", onData);
            stream.removeListener("end", onEnd);
            stream.removeListener("error", reject);
        };
        stream.on("data", onData);
        stream.once("end", onEnd);
        stream.once("error", reject);
        stream.write(
            `HEAD ${request.httpHeadPath} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: firefly-connectivity-check\r\nConnection: close\r\n\r\n`,
        );
    });
}

function formatSubject(subject: tls.Certificate): string {
    return Object.entries(subject)
        .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join("+") : String(value)}`)
        .join(", ");
}
