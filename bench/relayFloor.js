// The bench's Node.js floor: a plain TCP relay in Node.js, no SSH and no encryption, in front of the
// target. Whatever it costs per round trip and per GiB is what the runtime alone costs (event loop,
// streams, system calls) before the agent does any SSH framing or AES-GCM; set beside the agent
// and beside socat (the same relay in C), it shows how much of the agent's distance to OpenSSH is
// the runtime's. Written as a Node.js user would write it: pipe() both ways, Nagle off as in the
// agent, half-close carried across (the bench's upload waits for the target's answer after its
// last byte).
//
// Usage: node relayFloor.js TARGET_PORT. Prints the port it listens on (127.0.0.1) as one line,
// then relays until stdin closes.
"use strict";
const net = require("node:net");

const targetPort = Number(process.argv[2]);
if (!Number.isInteger(targetPort) || targetPort <= 0 || targetPort > 65535) {
    process.stderr.write(`relayFloor: TARGET_PORT must be a port number, got '${process.argv[2]}'\n`);
    process.exit(2);
}

const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const target = net.connect({ host: "127.0.0.1", port: targetPort, allowHalfOpen: true, noDelay: true });
    const abort = () => {
        client.destroy();
        target.destroy();
    };
    client.on("error", abort);
    target.on("error", abort);
    client.pipe(target);
    target.pipe(client);
    // Both directions ended: nothing more can pass.
    let ended = 0;
    const onFinish = () => {
        if (++ended === 2) abort();
    };
    client.once("finish", onFinish);
    target.once("finish", onFinish);
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
