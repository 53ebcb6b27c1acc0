// The benchmark's "private service", in its own process so it does not share a CPU core's event
// loop with the load generator. Plain JavaScript: no compile step, no TypeScript in its RSS.
//
// Protocol: the first byte of a connection picks the mode.
//   'S' + 8-byte big-endian length: send that many bytes, then close (bulk download)
//   'E': echo every byte back (request/response latency)
//   'R' + 8-byte big-endian length: read and discard that many bytes, then send one byte ('K')
//       and close (bulk upload: the client pushes through the tunnel to the target)
// Prints the port it listens on as one line, then serves until stdin closes.
"use strict";
const net = require("node:net");

const BLOCK = Buffer.alloc(1024 * 1024, 0x5a);

function receiveBulk(socket, total, already) {
    let left = total - already;
    const done = () => {
        socket.off("data", onData);
        socket.end("K");
    };
    const onData = (chunk) => {
        left -= chunk.length;
        if (left <= 0) done();
    };
    if (left <= 0) done();
    else socket.on("data", onData);
}

function sendBulk(socket, total) {
    let left = total;
    const pump = () => {
        while (left > 0) {
            const size = Math.min(left, BLOCK.length);
            left -= size;
            const more = socket.write(size === BLOCK.length ? BLOCK : BLOCK.subarray(0, size));
            if (!more) {
                socket.once("drain", pump);
                return;
            }
        }
        socket.end();
    };
    pump();
}

const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on("error", () => undefined);
    let header = Buffer.alloc(0);
    const onData = (chunk) => {
        header = Buffer.concat([header, chunk]);
        if (header[0] === 0x45 /* E */) {
            socket.off("data", onData);
            if (header.length > 1) socket.write(header.subarray(1));
            socket.pipe(socket);
            return;
        }
        if (header[0] === 0x53 /* S */ && header.length >= 9) {
            socket.off("data", onData);
            socket.resume();
            sendBulk(socket, Number(header.readBigUInt64BE(1)));
            return;
        }
        if (header[0] === 0x52 /* R */ && header.length >= 9) {
            socket.off("data", onData);
            receiveBulk(socket, Number(header.readBigUInt64BE(1)), header.length - 9);
            return;
        }
        if (header[0] !== 0x53 && header[0] !== 0x52) socket.destroy();
    };
    socket.on("data", onData);
});
server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${server.address().port}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
