// The bench's Node.js floor: a TCP relay in plain Node.js, no SSH and no encryption, between the
// bench's client and the target. What it costs per round trip and per GiB is what the runtime alone
// costs (event loop, streams, system calls) before any SSH framing or AES-GCM; set beside the agent,
// and beside socat doing the same in C, it splits the agent's distance to OpenSSH into the part its
// SSH layer costs and the part its runtime does.
//
// It is the best such relay we know how to write, not a naive pipe(), so the floor is a floor:
// - like the agent, it makes both connections itself (the agent dials the relay and the target;
//   nothing in it accepts), which lets both sockets read through `onread` into its own buffers;
// - reads land in 256 KiB slabs with no allocation per read (the agent's own SlabReads from
//   connector/ssh2/relayReads.ts), each read's bytes are written on as a view of the slab, with no
//   callback per write, and a slab is written again only once the other socket has completed
//   every write it was given;
// - Nagle is off (as in the agent), backpressure pauses the reading side, half-close is carried.
// A naive pipe() relay measured about twice socat's CPU per GiB pulling here, this one about 1.2 times
// (2026-12-07, connector/PERFORMANCE.md "What the floors say").
//
// Usage: node relayFloor.js CLIENT_PORT TARGET_PORT. Prints "ready" once, then for every line read
// on stdin dials 127.0.0.1:CLIENT_PORT (the bench, listening) and 127.0.0.1:TARGET_PORT and relays
// between them; exits when stdin closes.
"use strict";
const net = require("node:net");
const readline = require("node:readline");

const [clientPort, targetPort] = process.argv.slice(2, 4).map(Number);
for (const [name, port] of [["CLIENT_PORT", clientPort], ["TARGET_PORT", targetPort]]) {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
        process.stderr.write(`relayFloor: ${name} must be a port number\nusage: node relayFloor.js CLIENT_PORT TARGET_PORT\n`);
        process.exit(2);
    }
}

// The agent's own relay read allocator (compiled: the bench builds dist/ before it runs), so the
// floor reads exactly as the agent reads. Its guard decides when a full slab may be written again:
// here, once the other socket has completed every write it was given (its `writableLength` counts
// bytes until their write completed, and writes complete in order), so no view still waiting to be
// written is overwritten; otherwise it takes a new slab and leaves the old ones to the GC.
const { SlabReads } = require("../dist/connector/ssh2/relayReads.js");

/** Dials `port` with reads going to `sink()` (set once both sockets exist). */
function dial(port, sink) {
    const reads = new SlabReads();
    reads.guard = { stillFollowing: () => true, free: () => sink().writableLength === 0 };
    const socket = net.connect({
        host: "127.0.0.1",
        port,
        noDelay: true,
        allowHalfOpen: true,
        onread: {
            buffer: () => reads.next(),
            callback: (length) => {
                const out = sink();
                const more = out.write(reads.take(length));
                reads.afterRead();
                if (more) return true;
                // false pauses this socket (net's onread contract) until the other side drains.
                out.once("drain", () => socket.resume());
                return false;
            },
        },
    });
    return socket;
}

function relayOnce() {
    let client;
    let target;
    client = dial(clientPort, () => target);
    target = dial(targetPort, () => client);
    const abort = () => {
        client.destroy();
        target.destroy();
    };
    for (const [from, to] of [[client, target], [target, client]]) {
        from.on("error", abort);
        from.once("end", () => to.end());
    }
    let finished = 0;
    const onFinish = () => {
        if (++finished === 2) abort();
    };
    client.once("finish", onFinish);
    target.once("finish", onFinish);
}

readline.createInterface({ input: process.stdin }).on("line", relayOnce).on("close", () => process.exit(0));
process.stdout.write("ready\n");
