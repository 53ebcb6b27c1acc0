import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseConnectorConfig, parsePinnedHostKey, relayCustomerForConnector } from "../../connector/spec";
import { parseStackConfig, relayCustomers, StackConfigError } from "../../stacks/config";
import { readStackSettings, SimulatedDeployment, StackSettings } from "../../offline/simulate";
import { judgeStack } from "../../offline/verdict";
import { fileEntries } from "../../connector/lab/relay";
import { exampleDeployment, runStack, withConfig } from "../helpers/stacks";
import { named, ofType, single, types } from "../helpers/resources";
import { configInUserData, heredocIn, userDataOf } from "../helpers/tunnel";

const fireflyRef = "firefly/private-connectivity/firefly-dev";

const policyConfigFile = path.join(__dirname, "..", "..", "stacks", "policy-config.firefly-dev.json");

describe("stacks: the tunnel (config switch tunnel)", () => {
    const customer = readStackSettings("customer-dev");
    const firefly = readStackSettings("firefly-dev");
    let deployment: SimulatedDeployment;
    before(async () => {
        deployment = await exampleDeployment();
    });
    // The outputs of the customer stacks the example platform stack reads (acme and globex).
    const customerStackOutputs = () => ({
        "firefly/private-connectivity/customer-dev": deployment.final.get("customer-dev")!.outputs,
        "firefly/private-connectivity/customer-globex-dev": deployment.final.get("customer-globex-dev")!.outputs,
    });

    it("creates the connector once the relay exists: customer (waits), firefly (relay), customer again (connector)", () => {
        const update = (stack: string, pass: number) => deployment.updates.find((u) => u.stack === stack && u.pass === pass);
        const [customer1, firefly1, customer2] = [update("customer-dev", 1), update("firefly-dev", 1), update("customer-dev", 2)];
        assert.equal(ofType(customer1!.run, types.tunnelConnector).length, 0);
        assert.match(String(customer1!.run.outputs.tunnelConnector), /waiting for the relay of firefly\/private-connectivity\/firefly-dev/);
        assert.equal(ofType(firefly1!.run, types.tunnelRelay).length, 1);
        assert.equal(ofType(customer2!.run, types.tunnelConnector).length, 1);
    });

    it("pins the connector to the relay's host name, port and host key, read through the StackReference", () => {
        const relay = deployment.final.get("firefly-dev")!.outputs.tunnelRelay as { host: string; port: number; hostPublicKeys: string[]; addresses: string[] };
        const run = deployment.final.get("customer-dev")!;
        const config = parseConnectorConfig(configInUserData(userDataOf(run)));
        assert.deepEqual(config.relays, [{ host: relay.host, port: relay.port, hostKeys: relay.hostPublicKeys }]);
        assert.match(relay.host, /^relay-nlb-.*\.elb\.us-east-1\.amazonaws\.com$/);
        // The pinned key is the relay's generated host key, a key the agent accepts as a pin.
        const fireflyRun = deployment.final.get("firefly-dev")!;
        const hostKey = single(fireflyRun, types.tlsPrivateKey);
        assert.deepEqual(relay.hostPublicKeys, [String(hostKey.outputs.publicKeyOpenssh).trim()]);
        assert.equal(typeof parsePinnedHostKey(relay.hostPublicKeys[0]!), "object");
        // The security group reaches exactly the relay's fixed addresses on 22.
        const ssh = ofType(run, types.securityGroupEgressRule).filter((r) => r.inputs.fromPort === 22).map((r) => r.inputs.cidrIpv4);
        assert.deepEqual(ssh.sort(), relay.addresses.map((ip) => `${ip}/32`).sort());
    });

    it("the example configs agree: the relay lets acme's principal listen exactly where acme's routes listen", () => {
        const config = parseStackConfig(
            Object.fromEntries(
                Object.entries(firefly.config)
                    .filter(([k]) => k.startsWith("private-connectivity:"))
                    .map(([k, v]) => [k.slice("private-connectivity:".length), typeof v === "string" ? v : JSON.stringify(v)]),
            ),
            "private-connectivity",
        );
        assert.equal(config.role, "firefly");
        const granted = config.role === "firefly" ? relayCustomers(config).find((c) => c.name === "acme")! : undefined;
        const routes = (customer.config["private-connectivity:tunnel"] as { routes: { name: string; listen: string; target: string }[] }).routes;
        const needed = relayCustomerForConnector("acme", "customer-acme", { routes });
        assert.deepEqual(granted!.listen, needed.listen);
        assert.equal(granted!.principal, needed.principal);
    });

    it("exports where platform services reach each customer: <customer>.tunnel.<privateZoneName>:<port>, an alias of the internal NLB", () => {
        const run = deployment.final.get("firefly-dev")!;
        const relay = run.outputs.tunnelRelay as { platformHost: string; platformEndpoints: Record<string, string[]> };
        const nlb = named(run, "relay-platform-nlb", types.loadBalancer);
        assert.equal(nlb.inputs.internal, true);
        assert.equal(relay.platformHost, nlb.outputs.dnsName);
        // globex listens on the relay's loopback only (hairpin), so it has no platform endpoint.
        assert.deepEqual(relay.platformEndpoints, { acme: ["acme.tunnel.privatelink.firefly.internal:40001"] });
        // The record lives in the stack's private zone (the endpoint's) and points at the internal NLB.
        const record = named(run, "relay-dns-acme", types.route53Record);
        assert.equal(record.inputs.zoneId, run.outputs.privateZoneId);
        assert.deepEqual(record.inputs.aliases, [{ name: nlb.outputs.dnsName, zoneId: nlb.outputs.zoneId, evaluateTargetHealth: false }]);
    });

    it("passes the policy pack on both stacks, the relay with exactly its named exceptions", async () => {
        const config = JSON.parse(fs.readFileSync(policyConfigFile, "utf8")) as Record<string, unknown>;
        for (const [stack, run] of deployment.final) {
            const verdict = await judgeStack(stack, run, { project: "private-connectivity", config: stack === "firefly-dev" ? config : undefined });
            assert.deepEqual(verdict.violations.map((v) => `${v.policyName} ${v.resourceName}`), [], stack);
        }
        // Without the config, the relay's public NLB, its SSH rule and the platform NLB's plain TCP
        // listener on the customer's port are all the pack objects to.
        const strict = await judgeStack("firefly-dev", deployment.final.get("firefly-dev")!, { project: "private-connectivity" });
        assert.deepEqual(strict.violations.map((v) => `${v.policyName} ${v.resourceName}`).sort(), [
            "lb-listener-tcp-encrypted-ports relay-platform-40001",
            "load-balancer-internal relay-nlb",
            "security-group-no-public-ingress relay-ssh-from-anywhere",
        ]);
    });

    it("names in the policy exceptions only resources of the relay", () => {
        const run = deployment.final.get("firefly-dev")!;
        const relay = single(run, types.tunnelRelay);
        const config = JSON.parse(fs.readFileSync(policyConfigFile, "utf8")) as {
            "load-balancer-internal": { allowedPublicLoadBalancers: string[] };
            "security-group-no-public-ingress": { allowedPublicIngress: { port: number; resourceNames: string[] }[] };
            "lb-listener-tcp-encrypted-ports": { tlsPassthroughPorts: number[]; sshPorts?: number[] };
        };
        const names = [
            ...config["load-balancer-internal"].allowedPublicLoadBalancers,
            ...config["security-group-no-public-ingress"].allowedPublicIngress.flatMap((e) => e.resourceNames),
        ];
        for (const name of names) {
            assert.equal(named(run, name).parent, relay.urn, `${name} is a child of the relay`);
        }
        assert.deepEqual(config["security-group-no-public-ingress"].allowedPublicIngress.map((e) => e.port), [22]);

        // The plain-TCP rule takes ports, not names: beyond the default (443) it lists exactly the
        // ports of the relay's internal platform listeners, and every listener on them is one of those.
        const tcp = config["lb-listener-tcp-encrypted-ports"];
        assert.equal(tcp.sshPorts, undefined, "SSH ports stay the default");
        const extra = tcp.tlsPassthroughPorts.filter((p) => p !== 443);
        const platformNlb = named(run, "relay-platform-nlb", types.loadBalancer);
        const platformListeners = ofType(run, types.listener).filter((r) => r.inputs.loadBalancerArn === platformNlb.outputs.arn);
        assert.deepEqual(extra, platformListeners.map((l) => l.inputs.port));
        for (const listener of ofType(run, types.listener).filter((r) => extra.includes(r.inputs.port as number))) {
            assert.equal(listener.parent, relay.urn, `${listener.name} is a child of the relay`);
            assert.equal(listener.inputs.loadBalancerArn, platformNlb.outputs.arn, `${listener.name} is on the internal platform NLB`);
        }
        assert.equal(platformNlb.inputs.internal, true);
    });

    it("creates nothing when switched off on either side, and adds no outputs", async () => {
        const off = (settings: StackSettings) =>
            withConfig(settings, { tunnel: { ...(settings.config["private-connectivity:tunnel"] as object), enabled: false } });
        const customerRun = await runStack(off(customer), { [fireflyRef]: deployment.final.get("firefly-dev")!.outputs });
        assert.equal(ofType(customerRun, types.tunnelConnector).length, 0);
        const fireflyRun = await runStack(off(firefly), customerStackOutputs());
        assert.equal(ofType(fireflyRun, types.tunnelRelay).length, 0);
        for (const run of [customerRun, fireflyRun]) assert.ok(!Object.keys(run.outputs).some((k) => k.startsWith("tunnel")));
    });

    it("hands tunnel.revokedKeys to the relay, whose hosts refuse them", async () => {
        const leaked = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl acme leaked";
        const settings = withConfig(firefly, { tunnel: { ...(firefly.config["private-connectivity:tunnel"] as object), revokedKeys: [leaked] } });
        const run = await runStack(settings, customerStackOutputs());
        const revoked = heredocIn(userDataOf(run), "FIREFLY_REVOKED_KEYS");
        assert.deepEqual(fileEntries(revoked), [leaked]);
    });

    it("sends the connector through the customer's egress proxy when tunnel.proxy is set: egress to the proxy, not the relays", async () => {
        const settings = withConfig(customer, { tunnel: { ...(customer.config["private-connectivity:tunnel"] as object), proxy: "http://10.20.0.5:3128" } });
        const run = await runStack(settings, { [fireflyRef]: deployment.final.get("firefly-dev")!.outputs });
        const rules = ofType(run, types.securityGroupEgressRule)
            .filter((r) => String(r.name).startsWith("acme-tunnel"))
            .map((r) => `${r.inputs.ipProtocol}/${r.inputs.fromPort} ${r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6}`);
        assert.ok(rules.includes("tcp/3128 10.20.0.5/32"), rules.join(", "));
        assert.ok(!rules.some((r) => r.startsWith("tcp/22 ")), `no rule to the relays: ${rules.join(", ")}`);
        assert.equal(parseConnectorConfig(configInUserData(userDataOf(run))).proxy, "http://10.20.0.5:3128");
    });

    it("fails clearly when the firefly stack's tunnelRelay output is not a relay", async () => {
        await assert.rejects(runStack(customer, { [fireflyRef]: { tunnelRelay: "relay.example.com" } }), /output tunnelRelay must be \{ host, port, hostPublicKeys, addresses \}/);
    });

    const parse = (settings: StackSettings, changes: Record<string, unknown>) => {
        const values = Object.fromEntries(
            Object.entries(withConfig(settings, changes).config)
                .filter(([k]) => k.startsWith("private-connectivity:"))
                .map(([k, v]) => [k.slice("private-connectivity:".length), typeof v === "string" ? v : JSON.stringify(v)]),
        );
        return parseStackConfig(values, "private-connectivity");
    };
    for (const [what, settings, changes, expected] of [
        ["a connector with no relays and no firefly stack", customer, { fireflyStack: undefined, acceptEndpointIds: [] }, /private-connectivity:tunnel\.relays: needs relays to connect to/],
        ["a connector identity that mixes forms", customer, { tunnel: { identity: { privateKey: "k", certificateSecretArn: "a" } } }, /private-connectivity:tunnel\.identity/],
        ["a route whose listen is not host:port", customer, { tunnel: { routes: [{ name: "x", listen: "40001", target: "10.0.0.1:1" }], identity: { privateKey: "k", certificate: "c" } } }, /private-connectivity:tunnel\.routes\[0\]\.listen: must be host:port/],
        ["a relay without public subnets", firefly, { tunnel: { userCaPublicKey: "ssh-ed25519 AAAA", customers: [{ name: "a", principal: "p", listen: ["127.0.0.1:1"] }] } }, /private-connectivity:tunnel\.publicSubnetIds/],
        [
            "a revoked key that is not a key line",
            firefly,
            { tunnel: { ...(firefly.config["private-connectivity:tunnel"] as object), revokedKeys: ["SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"] } },
            /private-connectivity:tunnel\.revokedKeys\[0\]: must be an OpenSSH public key or certificate line.*; paste the agent's agent_key\.pub or agent_key-cert\.pub line/,
        ],
        ["a misspelt relay key", firefly, { tunnel: { publicSubnetIds: ["s"], userCaPublicKey: "k", customer: [] } }, /private-connectivity:tunnel: unknown key "customer"/],
    ] as const) {
        it(`refuses ${what}, naming the key`, () => {
            assert.throws(() => parse(settings, changes), (err: Error) => {
                assert.ok(err instanceof StackConfigError);
                assert.match(err.message, expected);
                return true;
            });
        });
    }
});
