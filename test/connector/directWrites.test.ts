// Onward socket writes below the Writable (connector/directWrites.ts): order, batching, the write
// callbacks that release relay read slabs, backpressure, failures and the end, on loopback sockets.
// The real push through sshd is in relayReads.test.ts, which also checks this path carried it.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { resolve } from "node:path";
import { directWriterOf as writerWithMark, directWritesAvailable, directWriteStats, enableDirectRelayWrites } from "../../connector/directWrites";
import { loopbackSockets } from "./helpers/loopback";
import { sha256, testPayload } from "./helpers/targets";

const KiB = 1024;
/** The onward sockets' high-water mark in forwarding.ts. */
const MARK = 256 * KiB;
const directWriterOf = (socket: Socket) => writerWithMark(socket, MARK);

/** Resolves with everything `socket` receives until its peer ends it. */
function collect(socket: Socket): Promise<Buffer> {
    const parts: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => parts.push(chunk));
    return once(socket, "end").then(() => Buffer.concat(parts));
}

async function connected(port: number, track: <T extends Socket>(socket: T) => T): Promise<Socket> {
    const socket = track(connect({ host: "127.0.0.1", port, allowHalfOpen: true }));
    socket.on("error", () => undefined);
    await once(socket, "connect");
    return socket;
}

describe("onward socket writes below the Writable", function () {
    this.timeout(30_000);
    const net = loopbackSockets();

    before(function () {
        // Node.js 20 and 22 both have the binding; without it the whole path is off (next describe).
        assert.ok(directWritesAvailable, "process.binding('stream_wrap') is not usable on this Node.js: every onward write would take the slow path");
    });

    it("writes the chunks of one turn in one writev, in order, and calls each callback once the kernel has them", async () => {
        let received: Promise<Buffer> | undefined;
        const port = await net.serve((socket) => (received = collect(socket)));
        const socket = await connected(port, net.track);
        const writer = directWriterOf(socket);
        assert.ok(writer.usable());
        const chunks = [testPayload(1000), testPayload(32 * KiB), testPayload(7)];
        const before = { ...directWriteStats };
        const written: number[] = [];
        chunks.forEach((chunk, i) => assert.ok(writer.add(chunk, () => written.push(i))));
        assert.deepEqual(written, [], "nothing is written before the turn ends");
        await new Promise((r) => process.nextTick(r));
        assert.deepEqual(written, [0, 1, 2]);
        assert.equal(directWriteStats.writes - before.writes, 1, "one writev for the three chunks");
        assert.equal(directWriteStats.chunks - before.chunks, 3);
        socket.end(); // flushes the batch first
        assert.equal(sha256((await received)!), sha256(Buffer.concat(chunks)));
    });

    it("is not used while the Writable holds, corks or ends anything, so the two kinds of write never reorder", async () => {
        const port = await net.serve(() => undefined);
        const socket = await connected(port, net.track);
        const writer = directWriterOf(socket);
        socket.cork();
        assert.equal(writer.usable(), false, "corked");
        socket.uncork();
        assert.equal(writer.usable(), true);
        // A write the kernel cannot take at once stays in the Writable: fill the socket's buffers.
        const big = testPayload(8 * 1024 * KiB);
        socket.write(big);
        assert.ok(socket.writableLength > 0, "the peer reads nothing, so the Writable kept some of 8 MiB");
        assert.equal(writer.usable(), false, "bytes buffered in the Writable");
        socket.destroy();
        assert.equal(writer.usable(), false, "destroyed");
    });

    it("pushes back once more than the high-water mark waits for the kernel, and wakes the source when it has drained", async () => {
        let peer: Socket | undefined;
        const port = await net.serve((socket) => {
            peer = socket;
            socket.pause(); // reads nothing until told
        });
        const socket = await connected(port, net.track);
        const writer = directWriterOf(socket);
        const sent: Buffer[] = [];
        const done: number[] = [];
        let accepted = true;
        // One 64 KiB chunk per turn until the writer refuses more: bounded by what the kernel's
        // buffers hold plus the mark (a few MiB on loopback), never more than 256 turns here.
        for (let turn = 0; turn < 256 && accepted; turn++) {
            const chunk = testPayload(64 * KiB + turn);
            sent.push(chunk);
            accepted = writer.add(chunk, () => done.push(turn));
            await new Promise((r) => setImmediate(r));
        }
        assert.equal(accepted, false, "the writer never pushed back on a peer that reads nothing");
        assert.ok(writer.congested);
        assert.ok(writer.backlog > MARK, `pushed back with ${writer.backlog} bytes waiting, not over the mark`);
        assert.ok(done.length < sent.length, "every callback ran although the kernel cannot have taken every byte");
        const woken = new Promise<void>((r) => writer.whenDrained(r));
        const received = collect(peer!);
        peer!.resume();
        await woken;
        assert.equal(writer.congested, false);
        assert.deepEqual(done, sent.map((_, i) => i), "callbacks in order, each once, all of them once drained");
        socket.end(); // flushes the batch first
        assert.equal(sha256(await received), sha256(Buffer.concat(sent)));
    });

    it("destroys the socket with net's error when the peer is gone, and never calls back for bytes not written", async () => {
        let peer: Socket | undefined;
        const port = await net.serve((socket) => {
            peer = socket;
            socket.pause();
        });
        // Not reading (an onread socket stops reading on pause(), as the agent's onward sockets
        // do): the reset must surface through the writes.
        const socket = net.track(connect({ host: "127.0.0.1", port, onread: { buffer: Buffer.alloc(KiB), callback: () => true } }));
        socket.on("error", () => undefined);
        await once(socket, "connect");
        socket.pause();
        const writer = directWriterOf(socket);
        let called = 0;
        let added = 0;
        const add = (chunk: Buffer) => {
            added++;
            return writer.add(chunk, () => called++);
        };
        // Fill the path so the next write waits in libuv's queue, then reset the connection.
        let turns = 0;
        while (add(testPayload(256 * KiB)) && ++turns < 128) await new Promise((r) => setImmediate(r));
        assert.ok(writer.congested, "32 MiB to a peer that reads nothing, and the writer never pushed back");
        const calledBeforeReset = called;
        const errored = once(socket, "error") as Promise<[NodeJS.ErrnoException]>;
        peer!.resetAndDestroy();
        // Keep writing until the kernel reports the reset.
        const more = setInterval(() => writer.usable() && add(testPayload(KiB)), 5);
        const [error] = await errored;
        clearInterval(more);
        assert.match(error.message, /^write E[A-Z]+$/);
        assert.ok(["EPIPE", "ECONNRESET", "ECANCELED"].includes(error.code ?? ""), `error code ${error.code}`);
        assert.equal(error.syscall, "write");
        assert.ok(socket.destroyed);
        // What waited in libuv's queue when the peer reset was never written: no callback for it.
        await new Promise((r) => setTimeout(r, 50));
        assert.ok(called < added, `${called} callbacks for ${added} chunks: some ran for bytes the reset lost`);
        // ...while the chunks the kernel took before the reset were called back.
        assert.ok(calledBeforeReset > 0, "no callback ran for the chunks the kernel took before the reset");
        assert.equal(writer.usable(), false);
    });

    it("delivers a batch before the end when flushed first (the end waits for every queued write)", async () => {
        let received: Promise<Buffer> | undefined;
        const port = await net.serve((socket) => (received = collect(socket)));
        const socket = await connected(port, net.track);
        const writer = directWriterOf(socket);
        const payload = testPayload(3 * 1024 * KiB + 5);
        for (let at = 0; at < payload.length; at += 64 * KiB) writer.add(payload.subarray(at, at + 64 * KiB), undefined);
        socket.end(); // flushes the batch first
        assert.equal(sha256((await received)!), sha256(payload));
    });
});

describe("writes below the Writable when Node.js's binding refuses them", function () {
    this.timeout(30_000);
    const net = loopbackSockets();

    it("sends the refused batch and every later write through the Writable, in order, and warns once", async () => {
        const received: Promise<Buffer>[] = [];
        const port = await net.serve((socket) => void received.push(collect(socket)));
        const socket = await connected(port, net.track);
        // What a Node.js release that changed the binding's signatures would do to our calls; its
        // own Writable (which calls the same methods) keeps working, as it would in that release.
        type Handle = Record<string, (...args: unknown[]) => number>;
        const refuseOurs = (handle: Handle) => {
            for (const name of ["writev", "writeBuffer"]) {
                const original = handle[name]!;
                handle[name] = function (this: unknown, ...args: unknown[]): number {
                    // Called by the writer itself, not by net's Writable (whose caller is handleWriteReq).
                    if (new Error().stack?.split("\n")[2]?.includes("flushNow")) throw new TypeError("The \"req\" argument must be of type WriteWrap");
                    return original.apply(this, args);
                };
            }
        };
        refuseOurs((socket as unknown as { _handle: Handle })._handle);
        const warnings: Error[] = [];
        const onWarning = (w: Error) => warnings.push(w);
        process.on("warning", onWarning);
        try {
            const writer = enableDirectRelayWrites(socket, 2 * 1024 * KiB)!;
            const before = { ...directWriteStats };
            const calls: string[] = [];
            socket.write(Buffer.from("one,"), () => calls.push("one"));
            socket.write(Buffer.from("two,"), () => calls.push("two"));
            await new Promise((r) => setImmediate(r));
            assert.equal(directWriteStats.refused - before.refused, 1, "the binding's refusal was not noticed");
            assert.equal(writer.usable(), false, "the socket kept trying the binding");
            assert.equal(writer.backlog, 0);
            socket.write(Buffer.from("three,"), () => calls.push("three"));
            // A second socket meets the same binding: its own writes fall back too, without a second warning.
            const second = await connected(port, net.track);
            refuseOurs((second as unknown as { _handle: Handle })._handle);
            const other = directWriterOf(second);
            other.add(Buffer.from("x"), undefined);
            await new Promise((r) => setImmediate(r));
            assert.equal(other.usable(), false);
            second.end();
            socket.end(Buffer.from("four"));
            assert.equal((await received[0]!).toString(), "one,two,three,four");
            assert.equal((await received[1]!).toString(), "x");
            assert.deepEqual(calls, ["one", "two", "three"], "each write's callback, once the Writable wrote it");
            assert.equal(directWriteStats.writes - before.writes, 0, "nothing counted as written below the Writable");
            await new Promise((r) => setImmediate(r));
            const ours = warnings.filter((w) => (w as NodeJS.ErrnoException).code === "FIREFLY_DIRECT_WRITES_REFUSED");
            assert.equal(ours.length, 1, "one warning per process");
            assert.match(ours[0]!.message, /stream_wrap binding refused a write \(The "req" argument must be of type WriteWrap\)/);
        } finally {
            process.off("warning", onWarning);
        }
    });
});

describe("relay socket writes below the Writable (what ssh2 writes)", function () {
    this.timeout(30_000);
    const net = loopbackSockets();

    it("takes ssh2's write(buffer[, callback]) directly, falls back in order for anything else, and flushes before end()", async () => {
        let received: Promise<Buffer> | undefined;
        const port = await net.serve((socket) => (received = collect(socket)));
        const socket = await connected(port, net.track);
        const writer = enableDirectRelayWrites(socket, 2 * 1024 * KiB)!;
        const before = { ...directWriteStats };
        const calls: string[] = [];
        assert.equal(socket.write(Buffer.from("one,"), () => calls.push("one")), true);
        socket.write(Buffer.from("two,"));
        assert.equal(writer.backlog, 8, "both wait for this turn's writev");
        // A string (the proxy handshake writes one) goes through the Writable, after the batch.
        socket.write("three,", "utf8", () => calls.push("three"));
        assert.equal(writer.backlog, 0, "the batch was flushed before the fallback write");
        await new Promise((r) => setImmediate(r));
        socket.write(Buffer.from("four"));
        socket.end(); // must not overtake "four", still in this turn's batch
        assert.equal((await received)!.toString(), "one,two,three,four");
        assert.deepEqual(calls, ["one", "three"]);
        assert.equal(directWriteStats.writes - before.writes, 2);
    });

    it("counts what waits for the kernel as its backlog, and tells the output gate when it is gone", async () => {
        let peer: Socket | undefined;
        const port = await net.serve((socket) => {
            peer = socket;
            socket.pause();
        });
        const socket = await connected(port, net.track);
        const budget = 512 * KiB;
        const writer = enableDirectRelayWrites(socket, budget)!;
        let drains = 0;
        writer.onDrain = () => drains++;
        let turns = 0;
        while (!writer.congested && ++turns < 256) {
            socket.write(testPayload(64 * KiB));
            await new Promise((r) => setImmediate(r));
        }
        assert.ok(writer.congested, `${turns} turns of 64 KiB to a peer that reads nothing, and the backlog never passed the budget`);
        assert.ok(writer.backlog > budget);
        const drainsBefore = drains;
        peer!.resume();
        await new Promise<void>((r) => writer.whenDrained(r));
        assert.equal(writer.backlog, 0);
        assert.ok(drains > drainsBefore, "onDrain was not called when the backlog drained");
    });
});

describe("onward socket writes below the Writable: switched off", function () {
    this.timeout(30_000);

    it("FIREFLY_CONNECTOR_DIRECT_WRITES=0 leaves every onward and relay write to the Writable", () => {
        const root = resolve(__dirname, "..", "..");
        // forwarding.ts makes onward writers only when directWritesAvailable; the relay's is
        // enableDirectRelayWrites', which leaves the socket as it is when it returns undefined.
        const probe =
            `require("ts-node/register/transpile-only"); const d = require("./connector/directWrites"); const s = new (require("node:net").Socket)(); const w = s.write;` +
            `process.stdout.write(JSON.stringify({ available: d.directWritesAvailable, relayWriter: d.enableDirectRelayWrites(s, 1) !== undefined, writeWrapped: s.write !== w }));`;
        const run = (value: string | undefined) =>
            JSON.parse(execFileSync(process.execPath, ["-e", probe], { cwd: root, env: { ...process.env, FIREFLY_CONNECTOR_DIRECT_WRITES: value }, encoding: "utf8" })) as unknown;
        assert.deepEqual(run("0"), { available: false, relayWriter: false, writeWrapped: false });
        assert.deepEqual(run("1"), { available: true, relayWriter: true, writeWrapped: true });
    });
});
