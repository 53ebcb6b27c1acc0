// The data path's own rules, on real loopback sockets (the SSH side is covered against real sshd in
// routes, faults and packetReuse tests): onward sockets read into one shared buffer, so whatever
// keeps a chunk must get a copy, and what a target sends before the stream is joined must not be
// lost, reordered or read over.
import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import { loopbackSockets } from "./helpers/loopback";
import { Duplex } from "node:stream";
import type { ByteTally } from "../../connector/metrics";
import { ConnectorMetrics } from "../../connector/metrics";
import { connectOnward, splice } from "../../connector/forwarding";
import { waitFor, within } from "../../connector/lab/wait";

const KiB = 1024;

/** A platform side that keeps every chunk written to it, takes `delayMs` per chunk, and sends nothing. */
function recordingPlatform(delayMs: number): { stream: Duplex; chunks: Buffer[] } {
    const chunks: Buffer[] = [];
    const stream = new Duplex({
        highWaterMark: 16 * KiB,
        read() {},
        write(chunk: Buffer, _encoding, callback) {
            chunks.push(chunk); // kept, not copied: a reused buffer would show up as corrupted data
            setTimeout(callback, delayMs);
        },
    });
    return { stream, chunks };
}

function counters(): { toTarget: ByteTally; fromTarget: ByteTally; total: () => Promise<number> } {
    const metrics = new ConnectorMetrics();
    return {
        toTarget: metrics.byteTally("test", "to_target"),
        fromTarget: metrics.byteTally("test", "from_target"),
        // Read through the counter, as a scrape would: the tallies are folded in when it is read.
        total: async () => (await metrics.bytes.get()).values.find((v) => v.labels.direction === "from_target")?.value ?? 0,
    };
}

describe("connector data path (loopback sockets)", function () {
    this.timeout(30_000);
    const { serve: target, track } = loopbackSockets();

    it("delivers what a target sent before the stream was joined, then the rest, in order, then the end", async () => {
        // A target that speaks first (SMTP, MySQL, SSH banners): its first bytes reach the agent
        // before anything is joined to the socket. This one has 8 MiB to say at once, then sends
        // the rest once asked.
        const banner = randomBytes(8 * 1024 * KiB);
        const rest = randomBytes(1024 * KiB);
        const port = await target((socket) => {
            socket.write(banner);
            socket.once("data", () => socket.end(rest));
        });
        const socket = await connectOnward("127.0.0.1", port, 5_000);
        track(socket);
        // Nothing is joined yet: the socket must stop reading after its first chunk (kept as a
        // copy) instead of reading the whole banner into memory nobody consumes.
        let last = -1;
        let unchanged = 0;
        await waitFor(
            () => {
                unchanged = socket.bytesRead === last && last > 0 ? unchanged + 1 : 0;
                last = socket.bytesRead;
                return unchanged >= 10;
            },
            { timeoutMs: 10_000, what: "the socket to stop reading before the splice" },
        );
        assert.ok(last <= 64 * KiB, `read ${last} bytes with nobody to give them to`);

        const platform = recordingPlatform(1);
        const bytes = counters();
        const done = splice(platform.stream, socket, bytes);
        platform.stream.push("go");
        platform.stream.push(null);
        await within(done, 20_000, "the stream to finish");

        const received = Buffer.concat(platform.chunks);
        const expected = Buffer.concat([banner, rest]);
        assert.equal(received.length, expected.length);
        assert.equal(createHash("sha256").update(received).digest("hex"), createHash("sha256").update(expected).digest("hex"));
        assert.equal(await bytes.total(), expected.length);
    });

    it("gives every chunk its own copy when the sink keeps chunks and pushes back", async () => {
        // The sink holds on to every chunk and drains slowly, so reads pile up behind its
        // backpressure: a chunk passed on as a view of the shared read buffer would be overwritten.
        const payload = randomBytes(2 * 1024 * KiB);
        const port = await target((socket) => socket.end(payload));
        const socket = await connectOnward("127.0.0.1", port, 5_000);
        track(socket);
        const platform = recordingPlatform(2);
        const done = splice(platform.stream, socket, counters());
        platform.stream.push(null);
        await within(done, 20_000, "the stream to finish");

        assert.ok(platform.chunks.length > 1, "the payload arrived in more than one read");
        assert.ok(Buffer.concat(platform.chunks).equals(payload), "the payload arrived changed or reordered");
    });
});
