// Services the tunnel carries traffic to: a "private" HTTPS service (answering HEAD like the
// seed's curl check), and a bulk sender for long transfers. All on 127.0.0.1, random ports.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer as createHttpsServer, request as httpsRequest, type Server as HttpsServer } from "node:https";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import { promisify } from "node:util";
import type { NetworkNamespace } from "../../../connector/lab/netns";
import { tryConnect } from "../../../connector/lab/relay";

const execFileAsync = promisify(execFile);

export interface TlsMaterial {
    readonly key: Buffer;
    readonly cert: Buffer;
    readonly serverName: string;
}

/** A self-signed certificate for `serverName` and 127.0.0.1, made with openssl (files removed after). */
export async function makeTlsMaterial(serverName = "private.internal"): Promise<TlsMaterial> {
    const dir = mkdtempSync(join(tmpdir(), "firefly-tls-"));
    try {
        const keyFile = join(dir, "tls.key");
        const certFile = join(dir, "tls.crt");
        await execFileAsync("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", `/CN=${serverName}`,
            "-addext", `subjectAltName=DNS:${serverName},IP:127.0.0.1`,
        ]);
        return { key: readFileSync(keyFile), cert: readFileSync(certFile), serverName };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

export interface RunningServer {
    readonly port: number;
    close(): Promise<void>;
}

function closeServer(server: Server | HttpsServer, sockets: Set<Socket>): Promise<void> {
    return new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
    });
}

function trackSockets(server: Server | HttpsServer): Set<Socket> {
    const sockets = new Set<Socket>();
    server.on("connection", (socket: Socket) => {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
    });
    return sockets;
}

/** HTTPS service that answers every request with 200 and names itself in `x-served-by`. */
export async function startHttpsService(tls: TlsMaterial, name: string): Promise<RunningServer> {
    const server = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
        res.writeHead(200, { "x-served-by": name, "content-type": "text/plain" });
        res.end(req.method === "HEAD" ? undefined : `hello from ${name}\n`);
    });
    const sockets = trackSockets(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { port: (server.address() as AddressInfo).port, close: () => closeServer(server, sockets) };
}

export interface HeadResult {
    readonly status: number;
    readonly servedBy: string | undefined;
}

/**
 * HEAD / over TLS, verifying the service certificate (what `curl -I --cacert` does). `socket`
 * lets the request ride an already connected stream, e.g. a SOCKS tunnel.
 */
export function httpsHead(tls: TlsMaterial, options: { port: number; host?: string; socket?: Duplex }): Promise<HeadResult> {
    return new Promise((resolve, reject) => {
        const req = httpsRequest(
            {
                method: "HEAD",
                host: options.host ?? "127.0.0.1",
                port: options.port,
                path: "/",
                ca: tls.cert,
                servername: tls.serverName,
                agent: false,
                timeout: 10_000,
                ...(options.socket
                    ? { createConnection: () => tlsConnect({ socket: options.socket as Duplex, ca: tls.cert, servername: tls.serverName }) }
                    : {}),
            },
            (res) => {
                res.resume();
                res.once("end", () => resolve({ status: res.statusCode ?? 0, servedBy: res.headers["x-served-by"] as string | undefined }));
            },
        );
        req.once("timeout", () => req.destroy(new Error("HEAD request timed out")));
        req.once("error", reject);
        req.end();
    });
}

/** Deterministic pseudo-random bytes, so a receiver can check a transfer by its hash. */
export function testPayload(size: number): Buffer {
    const out = Buffer.allocUnsafe(size);
    let block = createHash("sha256").update("firefly").digest();
    for (let offset = 0; offset < size; offset += block.length) {
        block.copy(out, offset);
        block = createHash("sha256").update(block).digest();
    }
    return out;
}

export function sha256(data: Buffer): string {
    return createHash("sha256").update(data).digest("hex");
}

/**
 * TCP service that, per connection, sends `payload` in `chunkSize` pieces, pausing
 * `chunkDelayMs` between them (a long transfer), then closes. Also echoes nothing back.
 */
export async function startBulkSender(payload: Buffer, chunkSize: number, chunkDelayMs: number): Promise<RunningServer & { connections(): number }> {
    let connections = 0;
    const server = createServer((socket) => {
        connections++;
        socket.on("error", () => undefined);
        let offset = 0;
        const sendNext = () => {
            if (socket.destroyed) return;
            if (offset >= payload.length) {
                socket.end();
                return;
            }
            const chunk = payload.subarray(offset, offset + chunkSize);
            offset += chunk.length;
            socket.write(chunk, () => setTimeout(sendNext, chunkDelayMs));
        };
        sendNext();
    });
    const sockets = trackSockets(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { port: (server.address() as AddressInfo).port, close: () => closeServer(server, sockets), connections: () => connections };
}

/** TCP echo service. */
/** An echo service on 127.0.0.1 (on `port`, default a free one). */
export async function startEchoService(port = 0): Promise<RunningServer> {
    const server = createServer((socket) => {
        socket.on("error", () => undefined);
        socket.pipe(socket);
    });
    const sockets = trackSockets(server);
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    return { port: (server.address() as AddressInfo).port, close: () => closeServer(server, sockets) };
}

/** Sends `payload` to 127.0.0.1:`port` (an echo service, possibly through the tunnel), half-closes, and resolves with all that came back. */
export function echoThrough(port: number, payload: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port });
        const received: Buffer[] = [];
        socket.on("data", (chunk: Buffer) => received.push(chunk));
        socket.once("end", () => resolve(Buffer.concat(received)));
        socket.once("error", reject);
        socket.end(payload);
    });
}

/** httpsHead() from inside a network namespace (where another relay's route listens). */
export async function httpsHeadInNamespace(namespace: NetworkNamespace, tls: TlsMaterial, port: number): Promise<HeadResult> {
    const script = `
        const req = require("node:https").request(
            { method: "HEAD", host: "127.0.0.1", port: Number(process.env.PORT), ca: process.env.CA, servername: process.env.SNI, agent: false, timeout: 10000 },
            (res) => { res.resume(); process.stdout.write(JSON.stringify({ status: res.statusCode, servedBy: res.headers["x-served-by"] })); });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (e) => { console.error(e.message); process.exit(1); });
        req.end();`;
    const out = await namespace.runNode(script, { PORT: String(port), CA: tls.cert.toString(), SNI: tls.serverName });
    return JSON.parse(out) as HeadResult;
}

/** A client reading everything a forwarded port sends until it closes. */
export function startTransfer(port: number): { received: Buffer[]; done: Promise<void> } {
    const received: Buffer[] = [];
    const client = connect({ host: "127.0.0.1", port });
    const done = new Promise<void>((resolve, reject) => {
        client.on("data", (chunk: Buffer) => received.push(chunk));
        client.once("end", resolve);
        client.once("close", () => resolve());
        client.once("error", reject);
    });
    return { received, done };
}

/** GET status of a loopback HTTP endpoint (0 when it does not answer). */
export function httpStatus(port: number, path: string): Promise<number> {
    return fetch(`http://127.0.0.1:${port}${path}`).then(
        (res) => res.status,
        () => 0,
    );
}

/** True when nothing listens on the loopback port. */
export async function connectionRefused(port: number): Promise<boolean> {
    return (await tryConnect(port)) === "ECONNREFUSED";
}
