// The relay socket reads into regions of larger slabs (connector/ssh2/relayReads.ts), and ssh2
// keeps views of what it read (payloads handed on, partial headers). These check, on loopback
// sockets, that a region is never handed out twice (an earlier read's bytes stay as they were),
// and that the socket still behaves as a plain one for its readers: bytes that arrive before
// anyone listens are kept, pause() stops the flow, unshift() puts bytes back, 'end' comes last.
// End to end through a real sshd: packetReuse.test.ts, proxy.test.ts and the other relay tests.
import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { loopbackSockets } from "./helpers/loopback";
import { connectWithSlabReads, MIN_READ_BYTES, relayReadStats, SLAB_BYTES, SlabReads } from "../../connector/ssh2/relayReads";

const KiB = 1024;

describe("relay socket reads into slabs", function () {
    this.timeout(30_000);
    const { serve, track } = loopbackSockets();

    function connected(port: number): Promise<Socket> {
        return new Promise((resolve, reject) => {
            const socket = connectWithSlabReads({ host: "127.0.0.1", port });
            track(socket);
            socket.once("connect", () => resolve(socket));
            socket.once("error", reject);
        });
    }

    it("hands out each region of a slab once, and a new slab when less than a read's room is left", () => {
        const slabsBefore = relayReadStats.slabs;
        const reads = new SlabReads();
        const first = reads.next();
        assert.equal(first.length, SLAB_BYTES);
        first.fill(1, 0, 100);
        const kept = reads.take(100);
        const second = reads.next();
        assert.equal(second.length, SLAB_BYTES - 100);
        second.fill(2);
        assert.deepEqual(kept, Buffer.alloc(100, 1), "a later read wrote over an earlier one");
        reads.take(SLAB_BYTES - 100 - MIN_READ_BYTES + 1);
        assert.equal(reads.next().length, SLAB_BYTES, "a new slab, not a read smaller than Node's own");
        assert.equal(relayReadStats.slabs - slabsBefore, 2);
        assert.deepEqual(kept, Buffer.alloc(100, 1));
    });

    it("keeps what arrives before anyone reads, and every chunk handed out stays intact", async () => {
        const payload = randomBytes(4 * 1024 * KiB);
        const port = await serve((socket) => socket.end(payload));
        const socket = await connected(port);
        // Nobody listens yet: the bytes already arriving must wait in the socket, not be dropped.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const chunks: Buffer[] = [];
        socket.on("data", (chunk: Buffer) => chunks.push(chunk)); // kept as views, never copied
        await new Promise<void>((resolve) => socket.once("end", () => resolve()));
        const received = Buffer.concat(chunks);
        assert.equal(received.length, payload.length);
        assert.equal(createHash("sha256").update(received).digest("hex"), createHash("sha256").update(payload).digest("hex"));
    });

    it("stops the flow on pause(), takes bytes back with unshift(), and ends after the last byte", async () => {
        const payload = randomBytes(2 * 1024 * KiB);
        const port = await serve((socket) => socket.end(payload));
        const socket = await connected(port);
        const chunks: Buffer[] = [];
        let pausedAt = -1;
        let duringPause = 0;
        const onData = (chunk: Buffer) => {
            if (pausedAt >= 0) duringPause++;
            if (chunks.length === 0 && pausedAt < 0) {
                // The proxy handshake's pattern: take the first 10 bytes, put the rest back, pause.
                chunks.push(chunk.subarray(0, 10));
                socket.off("data", onData);
                socket.pause();
                pausedAt = Date.now();
                socket.unshift(chunk.subarray(10));
                setTimeout(() => {
                    pausedAt = -1;
                    socket.on("data", onData);
                    socket.resume();
                }, 200);
                return;
            }
            chunks.push(chunk);
        };
        socket.on("data", onData);
        await new Promise<void>((resolve) => socket.once("end", () => resolve()));
        assert.equal(duringPause, 0, "data arrived while paused");
        assert.ok(Buffer.concat(chunks).equals(payload), "bytes lost, duplicated or reordered");
    });
});
