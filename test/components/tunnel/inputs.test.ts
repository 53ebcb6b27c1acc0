import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { TunnelConnector, type TunnelConnectorArgs } from "../../../components/tunnel/tunnelConnector";
import { TunnelRelay, type TunnelRelayArgs } from "../../../components/tunnel/tunnelRelay";
import { deploy, type ProgramRun } from "../../helpers/pulumi";
import { named, ofType, single, types } from "../../helpers/resources";
import { connectorArgs, relayArgs, relayCustomers, relayHostKey, userDataOf } from "../../helpers/tunnel";

// Arguments as Pulumi users pass them: an awsx VPC's subnet IDs are one Output of the whole list,
// and Pulumi's component provider (Python, Go, YAML callers) passes every argument that depends on
// another resource as one Output of the whole value. The components must build the same resources
// then, and refuse the same bad values with the same messages, once the values resolve.

/** Every top-level argument wrapped in an Output, as the component provider passes them. */
function everyArgumentAnOutput<T extends object>(args: T): T {
    return Object.fromEntries(Object.entries(args).map(([key, value]) => [key, pulumi.output(value)])) as T;
}

/** What a run registered, by URN, with the inputs the engine received. */
function registered(run: ProgramRun): Record<string, unknown> {
    return Object.fromEntries(run.resources.map((r) => [r.urn, r.inputs]));
}

const connectorOutputs = (connector: TunnelConnector) => ({
    agentConfig: connector.agentConfig,
    privateKeySecretArn: connector.privateKeySecretArn,
    certificateSecretArn: connector.certificateSecretArn,
    securityGroupId: connector.securityGroupId,
    autoScalingGroupName: connector.autoScalingGroupName,
});
const relayOutputs = (relay: TunnelRelay) => ({
    hostName: relay.hostName,
    addresses: relay.addresses,
    hostPublicKeys: relay.hostPublicKeys,
    platformHostName: relay.platformHostName,
    platformSecurityGroupId: relay.platformSecurityGroupId,
    platformEndpoints: relay.platformEndpoints,
    sshd: relay.sshd,
});
/**
 * The run fails with `expected`. A failed value fails every Output derived from it, and Pulumi
 * reports each as an unhandled rejection (the first one ends a real program): they are collected
 * here, after the run, so that they do not fail the next run, and must carry the same message.
 */
async function refuses(run: () => Promise<unknown>, expected: RegExp, what: string): Promise<void> {
    await assert.rejects(run(), expected, what);
    const listeners = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    const leftovers: unknown[] = [];
    process.on("unhandledRejection", (reason) => leftovers.push(reason));
    try {
        await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
        process.removeAllListeners("unhandledRejection");
        for (const listener of listeners) process.on("unhandledRejection", listener);
    }
    for (const reason of leftovers) assert.match(reason instanceof Error ? reason.message : String(reason), expected, what);
}

const deployConnector = (args: TunnelConnectorArgs) => deploy(() => connectorOutputs(new TunnelConnector("acme-tunnel", args)));
const deployRelay = (args: TunnelRelayArgs) => deploy(() => relayOutputs(new TunnelRelay("relay", args)));

describe("tunnel components: arguments as Outputs", () => {
    let plainConnector: ProgramRun;
    let plainRelay: ProgramRun;
    before(async () => {
        plainConnector = await deployConnector(connectorArgs());
        plainRelay = await deployRelay(relayArgs());
    });

    describe("subnets from an awsx VPC (one Output of the whole list)", () => {
        it("TunnelConnector hands them to the auto scaling group, and registers what the plain list does", async () => {
            const run = await deployConnector(connectorArgs({ subnetIds: pulumi.output(["subnet-0c0ffee0c0ffee011", "subnet-0c0ffee0c0ffee012"]) }));
            assert.deepEqual(single(run, types.autoscalingGroup).inputs.vpcZoneIdentifiers, ["subnet-0c0ffee0c0ffee011", "subnet-0c0ffee0c0ffee012"]);
            assert.deepEqual(registered(run), registered(plainConnector));
        });

        it("TunnelRelay creates an Elastic IP per public subnet once the list resolves, named as for a plain list", async () => {
            const run = await deployRelay(
                relayArgs({
                    publicSubnetIds: pulumi.output(["subnet-0f1ef1ef1ef1ef121", "subnet-0f1ef1ef1ef1ef122"]),
                    subnetIds: pulumi.output(["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112"]),
                }),
            );
            assert.deepEqual(ofType(run, types.eip).map((e) => e.name), ["relay-ip-0", "relay-ip-1"]);
            const eips = ofType(run, types.eip);
            assert.deepEqual(
                named(run, "relay-nlb").inputs.subnetMappings,
                ["subnet-0f1ef1ef1ef1ef121", "subnet-0f1ef1ef1ef1ef122"].map((subnetId, i) => ({ subnetId, allocationId: eips[i]!.outputs.allocationId })),
            );
            assert.deepEqual(named(run, "relay-platform-nlb").inputs.subnets, ["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112"]);
            assert.deepEqual(registered(run), registered(plainRelay));
            assert.deepEqual(run.outputs, plainRelay.outputs);
        });

        it("TunnelRelay also takes a list of Outputs (a subnet resource's ID each): the Elastic IPs exist at once", async () => {
            const run = await deployRelay(relayArgs({ publicSubnetIds: [pulumi.output("subnet-0f1ef1ef1ef1ef121"), pulumi.output("subnet-0f1ef1ef1ef1ef122")] }));
            assert.deepEqual(registered(run), registered(plainRelay));
        });

        it("refuses a bad ID inside the Output with the message that names the field", async () => {
            await refuses(
                () => deployConnector(connectorArgs({ subnetIds: pulumi.output(["subnet-0c0ffee0c0ffee011", "sg-0c0ffee0c0ffee012"]) })),
                /TunnelConnector "acme-tunnel": subnetIds\[1\] must be a subnet ID like subnet-0123456789abcdef0 \(got "sg-0c0ffee0c0ffee012"\)/,
                "connector subnetIds",
            );
            await refuses(
                () => deployRelay(relayArgs({ publicSubnetIds: pulumi.output(["subnet-0f1ef1ef1ef1ef121", "subnet-0f1ef1ef1ef1ef121"]) })),
                /TunnelRelay "relay": publicSubnetIds\[1\] repeats "subnet-0f1ef1ef1ef1ef121"/,
                "relay publicSubnetIds",
            );
            await refuses(() => deployRelay(relayArgs({ publicSubnetIds: pulumi.output([]) })), /TunnelRelay "relay": publicSubnetIds must list at least one entry/, "no public subnets");
            await refuses(() => deployRelay(relayArgs({ subnetIds: pulumi.output(["subnet-0f1ef1ef1ef1ef111", "subnet-0F1EF"]) })), /TunnelRelay "relay": subnetIds\[1\] must be a subnet ID/, "relay subnetIds");
        });
    });

    describe("every argument an Output (as the component provider passes them)", () => {
        it("TunnelConnector registers the same resources with the same inputs, and renders the same agent config", async () => {
            const run = await deployConnector(everyArgumentAnOutput(connectorArgs()));
            assert.deepEqual(registered(run), registered(plainConnector));
            assert.equal(userDataOf(run), userDataOf(plainConnector));
            assert.deepEqual(run.outputs, plainConnector.outputs);
        });

        it("TunnelConnector with every option set, and identity by ARN, registers what the plain arguments do", async () => {
            const options: Partial<TunnelConnectorArgs> = {
                count: 3,
                relays: [{ host: "relay.firefly.example.com", port: 2222, hostKeys: [relayHostKey], cidrs: ["203.0.113.10/32"], name: "primary" }],
                dynamic: { listen: "127.0.0.1:41000", allow: ["10.20.0.0/16:443", "*.acme.internal:8443"] },
                user: "tunnel-acme",
                identity: {
                    privateKeySecretArn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:acme/tunnel/key-AbCdEf",
                    certificateSecretArn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:acme/tunnel/cert-AbCdEf",
                    kmsKeyArn: "arn:aws:kms:us-east-1:111111111111:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
                },
                agent: { keepalive: { intervalSeconds: 10, countMax: 4 }, shutdown: { gracePeriodSeconds: 45 }, connectTimeoutSeconds: 20 },
                healthPort: 9200,
                dnsResolverCidrs: ["10.20.0.2/32"],
                awsApiEgress: { cidrBlocks: ["10.20.0.0/16"], prefixListIds: ["pl-0123456789abcdef0"], securityGroupIds: ["sg-0c0ffee0c0ffee0aa"] },
                nodeMajor: 24,
                logRetentionInDays: 90,
                alarmActions: ["arn:aws:sns:us-east-1:111111111111:tunnel-alarms"],
                tags: { team: "platform" },
                instanceType: "t3.medium",
                rootVolumeSizeGiB: 16,
                amiParameter: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
            };
            const plain = await deployConnector(connectorArgs(options));
            const wrapped = await deployConnector(everyArgumentAnOutput(connectorArgs(options)));
            assert.deepEqual(registered(wrapped), registered(plain));
            assert.deepEqual(wrapped.outputs, plain.outputs);
            assert.ok(ofType(plain, types.securityGroupEgressRule).some((r) => r.name === "acme-tunnel-out-tcp-443-aws-pl-0"), "the prefix list rule exists");
        });

        it("TunnelRelay registers the same resources with the same inputs (DNS records, NLB listeners, rules)", async () => {
            const dns = { zoneId: "Z0123456789ABCDEFGHIJ", zoneName: "privatelink.firefly.internal" };
            const options: Partial<TunnelRelayArgs> = { dns, revokedKeys: [relayHostKey], hairpinTargetCidrs: ["10.0.0.0/16"], tags: { team: "platform" }, count: 3, loginUser: "tunnel" };
            const plain = await deployRelay(relayArgs(options));
            const wrapped = await deployRelay(everyArgumentAnOutput(relayArgs(options)));
            assert.deepEqual(registered(wrapped), registered(plain));
            assert.deepEqual(wrapped.outputs, plain.outputs);
            assert.equal(single(wrapped, types.route53Record).name, "relay-dns-acme");
            const plainDefault = await deployRelay(everyArgumentAnOutput(relayArgs()));
            assert.deepEqual(registered(plainDefault), registered(plainRelay));
        });

        it("TunnelRelay with only loopback listeners still declares its platform outputs, as undefined", async () => {
            const run = await deployRelay(everyArgumentAnOutput(relayArgs({ gatewayPorts: "no", platformSecurityGroupIds: [] })));
            assert.equal(run.outputs.platformHostName, undefined);
            assert.deepEqual(run.outputs.platformEndpoints, {});
            assert.deepEqual(ofType(run, types.loadBalancer).map((r) => r.name), ["relay-nlb"]);
        });

        it("refuses a bad value nested inside an Output with the message that names the field", async () => {
            const connectorCases: [Partial<TunnelConnectorArgs>, RegExp][] = [
                [{ routes: [{ name: "x", listen: "0.0.0.0", target: "10.0.0.1:1" }] }, /TunnelConnector "acme-tunnel": routes\[0\]\.listen is refused by the agent's config schema/],
                [{ relays: [{ host: "relay.example.com", hostKeys: [relayHostKey], cidrs: ["203.0.113.10"] }] }, /relays\[0\]\.cidrs\[0\] must be an IPv4 CIDR/],
                [{ relays: [] }, /relays must list at least one entry/],
                [{ count: 0 }, /count must be an integer between 1 and 20 \(got 0\)/],
                [{ identity: { privateKey: "ssh-ed25519 AAAA", certificate: "ssh-ed25519-cert-v01@openssh.com AAAA acme" } }, /identity\.privateKey must be an unencrypted OpenSSH private key/],
                [{ identity: { privateKeySecretArn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:k" } }, /identity must give both privateKeySecretArn and certificateSecretArn/],
                [{ targetCidrs: [] }, /routes\[1\]\.target names the host "db\.acme\.internal", so the security group needs to know where it lives: set targetCidrs/],
                [{ nodeMajor: 18 as 22 }, /nodeMajor must be one of "20", "22", "24" \(got "18"\)/],
                [{ awsApiEgress: {} }, /awsApiEgress must allow HTTPS somewhere/],
            ];
            for (const [overrides, expected] of connectorCases) {
                await refuses(() => deployConnector(everyArgumentAnOutput(connectorArgs(overrides))), expected, JSON.stringify(overrides));
            }
            const relayCases: [Partial<TunnelRelayArgs>, RegExp][] = [
                [
                    { customers: [relayCustomers[0]!, { name: "globex", principal: "customer-globex", listen: ["0.0.0.0:40001"] }] },
                    /TunnelRelay "relay": customers are refused by the relay generator: customers acme and globex both listen on port 40001/,
                ],
                [{ customers: [] }, /customers must list at least one entry/],
                [{ gatewayPorts: "yes" as "no" }, /gatewayPorts must be one of "no", "clientspecified" \(got "yes"\)/],
                [{ platformSecurityGroupIds: [] }, /platformSecurityGroupIds must name the platform services that reach the forwarded ports 40001, 40002/],
                [{ revokedKeys: ["SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"] }, /revokedKeys\[0\] must be an OpenSSH public key or certificate line/],
                [{ revokedKeys: [relayArgs().userCaPublicKey as string] }, /revokedKeys\[0\] is the user CA's key \(userCaPublicKey\)/],
                [{ userCaPublicKey: "-----BEGIN OPENSSH PRIVATE KEY-----" }, /userCaPublicKey must be the platform user CA's OpenSSH public key line/],
                [{ dns: { zoneId: "Z0123456789ABCDEFGHIJ", zoneName: "Firefly Internal" } }, /dns\.zoneName must be a lower-case DNS name/],
                [{ rootVolumeSizeGiB: 4 }, /rootVolumeSizeGiB must be an integer between 8 and 1024 \(got 4\)/],
            ];
            for (const [overrides, expected] of relayCases) {
                await refuses(() => deployRelay(everyArgumentAnOutput(relayArgs(overrides))), expected, JSON.stringify(overrides));
            }
        });
    });
});
