// What a reload decides before it touches anything (connector/reloadPlan.ts): which relays keep
// their session, which are added, removed or reconnected, and for which changed fields.
import { strict as assert } from "node:assert";
import { planReload } from "../../connector/reloadPlan";
import { parseConnectorConfig, type ConnectorConfigInput } from "../../connector/spec";

const PIN = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
const OTHER_PIN = "SHA256:2jmj7l5rSw0yVb/vlWAYkK/YBwk+8LMu9QtRLUpfs1E";

function config(overrides: Partial<ConnectorConfigInput> = {}) {
    return parseConnectorConfig({
        user: "tunnel",
        identity: { privateKeyFile: "/etc/firefly-connector/agent_key", certificateFile: "/etc/firefly-connector/agent_key-cert.pub" },
        relays: [
            { name: "a", host: "relay-a.example.net", hostKeys: [PIN] },
            { name: "b", host: "relay-b.example.net", hostKeys: [PIN], proxy: "none" },
        ],
        routes: [{ name: "web", listen: "127.0.0.1:45678", target: "10.0.0.5:443" }],
        ...overrides,
    });
}

describe("planReload", () => {
    it("keeps every session when only routes, backoff, the connect deadline or the grace period change", () => {
        const plan = planReload(
            config(),
            config({
                routes: [{ name: "api", listen: "127.0.0.1:45679", target: "10.0.0.6:443" }],
                reconnect: { initialDelayMs: 500, maxDelayMs: 5000 },
                connectTimeoutSeconds: 5,
                shutdown: { gracePeriodSeconds: 60 },
            }),
        );
        assert.deepEqual(plan.reconnected, []);
        assert.deepEqual(plan.kept.map((r) => r.relay), ["a", "b"]);
        assert.deepEqual(plan.changedFields, ["routes", "shutdown", "reconnect", "connectTimeoutSeconds"]);
    });

    it("reconnects only the relay whose own settings changed, naming the field by its path in the new config", () => {
        const previous = config();
        const next = config({
            relays: [
                { name: "b", host: "relay-b.example.net", hostKeys: [PIN, OTHER_PIN], proxy: "none" },
                { name: "a", host: "relay-a.example.net", hostKeys: [PIN] },
            ],
        });
        const plan = planReload(previous, next);
        assert.deepEqual(plan.reconnected, [{ relay: "b", index: 0, because: ["relays[0].hostKeys"] }]);
        assert.deepEqual(plan.kept, [{ relay: "a", index: 1 }], "a moved in the list: kept, at its new index");
    });

    it("matches relays by name, else host:port: a rename is a removal and an addition", () => {
        const plan = planReload(config(), config({ relays: [{ name: "a2", host: "relay-a.example.net", hostKeys: [PIN] }, { host: "relay-b.example.net", hostKeys: [PIN], proxy: "none" }] }));
        assert.deepEqual(plan.added.map((r) => r.relay), ["a2", "relay-b.example.net:22"]);
        assert.deepEqual(plan.removed, ["a", "b"]);
        assert.deepEqual(plan.reconnected, []);
    });

    it("reconnects every relay for a changed user, identity, cipher list or keepalive", () => {
        const plan = planReload(
            config(),
            config({
                user: "tunnel2",
                identity: { privateKeyFile: "/etc/firefly-connector/agent_key2", certificateFile: "/etc/firefly-connector/agent_key2-cert.pub" },
                ciphers: ["chacha20-poly1305@openssh.com"],
                keepalive: { intervalSeconds: 5, countMax: 3 },
            }),
        );
        assert.deepEqual(
            plan.reconnected.map((r) => [r.relay, r.because]),
            [
                ["a", ["user", "identity", "ciphers", "keepalive"]],
                ["b", ["user", "identity", "ciphers", "keepalive"]],
            ],
        );
    });

    it("reconnects for a top-level proxy change only the relays without a proxy of their own", () => {
        const plan = planReload(config(), config({ proxy: "http://user:secret@proxy.example.net:3128" }));
        assert.deepEqual(plan.reconnected.map((r) => [r.relay, r.because]), [["a", ["proxy"]]]);
        assert.deepEqual(plan.kept.map((r) => r.relay), ["b"], "b has proxy: none");
        assert.ok(!JSON.stringify(plan).includes("secret"), "the plan names fields, never values");
    });

    it("does not reconnect a relay that takes over, as its own, the proxy it already went through", () => {
        const withProxy = config({ proxy: "http://proxy.example.net:3128" });
        const own = config({
            proxy: "http://proxy.example.net:3128",
            relays: [
                { name: "a", host: "relay-a.example.net", hostKeys: [PIN], proxy: "http://proxy.example.net:3128" },
                { name: "b", host: "relay-b.example.net", hostKeys: [PIN], proxy: "http://proxy2.example.net:3128" },
            ],
        });
        const plan = planReload(withProxy, own);
        assert.deepEqual(plan.kept.map((r) => r.relay), ["a"]);
        assert.deepEqual(plan.reconnected.map((r) => [r.relay, r.because]), [["b", ["relays[1].proxy"]]]);
    });
});
