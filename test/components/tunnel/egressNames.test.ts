// The egress rules' resource names are part of users' stacks (Pulumi URNs): a changed name would
// replace every security group rule on the next `pulumi up`. These are the names both tunnel
// components produce for their standard arguments; a refactoring must keep them.
import * as assert from "node:assert/strict";
import { TunnelConnector } from "../../../components/tunnel/tunnelConnector";
import { TunnelRelay } from "../../../components/tunnel/tunnelRelay";
import { deploy } from "../../helpers/pulumi";
import { named, ofType, types } from "../../helpers/resources";
import { connectorArgs, keyArn, certArn, relayArgs } from "../../helpers/tunnel";

describe("tunnel egress rule names (resource names are URNs in users' stacks)", () => {
    it("TunnelConnector: one rule per protocol, port and destination", async () => {
        const run = await deploy(() => {
            new TunnelConnector(
                "acme-tunnel",
                connectorArgs({
                    identity: { privateKeySecretArn: keyArn, certificateSecretArn: certArn },
                    relays: [
                        { host: "relay.firefly.example.com", hostKeys: [`SHA256:${"A".repeat(43)}`], cidrs: ["203.0.113.10/32", "203.0.113.11/32"] },
                        { host: "relay2.firefly.example.com", port: 2222, hostKeys: [`SHA256:${"A".repeat(43)}`] },
                    ],
                    dynamic: { listen: "127.0.0.1:40005", allow: ["10.30.0.0/16:443", "wiki.acme.internal:443", "[2001:db8::5]:22"] },
                    awsApiEgress: { cidrBlocks: ["0.0.0.0/0"], prefixListIds: ["pl-0123456789abcdef0"], securityGroupIds: ["sg-0a0a0a0a0a0a0a0a0"] },
                }),
            );
        });
        assert.deepEqual(ofType(run, types.securityGroupEgressRule).map((r) => `${r.name} ${r.inputs.ipProtocol} ${r.inputs.fromPort} ${r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6 ?? r.inputs.prefixListId ?? r.inputs.referencedSecurityGroupId}`), [
            "acme-tunnel-out-tcp-22-relay-0-0 tcp 22 203.0.113.10/32",
            "acme-tunnel-out-tcp-22-relay-0-1 tcp 22 203.0.113.11/32",
            "acme-tunnel-out-tcp-2222-relay-1 tcp 2222 0.0.0.0/0",
            "acme-tunnel-out-tcp-443-10-20-1-15-32 tcp 443 10.20.1.15/32",
            "acme-tunnel-out-tcp-5432-10-20-0-0-16 tcp 5432 10.20.0.0/16",
            "acme-tunnel-out-tcp-443-10-30-0-0-16 tcp 443 10.30.0.0/16",
            "acme-tunnel-out-tcp-443-10-20-0-0-16 tcp 443 10.20.0.0/16",
            "acme-tunnel-out-tcp-22-2001-db8-5-128 tcp 22 2001:db8::5/128",
            "acme-tunnel-out-udp-53-169-254-169-253-32 udp 53 169.254.169.253/32",
            "acme-tunnel-out-tcp-53-169-254-169-253-32 tcp 53 169.254.169.253/32",
            "acme-tunnel-out-tcp-443-aws-0-0-0-0-0 tcp 443 0.0.0.0/0",
            "acme-tunnel-out-tcp-443-aws-pl-0 tcp 443 pl-0123456789abcdef0",
            "acme-tunnel-out-tcp-443-aws-sg-0 tcp 443 sg-0a0a0a0a0a0a0a0a0",
        ]);
    });

    it("TunnelRelay: one rule per port and CIDR", async () => {
        const run = await deploy(() => {
            new TunnelRelay(
                "relay",
                relayArgs({
                    customers: [
                        { name: "acme", principal: "customer-acme", listen: ["0.0.0.0:40001"], permitOpen: ["10.0.9.9:8443", "proxy.firefly.internal:3128", "127.0.0.1:9000"] },
                        { name: "globex", principal: "customer-globex", listen: ["127.0.0.1:40010"], permitOpen: ["10.0.9.9:8443"] },
                    ],
                    hairpinTargetCidrs: ["10.0.0.0/16"],
                    awsApiEgressCidrs: ["10.0.128.0/20", "0.0.0.0/0"],
                }),
            );
        });
        const relaySg = named(run, "relay-sg", types.securityGroup);
        assert.deepEqual(
            ofType(run, types.securityGroupEgressRule)
                .filter((r) => r.inputs.securityGroupId === relaySg.id)
                .map((r) => `${r.name} ${r.inputs.ipProtocol} ${r.inputs.fromPort} ${r.inputs.cidrIpv4}`),
            [
                "relay-out-8443-10-0-9-9-32 tcp 8443 10.0.9.9/32",
                "relay-out-3128-10-0-0-0-16 tcp 3128 10.0.0.0/16",
                "relay-out-443-10-0-128-0-20 tcp 443 10.0.128.0/20",
                "relay-out-443-0-0-0-0-0 tcp 443 0.0.0.0/0",
            ],
        );
    });
});
