// The SOCKS5 server side on untrusted input, over real loopback sockets: well-formed requests are
// parsed, everything else gets the right reply code (or a clean close) instead of an exception.
import { strict as assert } from "node:assert";
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import { readSocksRequest, replySocks, SocksProtocolError, SocksReply, type SocksRequest } from "../../connector/socks5";
import { within } from "../../connector/lab/wait";

interface Exchange {
    /** What readSocksRequest resolved or rejected with. */
    readonly outcome: SocksRequest | SocksProtocolError;
    /** Every byte the server sent back. */
    readonly reply: Buffer;
}

describe("SOCKS5 request parsing", () => {
    let server: Server;
    let port: number;
    let next: ((socket: Socket) => void) | undefined;
    before(async () => {
        server = createServer((socket) => next?.(socket));
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    /** Sends `input` (then optionally ends), runs the parser on the server side, collects the reply. */
    async function exchange(input: Buffer, options: { end?: boolean; timeoutMs?: number; answer?: number } = {}): Promise<Exchange> {
        const serverSide = new Promise<SocksRequest | SocksProtocolError>((resolve) => {
            next = (socket) => {
                readSocksRequest(socket, options.timeoutMs ?? 2000).then(
                    (request) => {
                        if (options.answer !== undefined) replySocks(socket, options.answer as 0);
                        socket.end();
                        resolve(request);
                    },
                    (err: SocksProtocolError) => {
                        if (err.reply !== undefined) replySocks(socket, err.reply);
                        else socket.end();
                        resolve(err);
                    },
                );
            };
        });
        const client = connect({ host: "127.0.0.1", port });
        const chunks: Buffer[] = [];
        client.on("data", (c: Buffer) => chunks.push(c));
        const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
        client.write(input);
        if (options.end) client.end();
        const outcome = await within(serverSide, 5000, "server-side parse");
        await within(closed, 5000, "connection close");
        return { outcome, reply: Buffer.concat(chunks) };
    }

    const greeting = Buffer.from([5, 1, 0]);
    const methodOk = [5, 0];

    it("parses a CONNECT to a domain name", async () => {
        const name = Buffer.from("gitlab.internal");
        const request = Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([0x01, 0xbb])]);
        const { outcome, reply } = await exchange(Buffer.concat([greeting, request]), { answer: SocksReply.SUCCEEDED });
        assert.deepEqual(outcome, { host: "gitlab.internal", port: 443, addressType: "domain" });
        assert.deepEqual([...reply], [...methodOk, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    });

    it("parses IPv4 and IPv6 CONNECT requests", async () => {
        const v4 = await exchange(Buffer.concat([greeting, Buffer.from([5, 1, 0, 1, 10, 0, 0, 7, 0, 22])]));
        assert.deepEqual(v4.outcome, { host: "10.0.0.7", port: 22, addressType: "ipv4" });
        const v6Address = Buffer.alloc(16);
        v6Address[0] = 0xfd;
        v6Address[15] = 1;
        const v6 = await exchange(Buffer.concat([greeting, Buffer.from([5, 1, 0, 4]), v6Address, Buffer.from([1, 0xbb])]));
        assert.deepEqual(v6.outcome, { host: "fd00:0:0:0:0:0:0:1", port: 443, addressType: "ipv6" });
    });

    it("answers 'no acceptable methods' to a client that insists on authentication", async () => {
        const { outcome, reply } = await exchange(Buffer.from([5, 1, 2]));
        assert.ok(outcome instanceof SocksProtocolError && outcome.reason === "no_acceptable_method");
        assert.deepEqual([...reply], [5, 0xff]);
    });

    it("refuses BIND and UDP ASSOCIATE with 'command not supported'", async () => {
        const { outcome, reply } = await exchange(Buffer.concat([greeting, Buffer.from([5, 2, 0, 1, 127, 0, 0, 1, 0, 80])]));
        assert.ok(outcome instanceof SocksProtocolError && outcome.reason === "unsupported_command");
        assert.equal(reply[methodOk.length + 1], SocksReply.COMMAND_NOT_SUPPORTED);
    });

    it("refuses an unknown address type with 'address type not supported'", async () => {
        const { outcome, reply } = await exchange(Buffer.concat([greeting, Buffer.from([5, 1, 0, 9, 1, 2, 3, 4])]));
        assert.ok(outcome instanceof SocksProtocolError && outcome.reason === "unsupported_address");
        assert.equal(reply[methodOk.length + 1], SocksReply.ADDRESS_TYPE_NOT_SUPPORTED);
    });

    it("closes on a non-SOCKS5 greeting (e.g. an HTTP request) without replying", async () => {
        const { outcome, reply } = await exchange(Buffer.from("GET / HTTP/1.1\r\n\r\n"));
        assert.ok(outcome instanceof SocksProtocolError && outcome.reason === "malformed");
        assert.equal(reply.length, 0);
    });

    it("rejects a domain name with control bytes", async () => {
        const { outcome } = await exchange(Buffer.concat([greeting, Buffer.from([5, 1, 0, 3, 3, 0x61, 0x0a, 0x62, 0, 80])]));
        assert.ok(outcome instanceof SocksProtocolError && outcome.reason === "malformed");
    });

    it("gives up on a client that stops mid-request, within the handshake deadline", async () => {
        const started = Date.now();
        const { outcome, reply } = await exchange(Buffer.concat([greeting, Buffer.from([5, 1, 0])]), { timeoutMs: 300 });
        assert.ok(outcome instanceof SocksProtocolError && outcome.reason === "timeout");
        assert.ok(Date.now() - started < 3000);
        assert.equal(reply[methodOk.length + 1], SocksReply.GENERAL_FAILURE);
    });

    it("reports a client that hangs up mid-handshake as closed", async () => {
        const { outcome } = await exchange(Buffer.from([5, 1]), { end: true });
        assert.ok(outcome instanceof SocksProtocolError && outcome.reason === "closed");
    });
});
