import { createServer, type AddressInfo, type Server, type Socket } from "node:net";

/**
 * Loopback TCP servers and sockets for one mocha `describe`: `serve` starts a server on 127.0.0.1
 * that hands each accepted socket to `onConnection`, `track` adopts a client socket; everything is
 * closed after each test (a failed test may leave either end open, and server.close() would wait).
 */
export function loopbackSockets(): { serve(onConnection: (socket: Socket) => void): Promise<number>; track<T extends Socket>(socket: T): T } {
    const servers: Server[] = [];
    const sockets: Socket[] = [];
    afterEach(async () => {
        for (const socket of sockets.splice(0)) socket.destroy();
        for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return {
        async serve(onConnection) {
            const server = createServer({ allowHalfOpen: true }, (socket) => {
                socket.on("error", () => undefined);
                sockets.push(socket);
                onConnection(socket);
            });
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            servers.push(server);
            return (server.address() as AddressInfo).port;
        },
        track(socket) {
            sockets.push(socket);
            return socket;
        },
    };
}
