// The relay socket reads into regions of larger slabs (connector/ssh2/relayReads.ts), and ssh2
// keeps views of what it read (payloads handed on, partial headers). These check, on loopback
// sockets, that a region is never handed out twice (an earlier read's bytes stay as they were),
// and that the socket still behaves as a plain one for its readers: bytes that arrive before
// anyone listens are kept, pause() stops the flow, unshift() puts bytes back, 'end' comes last.
// End to end through a real sshd, the second suite: slabs are written again once every view of
// them is released, and what the targets receive stays byte-exact while that happens, with slow
// and pausing readers (views queued in channels and sockets), hairpin routes (views written into a
// second channel) and key re-exchanges (payloads the accounting cannot see).
import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { loopbackSockets } from "./helpers/loopback";
import type { Client } from "ssh2";
import { connectWithSlabReads, enableRelayReadReuse, MIN_READ_BYTES, relayReadStats, releaseWhenWritten, SLAB_BYTES, SlabReads } from "../../connector/ssh2/relayReads";
import { PlainPacketReader, ssh2Crypto, type DecipherInternals } from "../../connector/ssh2/internals";
import { startAgent, type InProcessAgent } from "../../connector/lab/agent";
import { TunnelLab } from "../../connector/lab/lab";
import { freePort } from "../../connector/lab/relay";
import { directWriteStats } from "../../connector/directWrites";
import { sha256, testPayload } from "./helpers/targets";

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

/**
 * The reuse rules one by one, without sshd: a loopback socket made by connectWithSlabReads and a
 * stand-in for ssh2's protocol whose decipher is ssh2's own AES-GCM class. The test plays ssh2:
 * each chunk read is handed to the decipher's payload handler as one message whose type and
 * length it writes into the chunk's first bytes, and it decides when the "sink" is done with the
 * channel data (releaseWhenWritten's callback).
 */
describe("relay read slabs: when a slab may be written again", function () {
    this.timeout(30_000);
    const { serve, track } = loopbackSockets();
    const CHANNEL_DATA = 94;
    const GLOBAL_REQUEST = 80;

    /** Reads `total` bytes from a server that sends a known pattern, passing each chunk to `onChunk`. */
    async function readThrough(total: number, onChunk: (chunk: Buffer, deliver: (payload: Buffer) => void, decipher: DecipherInternals) => void): Promise<void> {
        const pattern = testPayload(total);
        const port = await serve((socket) => socket.end(pattern));
        const socket = track(connectWithSlabReads({ host: "127.0.0.1", port }));
        socket.pause();
        await new Promise<void>((resolve, reject) => {
            socket.once("connect", resolve);
            socket.once("error", reject);
        });
        const info = ssh2Crypto.CIPHER_INFO["aes256-gcm@openssh.com"]!;
        const passedOn = (_payload: Buffer): unknown => undefined;
        const decipher = ssh2Crypto.createDecipher({
            inbound: { onPayload: passedOn, decipherInfo: info, decipherKey: Buffer.alloc(info.keyLen), decipherIV: Buffer.alloc(info.ivLen), seqno: 0 },
        });
        const protocol = { _decipher: decipher, _onPayload: passedOn, _packetRW: { read: Reflect.construct(PlainPacketReader, []) as object, write: {} } };
        enableRelayReadReuse({ _protocol: protocol } as unknown as Client, socket);
        assert.notEqual(protocol._onPayload, passedOn, "the accounting was not installed (no native AES-GCM decipher?)");
        let offset = 0;
        socket.on("data", (chunk: Buffer) => {
            // What the socket hands on must be what was sent, whatever slab it was read into.
            assert.ok(chunk.equals(pattern.subarray(offset, offset + chunk.length)), `bytes ${offset}..${offset + chunk.length} arrived altered`);
            offset += chunk.length;
            onChunk(chunk, (payload) => void protocol._decipher._onPayload(payload), protocol._decipher);
        });
        socket.resume();
        await new Promise<void>((resolve) => socket.once("end", () => resolve()));
        assert.equal(offset, total);
    }

    /** Writes a CHANNEL_DATA header into `chunk` (as if its bytes were a decrypted packet) and returns the data view. */
    function asChannelData(chunk: Buffer): Buffer {
        chunk[0] = CHANNEL_DATA;
        chunk.writeUInt32BE(0, 1);
        chunk.writeUInt32BE(chunk.length - 9, 5);
        return chunk.subarray(9);
    }

    it("waits until every view of channel data is released, then writes the slab again", async () => {
        const before = relayReadStats.reused;
        const held: { view: Buffer; copy: Buffer; release: (err?: Error | null) => void }[] = [];
        let releasing = false;
        await readThrough(6 * 1024 * KiB, (chunk, deliver) => {
            if (chunk.length < 9) return;
            const data = asChannelData(chunk);
            deliver(chunk);
            const release = releaseWhenWritten(data)!;
            assert.ok(release, "a view of a relay slab has a release callback");
            if (releasing) release();
            else held.push({ view: data, copy: Buffer.from(data), release });
            // Hold the first 2 MiB: no slab may come back while its views are alive.
            if (!releasing && held.reduce((n, h) => n + h.view.length, 0) >= 2 * 1024 * KiB) {
                assert.equal(relayReadStats.reused, before, "a slab was written again while views of it were held");
                for (const h of held) assert.ok(h.view.equals(h.copy), "a held view was overwritten");
                for (const h of held.splice(0)) h.release();
                releasing = true;
            }
        });
        assert.ok(relayReadStats.reused > before, "no slab was written again once every view was released");
    });

    /**
     * Watches which slab each read lands in: a read that starts a new stretch of reads in a slab
     * that is `off limits` (pinned, or held) means the slab was written again when it must not be.
     */
    function slabWatch(): { note(chunk: Buffer): void; offLimits: Set<ArrayBufferLike>; violations: number } {
        let last: ArrayBufferLike | undefined;
        const watch = {
            offLimits: new Set<ArrayBufferLike>(),
            violations: 0,
            note(chunk: Buffer) {
                if (chunk.buffer !== last && watch.offLimits.has(chunk.buffer)) watch.violations++;
                last = chunk.buffer;
            },
        };
        return watch;
    }

    it("never writes again a slab another message was parsed from, or one a failed write may still hold", async () => {
        const before = { ...relayReadStats };
        const watch = slabWatch();
        let n = 0;
        await readThrough(8 * 1024 * KiB, (chunk, deliver) => {
            if (chunk.length < 9) return;
            watch.note(chunk);
            n++;
            if (n % 7 === 3) {
                // A global request: ssh2 may keep views of its fields.
                chunk[0] = GLOBAL_REQUEST;
                deliver(chunk);
                watch.offLimits.add(chunk.buffer);
                return;
            }
            const data = asChannelData(chunk);
            deliver(chunk);
            if (n % 5 === 0) {
                // A write that failed: the socket may still hold the bytes.
                releaseWhenWritten(data)!(new Error("EPIPE"));
                watch.offLimits.add(chunk.buffer);
            } else {
                releaseWhenWritten(data)!();
            }
        });
        assert.ok(relayReadStats.reused - before.reused >= 5, "slabs were hardly reused: the test would prove little");
        assert.ok(watch.offLimits.size >= 5);
        assert.equal(watch.violations, 0, "a pinned slab was written again");
    });

    it("does not take back a slab the decipher still holds a packet in (waiting for its tag)", async () => {
        const before = relayReadStats.reused;
        const watch = slabWatch();
        let n = 0;
        await readThrough(8 * 1024 * KiB, (chunk, deliver, decipher) => {
            if (chunk.length < 9) return;
            watch.note(chunk);
            n++;
            const data = asChannelData(chunk);
            deliver(chunk);
            releaseWhenWritten(data)!();
            // Past the first slab (filled before the accounting began, so pinned anyway): as ssh2
            // does when a packet arrived whole but its tag has not, `_packet` is a view of this read.
            if (n === 8) {
                decipher._packet = new Uint8Array(chunk.buffer, chunk.byteOffset, 16);
                watch.offLimits.add(chunk.buffer);
            }
        });
        assert.ok(relayReadStats.reused - before >= 5, "slabs were hardly reused: the test would prove little");
        assert.equal(watch.violations, 0, "the slab the decipher holds was written again");
    });

    it("stops trusting every slab read during a key exchange (ssh2's handler then bypasses the accounting)", async () => {
        const before = relayReadStats.reused;
        const watch = slabWatch();
        const heldViews: Buffer[] = [];
        const kexHandler = (payload: Buffer): unknown => heldViews.push(payload);
        let n = 0;
        await readThrough(8 * 1024 * KiB, (chunk, deliver, decipher) => {
            if (chunk.length < 9) return;
            watch.note(chunk);
            n++;
            if (n === 8) {
                // What kex.js does on a KEXINIT: the decipher's handler becomes onKEXPayload, which
                // the accounting never sees, until the exchange ends (here: the next event-loop
                // turn); the payloads it handles stay in use.
                const counting = decipher._onPayload;
                decipher._onPayload = kexHandler;
                setImmediate(() => (decipher._onPayload = counting));
            }
            if (decipher._onPayload === kexHandler) {
                deliver(chunk);
                watch.offLimits.add(chunk.buffer);
                return;
            }
            const data = asChannelData(chunk);
            deliver(chunk);
            releaseWhenWritten(data)!();
        });
        assert.ok(heldViews.length >= 1);
        assert.ok(relayReadStats.reused - before >= 5, "slabs were hardly reused: the test would prove little");
        assert.equal(watch.violations, 0, "a slab read during the key exchange was written again");
    });
});

/**
 * A target that hashes what it receives and answers with the digest once the sender half-closes.
 * Every `stallEvery` bytes it stops reading for `stallMs` (the channel's queue and the socket's
 * write queue then hold views of relay reads).
 */
async function startHashingSink(stallEvery: number, stallMs: number): Promise<{ port: number; close(): Promise<void> }> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
        sockets.add(socket);
        socket.on("error", () => undefined);
        const hash = createHash("sha256");
        let sinceStall = 0;
        socket.on("data", (chunk: Buffer) => {
            hash.update(chunk);
            sinceStall += chunk.length;
            if (stallEvery > 0 && sinceStall >= stallEvery) {
                sinceStall = 0;
                socket.pause();
                setTimeout(() => socket.resume(), stallMs);
            }
        });
        socket.once("end", () => socket.end(hash.digest("hex")));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        port: (server.address() as AddressInfo).port,
        close: () =>
            new Promise<void>((resolve) => {
                for (const socket of sockets) socket.destroy();
                server.close(() => resolve());
            }),
    };
}

/** Uploads `payload` to 127.0.0.1:`port` and resolves with the digest the sink answers. */
function upload(port: number, payload: Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port });
        let answer = "";
        socket.setEncoding("utf8");
        socket.on("data", (text: string) => (answer += text));
        socket.once("end", () => resolve(answer));
        socket.once("error", reject);
        socket.end(payload);
    });
}

describe("relay read slabs written again (real sshd relay, rekeying every 16 MiB)", function () {
    this.timeout(120_000);
    let lab: TunnelLab;
    let agent: InProcessAgent;
    const sinks: { port: number; close(): Promise<void> }[] = [];
    const ports: Record<string, number> = {};

    before(async () => {
        // A sink that takes everything at once, and one that stalls 150 ms after every MiB.
        sinks.push(await startHashingSink(0, 0), await startHashingSink(1024 * KiB, 150));
        for (const name of ["fast", "stalling", "hairpin"]) ports[name] = await freePort();
        lab = await TunnelLab.create({
            label: "relay-reads",
            routes: [
                { name: "fast", listen: `127.0.0.1:${ports.fast}`, target: `127.0.0.1:${sinks[0]!.port}`, via: "direct" },
                { name: "stalling", listen: `127.0.0.1:${ports.stalling}`, target: `127.0.0.1:${sinks[1]!.port}`, via: "direct" },
                { name: "hairpin", listen: `127.0.0.1:${ports.hairpin}`, target: `127.0.0.1:${sinks[1]!.port}`, via: "tunnel" },
            ],
            sshdConfigPrefix: "RekeyLimit 16M\n",
        });
        agent = await startAgent(lab.config());
        await agent.waitUntilReady();
    });

    after(async () => {
        await agent?.stop();
        await lab?.cleanup();
        for (const sink of sinks) await sink.close();
    });

    it("reuses slabs on a push and delivers every byte intact, alone and with streams that stall", async () => {
        const before = { ...relayReadStats };
        const directBefore = { ...directWriteStats };
        // One stream alone first: the steady case, where most slabs should be taken back.
        const alone = testPayload(48 * 1024 * KiB);
        assert.equal(await upload(ports.fast!, alone), sha256(alone));
        const reusedAlone = relayReadStats.reused - before.reused;
        const newAlone = relayReadStats.slabs - before.slabs;
        // Not every slab comes back: rekeys pin the ring, and a sink slower than the relay keeps views queued.
        assert.ok(reusedAlone >= 8, `one push of 48 MiB: ${reusedAlone} slabs reused, ${newAlone} allocated`);
        // And the agent says so on /metrics, where operators and the bench read it.
        const counted = relayReadStats.reused;
        const text = await agent.connector.metrics.text();
        const exposed = Number(/^firefly_connector_relay_read_slabs_total\{outcome="reused"\} (\d+)$/m.exec(text)?.[1] ?? -1);
        assert.ok(exposed >= counted && counted > 0, `relay_read_slabs_total{outcome="reused"} is ${exposed}, the agent had counted ${counted}`);

        // Then a fast stream beside two that stall (direct and hairpin): while their channels and
        // sockets hold views of earlier slabs, the fast one keeps the slabs turning.
        const reusedBefore = relayReadStats.reused;
        const streams = [
            { route: "fast", payload: testPayload(40 * 1024 * KiB) },
            { route: "stalling", payload: testPayload(6 * 1024 * KiB + 4099) },
            { route: "hairpin", payload: testPayload(6 * 1024 * KiB + 8191) },
        ];
        const digests = await Promise.all(streams.map(({ route, payload }) => upload(ports[route]!, payload)));
        digests.forEach((digest, i) => assert.equal(digest, sha256(streams[i]!.payload), `the ${streams[i]!.route} stream arrived altered`));
        // Rekeys happened (every 16 MiB), and each pinned the slabs read meanwhile.
        assert.ok(relayReadStats.pinned > before.pinned, "no slab was ever pinned: the rekey detection never ran");
        assert.ok(relayReadStats.reused > reusedBefore, "no slab reused while streams stalled");
        // The pushes went to their targets below the sockets' Writables (connector/directWrites.ts),
        // and the stalling sinks made some of those writes wait in libuv's queue.
        assert.ok(directWriteStats.writes - directBefore.writes >= 100, `${directWriteStats.writes - directBefore.writes} direct writes`);
        assert.ok(directWriteStats.async > directBefore.async, "no direct write ever waited: backpressure was not exercised");
        assert.equal(directWriteStats.failed, directBefore.failed);
    });
});
