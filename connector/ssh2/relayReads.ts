// Larger, cheaper reads from the relay socket: the receive side of the data path (what the relay
// sends, decrypted by ssh2 and written to onward sockets: a push from the platform to the target).
//
// Node reads a TCP socket into a new 64 KiB buffer per read. ssh2 decrypts each packet in place in
// that buffer and hands the payload on as a view of it, which the channel's reader keeps as long
// as it needs (queued in the channel, or in an onward socket's write queue): so read buffers
// cannot be reused. What can be changed is their size and how they are allocated. Here each read
// gets the unused rest of a larger slab (bump allocation: a region is given out once and never
// reused; a slab is freed by the GC when no view of it is left), so:
// - a read takes up to a slab's worth when the relay has sent that much (fewer read calls and
//   event-loop turns, and onward sockets get the payloads of one read in one writev, see
//   forwarding.ts pump()),
// - one allocation per slab instead of one per read, and fewer packets straddle two reads (ssh2
//   copies a straddling packet into a new buffer before decrypting it).
// The bytes reach ssh2 exactly as before: pushed into the socket's own Readable side, so pause(),
// resume(), unshift() and 'end' keep their meaning for ssh2 and for the proxy handshake.
//
// This relies on ssh2 1.17 consuming the socket through 'data' events and never writing into a
// read buffer outside the packet it decrypts (connector/ssh2/internals.ts pins the version).
import { connect, type NetConnectOpts, type Socket } from "node:net";
// The version guard: loading internals.ts fails unless the ssh2 these reads were checked with is installed.
import "./internals";

/** Bytes per slab: the largest single read. OpenSSH's client reads up to 256 KiB at once. */
export const SLAB_BYTES = 256 * 1024;
/** A read never gets less room than Node's own read buffer: below this, a new slab is started. */
export const MIN_READ_BYTES = 64 * 1024;

/** Process-wide counts, for tests and diagnostics. */
export const relayReadStats = { slabs: 0, reads: 0, bytes: 0 };

/** Hands out read buffers: each the unused rest of the current slab. */
export class SlabReads {
    private slab: Buffer = SlabReads.newSlab();
    private offset = 0;

    private static newSlab(): Buffer {
        relayReadStats.slabs++;
        return Buffer.allocUnsafeSlow(SLAB_BYTES);
    }

    /** The buffer for the next read (net calls this after each read's callback). */
    next(): Buffer {
        if (SLAB_BYTES - this.offset < MIN_READ_BYTES) {
            this.slab = SlabReads.newSlab();
            this.offset = 0;
        }
        return this.slab.subarray(this.offset);
    }

    /** The `length` bytes just read into next()'s buffer, as a view no later read will touch. */
    take(length: number): Buffer {
        const view = this.slab.subarray(this.offset, this.offset + length);
        this.offset += length;
        relayReadStats.reads++;
        relayReadStats.bytes += length;
        return view;
    }
}

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
            callback: (length: number) => socket!.push(reads.take(length)),
        },
    });
    return socket;
}
