// One outbound SSH connection to one relay: TCP connect, pinned host key, certificate (or plain
// key) authentication, remote forward requests, and the forwarded connections it carries. It
// knows nothing about retrying: the supervisor decides what happens after it ends.
import type { Socket } from "node:net";
import { Client, type AuthMethod, type ClientChannel, type ConnectConfig, type PublicKeyAuthMethod, type TcpConnectionDetails } from "ssh2";
import { authenticationKey, enableCertificateAuth, explainAuthenticationFailure, type Identity } from "./ssh2/certAuth";
import { enableDirectRelayWrites, type DirectWriter } from "./directWrites";
import { enablePacketReuse } from "./ssh2/packetReuse";
import { connectWithSlabReads, enableRelayReadReuse } from "./ssh2/relayReads";
import { OnwardConnectError, StreamTracker, type OutputGate } from "./forwarding";
import { httpConnect, ProxyError, type ResolvedProxy } from "./proxyConnect";
import { DEFAULT_CIPHERS, HOST_KEY_SIGNATURE_ALGORITHMS, HostKeyPins, KEX_ALGORITHMS, keyBlobType, MAC_ALGORITHMS, sha256Fingerprint, type SshCipher } from "./spec";
import type { Logger } from "./log";
import type { ForwardedConnection } from "./routes";

export type RelayFailureKind =
    | "identity"
    | "tcp"
    | "host_key"
    | "auth"
    | "timeout"
    | "keepalive"
    | "socket"
    | "disconnected"
    | "closed"
    | "protocol"
    | "proxy";

/** Why a relay connection could not be made or why it ended, in words an operator can act on. */
export class RelayError extends Error {
    constructor(readonly kind: RelayFailureKind, message: string) {
        super(message);
        this.name = "RelayError";
    }
}

export interface RelayConnectionOptions {
    readonly label: string;
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly identity: Identity;
    readonly pins: HostKeyPins;
    /** Config path of the relay's pins, for error messages ("relays[1].hostKeys"). */
    readonly pinsField: string;
    readonly keepaliveIntervalMs: number;
    readonly keepaliveCountMax: number;
    /** The HTTP CONNECT proxy to reach the relay through (resolved, credentials read). */
    readonly proxy?: ResolvedProxy;
    /** Ciphers to offer, in order of preference; default DEFAULT_CIPHERS (aes256-gcm@openssh.com). */
    readonly ciphers?: readonly SshCipher[];
    /** Deadline for TCP connect + SSH handshake + authentication together. */
    readonly connectTimeoutMs: number;
    readonly log: Logger;
    readonly onForwardedConnection: (conn: ForwardedConnection) => void;
    /** Abandons a connection attempt still in progress (agent shutting down). */
    readonly signal?: AbortSignal;
}

/** The algorithms the key exchange settled on (ssh2's 'handshake' event). */
export interface NegotiatedAlgorithms {
    readonly kex: string;
    readonly hostKey: string;
    /** Agent to relay. */
    readonly cipher: string;
    /** Relay to agent. */
    readonly cipherIn: string;
    /** The MAC, or "implicit" for AEAD ciphers. */
    readonly mac: string;
}

export class RelayConnection {
    /** Resolves once, when the connection has ended, with the reason. */
    readonly closed: Promise<RelayError>;
    /** Use RelayConnection.open(). */
    constructor(
        private readonly client: Client,
        /** SHA256 fingerprint of the host key the relay proved it holds. */
        readonly hostKeyFingerprint: string,
        readonly negotiated: NegotiatedAlgorithms | undefined,
        closed: Promise<RelayError>,
        /**
         * The streams this connection carries (each also in the agent's tracker): a reload that
         * retires this one session drains them without waiting for the other relays' streams.
         */
        readonly streams: StreamTracker,
        private readonly socket: Socket,
    ) {
        this.closed = closed;
    }

    static open(options: RelayConnectionOptions): Promise<RelayConnection> {
        const deadline = Date.now() + options.connectTimeoutMs;
        const proxy = options.proxy;
        if (!proxy) return openTcp(options.host, options.port, options.connectTimeoutMs, options.signal).then((socket) => handshake(socket, options, deadline));
        return openTcp(proxy.host, proxy.port, options.connectTimeoutMs, options.signal, `proxy ${proxy.label}`)
            .then((socket) => httpConnect(socket, proxy, options.host, options.port, Math.max(1, deadline - Date.now())))
            .catch((err: unknown) => {
                throw err instanceof ProxyError ? new RelayError("proxy", err.message) : err;
            })
            .then((socket) => handshake(socket, options, deadline));
    }

    /** Asks the relay to listen on host:port and forward connections to us. */
    requestForward(host: string, port: number): Promise<void> {
        return new Promise((resolve, reject) => {
            try {
                this.client.forwardIn(host, port, (err) => (err ? reject(err) : resolve()));
            } catch (err) {
                reject(err as Error);
            }
        });
    }

    /** Stops the relay listening on host:port; connections already forwarded are unaffected. */
    cancelForward(host: string, port: number): Promise<void> {
        return new Promise((resolve, reject) => {
            try {
                this.client.unforwardIn(host, port, (err) => (err ? reject(err) : resolve()));
            } catch (err) {
                reject(err as Error);
            }
        });
    }

    /** Opens, then closes, a direct-tcpip channel to host:port (what a hairpin route does per stream). */
    async probeDirectTcpip(host: string, port: number): Promise<void> {
        const channel = await openDirectTcpip(this.client, { ip: "127.0.0.1", port: 0 }, host, port);
        channel.on("error", () => undefined);
        channel.close();
    }

    /** Polite disconnect (SSH_MSG_DISCONNECT, then FIN). */
    end(): void {
        this.client.end();
    }

    /** Immediate teardown, also after end(). */
    destroy(): void {
        // ssh2's destroy() does nothing once end() has been called (it only destroys a socket
        // that is still writable), so a relay that never answers the polite disconnect would
        // keep the connection, and whoever awaits `closed`, forever.
        this.client.destroy();
        this.socket.destroy();
    }
}

// How much the relay socket may have queued before streams writing into its channels pause. Above
// the kernel's own send buffer this only costs memory; below it the link would idle between bursts.
const OUTPUT_BUDGET_BYTES = 2 * 1024 * 1024;

/** The relay socket's send queue, as one gate for every stream of the connection. */
class SocketOutputGate implements OutputGate {
    private waiters: (() => void)[] = [];
    private wakeScheduled = false;

    constructor(
        private readonly socket: Socket,
        private readonly budget: number,
        /** What ssh2 writes below the socket's Writable (directWrites.ts), when it does. */
        private readonly direct: DirectWriter | undefined,
    ) {
        socket.on("drain", () => this.wake());
        socket.once("close", () => this.wake());
        if (direct) direct.onDrain = () => this.wake();
    }

    get congested(): boolean {
        return !this.socket.destroyed && this.socket.writableLength + (this.direct?.backlog ?? 0) > this.budget;
    }

    whenDrained(wake: () => void): void {
        this.waiters.push(wake);
    }

    // Waking every paused stream at once would have each of them push a chunk (up to 64 KiB) into
    // the queue that just drained: with 1,000 streams a 64 MiB burst. Wake a few, let them write,
    // and wake the next few only while the socket keeps up.
    private wake(): void {
        if (this.wakeScheduled) return;
        for (const wake of this.waiters.splice(0, WAKE_BATCH)) wake();
        if (this.waiters.length === 0) return;
        this.wakeScheduled = true;
        setImmediate(() => {
            this.wakeScheduled = false;
            if (this.socket.destroyed || !this.congested) this.wake();
            // Still congested: the next 'drain' continues.
        });
    }
}

const WAKE_BATCH = 16;

function openTcp(host: string, port: number, timeoutMs: number, signal: AbortSignal | undefined, via?: string): Promise<Socket> {
    // Through a proxy, a TCP failure is the proxy's: say so.
    const kind: RelayFailureKind = via ? "proxy" : "tcp";
    const what = via ? `${via}: TCP connect to the proxy` : `TCP connect to ${host}:${port}`;
    return new Promise((resolve, reject) => {
        if (signal?.aborted) {
            reject(new RelayError("closed", "connection attempt abandoned: shutting down"));
            return;
        }
        const socket = connectWithSlabReads({ host, port });
        const onAbort = () => {
            clearTimeout(timer);
            socket.destroy();
            reject(new RelayError("closed", "connection attempt abandoned: shutting down"));
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        const timer = setTimeout(() => {
            signal?.removeEventListener("abort", onAbort);
            socket.destroy();
            reject(new RelayError(kind, `${what} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        socket.once("connect", () => {
            signal?.removeEventListener("abort", onAbort);
            clearTimeout(timer);
            socket.removeAllListeners("error");
            // Interactive protocols ride this connection: never delay small packets. TCP
            // keepalive complements SSH keepalives for half-dead NAT mappings.
            socket.setNoDelay(true);
            socket.setKeepAlive(true, 30_000);
            resolve(socket);
        });
        socket.once("error", (err: NodeJS.ErrnoException) => {
            signal?.removeEventListener("abort", onAbort);
            clearTimeout(timer);
            socket.destroy();
            reject(new RelayError(kind, `${what} failed: ${err.code ?? err.message}`));
        });
    });
}

/** Opens a direct-tcpip channel: the relay connects to host:port (its permitopen decides). */
function openDirectTcpip(client: Client, source: { ip: string; port: number }, host: string, port: number): Promise<ClientChannel> {
    return new Promise<ClientChannel>((resolve, reject) => {
        try {
            client.forwardOut(source.ip, source.port, host, port, (err, channel) => {
                if (err) reject(new OnwardConnectError("CHANNEL_OPEN_FAILED", `relay refused direct-tcpip to ${host}:${port}: ${err.message}`));
                else resolve(channel);
            });
        } catch (err) {
            reject(new OnwardConnectError("NOT_CONNECTED", `relay connection is gone: ${(err as Error).message}`));
        }
    });
}

interface Ssh2Error extends Error {
    level?: string;
    code?: number | string;
}

function handshake(socket: Socket, options: RelayConnectionOptions, deadline: number): Promise<RelayConnection> {
    const client = new Client();
    let presentedKey: { fingerprint: string; type: string } | undefined;
    let hostKeyRejected = false;
    let failure: RelayError | undefined;
    let ready = false;
    // Set when the SSH connection has closed: ssh2 would still hand out channels nobody ever closes.
    let connectionOver = false;

    const classify = (err: Ssh2Error): RelayError => {
        if (hostKeyRejected && presentedKey) {
            return new RelayError(
                "host_key",
                `relay ${options.label} presented host key ${presentedKey.fingerprint} (${presentedKey.type}), which is not pinned in ` +
                    `${options.pinsField}: refusing to connect. If the relay's key was rotated, pin the new one; otherwise this may be an interception attempt.`,
            );
        }
        if (err.level === "client-authentication") {
            return new RelayError("auth", explainAuthenticationFailure(options.identity, options.user, new Date()));
        }
        if (err.level === "client-timeout" && err.message === "Keepalive timeout") {
            return new RelayError(
                "keepalive",
                `relay ${options.label} did not answer ${options.keepaliveCountMax} keepalives (every ${options.keepaliveIntervalMs / 1000}s): connection presumed dead`,
            );
        }
        if (err.level === "client-timeout") return new RelayError("timeout", `relay ${options.label}: ${err.message}`);
        if (err.level === "client-socket") return new RelayError("socket", `relay ${options.label}: connection error ${err.message}`);
        if (typeof err.code === "number") return new RelayError("disconnected", `relay ${options.label} disconnected: ${err.message}`);
        return new RelayError("protocol", `relay ${options.label}: ${err.message}`);
    };

    const closed = new Promise<RelayError>((resolve) => {
        client.once("close", () => {
            connectionOver = true;
            resolve(failure ?? new RelayError("closed", `relay ${options.label} closed the connection`));
        });
    });

    client.on("error", (err: Ssh2Error) => {
        // The first error is the cause; later ones are consequences of the teardown.
        failure ??= classify(err);
    });

    // Channels are only ever closed or aborted by the data path; an 'error' they emit before it is
    // attached must not crash the agent.
    const guard = <T extends ClientChannel>(channel: T): T => {
        channel.on("error", (err: Error) => options.log.debug({ relay: options.label, err: err.message }, "channel error"));
        return channel;
    };

    // The queue is over budget only while bytes wait for the kernel, so a wake-up is sure to follow
    // ('drain', or the direct writer's once its backlog is gone). ssh2's writes to the relay go
    // below the socket's Writable (directWrites.ts): installed before packetReuse.ts wraps
    // socket.write, which passes its buffers' callbacks through.
    const direct = enableDirectRelayWrites(socket, OUTPUT_BUDGET_BYTES);
    const output = new SocketOutputGate(socket, OUTPUT_BUDGET_BYTES, direct);
    const streams = new StreamTracker();

    client.on("tcp connection", (details: TcpConnectionDetails, accept: () => ClientChannel, reject: () => void) => {
        options.onForwardedConnection({
            output,
            streams,
            relay: options.label,
            listenHost: details.destIP,
            listenPort: details.destPort,
            sourceIp: details.srcIP,
            sourcePort: details.srcPort,
            accept: () => (connectionOver ? undefined : guard(accept())),
            reject: () => {
                if (!connectionOver) reject();
            },
            openThroughRelay: (host, port) => openDirectTcpip(client, { ip: details.srcIP, port: details.srcPort }, host, port).then(guard),
        });
    });

    const publicKeyAuth: PublicKeyAuthMethod = { type: "publickey", username: options.user, key: authenticationKey(options.identity) };
    const config: ConnectConfig = {
        sock: socket,
        username: options.user,
        // ssh2's typings list AuthMethod; a PublicKeyAuthMethod is one of its accepted shapes.
        authHandler: [publicKeyAuth as AuthMethod],
        hostVerifier: (key: Buffer) => {
            presentedKey = { fingerprint: sha256Fingerprint(key), type: keyBlobType(key) ?? "unknown" };
            hostKeyRejected = !options.pins.matches(key);
            return !hostKeyRejected;
        },
        keepaliveInterval: options.keepaliveIntervalMs,
        keepaliveCountMax: options.keepaliveCountMax,
        readyTimeout: Math.max(1, deadline - Date.now()),
    };
    type Algorithms = NonNullable<ConnectConfig["algorithms"]>;
    const hostKeyAlgorithms = options.pins.hostKeyAlgorithms()?.filter((algorithm) => HOST_KEY_SIGNATURE_ALGORITHMS.includes(algorithm));
    config.algorithms = {
        cipher: [...(options.ciphers ?? DEFAULT_CIPHERS)] as Algorithms["cipher"],
        kex: [...KEX_ALGORITHMS] as Algorithms["kex"],
        hmac: [...MAC_ALGORITHMS] as Algorithms["hmac"],
        serverHostKey: (hostKeyAlgorithms?.length ? hostKeyAlgorithms : [...HOST_KEY_SIGNATURE_ALGORITHMS]) as Algorithms["serverHostKey"],
    };
    let negotiated: NegotiatedAlgorithms | undefined;
    client.once("handshake", (n) => {
        negotiated = { kex: n.kex, hostKey: n.serverHostKey, cipher: n.cs.cipher, cipherIn: n.sc.cipher, mac: n.cs.mac || "implicit" };
    });

    return new Promise<RelayConnection>((resolve, reject) => {
        const onAbort = () => {
            failure ??= new RelayError("closed", "connection attempt abandoned: shutting down");
            client.destroy();
        };
        if (options.signal?.aborted) {
            // Aborted between the TCP connect and now: no handshake at all.
            socket.destroy();
            reject(new RelayError("closed", "connection attempt abandoned: shutting down"));
            return;
        }
        options.signal?.addEventListener("abort", onAbort, { once: true });
        void closed.then(() => options.signal?.removeEventListener("abort", onAbort));
        client.once("ready", () => {
            options.signal?.removeEventListener("abort", onAbort);
            ready = true;
            enableRelayReadReuse(client, socket);
            resolve(new RelayConnection(client, presentedKey?.fingerprint ?? "unknown", negotiated, closed, streams, socket));
        });
        void closed.then((reason) => {
            if (!ready) reject(reason);
        });
        client.connect(config);
        // A socket that came through a proxy was left paused so no byte was lost before ssh2 listened.
        socket.resume();
        enableCertificateAuth(client);
        enablePacketReuse(client, socket);
    });
}
