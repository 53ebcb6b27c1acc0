// Fewer allocations on ssh2's send path, contained in this one module (ssh2 internals come from
// ./internals).
//
// ssh2 allocates a fresh Buffer for every SSH packet it sends (`cipher.allocPacket`: 32 KiB for a
// full CHANNEL_DATA packet) and fills its padding with its own randomFillSync call: in a bulk
// transfer that is as much short-lived external memory as data carried, which keeps V8 in major
// GCs (connector/README.md, Performance, has the profile).
//
// The fix, per connection (never on ssh2's shared prototypes): the connection's PacketWriter
// builds packets for the AES-GCM binding cipher (what ssh2 negotiates first, and the relay
// offers) in buffers from a small free list, with padding taken from a pool of random bytes
// refilled 4 KiB at a time. A buffer goes back on the free list only when the relay socket calls
// the write callback for it, i.e. once the kernel has the bytes; a buffer the socket still holds,
// or one whose write failed, is never touched again. Every other cipher, compression, and packets
// built during a key exchange go through ssh2's code untouched.
import { randomFillSync } from "node:crypto";
import type { Socket } from "node:net";
import type { Client } from "ssh2";
import { PlainPacketWriter, protocolOf, ssh2Crypto, type PacketWriter } from "./internals";

const AUTH_TAG = 16;
const BLOCK = 16;

/** The on-wire size (tag included) of a packet carrying `payloadLength` bytes: ssh2's arithmetic for AES-GCM. */
function gcmLayout(payloadLength: number): { packetLength: number; padLength: number } {
    let packetLength = 4 + 1 + payloadLength;
    let padLength = BLOCK - ((packetLength - 4) & (BLOCK - 1));
    if (padLength < 4) padLength += BLOCK;
    packetLength += padLength;
    return { packetLength, padLength };
}

// ssh2's AES-GCM binding cipher class, found by building one; and a check that our framing is the
// one it produces. Without the native binding there is no such class and nothing is reused.
const GcmBindingCipher: Function | undefined = (() => {
    if (!ssh2Crypto.bindingAvailable) return undefined;
    const crypto = ssh2Crypto;
    const info = crypto.CIPHER_INFO["aes128-gcm@openssh.com"]!;
    const probe = crypto.createCipher({
        outbound: { onWrite: () => undefined, cipherInfo: info, cipherKey: Buffer.alloc(info.keyLen), cipherIV: Buffer.alloc(info.ivLen), seqno: 0 },
    });
    for (const payload of [1, 10, 11, 12, 27, 28, 32768 + 9]) {
        const theirs = probe.allocPacket(payload);
        const { packetLength, padLength } = gcmLayout(payload);
        if (theirs.length !== packetLength + AUTH_TAG || theirs.readUInt32BE(0) !== packetLength - 4 || theirs[4] !== padLength) {
            throw new Error("packetReuse: ssh2's AES-GCM packet framing is not the one this module reproduces (written for ssh2 1.17.x)");
        }
    }
    return probe.constructor;
})();

/** Process-wide counts, for tests and diagnostics: packets built here, and buffers allocated for them. */
export const packetReuseStats = { packets: 0, buffersAllocated: 0 };


/** Size of each reused buffer, the largest packet built in one: a full 32 KiB CHANNEL_DATA (1 + 4 + 4 header bytes). */
const SCRATCH_BYTES = gcmLayout(32 * 1024 + 9).packetLength + AUTH_TAG;
/** Reusable packet buffers per connection: 64 x ~32 KiB, about the output gate's 2 MiB budget. */
const SLAB_SLOTS = 64;

function newBuffer(): Buffer {
    packetReuseStats.buffersAllocated++;
    return Buffer.allocUnsafe(SCRATCH_BYTES);
}

// Padding: random bytes drawn from a pool, each byte used once.
const padPool = Buffer.allocUnsafe(4096);
let padAt = padPool.length;
function fillPadding(packet: Buffer, at: number, length: number): void {
    if (padAt + length > padPool.length) {
        randomFillSync(padPool);
        padAt = 0;
    }
    padPool.copy(packet, at, padAt, padAt + length);
    padAt += length;
}

/** Installs the buffer-reusing packet writer on a connected client. Call right after client.connect(). */
export function enablePacketReuse(client: Client, socket: Socket): void {
    const protocol = protocolOf(client, "enablePacketReuse");
    if (!GcmBindingCipher) return;

    // Buffers the socket has finished with, and the ones it still holds (in write order: a
    // Writable calls write callbacks in order, so one shared callback releases them first in,
    // first out). `building` is the one handed to ssh2 for the packet being built.
    // The reusable buffers are slots of one slab, allocated once per connection: many separate
    // long-lived 32 KiB buffers pin the malloc heap, one large allocation does not. When every
    // slot is in flight, a packet gets a buffer of its own, as in ssh2, which is left to the GC.
    const slab = Buffer.allocUnsafeSlow(SLAB_SLOTS * SCRATCH_BYTES);
    packetReuseStats.buffersAllocated++;
    const free: Buffer[] = [];
    for (let slot = 0; slot < SLAB_SLOTS; slot++) free.push(slab.subarray(slot * SCRATCH_BYTES, (slot + 1) * SCRATCH_BYTES));
    const inFlight: Buffer[] = [];
    let building: Buffer | undefined;
    const written = (err?: Error | null) => {
        const buffer = inFlight.shift();
        // After an error the socket may not be done with it: leave it alone.
        if (buffer && !err && buffer.buffer === slab.buffer) free.push(buffer);
    };

    const reusingAlloc = function (this: PacketWriter, payloadSize: number, force?: boolean): Buffer {
        const originalAlloc = PlainPacketWriter.prototype.alloc;
        if ((protocol._kexinit !== undefined && !force) || protocol._cipher.constructor !== GcmBindingCipher) {
            return originalAlloc.call(this, payloadSize, force);
        }
        const { packetLength, padLength } = gcmLayout(payloadSize);
        const size = packetLength + AUTH_TAG;
        if (size > SCRATCH_BYTES) return originalAlloc.call(this, payloadSize, force);
        // A buffer still marked as building was never written (ssh2 builds, encrypts and writes a
        // packet in one synchronous call), so nothing reads it again: it is simply dropped.
        building = free.pop() ?? newBuffer();
        packetReuseStats.packets++;
        const packet = building.subarray(0, size);
        packet.writeUInt32BE(packetLength - 4, 0);
        packet[4] = padLength;
        fillPadding(packet, 5 + payloadSize, padLength);
        return packet;
    };

    // Each key exchange (the first one and every rekey) installs a new PacketWriter: have each
    // plain one (not the zlib one, for compression) build packets with reusingAlloc.
    const rw = protocol._packetRW;
    let writer = rw.write;
    const install = (w: PacketWriter) => {
        if (w instanceof PlainPacketWriter) w.alloc = reusingAlloc;
        writer = w;
    };
    install(writer);
    Object.defineProperty(rw, "write", { configurable: true, enumerable: true, get: () => writer, set: install });

    const write = socket.write as (...args: unknown[]) => boolean;
    socket.write = function (this: Socket, ...args: unknown[]): boolean {
        const chunk = args[0];
        if (building && args.length === 1 && chunk instanceof Uint8Array && chunk.buffer === building.buffer && chunk.byteOffset === building.byteOffset) {
            // Reused only once the socket reports this write done (handed to the kernel).
            inFlight.push(building);
            building = undefined;
            return write.call(this, chunk, written);
        }
        return write.apply(this, args);
    } as Socket["write"];
}
