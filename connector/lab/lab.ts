// A whole tunnel setup on one machine: a throwaway CA, the agent's key and certificate, N real
// sshd relays configured by the production generator for "our" customer (and any others), and
// the matching agent config. Tests, benchmarks and `npm run demo:tunnel` all start from here.
import { type ConnectorConfig, type ConnectorConfigInput, parseConnectorConfig, type RelayCustomer, relayCustomerForConnector } from "../spec";
import { NetworkNamespace } from "./netns";
import {
    CertificateAuthority,
    TEST_LOGIN_USER,
    TestRelay,
    generateKey,
    makeWorkDir,
    removeWorkDir,
    type KeyPair,
    type KeyType,
} from "./relay";

export const OUR_PRINCIPAL = "customer-a";

export interface LabSpec {
    readonly label: string;
    readonly relayCount?: number;
    readonly agentKeyType?: KeyType;
    readonly routes?: ConnectorConfigInput["routes"];
    readonly dynamic?: ConnectorConfigInput["dynamic"];
    /** Other customers on the same relays (their grants must not leak to ours). */
    readonly otherCustomers?: readonly RelayCustomer[];
    /** sshd_config lines for every relay, before the generated ones (e.g. "RekeyLimit 1M\n"). */
    readonly sshdConfigPrefix?: string;
    /** Environment variables added to every relay's sshd. */
    readonly sshdEnv?: Readonly<Record<string, string>>;
}

// Relay 0 runs on 127.0.0.1; every further relay gets its own network namespace, so each can
// listen on the same route ports, as separate relay hosts do.

export class TunnelLab {
    private constructor(
        readonly dir: string,
        readonly ca: CertificateAuthority,
        readonly agentKey: KeyPair,
        readonly agentCertificate: string,
        readonly relays: readonly TestRelay[],
        private readonly namespaces: readonly NetworkNamespace[],
        private readonly spec: LabSpec,
    ) {}

    static async create(spec: LabSpec): Promise<TunnelLab> {
        const dir = makeWorkDir(spec.label);
        const relays: TestRelay[] = [];
        const namespaces: NetworkNamespace[] = [];
        try {
            const ca = await CertificateAuthority.create(dir);
            const agentKey = await generateKey(dir, "agent", spec.agentKeyType ?? "ed25519");
            const agentCertificate = await ca.issueUserCertificate(agentKey, { principals: [OUR_PRINCIPAL], keyId: "agent-a" });
            const ours = relayCustomerForConnector("a", OUR_PRINCIPAL, { routes: spec.routes ?? [], dynamic: spec.dynamic });
            for (let i = 0; i < (spec.relayCount ?? 1); i++) {
                const relayDir = makeWorkDir(`${spec.label}-relay${i}`);
                const namespace = i > 0 ? await NetworkNamespace.create() : undefined;
                if (namespace) namespaces.push(namespace);
                const relay = await TestRelay.create({
                    dir: relayDir,
                    ca,
                    customers: [ours, ...(spec.otherCustomers ?? [])],
                    ...(spec.sshdConfigPrefix ? { sshdConfigPrefix: spec.sshdConfigPrefix } : {}),
                    ...(spec.sshdEnv ? { env: spec.sshdEnv } : {}),
                    ...(namespace ? { namespace } : {}),
                });
                relays.push(relay);
                await relay.start();
            }
            return new TunnelLab(dir, ca, agentKey, agentCertificate, relays, namespaces, spec);
        } catch (err) {
            await tearDown(relays, namespaces, dir);
            throw err;
        }
    }

    /** The agent config for this lab: fast keepalive and backoff so failures show within seconds. */
    config(overrides: Partial<ConnectorConfigInput> = {}): ConnectorConfig {
        return parseConnectorConfig({
            user: TEST_LOGIN_USER,
            identity: { privateKeyFile: this.agentKey.privateKeyFile, certificateFile: this.agentCertificate },
            relays: this.relays.map((relay, i) => ({ name: `relay${i}`, host: relay.host, port: relay.port, hostKeys: [relay.hostKey.publicKey] })),
            routes: this.spec.routes ?? [],
            ...(this.spec.dynamic ? { dynamic: this.spec.dynamic } : {}),
            keepalive: { intervalSeconds: 1, countMax: 3 },
            reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
            // The production default: a loaded 2-core CI machine (sshd, agents and benches side by
            // side) has taken more than 5 s for a handshake. Tests about timeouts set their own.
            connectTimeoutSeconds: 15,
            shutdown: { gracePeriodSeconds: 5 },
            ...overrides,
        });
    }

    /** The namespace relay `index` runs in (undefined for relay 0, on this host's loopback). */
    namespaceOf(index: number): NetworkNamespace | undefined {
        return this.relays[index]?.options.namespace;
    }

    async cleanup(): Promise<void> {
        await tearDown(this.relays, this.namespaces, this.dir);
    }
}

async function tearDown(relays: readonly TestRelay[], namespaces: readonly NetworkNamespace[], dir: string): Promise<void> {
    for (const relay of relays) await relay.kill();
    for (const relay of relays) removeWorkDir(relay.options.dir);
    for (const namespace of namespaces) await namespace.destroy();
    removeWorkDir(dir);
}
