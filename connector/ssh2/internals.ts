// The one door to ssh2's internals. The certificate fix (certAuth.ts), the packet buffer reuse
// (packetReuse.ts) and the data path's channel checks (forwarding.ts) need parts of ssh2 that are
// not its public API; every such touch is here, behind one version guard, and package.json pins
// ssh2 to exactly that version. Upgrading ssh2 means re-checking each item below against the new
// source, then changing SUPPORTED_SSH2_VERSION and the pin together. relayReads.ts (the relay
// socket's read buffers) uses no internals but relies on ssh2 1.17 reading that socket through
// 'data' events and keeping views of what it read: it loads this module for the guard.
import type { Duplex } from "node:stream";
import type { Client } from "ssh2";

/** The ssh2 release whose internals this module was checked against (package.json pins it). */
export const SUPPORTED_SSH2_VERSION = "1.17.0";

// ---- the shapes relied on ----

export interface PacketWriter {
    readonly allocStart: number;
    alloc(payloadSize: number, force?: boolean): Buffer;
    finalize(packet: Buffer): Buffer;
}
export interface Cipher {
    allocPacket(payloadLength: number): Buffer;
}
export type SignCallback = (data: Buffer, done: (signature: Buffer) => void) => void;
export type AuthPK = (this: ProtocolInternals, username: string, key: unknown, keyAlgo?: string | SignCallback, cbSign?: SignCallback) => void;

/** The decipher of a connection's inbound packets (Protocol._decipher); replaced at each key exchange. */
export interface DecipherInternals {
    /** Called with each decrypted payload, a view of the buffer it was decrypted in. */
    _onPayload: (payload: Buffer) => unknown;
    /** AES-GCM: the packet being assembled; a view of a read buffer while a packet that arrived whole waits for its tag. */
    _packet: Uint8Array | null;
}

/** A connection's Protocol instance (client._protocol), created by client.connect(). */
export interface ProtocolInternals {
    _packetRW: { write: PacketWriter; read: object };
    /** Handed to every decipher a key exchange creates (kex.js: `onPayload: this._protocol._onPayload`). */
    _onPayload: (payload: Buffer) => unknown;
    _decipher: DecipherInternals | undefined;
    _kex: { sessionID: Buffer };
    _kexinit: unknown;
    _cipher: Cipher;
    _authsQueue: string[];
    _debug?: (message: string) => void;
    authPK: AuthPK;
}
interface ProtocolUtils {
    sendPacket(protocol: ProtocolInternals, packet: Buffer): void;
    convertSignature(signature: Buffer, keyType: string): Buffer | false;
}
export interface CryptoModule {
    bindingAvailable: boolean;
    CIPHER_INFO: Record<string, { keyLen: number; ivLen: number } | undefined>;
    createCipher(config: unknown): Cipher;
    createDecipher(config: unknown): DecipherInternals;
}

// ---- the guard: the exact version, then the presence of every item ----

const installedVersion = (require("ssh2/package.json") as { version?: unknown }).version;
if (installedVersion !== SUPPORTED_SSH2_VERSION) {
    throw new Error(
        `firefly-connector needs ssh2 ${SUPPORTED_SSH2_VERSION} exactly (it patches ssh2 internals, connector/ssh2/internals.ts), ` +
            `but ssh2 ${String(installedVersion)} is installed: run npm ci with this package's package-lock.json`,
    );
}
const protocolUtils = require("ssh2/lib/protocol/utils.js") as Partial<ProtocolUtils>;
const protocolClass = require("ssh2/lib/protocol/Protocol.js") as { prototype?: Partial<ProtocolInternals> };
const cryptoModule = require("ssh2/lib/protocol/crypto.js") as Partial<CryptoModule>;
const zlibModule = require("ssh2/lib/protocol/zlib.js") as { PacketWriter?: { prototype?: Partial<PacketWriter> }; PacketReader?: Function };
const packetWriterClass = zlibModule.PacketWriter;
if (
    typeof protocolClass.prototype?.authPK !== "function" ||
    typeof protocolUtils.sendPacket !== "function" ||
    typeof protocolUtils.convertSignature !== "function" ||
    typeof cryptoModule.createCipher !== "function" ||
    typeof cryptoModule.createDecipher !== "function" ||
    typeof zlibModule.PacketReader !== "function" ||
    typeof cryptoModule.CIPHER_INFO?.["aes128-gcm@openssh.com"] !== "object" ||
    typeof packetWriterClass?.prototype?.alloc !== "function"
) {
    throw new Error(`connector/ssh2/internals.ts: ssh2 ${SUPPORTED_SSH2_VERSION} is installed but lacks the internals this module relies on (a modified copy?)`);
}

/** ssh2's own authPK, for keys without a certificate. */
export const originalAuthPK: AuthPK = protocolClass.prototype.authPK as AuthPK;
export const sendPacket = protocolUtils.sendPacket as ProtocolUtils["sendPacket"];
export const convertSignature = protocolUtils.convertSignature as ProtocolUtils["convertSignature"];
export const ssh2Crypto = cryptoModule as CryptoModule;
/** ssh2's PacketReader class (plain, uncompressed: payloads are passed on as they were decrypted). */
export const PlainPacketReader = zlibModule.PacketReader as Function;
/** ssh2's PacketWriter class (plain, uncompressed). */
export const PlainPacketWriter = packetWriterClass as unknown as { new (...args: never[]): PacketWriter; prototype: PacketWriter };

/**
 * Whether ssh2 loaded its native crypto binding (AES-GCM and ChaCha20-Poly1305 in C). Without it
 * ssh2 falls back to Node's crypto with new buffers per packet: about twice the agent's CPU per
 * byte (connector/README.md, Performance).
 */
export const nativeCryptoAvailable: boolean = cryptoModule.bindingAvailable === true;

/** A connected client's Protocol instance; throws when called before client.connect(). */
export function protocolOf(client: Client, caller: string): ProtocolInternals {
    const protocol = (client as unknown as { _protocol?: ProtocolInternals })._protocol;
    if (!protocol) throw new Error(`${caller} must be called after client.connect()`);
    return protocol;
}

// ---- channels: ssh2's Channel keeps its SSH state in `incoming` and `outgoing` ----

interface SshChannelLike extends Duplex {
    close(): void;
    /** The peer's side: 'closed' once CHANNEL_CLOSE arrived or the connection died. */
    readonly incoming: { readonly state: string };
    /** Our side: how much the peer lets us send now. */
    readonly outgoing: { readonly state: string; readonly window: number };
}

/** True for an ssh2 Channel (as opposed to a net.Socket). */
export function isSshChannel(stream: Duplex): stream is SshChannelLike {
    return typeof (stream as Partial<SshChannelLike>).close === "function" && "outgoing" in stream && "incoming" in stream;
}

/** True once the peer closed the channel or the connection died (ssh2's destroy() never sets `destroyed`). */
export function channelClosedByPeer(channel: SshChannelLike): boolean {
    return channel.incoming.state === "closed";
}

/**
 * True if writing `length` bytes into the channel now copies them into SSH packets before write()
 * returns: open, nothing queued, and the peer's window covers them (ssh2 1.17 Channel._write).
 */
export function channelTakesNow(channel: SshChannelLike, length: number): boolean {
    return (
        channel.writableLength === 0 &&
        channel.writableCorked === 0 &&
        !channel.writableEnded &&
        channel.outgoing.state === "open" &&
        channel.outgoing.window >= length
    );
}
