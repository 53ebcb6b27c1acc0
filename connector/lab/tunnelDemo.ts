// `npm run demo:tunnel`: the whole hairpin path on one machine. A throwaway CA, a real sshd relay
// configured by the production generator, the connector agent with a certificate, and requests
// from the "platform side" reaching a "private" HTTPS service in the "customer network".
import { SocksClient } from "socks";
import { startAgent } from "./agent";
import { TunnelLab } from "./lab";
import { fingerprintOf, freePort } from "./relay";
import { httpsHead, makeTlsMaterial, startHttpsService } from "../../test/connector/helpers/targets";

export interface DemoResult {
    readonly direct: number;
    readonly hairpin: number;
    readonly socks: number;
}

export async function runTunnelDemo(print: (line: string) => void): Promise<DemoResult> {
    const tls = await makeTlsMaterial();
    const privateService = await startHttpsService(tls, "private-service (customer network)");
    const platformProxy = await startHttpsService(tls, "platform-proxy (relay side)");
    const ports = { direct: await freePort(), hairpin: await freePort(), socks: await freePort() };
    const lab = await TunnelLab.create({
        label: "demo",
        routes: [
            { name: "private", listen: `127.0.0.1:${ports.direct}`, target: `127.0.0.1:${privateService.port}`, via: "direct" },
            { name: "proxy", listen: `127.0.0.1:${ports.hairpin}`, target: `127.0.0.1:${platformProxy.port}`, via: "tunnel" },
        ],
        dynamic: { listen: `127.0.0.1:${ports.socks}`, allow: [`localhost:${privateService.port}`] },
    });
    const agent = await startAgent(lab.config());
    try {
        const relay = lab.relays[0]!;
        print(`CA          ${await fingerprintOf(lab.ca.key.publicKeyFile)} (throwaway, ${lab.ca.key.publicKeyFile})`);
        print(`relay       OpenSSH sshd on 127.0.0.1:${relay.port}, config generated: ${relay.configFile}`);
        print(`agent       certificate 'agent-a' for principal customer-a, relay host key pinned`);
        await agent.waitUntilReady();
        print(`agent       ready: ${JSON.stringify(agent.connector.status().routes)}`);

        const direct = await httpsHead(tls, { port: ports.direct });
        print(`direct      HEAD https://127.0.0.1:${ports.direct}/ (relay) -> agent -> private service: ${direct.status}, x-served-by: ${direct.servedBy}`);

        const hairpin = await httpsHead(tls, { port: ports.hairpin });
        print(`hairpin     HEAD https://127.0.0.1:${ports.hairpin}/ (relay) -> agent -> direct-tcpip back through the relay -> platform proxy: ${hairpin.status}, x-served-by: ${hairpin.servedBy}`);

        const { socket } = await SocksClient.createConnection({
            proxy: { host: "127.0.0.1", port: ports.socks, type: 5 },
            command: "connect",
            destination: { host: "localhost", port: privateService.port },
            timeout: 10_000,
        });
        const socks = await httpsHead(tls, { port: privateService.port, socket });
        print(`socks5      CONNECT localhost:${privateService.port} via 127.0.0.1:${ports.socks} (relay) -> agent allowlist -> private service: ${socks.status}, x-served-by: ${socks.servedBy}`);
        return { direct: direct.status, hairpin: hairpin.status, socks: socks.status };
    } finally {
        await agent.stop();
        await lab.cleanup();
        await privateService.close();
        await platformProxy.close();
    }
}

if (require.main === module) {
    runTunnelDemo((line) => process.stdout.write(`${line}\n`)).then(
        (result) => process.exit(result.direct === 200 && result.hairpin === 200 && result.socks === 200 ? 0 : 1),
        (err: unknown) => {
            process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
            process.exit(1);
        },
    );
}
