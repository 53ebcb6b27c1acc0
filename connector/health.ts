// Loopback HTTP endpoint for the host's health checks and Prometheus:
//   /healthz  200 while the process serves (liveness)
//   /readyz   200 when every route is forwarded on at least one relay, else 503 (with details)
//   /metrics  Prometheus text format
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { HostPort } from "./spec";
import type { Logger } from "./log";

export interface HealthSource {
    isReady(): boolean;
    status(): unknown;
    metricsText(): Promise<string>;
    readonly metricsContentType: string;
}

export interface HealthServer {
    readonly port: number;
    close(): Promise<void>;
}

export function startHealthServer(listen: HostPort, source: HealthSource, log: Logger): Promise<HealthServer> {
    const server: Server = createServer((req, res) => {
        const path = (req.url ?? "/").split("?")[0];
        if (req.method !== "GET" && req.method !== "HEAD") {
            res.writeHead(405, { allow: "GET, HEAD" }).end();
            return;
        }
        const json = (status: number, body: unknown) => {
            res.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
        };
        if (path === "/healthz") {
            json(200, { status: "ok" });
        } else if (path === "/readyz") {
            json(source.isReady() ? 200 : 503, source.status());
        } else if (path === "/metrics") {
            source.metricsText().then(
                (text) => res.writeHead(200, { "content-type": source.metricsContentType }).end(text),
                (err: Error) => {
                    log.error({ err: err.message }, "metrics collection failed");
                    res.writeHead(500).end();
                },
            );
        } else {
            json(404, { error: "not found", endpoints: ["/healthz", "/readyz", "/metrics"] });
        }
    });
    // Scrapes and probes are tiny: a stuck client must not hold a socket forever.
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    return new Promise((resolve, reject) => {
        server.once("error", (err: NodeJS.ErrnoException) => reject(new Error(`health.listen ${listen.host}:${listen.port}: cannot listen (${err.code ?? err.message})`)));
        server.listen({ host: listen.host, port: listen.port }, () => {
            const port = (server.address() as AddressInfo).port;
            log.info({ listen: `${listen.host}:${port}` }, "health and metrics endpoint listening");
            resolve({
                port,
                close: () =>
                    new Promise<void>((done) => {
                        server.close(() => done());
                        server.closeAllConnections();
                    }),
            });
        });
    });
}
