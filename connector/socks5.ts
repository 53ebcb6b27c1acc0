// SOCKS5 (RFC 1928) server side, CONNECT only, no authentication: the platform proxy speaks it on
// the dynamic route's forwarded connections. This module only parses and answers the protocol;
// whether a destination is allowed is allowlist.ts's business.
//
// Input is untrusted: every read is bounded in size and time, and anything malformed ends the
// stream with the proper reply code instead of an exception.
import type { Duplex } from "node:stream";
import { releaseAfterFlush } from "./forwarding";

export const SocksReply = {
    SUCCEEDED: 0x00,
    GENERAL_FAILURE: 0x01,
    NOT_ALLOWED_BY_RULESET: 0x02,
    NETWORK_UNREACHABLE: 0x03,
    HOST_UNREACHABLE: 0x04,
    CONNECTION_REFUSED: 0x05,
    TTL_EXPIRED: 0x06,
    COMMAND_NOT_SUPPORTED: 0x07,
    ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;
export type SocksReplyCode = (typeof SocksReply)[keyof typeof SocksReply];

export interface SocksRequest {
    readonly host: string;
    readonly port: number;
    readonly addressType: "ipv4" | "ipv6" | "domain";
}

/** A request that could not be served; `reply` is sent unless the greeting itself failed. */
export class SocksProtocolError extends Error {
    constructor(
        readonly reason: "malformed" | "unsupported_command" | "unsupported_address" | "no_acceptable_method" | "timeout" | "closed",
        message: string,
        readonly reply?: SocksReplyCode,
    ) {
        super(message);
        this.name = "SocksProtocolError";
    }
}

const VERSION = 0x05;
const NO_AUTHENTICATION = 0x00;
const NO_ACCEPTABLE_METHODS = 0xff;
const CMD_CONNECT = 0x01;

type Parse<T> = { value: T; used: number } | "incomplete";

function parseGreeting(buf: Buffer): Parse<number[]> {
    if (buf.length < 2) return "incomplete";
    if (buf[0] !== VERSION) throw new SocksProtocolError("malformed", `not SOCKS5 (version byte 0x${(buf[0] as number).toString(16)})`);
    const count = buf[1] as number;
    if (count === 0) throw new SocksProtocolError("malformed", "greeting offers no authentication methods");
    if (buf.length < 2 + count) return "incomplete";
    return { value: [...buf.subarray(2, 2 + count)], used: 2 + count };
}

function parseRequest(buf: Buffer): Parse<SocksRequest> {
    if (buf.length < 4) return "incomplete";
    if (buf[0] !== VERSION) throw new SocksProtocolError("malformed", "request is not SOCKS5", SocksReply.GENERAL_FAILURE);
    if (buf[2] !== 0x00) throw new SocksProtocolError("malformed", "reserved byte is not zero", SocksReply.GENERAL_FAILURE);
    const command = buf[1] as number;
    const addressType = buf[3] as number;
    let host: string;
    let type: SocksRequest["addressType"];
    let offset: number;
    if (addressType === 0x01) {
        if (buf.length < 4 + 4 + 2) return "incomplete";
        host = [...buf.subarray(4, 8)].join(".");
        type = "ipv4";
        offset = 8;
    } else if (addressType === 0x04) {
        if (buf.length < 4 + 16 + 2) return "incomplete";
        const groups: string[] = [];
        for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(4 + i).toString(16));
        host = groups.join(":");
        type = "ipv6";
        offset = 20;
    } else if (addressType === 0x03) {
        if (buf.length < 5) return "incomplete";
        const length = buf[4] as number;
        if (length === 0) throw new SocksProtocolError("malformed", "empty domain name", SocksReply.GENERAL_FAILURE);
        if (buf.length < 5 + length + 2) return "incomplete";
        host = buf.toString("latin1", 5, 5 + length);
        // Names are matched against the allowlist and handed to DNS: printable ASCII only.
        if (!/^[\x21-\x7e]+$/.test(host)) throw new SocksProtocolError("malformed", "domain name has non-printable bytes", SocksReply.GENERAL_FAILURE);
        type = "domain";
        offset = 5 + length;
    } else {
        throw new SocksProtocolError("unsupported_address", `address type 0x${addressType.toString(16)}`, SocksReply.ADDRESS_TYPE_NOT_SUPPORTED);
    }
    const port = buf.readUInt16BE(offset);
    if (command !== CMD_CONNECT) {
        throw new SocksProtocolError("unsupported_command", `command 0x${command.toString(16)} (only CONNECT is served)`, SocksReply.COMMAND_NOT_SUPPORTED);
    }
    if (port === 0) throw new SocksProtocolError("malformed", "port 0", SocksReply.GENERAL_FAILURE);
    return { value: { host, port, addressType: type }, used: offset + 2 };
}

/** Upper bound on handshake bytes: a greeting (≤257) plus a request (≤262). */
const MAX_HANDSHAKE_BYTES = 600;

/**
 * Runs the greeting and reads the CONNECT request. The caller answers with replySocks(). Bytes
 * the client sent after its request (optimistic data) are pushed back into the stream.
 */
export function readSocksRequest(stream: Duplex, timeoutMs: number): Promise<SocksRequest> {
    return new Promise((resolve, reject) => {
        let buffered: Buffer = Buffer.alloc(0);
        let stage: "greeting" | "request" = "greeting";
        const finish = (err: Error | undefined, request?: SocksRequest) => {
            clearTimeout(timer);
            stream.off("data", onData);
            stream.off("end", onEnd);
            stream.off("close", onEnd);
            stream.off("error", onEnd);
            stream.pause();
            if (err) reject(err);
            else resolve(request as SocksRequest);
        };
        const onData = (chunk: Buffer) => {
            buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
            try {
                if (stage === "greeting") {
                    const greeting = parseGreeting(buffered);
                    if (greeting === "incomplete") return checkSize();
                    buffered = buffered.subarray(greeting.used);
                    if (!greeting.value.includes(NO_AUTHENTICATION)) {
                        releaseAfterFlush(stream, Buffer.from([VERSION, NO_ACCEPTABLE_METHODS]));
                        return finish(new SocksProtocolError("no_acceptable_method", "client does not offer 'no authentication'"));
                    }
                    stream.write(Buffer.from([VERSION, NO_AUTHENTICATION]));
                    stage = "request";
                    if (buffered.length === 0) return;
                }
                const request = parseRequest(buffered);
                if (request === "incomplete") return checkSize();
                const rest = buffered.subarray(request.used);
                finish(undefined, request.value);
                if (rest.length > 0) stream.unshift(rest);
            } catch (err) {
                finish(err as Error);
            }
        };
        const checkSize = () => {
            if (buffered.length > MAX_HANDSHAKE_BYTES) finish(new SocksProtocolError("malformed", "handshake too long", SocksReply.GENERAL_FAILURE));
        };
        const onEnd = () => finish(new SocksProtocolError("closed", "client closed during the SOCKS handshake"));
        const timer = setTimeout(
            () => finish(new SocksProtocolError("timeout", `no complete SOCKS request within ${timeoutMs} ms`, SocksReply.GENERAL_FAILURE)),
            timeoutMs,
        );
        stream.on("data", onData);
        stream.once("end", onEnd);
        stream.once("close", onEnd);
        stream.once("error", onEnd);
    });
}

/**
 * Sends the reply to a CONNECT request; a failure reply also ends the stream. The bound address
 * is reported as 0.0.0.0:0 (clients of CONNECT do not use it).
 */
export function replySocks(stream: Duplex, code: SocksReplyCode): void {
    const reply = Buffer.from([VERSION, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
    if (code === SocksReply.SUCCEEDED) stream.write(reply);
    else releaseAfterFlush(stream, reply);
}

/** The SOCKS reply that best describes a failed onward connect (errno code). */
export function socksReplyForConnectError(code: string): SocksReplyCode {
    switch (code) {
        case "ECONNREFUSED":
            return SocksReply.CONNECTION_REFUSED;
        case "ENETUNREACH":
            return SocksReply.NETWORK_UNREACHABLE;
        case "EHOSTUNREACH":
        case "ENOTFOUND":
        case "EAI_AGAIN":
        case "ETIMEDOUT":
            return SocksReply.HOST_UNREACHABLE;
        default:
            return SocksReply.GENERAL_FAILURE;
    }
}
