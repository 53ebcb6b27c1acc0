// Larger, cheaper reads from the relay socket: the receive side of the data path (what the relay
// sends, decrypted by ssh2 and written to onward sockets: a push from the platform to the target).
//
// Node reads a TCP socket into a new 64 KiB buffer per read. ssh2 decrypts each packet in place in
// that buffer and hands the payload on as a view of it, which the channel's reader keeps as long
// as it needs (queued in the channel, or in an onward socket's write queue). Here each read gets
// the unused rest of a larger slab, so:
// - a read takes up to a slab's worth when the relay has sent that much (fewer read calls and
//   event-loop turns, and onward sockets get the payloads of one read in one writev, see
//   forwarding.ts pump()),
// - one allocation per slab instead of one per read, and fewer packets straddle two reads (ssh2
//   copies a straddling packet into a new buffer before decrypting it).
// The bytes reach ssh2 exactly as before: pushed into the socket's own Readable side, so pause(),
// resume(), unshift() and 'end' keep their meaning for ssh2 and for the proxy handshake.
//
// Reuse. A slab that is written once and left to the GC lands each read in memory that is not in
// the cache (and, for a fresh mapping, not even mapped: page faults); writing a slab again once no
// view of it is alive any more spends about 10% less of the agent's CPU on a push (connector/
// README.md, Performance). A slab is reused only when every holder of a view of it is accounted
// for, which enableRelayReadReuse() sets up once the connection is established:
// - every payload ssh2 decrypts goes through a wrapper around its `_onPayload` (the protocol's, which
//   each key exchange hands to its new decipher, and the current decipher's). A payload that is a
//   view of a slab is classified by its message type: CHANNEL_DATA adds its data length to the
//   slab's outstanding bytes; WINDOW_ADJUST, EOF and CLOSE carry only numbers, which ssh2 reads
//   and keeps nothing of; any other message pins the slab (never written again), since ssh2 may
//   keep views of its fields.
// - CHANNEL_DATA views travel through the channel to forwarding.ts, which writes each to its sink
//   with a callback: once the sink is done with it (the kernel has the bytes, or ssh2 copied them
//   into packets), releaseRelayView() subtracts its length. A view that is dropped, copied, read by
//   someone else (the SOCKS handshake) or whose write fails is never released: its slab then keeps
//   outstanding bytes and is never written again.
// - a packet that arrived whole but waits for its tag is a view held by the decipher (`_packet`);
//   bytes pushed into the socket but not yet parsed sit in its Readable buffer. Neither may be
//   pending when a slab is taken back.
// - anything the wrapper cannot see pins every slab: a key exchange in progress (ssh2 then routes
//   payloads through its own handler), a new decipher, a decipher other than the AES-GCM binding,
//   compression.
// With any doubt a slab is simply never reused (the bump allocation above, and the GC frees it).
// Tests: test/connector/relayReads.test.ts, with byte-exact transfers through a real sshd
// (paused and slow readers, hairpin, rekeys every few MiB).
//
// This relies on ssh2 1.17 consuming the socket through 'data' events and never writing into a
// read buffer outside the packet it decrypts (connector/ssh2/internals.ts pins the version).
import { connect, type NetConnectOpts, type Socket } from "node:net";
import type { Client } from "ssh2";
import { PlainPacketReader, protocolOf, ssh2Crypto, type DecipherInternals, type ProtocolInternals } from "./internals";

/** Bytes per slab: the largest single read. OpenSSH's client reads up to 256 KiB at once. */
export const SLAB_BYTES = 256 * 1024;
/** A read never gets less room than Node's own read buffer: below this, a new slab is started. */
export const MIN_READ_BYTES = 64 * 1024;
/** Slabs kept for reuse per connection (the one being read into included): 1 MiB, about L2-sized. */
export const RING_SLABS = 4;

/** Process-wide counts, for tests and diagnostics. */
export const relayReadStats = { slabs: 0, reused: 0, pinned: 0, reads: 0, bytes: 0 };

// SSH message numbers (RFC 4254) whose payloads ssh2 reads without keeping a view of them.
const MSG_CHANNEL_WINDOW_ADJUST = 93;
const MSG_CHANNEL_DATA = 94;
const MSG_CHANNEL_EOF = 96;
const MSG_CHANNEL_CLOSE = 97;

/** One slab and what is known of the views of it. */
interface Slab {
    readonly buffer: Buffer;
    /** CHANNEL_DATA bytes decrypted in this slab whose consumers have not released them yet. */
    outstanding: number;
    /** Never written again: something other than channel data may hold a view of it. */
    pinned: boolean;
}

/** Every slab of every connection, by its memory: how forwarding.ts finds the slab of a view. */
const slabsByMemory = new WeakMap<ArrayBufferLike, Slab>();

function pin(slab: Slab): void {
    if (!slab.pinned) relayReadStats.pinned++;
    slab.pinned = true;
}

/**
 * For a consumer of channel data about to write `view` to its sink: if `view` is of a relay read
 * slab, the write callback that releases it once the sink is done with it (called without an
 * error: the kernel has the bytes, or ssh2 copied them into packets); otherwise undefined.
 */
export function releaseWhenWritten(view: Buffer): ((err?: Error | null) => void) | undefined {
    const slab = slabsByMemory.get(view.buffer);
    if (slab === undefined) return undefined;
    const length = view.length;
    return (err) => {
        // A failed write may leave the bytes with the socket: the slab keeps them counted.
        if (err) return;
        slab.outstanding -= length;
        // More released than was counted: the accounting is wrong somewhere, so trust none of it.
        if (slab.outstanding < 0) pin(slab);
    };
}

/** Decides whether a slab no longer read into may be written again now (see enableRelayReadReuse). */
interface ReuseGuard {
    /** After a read was parsed: false if payloads may have gone past the accounting since the last read. */
    stillFollowing(): boolean;
    /** True if nothing but released channel data was ever taken from `slab`, and nothing holds it now. */
    free(slab: Slab): boolean;
}

/** Hands out read buffers: each the unused rest of the current slab. */
export class SlabReads {
    private ring: Slab[] = [];
    private current: Slab;
    private offset = 0;
    /** Set once the connection's payloads are accounted for (enableRelayReadReuse); until then nothing is reused. */
    guard: ReuseGuard | undefined;

    constructor() {
        this.current = this.newSlab();
    }

    private newSlab(): Slab {
        relayReadStats.slabs++;
        const slab: Slab = { buffer: Buffer.allocUnsafeSlow(SLAB_BYTES), outstanding: 0, pinned: this.guard === undefined };
        // A slab filled before the accounting began may hold anything (the handshake, a proxy's reply).
        if (slab.pinned) relayReadStats.pinned++;
        slabsByMemory.set(slab.buffer.buffer, slab);
        return slab;
    }

    /** The slab to read into once the current one is full: a free one from the ring, else a new one. */
    private nextSlab(): Slab {
        if (this.guard) {
            for (const slab of this.ring) {
                if (slab !== this.current && this.guard.free(slab)) {
                    relayReadStats.reused++;
                    return slab;
                }
            }
        }
        const slab = this.newSlab();
        // Slabs that can never be reused leave the ring first, then the oldest: the GC frees them
        // once their last view is gone.
        this.ring = this.ring.filter((s) => !s.pinned);
        this.ring.push(slab);
        if (this.ring.length > RING_SLABS) this.ring.shift();
        return slab;
    }

    /** The buffer for the next read (net calls this after each read's callback). */
    next(): Buffer {
        if (SLAB_BYTES - this.offset < MIN_READ_BYTES) {
            this.current = this.nextSlab();
            this.offset = 0;
        }
        return this.current.buffer.subarray(this.offset);
    }

    /** The `length` bytes just read into next()'s buffer, as a view no later read will touch until it is released. */
    take(length: number): Buffer {
        const view = this.current.buffer.subarray(this.offset, this.offset + length);
        this.offset += length;
        relayReadStats.reads++;
        relayReadStats.bytes += length;
        return view;
    }

    /** After the read handed out by take() was consumed: lets the guard check the connection's state. */
    afterRead(): void {
        if (this.guard === undefined || this.guard.stillFollowing()) return;
        // Payloads were parsed that were not counted: nothing read so far is reused.
        for (const slab of this.ring) pin(slab);
        pin(this.current);
    }
}

const readsOfSocket = new WeakMap<Socket, SlabReads>();

/**
 * net.connect() for a relay (or the proxy in front of it), reading through SlabReads. The socket
 * behaves as a plain one towards its readers: every read is push()ed into its Readable side, as
 * net does with its own buffers.
 */
export function connectWithSlabReads(options: Omit<NetConnectOpts, "onread"> & { host: string; port: number }): Socket {
    const reads = new SlabReads();
    let socket: Socket | undefined = undefined;
    socket = connect({
        ...options,
        onread: {
            buffer: () => reads.next(),
            // false stops reading until the Readable side wants more (then net reads again).
            callback: (length: number) => {
                const more = socket!.push(reads.take(length));
                reads.afterRead();
                return more;
            },
        },
    });
    readsOfSocket.set(socket, reads);
    return socket;
}

// ssh2's AES-GCM decipher with the native binding: the one whose in-place decryption and `_packet`
// this module was checked against. Found by building one, as packetReuse.ts does for the cipher.
const GcmBindingDecipher: Function | undefined = (() => {
    if (!ssh2Crypto.bindingAvailable) return undefined;
    const info = ssh2Crypto.CIPHER_INFO["aes256-gcm@openssh.com"]!;
    const probe = ssh2Crypto.createDecipher({
        inbound: { onPayload: () => undefined, decipherInfo: info, decipherKey: Buffer.alloc(info.keyLen), decipherIV: Buffer.alloc(info.ivLen), seqno: 0 },
    });
    if (!("_packet" in probe) || !("_onPayload" in probe)) {
        throw new Error("relayReads: ssh2's AES-GCM decipher lacks the fields this module relies on (written for ssh2 1.17.x)");
    }
    return probe.constructor;
})();

/**
 * Starts the accounting that lets a connection's relay read slabs be reused (see the top of this
 * file). Call once the SSH connection is established ('ready'): before that, ssh2 parses the
 * identification line and the key exchange, which may keep views. Does nothing for a socket not
 * made by connectWithSlabReads, without the native AES-GCM decipher, or with compression.
 */
export function enableRelayReadReuse(client: Client, socket: Socket): void {
    const reads = readsOfSocket.get(socket);
    if (!reads || !GcmBindingDecipher) return;
    const protocol: ProtocolInternals = protocolOf(client, "enableRelayReadReuse");
    let decipher = protocol._decipher;
    if (!decipher || decipher.constructor !== GcmBindingDecipher || protocol._packetRW.read.constructor !== PlainPacketReader) return;

    const original = protocol._onPayload;
    if (decipher._onPayload !== original) return; // a key exchange is already under way
    const counting = (payload: Buffer): unknown => {
        const slab = slabsByMemory.get(payload.buffer);
        if (slab !== undefined) {
            const type = payload[0];
            if (type === MSG_CHANNEL_DATA && payload.length >= 9) slab.outstanding += payload.readUInt32BE(5);
            else if (type !== MSG_CHANNEL_WINDOW_ADJUST && type !== MSG_CHANNEL_EOF && type !== MSG_CHANNEL_CLOSE) pin(slab);
        }
        return original(payload);
    };
    // Future deciphers (each key exchange creates one with the protocol's handler) and this one.
    protocol._onPayload = counting;
    decipher._onPayload = counting;

    const following = (d: DecipherInternals | undefined): d is DecipherInternals =>
        d !== undefined && d._onPayload === counting && d.constructor === GcmBindingDecipher && protocol._packetRW.read.constructor === PlainPacketReader;
    reads.guard = {
        stillFollowing() {
            const now = protocol._decipher;
            if (now === decipher && following(now)) return true;
            // A key exchange began (its handler bypasses the wrapper) or ended (a new decipher,
            // followed from here on).
            if (following(now)) decipher = now;
            return false;
        },
        free(slab) {
            if (slab.pinned || slab.outstanding !== 0 || socket.readableLength !== 0) return false;
            const now = protocol._decipher;
            if (now !== decipher || !following(now)) return false;
            return now._packet === null || now._packet.buffer !== slab.buffer.buffer;
        },
    };
}
