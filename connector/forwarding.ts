// The data path: joins a forwarded SSH channel to its onward connection (a TCP socket or a second
// channel) and keeps track of every stream so shutdown can drain them.
//
// Backpressure is end to end: pump() stops reading one side while the other's write buffer is
// full; an ssh2 channel that is not read stops adjusting its SSH window, so the relay stops
// sending. Memory per stream stays bounded (about one SSH window plus socket buffers) however
// slow the reader. Chunks are passed through as they arrive, not re-chunked; onward TCP sockets
// read into one shared buffer, and a chunk is copied only when its sink would keep it. What one
// relay read carries for an onward socket (a packet's payload each) goes out in one writev.
//
// Writes into SSH channels need one more fence: ssh2 writes every packet its channel windows allow
// straight into the relay socket, ignoring that socket's backpressure. With a 2 MiB window per
// channel, 1,000 streams could park 2 GB in the agent. The relay connection's OutputGate says when
// its socket has more queued than a small budget; every stream writing into a channel of that
// connection pauses its source until the socket drains.
import { connect as connectTcp, type NetConnectOpts, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { channelClosedByPeer, channelTakesNow, isSshChannel } from "./ssh2/internals";
import { releaseWhenWritten } from "./ssh2/relayReads";
import { directWriterOf, directWritesAvailable, type DirectWriter } from "./directWrites";

/** Either a net.Socket or an ssh2 Channel: both are Duplex streams with different close rules. */
export type StreamEnd = Duplex;

/**
 * True once nothing can flow through the stream any more. ssh2's Channel.destroy() never sets
 * `destroyed`, and its 'close' may already have been emitted: its incoming state is what tells.
 */
function isGone(stream: StreamEnd): boolean {
    return isSshChannel(stream) ? channelClosedByPeer(stream) : stream.destroyed;
}

/** Releases a stream whose writable side has flushed: CHANNEL_CLOSE for a channel, close for a socket. */
function release(stream: StreamEnd): void {
    if (isSshChannel(stream)) stream.close();
    else stream.destroy();
}

/**
 * Tears a stream down now. An ssh2 channel emits 'close' only after its readable side has ended,
 * and nothing reads it once its peer is gone: resume() discards what is left so it can close.
 */
function abort(stream: StreamEnd): void {
    stream.resume();
    stream.destroy();
}

function whenClosed(stream: StreamEnd): Promise<void> {
    return new Promise((resolve) => {
        // A closed channel emits 'close' when its readable side ends: if that has happened, it
        // will not emit again.
        const alreadyClosed = isSshChannel(stream) ? isGone(stream) && stream.readableEnded : stream.destroyed;
        if (alreadyClosed) resolve();
        else stream.once("close", () => resolve());
    });
}

/**
 * Ends a stream whose peer is gone: what it still has to write is flushed, what it would read is
 * discarded (its data has nowhere to go), and then it is released.
 */
export function releaseAfterFlush(stream: StreamEnd, finalChunk?: Buffer): void {
    stream.resume();
    if (stream.writableFinished) {
        release(stream);
        return;
    }
    stream.once("finish", () => release(stream));
    if (finalChunk) stream.end(finalChunk);
    else stream.end();
}

/** Shared by every channel of one SSH connection: is its socket's send queue over budget? */
export interface OutputGate {
    readonly congested: boolean;
    /** Calls `wake` once the socket has flushed its queue (or closed). */
    whenDrained(wake: () => void): void;
}

/**
 * Copies `source` into `sink` like pipe(), counting the bytes: pauses on the sink's backpressure,
 * ends the sink when the source ends, stops when the sink is finished or closed. With a gate, also
 * pauses while the SSH connection the sink writes to is congested.
 */
function pump(source: StreamEnd, sink: StreamEnd, bytes: BytesCounted, gate: OutputGate | undefined): void {
    let stopped = false;
    let paused = false;
    const tap = readTaps.get(source);
    const resume = () => {
        if (stopped || !paused) return;
        if (sink.writableNeedDrain) return; // its 'drain' listener resumes
        if (direct?.congested) return direct.whenDrained(resume);
        if (gate?.congested) {
            gate.whenDrained(resume);
            return;
        }
        paused = false;
        source.resume();
    };
    // Into a TCP socket, the chunks of one relay read (each SSH packet's payload, up to 32 KiB)
    // go out in one writev: the socket is corked at the first and uncorked once this callback
    // returns (process.nextTick), before the event loop polls again.
    const batching = !isSshChannel(sink);
    const fromChannel = isSshChannel(source);
    // Into an onward TCP socket, a channel's payloads go below the socket's Writable while it is
    // idle (directWrites.ts): the same one writev per relay read, without the stream machinery.
    const direct: DirectWriter | undefined = directWritesAvailable && batching && fromChannel ? directWriterOf(sink as Socket, ONWARD_WRITE_HIGH_WATER_MARK) : undefined;
    let corked = false;
    const uncork = () => {
        corked = false;
        sink.uncork();
    };
    /** Writes one chunk; false once the source has to stop reading (it has been paused). */
    const forward = (chunk: Buffer): boolean => {
        bytes.add(chunk.length);
        if (stopped) return true;
        if (direct !== undefined && direct.usable()) {
            if (!direct.add(chunk, releaseWhenWritten(chunk))) {
                paused = true;
                source.pause();
                direct.whenDrained(resume);
                return false;
            }
            return true;
        }
        if (batching && !corked && !sink.writableEnded) {
            corked = true;
            sink.cork();
            process.nextTick(uncork);
        }
        // A channel's chunk may be a view of a relay read slab, written again once released.
        if (!sink.write(chunk, fromChannel ? releaseWhenWritten(chunk) : undefined)) {
            paused = true;
            source.pause();
            sink.once("drain", resume);
            return false;
        }
        if (gate?.congested) {
            paused = true;
            source.pause();
            gate.whenDrained(resume);
            return false;
        }
        return true;
    };
    const onData = (chunk: Buffer) => void forward(chunk);
    const stop = () => {
        stopped = true;
        if (tap) tap.consumer = () => true; // keep reading, discard: as a flowing stream without listener
        else source.off("data", onData);
    };
    if (tap) {
        // The chunk is a view of the shared read buffer, valid only during this call: passed on as
        // it is when the sink consumes it before write() returns, copied otherwise.
        tap.consumer = (view) => forward(consumesNow(sink, view.length) ? view : Buffer.from(view));
        // Every queued chunk goes to the sink, backpressure or not: the queue is already emptied,
        // so stopping early would drop the rest (the socket stopped reading after the first one).
        for (const chunk of tap.takePending()) forward(chunk);
    } else {
        source.on("data", onData);
    }
    source.once("end", () => {
        if (!stopped) sink.end();
    });
    sink.once("finish", stop);
    sink.once("close", stop);
    // Like pipe(): start the flow even if an earlier reader (the SOCKS handshake) paused it.
    if (!paused) source.resume();
}

// ---- Onward sockets read into one shared buffer ----
//
// A net.Socket allocates a new 64 KiB buffer for every read: in a bulk download from a target that
// is 1 GiB of short-lived external memory per GiB carried, which keeps V8 running major GCs (the
// same churn packetReuse.ts removes from the send side). The sockets connectOnward() opens read
// into one process-wide buffer instead (net's `onread`), and pump() hands each chunk to the SSH
// channel, which copies it into an SSH packet before write() returns. A chunk the channel would
// keep (its window is short, or writes are queued) is copied first.

const sharedReadBuffer = Buffer.allocUnsafeSlow(64 * 1024);
const ONWARD_WRITE_HIGH_WATER_MARK = 256 * 1024;

/** Routes an onward socket's reads: to pump() once the socket is spliced, into a queue before. */
class ReadTap {
    /** Receives a view of the shared buffer; returns false to stop reading (the socket was paused). */
    consumer: ((view: Buffer) => boolean) | undefined;
    private pending: Buffer[] = [];

    onRead(length: number): boolean {
        const view = sharedReadBuffer.subarray(0, length);
        if (this.consumer) return this.consumer(view);
        // Not spliced yet (a target that speaks first, like SMTP or MySQL): keep a copy, stop
        // reading until pump() takes it.
        this.pending.push(Buffer.from(view));
        return false;
    }

    takePending(): Buffer[] {
        const pending = this.pending;
        this.pending = [];
        return pending;
    }
}
const readTaps = new WeakMap<Duplex, ReadTap>();

/**
 * True if writing `length` bytes into `sink` now consumes them before write() returns: an open
 * ssh2 channel with nothing queued and the window for all of them copies them into SSH packets
 * synchronously (ssh2 1.17 Channel._write). Anything else may keep a reference.
 */
function consumesNow(sink: StreamEnd, length: number): boolean {
    return isSshChannel(sink) && channelTakesNow(sink, length);
}

/** Where a stream's bytes are counted (metrics.ts ByteTally: plain sums, read by the metrics). */
export interface BytesCounted {
    add(bytes: number): void;
}

export interface SpliceCounters {
    /** Bytes from the platform (relay side) to the target. */
    readonly toTarget: BytesCounted;
    /** Bytes from the target back to the platform. */
    readonly fromTarget: BytesCounted;
}

/**
 * Joins `platform` (the forwarded channel) and `target` in both directions, with half-close
 * carried across. Resolves when both are closed. An error on either side aborts both.
 */
export function splice(platform: StreamEnd, target: StreamEnd, counters: SpliceCounters, gate?: OutputGate): Promise<void> {
    if (isGone(platform) || isGone(target)) {
        // One side died between being opened and being joined (a SOCKS client that hung up while
        // we connected onward, a connection lost meanwhile): there is nothing to carry.
        abort(platform);
        abort(target);
        return Promise.all([whenClosed(platform), whenClosed(target)]).then(() => undefined);
    }
    pump(platform, target, counters.toTarget, isSshChannel(target) ? gate : undefined);
    pump(target, platform, counters.fromTarget, gate);

    let failed = false;
    const onError = () => {
        if (failed) return;
        failed = true;
        abort(platform);
        abort(target);
    };
    platform.on("error", onError);
    target.on("error", onError);

    // When one side is fully closed nothing more can reach it: finish writing what the other side
    // still has to deliver, then release it.
    platform.once("close", () => releaseAfterFlush(target));
    target.once("close", () => releaseAfterFlush(platform));

    return Promise.all([whenClosed(platform), whenClosed(target)]).then(() => undefined);
}

export class OnwardConnectError extends Error {
    constructor(readonly code: string, message: string) {
        super(message);
        this.name = "OnwardConnectError";
    }
}

/**
 * Opens a TCP connection with a deadline. Nagle is off: forwarded protocols are often
 * request/response and the SSH layer already batches.
 */
export function connectOnward(host: string, port: number, timeoutMs: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
        const tap = new ReadTap();
        // writableHighWaterMark (a stream option net.Socket passes on; @types/node omits it): room
        // for one relay read's payloads while the socket is corked (pump()).
        const options: NetConnectOpts & { writableHighWaterMark: number } = {
            host,
            port,
            allowHalfOpen: true,
            writableHighWaterMark: ONWARD_WRITE_HIGH_WATER_MARK,
            onread: { buffer: sharedReadBuffer, callback: (length) => tap.onRead(length) },
        };
        const socket = connectTcp(options);
        readTaps.set(socket, tap);
        const timer = setTimeout(() => {
            socket.destroy();
            reject(new OnwardConnectError("ETIMEDOUT", `connect to ${host}:${port} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        socket.once("connect", () => {
            clearTimeout(timer);
            socket.removeAllListeners("error");
            // Until splice() attaches its handler, an error must not crash the agent; splice
            // notices the socket is already destroyed.
            socket.on("error", () => undefined);
            socket.setNoDelay(true);
            resolve(socket);
        });
        socket.once("error", (err: NodeJS.ErrnoException) => {
            clearTimeout(timer);
            socket.destroy();
            reject(new OnwardConnectError(err.code ?? "ERROR", `connect to ${host}:${port} failed: ${err.code ?? err.message}`));
        });
    });
}

/** Every open stream, so shutdown can wait for them (up to a grace period) and then cut them. */
export class StreamTracker {
    private readonly active = new Map<number, () => void>();
    private nextId = 0;
    private idleWaiters: (() => void)[] = [];

    get size(): number {
        return this.active.size;
    }

    /** Tracks a stream until `done` settles; `cut` tears it down if the grace period runs out. */
    track(done: Promise<unknown>, cut: () => void): void {
        const id = this.nextId++;
        this.active.set(id, cut);
        const untrack = () => {
            this.active.delete(id);
            if (this.active.size === 0) {
                const waiters = this.idleWaiters;
                this.idleWaiters = [];
                for (const wake of waiters) wake();
            }
        };
        done.then(untrack, untrack);
    }

    /** Resolves true if every stream finished in time, false if some had to be cut. */
    async drain(graceMs: number): Promise<boolean> {
        if (this.active.size === 0) return true;
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
        const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)));
        const finished = await Promise.race([idle, expired]);
        clearTimeout(timer);
        if (!finished) for (const cut of this.active.values()) cut();
        return finished;
    }
}
