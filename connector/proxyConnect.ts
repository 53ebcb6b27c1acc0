// Reaching a relay through the customer's HTTP proxy: one CONNECT per relay connection. A refusal
// is reported as the proxy's (naming it, never its credentials), so an operator looks at the
// proxy and not at the relay.
import { readFile } from "node:fs/promises";
import type { Socket } from "node:net";
import { parseProxyUrl, proxyLabel, type ProxyAddress, type ProxyConfig, type RelayConfig } from "./spec";

export interface ResolvedProxy {
    readonly host: string;
    readonly port: number;
    /** "user:password", or undefined for a proxy without authentication. */
    readonly credentials?: string;
    /** http://host:port, for logs and errors. */
    readonly label: string;
}

/** Why the proxy (not the relay) failed: the error names the proxy. */
export class ProxyError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ProxyError";
    }
}

/** The label of the proxy `relay` goes through (http://host:port), or undefined. No I/O. */
export function proxyLabelFor(relay: Pick<RelayConfig, "proxy">, proxy: ProxyConfig | undefined): string | undefined {
    const chosen = relay.proxy ?? proxy;
    if (chosen === undefined || chosen === "none") return undefined;
    return proxyLabel(parseProxyUrl(typeof chosen === "string" ? chosen : chosen.url) as ProxyAddress);
}

/** The proxy for `relay`: its own, else the top-level one; undefined for "none" or no proxy. Reads credentials now. */
export async function resolveProxy(relay: Pick<RelayConfig, "proxy">, proxy: ProxyConfig | undefined): Promise<ResolvedProxy | undefined> {
    const chosen = relay.proxy ?? proxy;
    if (chosen === undefined || chosen === "none") return undefined;
    const spec = typeof chosen === "string" ? { url: chosen } : chosen;
    const address = parseProxyUrl(spec.url) as ProxyAddress; // validated by the schema
    const label = proxyLabel(address);
    let credentials = address.username !== undefined ? `${address.username}:${address.password ?? ""}` : undefined;
    if (credentials === undefined && "credentialsFile" in spec && spec.credentialsFile) {
        const file = spec.credentialsFile;
        credentials = (
            await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
                throw new ProxyError(`proxy ${label}: cannot read proxy.credentialsFile ${file}: ${err.code ?? err.message}`);
            })
        ).trim();
    }
    if (credentials === undefined && "credentialsEnv" in spec && spec.credentialsEnv) {
        credentials = process.env[spec.credentialsEnv];
        if (!credentials) throw new ProxyError(`proxy ${label}: environment variable ${spec.credentialsEnv} (proxy.credentialsEnv) is not set`);
    }
    if (credentials !== undefined && !credentials.includes(":")) {
        throw new ProxyError(`proxy ${label}: the proxy credentials must be "user:password"`);
    }
    return { host: address.host, port: address.port, label, ...(credentials !== undefined ? { credentials } : {}) };
}

const REASONS: Record<number, string> = {
    401: "the proxy wants credentials, or refused the ones given",
    403: "the proxy forbids CONNECT to this address or port (its ACL or ConnectPort list)",
    407: "the proxy wants credentials, or refused the ones given",
    502: "the proxy could not reach the relay",
    503: "the proxy could not reach the relay",
    504: "the proxy timed out reaching the relay",
};

/**
 * Sends CONNECT host:port on `socket` (connected to the proxy) and resolves once the proxy
 * answered 200: from then on the socket is a byte stream to the relay.
 */
export function httpConnect(socket: Socket, proxy: ResolvedProxy, host: string, port: number, timeoutMs: number): Promise<Socket> {
    const authority = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    const headers = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
    if (proxy.credentials !== undefined) headers.push(`Proxy-Authorization: Basic ${Buffer.from(proxy.credentials).toString("base64")}`);
    return new Promise((resolve, reject) => {
        let received = Buffer.alloc(0);
        const fail = (message: string) => {
            cleanup();
            socket.destroy();
            reject(new ProxyError(`proxy ${proxy.label}: ${message}`));
        };
        const timer = setTimeout(() => fail(`no answer to CONNECT ${authority} within ${timeoutMs} ms`), timeoutMs);
        const onData = (chunk: Buffer) => {
            received = Buffer.concat([received, chunk]);
            const end = received.indexOf("\r\n\r\n");
            if (end < 0) {
                if (received.length > 16 * 1024) fail("answered CONNECT with more than 16 KiB of headers");
                return;
            }
            const status = /^HTTP\/1\.[01] (\d{3})([^\r\n]*)/.exec(received.subarray(0, end).toString("latin1"));
            if (!status) return fail(`answered CONNECT ${authority} with something that is not HTTP`);
            const code = Number(status[1]);
            if (code !== 200) {
                return fail(`refused CONNECT ${authority}: ${code}${status[2]}${REASONS[code] ? ` (${REASONS[code]})` : ""}`);
            }
            cleanup();
            // Paused until the SSH client reads it (it resumes the socket): with nobody listening,
            // a flowing socket would drop the relay's first bytes.
            socket.pause();
            // Whatever followed the headers is the relay's (its SSH banner): give it back to the stream.
            const rest = received.subarray(end + 4);
            if (rest.length > 0) socket.unshift(rest);
            resolve(socket);
        };
        const onClose = () => fail(`closed the connection during CONNECT ${authority}`);
        const onError = (err: NodeJS.ErrnoException) => fail(`failed during CONNECT ${authority}: ${err.code ?? err.message}`);
        function cleanup() {
            clearTimeout(timer);
            socket.off("data", onData);
            socket.off("close", onClose);
            socket.off("error", onError);
        }
        socket.on("data", onData);
        socket.once("close", onClose);
        socket.once("error", onError);
        socket.write(`${headers.join("\r\n")}\r\n\r\n`);
    });
}
