// Onward socket writes below the socket's Writable: the push side's last step (what the relay sent,
// decrypted by ssh2, written to the private target).
//
// Why. A profile of a push put a quarter of the agent's CPU in the onward socket's flush: cork,
// uncork, the Writable's buffer, `Socket._writev`, `writevGeneric`, a `WriteWrap` per write, then
// `afterWrite` and a callback per chunk (connector/PERFORMANCE.md, "Where the agent's time goes on
// a push"). Node.js shares that code between every stream of the process, so V8 keeps
// re-optimizing it. Here the payloads of one relay read for one socket go to the socket's handle in
// one `writev`, as Node's own `writevGeneric` hands them over, without the Writable around it.
// Measured: the agent's CPU per GiB pushed directly went from 1.45x of OpenSSH's `ssh` to about
// 1.0x (four interleaved pairs of bench invocations, PERFORMANCE.md).
//
// Contract with the socket:
// - Only while its Writable is idle: connected, not corked, nothing buffered, not ending, not
//   destroyed (`usable()`). Otherwise the caller writes through the Writable as before. Writes of
//   both kinds reach the kernel in call order: libuv queues a handle's write requests in order.
// - A batch is flushed at the latest in a `process.nextTick` of the first chunk, and at once by
//   `flushNow()` before anything that must come after it: the writer wraps the socket's `end()` to
//   flush first (the Writable's shutdown then waits in libuv behind every queued write).
// - Backpressure as the Writable's: once more than the writer's high-water mark waits (this turn's
//   batch and libuv's queue),
//   `add()` returns false and the caller pauses its source until `whenDrained()` wakes it, when the
//   queue is empty.
// - A chunk's callback runs once the kernel has its bytes (at once for a write the kernel took
//   whole), never after a failed write: relay read slabs (ssh2/relayReads.ts) are reused only once
//   released.
// - A failed write destroys the socket with the error the Writable would have raised (`write
//   EPIPE`, ...), so splice() tears both sides down as before.
//
// This uses Node.js's `stream_wrap` binding (`WriteWrap`, `streamBaseState`) through
// `process.binding`, which Node.js 20 and 22 keep for exactly such modules. When it is missing or
// not shaped as expected, or FIREFLY_CONNECTOR_DIRECT_WRITES=0 is set (the A/B switch of the bench,
// and an escape hatch), every write goes through the Writable as before. A binding that is there
// but throws on a write (a later Node.js that changed its signature) costs nothing either: that
// batch and the socket's later writes go through the Writable, in order, with one warning.
import type { Socket } from "node:net";
import { Writable, type Duplex } from "node:stream";
import { getSystemErrorName } from "node:util";

interface WriteReq {
    handle: TcpHandle;
    oncomplete: ((status: number) => void) | undefined;
    async: boolean;
    bytes: number;
    buffer: unknown;
    callback: unknown;
    /** Keeps the chunks alive while the request is in flight, as Node's writevGeneric does. */
    _chunks?: Buffer[];
}
interface TcpHandle {
    writev(req: WriteReq, chunks: Buffer[], allBuffers: boolean): number;
    writeBuffer(req: WriteReq, chunk: Buffer): number;
}
interface StreamWrapBinding {
    WriteWrap: new () => WriteReq;
    streamBaseState: Int32Array;
    kLastWriteWasAsync: number;
}

function loadBinding(): StreamWrapBinding | undefined {
    if (process.env.FIREFLY_CONNECTOR_DIRECT_WRITES === "0") return undefined;
    try {
        const binding = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding("stream_wrap");
        if (typeof binding.WriteWrap !== "function" || !(binding.streamBaseState instanceof Int32Array) || typeof binding.kLastWriteWasAsync !== "number") return undefined;
        return binding as StreamWrapBinding;
    } catch {
        return undefined;
    }
}
const binding = loadBinding();

/** Whether onward writes go below the Writable in this process. */
export const directWritesAvailable = binding !== undefined;

/** Process-wide counts, for tests and diagnostics. */
export const directWriteStats = { writes: 0, chunks: 0, async: 0, failed: 0, refused: 0 };
/** The binding's first refusal is reported once per process (a warning on stderr). */
let warnedRefusal = false;

export type WrittenCallback = ((err?: Error | null) => void) | undefined;

type SocketWithHandle = Socket & { _handle?: (TcpHandle & object) | null };

/** The error net's Writable raises for a failed write: `write EPIPE`, with code, errno and syscall. */
function writeError(status: number): NodeJS.ErrnoException {
    let code: string;
    try {
        code = getSystemErrorName(status);
    } catch {
        code = `E${-status}`;
    }
    return Object.assign(new Error(`write ${code}`), { code, errno: status, syscall: "write" });
}

/** Writes to one socket's handle, batching what arrives in one turn of the event loop. */
export class DirectWriter {
    private chunks: Buffer[] = [];
    private callbacks: WrittenCallback[] = [];
    /** Bytes added but not handed to the handle yet (this turn's batch). */
    private pending = 0;
    /** Bytes in libuv's queue (written asynchronously, not yet complete). */
    private queued = 0;
    private waiters: (() => void)[] = [];
    /** Set once the binding threw on a write: this socket's writes go through its Writable from then on. */
    private refused = false;
    private readonly flushLater = () => this.flushNow();
    /** Called whenever the backlog has drained to nothing (as a Writable's 'drain'). */
    onDrain: (() => void) | undefined;

    /** `highWaterMark`: the backlog above which the source pauses (the socket's Writable's mark, for onward sockets). */
    constructor(
        private readonly socket: SocketWithHandle,
        private readonly highWaterMark: number,
    ) {
        // What is batched goes out before the end: end() (and with it Writable's shutdown, which
        // libuv holds until every queued write is done) flushes first, whoever calls it.
        const end = socket.end as (...args: unknown[]) => Socket;
        const flush = () => this.flushNow();
        socket.end = function (this: Socket, ...args: unknown[]): Socket {
            flush();
            return end.apply(this, args);
        } as Socket["end"];
    }

    /** Bytes added and not yet taken by the kernel. */
    get backlog(): number {
        return this.pending + this.queued;
    }

    /** True while the source must stay paused. */
    get congested(): boolean {
        return this.backlog > this.highWaterMark;
    }

    private refuse(err: unknown): void {
        this.refused = true;
        directWriteStats.refused++;
        if (!warnedRefusal) {
            warnedRefusal = true;
            process.emitWarning(
                `writes below the sockets' Writables are off for the sockets that meet this: Node.js's stream_wrap binding refused a write (${err instanceof Error ? err.message : String(err)}); they go through the Writables, at the CPU per byte of before`,
                { code: "FIREFLY_DIRECT_WRITES_REFUSED" },
            );
        }
    }

    /** True if a chunk may go below the Writable now (see the contract at the top). */
    usable(): boolean {
        const socket = this.socket;
        return (
            binding !== undefined &&
            !this.refused &&
            socket._handle != null &&
            !socket.connecting &&
            !socket.destroyed &&
            !socket.writableEnded &&
            socket.writableLength === 0 &&
            socket.writableCorked === 0
        );
    }

    /** Queues `chunk` for this turn's writev; false once the source has to pause (whenDrained wakes it). */
    add(chunk: Buffer, written: WrittenCallback): boolean {
        // The first chunk of a batch schedules its flush (a flush empties the batch).
        if (this.chunks.push(chunk) === 1) process.nextTick(this.flushLater);
        this.callbacks.push(written);
        this.pending += chunk.length;
        return !this.congested;
    }

    /** Calls `wake` once nothing added is left for the kernel to take (or the socket is gone). */
    whenDrained(wake: () => void): void {
        if (this.backlog === 0) wake();
        else this.waiters.push(wake);
    }

    private drained(): void {
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
        this.onDrain?.();
    }

    /** Hands the batch to the handle now. */
    flushNow(): void {
        const chunks = this.chunks;
        if (chunks.length === 0) return;
        const callbacks = this.callbacks;
        const bytes = this.pending;
        this.chunks = [];
        this.callbacks = [];
        this.pending = 0;
        const socket = this.socket;
        const handle = socket._handle;
        // Destroyed meanwhile: the bytes have nowhere to go, and their callbacks never run.
        if (binding === undefined || handle == null || socket.destroyed) {
            this.drained();
            return;
        }
        const req = new binding.WriteWrap();
        req.handle = handle;
        req.oncomplete = undefined;
        req.async = false;
        req.bytes = 0;
        req.buffer = null;
        req.callback = null;
        let status: number;
        try {
            status = chunks.length === 1 ? handle.writeBuffer(req, chunks[0]!) : handle.writev(req, chunks, true);
        } catch (err) {
            // The binding is there but no longer takes a write as Node.js 20 and 22 do (a release
            // that changed its shape): nothing was written, so this batch and every later write of
            // the socket go through its Writable, in order, and the agent carries on.
            this.refuse(err);
            // Straight to the Writable: past any wrapper of socket.write (enableDirectRelayWrites'
            // and packetReuse's saw these chunks when they were added).
            const write = Writable.prototype.write as (this: Writable, chunk: Buffer, callback?: (err?: Error | null) => void) => boolean;
            for (let i = 0; i < chunks.length; i++) write.call(socket, chunks[i]!, callbacks[i]);
            if (this.queued === 0) this.drained();
            return;
        }
        directWriteStats.writes++;
        directWriteStats.chunks += chunks.length;
        if (status !== 0) {
            directWriteStats.failed++;
            socket.destroy(writeError(status));
            this.drained();
            return;
        }
        if (binding.streamBaseState[binding.kLastWriteWasAsync] === 0) {
            // The kernel took every byte.
            for (const written of callbacks) written?.(null);
            if (this.queued === 0) this.drained();
            return;
        }
        directWriteStats.async++;
        req._chunks = chunks;
        this.queued += bytes;
        req.oncomplete = (completion: number) => {
            this.queued -= bytes;
            if (completion < 0) {
                // A write cancelled because the socket was destroyed meanwhile is not a failure.
                if (!socket.destroyed) {
                    directWriteStats.failed++;
                    socket.destroy(writeError(completion));
                }
            } else {
                for (const written of callbacks) written?.(null);
            }
            if (this.backlog === 0 || socket.destroyed) this.drained();
        };
    }
}

const writers = new WeakMap<Duplex, DirectWriter>();

/** The socket's writer, made on first use with `highWaterMark` (see DirectWriter). */
export function directWriterOf(socket: Socket, highWaterMark: number): DirectWriter {
    let writer = writers.get(socket);
    if (writer === undefined) {
        writer = new DirectWriter(socket, highWaterMark);
        writers.set(socket, writer);
    }
    return writer;
}

/**
 * Sends what ssh2 writes to the relay socket below its Writable as well (the pull side's last
 * step, and every packet the agent sends): `write(chunk[, callback])` goes to the writer while the
 * Writable is idle, one writev per turn of the event loop (and `end()` flushes first, as for every
 * writer). ssh2 ignores
 * write()'s return value; the relay connection's output gate reads `backlog` instead. Returns
 * undefined, changing nothing, when direct writes are off. Call before anything else wraps
 * `socket.write` (ssh2/packetReuse.ts passes its buffers' callbacks through).
 */
export function enableDirectRelayWrites(socket: Socket, budget: number): DirectWriter | undefined {
    if (binding === undefined) return undefined;
    const writer = new DirectWriter(socket, budget);
    writers.set(socket, writer);
    const write = socket.write as (...args: unknown[]) => boolean;
    socket.write = function (this: Socket, ...args: unknown[]): boolean {
        const [chunk, callback] = args;
        if (args.length <= 2 && chunk instanceof Buffer && (callback === undefined || typeof callback === "function") && writer.usable()) {
            return writer.add(chunk, callback as WrittenCallback);
        }
        writer.flushNow();
        return write.apply(this, args);
    } as Socket["write"];
    return writer;
}
