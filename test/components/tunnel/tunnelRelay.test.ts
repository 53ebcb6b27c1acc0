import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { TunnelRelay, type TunnelRelayArgs } from "../../../components/tunnel/tunnelRelay";
import { relayPaths } from "../../../components/tunnel/userData";
import { parsePinnedHostKey, renderRelay } from "../../../connector/spec";
import { fileEntries } from "../../../connector/lab/relay";
import { itRefuses } from "../../helpers/argumentErrors";
import { deploy, ProgramRun } from "../../helpers/pulumi";
import { named, ofType, single, types } from "../../helpers/resources";
import { defaultRelayRun, fetchedSecretVersions, heredocIn, launchTemplateInputs, userDataOf, platformWorkers, relayArgs, relayCustomers as customers, relayHostKey, testCertificate, userCaKey as caKey } from "../../helpers/tunnel";

describe("TunnelRelay", () => {
    let run: ProgramRun;
    let userData: string;
    before(async () => {
        run = await defaultRelayRun();
        userData = userDataOf(run);
    });

    it("configures sshd with exactly the relay generator's output: per-customer principals, permitlisten and permitopen", () => {
        const expected = renderRelay({
            port: 22,
            hostKeyFiles: [relayPaths.hostKey],
            trustedUserCaKeysFile: relayPaths.userCaKeys,
            authorizedPrincipalsFile: relayPaths.principals,
            revokedKeysFile: relayPaths.revokedKeys,
            loginUser: "tunnel",
            gatewayPorts: "clientspecified",
            customers,
        });
        assert.equal(heredocIn(userData, "FIREFLY_SSHD_CONFIG"), expected.sshdConfig);
        assert.equal(heredocIn(userData, "FIREFLY_PRINCIPALS"), expected.authorizedPrincipals);
        // Nothing revoked: the file is still written (sshd refuses every key when it is missing), and sshd reads it.
        assert.equal(heredocIn(userData, "FIREFLY_REVOKED_KEYS"), expected.revokedKeys);
        assert.deepEqual(fileEntries(heredocIn(userData, "FIREFLY_REVOKED_KEYS")), []);
        assert.match(heredocIn(userData, "FIREFLY_SSHD_CONFIG"), new RegExp(`^RevokedKeys ${relayPaths.revokedKeys}$`, "m"));
        assert.equal(heredocIn(userData, "FIREFLY_USER_CA"), `${caKey}\n`);
        assert.match(userData, new RegExp(`sshd -t -f "\\$ROOT${relayPaths.sshdConfig}.firefly"`), "sshd checks the file before it replaces the running config");
        execFileSync("bash", ["-n"], { input: userData });
    });

    it("writes the revoked keys and certificates into sshd's RevokedKeys file", async () => {
        const leaked = `${testCertificate} leaked 2025-06`;
        const withRevoked = await deploy(() => {
            new TunnelRelay("relay", relayArgs({ revokedKeys: [relayHostKey, ` ${leaked}\n`] }));
        });
        const file = heredocIn(userDataOf(withRevoked), "FIREFLY_REVOKED_KEYS");
        assert.deepEqual(fileEntries(file), [relayHostKey, leaked]);
    });

    it("is reached through an internet-facing NLB on TCP 22 only, with a fixed Elastic IP per public subnet", () => {
        const nlb = named(run, "relay-nlb");
        assert.equal(nlb.inputs.loadBalancerType, "network");
        assert.equal(nlb.inputs.internal, false);
        const eips = ofType(run, types.eip);
        assert.deepEqual(
            nlb.inputs.subnetMappings,
            ["subnet-0f1ef1ef1ef1ef121", "subnet-0f1ef1ef1ef1ef122"].map((subnetId, i) => ({ subnetId, allocationId: eips[i]!.outputs.allocationId })),
        );
        const listeners = ofType(run, types.listener).filter((l) => l.inputs.loadBalancerArn === nlb.outputs.arn);
        assert.deepEqual(listeners.map((l) => `${l.inputs.protocol} ${l.inputs.port}`), ["TCP 22"]);
        const tg = named(run, "relay-ssh", types.targetGroup);
        assert.equal(tg.inputs.port, 22);
        assert.deepEqual(listeners[0]!.inputs.defaultActions, [{ type: "forward", targetGroupArn: tg.outputs.arn }]);
        assert.ok((single(run, types.autoscalingGroup).inputs.targetGroupArns as string[]).includes(String(tg.outputs.arn)));
        assert.deepEqual(run.outputs.addresses, eips.map((e) => e.outputs.publicIp));
        assert.equal(run.outputs.hostName, nlb.outputs.dnsName);
        assert.equal(run.outputs.port, 22);
    });

    it("gives the platform an internal NLB in the relay's private subnets, with its own security group", () => {
        const nlb = named(run, "relay-platform-nlb");
        assert.equal(nlb.type, types.loadBalancer);
        assert.equal(nlb.inputs.loadBalancerType, "network");
        assert.equal(nlb.inputs.internal, true);
        assert.deepEqual(nlb.inputs.subnets, ["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112"]);
        assert.equal(nlb.inputs.enableCrossZoneLoadBalancing, true, "a host holding a listener in one AZ is reached from every NLB node");
        const sg = named(run, "relay-platform-nlb-sg");
        assert.equal(sg.type, types.securityGroup);
        assert.deepEqual(nlb.inputs.securityGroups, [sg.id]);
        assert.equal(run.outputs.platformHostName, nlb.outputs.dnsName);
        assert.equal(run.outputs.platformSecurityGroupId, sg.id);
        assert.equal(ofType(run, types.loadBalancer).length, 2, "the public relay NLB and the internal platform NLB");
    });

    it("has one TCP listener and target group per customer port that is not loopback, health-checked on that port", () => {
        const nlb = named(run, "relay-platform-nlb");
        const listeners = ofType(run, types.listener).filter((l) => l.inputs.loadBalancerArn === nlb.outputs.arn);
        // globex listens on 127.0.0.1:40010: no listener for it.
        assert.deepEqual(listeners.map((l) => `${l.name} ${l.inputs.protocol} ${l.inputs.port}`), ["relay-platform-40001 TCP 40001", "relay-platform-40002 TCP 40002"]);
        for (const port of [40001, 40002]) {
            const tg = named(run, `relay-p${port}`);
            assert.equal(tg.type, types.targetGroup);
            assert.equal(tg.inputs.port, port);
            assert.equal(tg.inputs.protocol, "TCP");
            assert.equal(tg.inputs.targetType, "instance");
            // Healthy exactly where sshd listens on the port, i.e. where an agent's session holds it.
            const hc = tg.inputs.healthCheck as Record<string, unknown>;
            assert.equal(hc.protocol, "TCP");
            assert.equal(hc.port, String(port));
            assert.equal(hc.enabled, true);
            const listener = named(run, `relay-platform-${port}`);
            assert.deepEqual(listener.inputs.defaultActions, [{ type: "forward", targetGroupArn: tg.outputs.arn }]);
        }
    });

    it("registers the relay hosts with every target group through the ASG, which replaces hosts on EC2 status only", () => {
        const asg = single(run, types.autoscalingGroup);
        const arns = ["relay-ssh", "relay-p40001", "relay-p40002"].map((n) => named(run, n, types.targetGroup).outputs.arn);
        assert.deepEqual(asg.inputs.targetGroupArns, arns);
        assert.equal(ofType(run, types.targetGroup).length, 3);
        // ELB health would have AWS replace the hot standby: it has no listener, so the customer
        // ports' target groups report it unhealthy.
        assert.equal(asg.inputs.healthCheckType, "EC2");
    });

    it("admits 22 from anywhere, customers' ports on the relay only from the platform NLB, and the NLB only from the platform's groups", () => {
        const relaySg = named(run, "relay-sg");
        const nlbSg = named(run, "relay-platform-nlb-sg");
        const describe = (r: { name: string; inputs: Record<string, unknown> }) =>
            `${r.name} ${r.inputs.securityGroupId === relaySg.id ? "relay" : r.inputs.securityGroupId === nlbSg.id ? "nlb" : "?"} ${r.inputs.fromPort}-${r.inputs.toPort} ${
                r.inputs.cidrIpv4 ?? (r.inputs.referencedSecurityGroupId === nlbSg.id ? "nlb" : r.inputs.referencedSecurityGroupId === relaySg.id ? "relay" : r.inputs.referencedSecurityGroupId)
            }`;
        assert.deepEqual(ofType(run, types.securityGroupIngressRule).map(describe).sort(), [
            "relay-in-40001-from-platform-nlb relay 40001-40001 nlb",
            "relay-in-40002-from-platform-nlb relay 40002-40002 nlb",
            `relay-platform-nlb-in-40001-from-0 nlb 40001-40001 ${platformWorkers}`,
            `relay-platform-nlb-in-40002-from-0 nlb 40002-40002 ${platformWorkers}`,
            "relay-ssh-from-anywhere relay 22-22 0.0.0.0/0",
        ]);
        // The NLB's egress (which also governs its health checks) reaches the relay hosts' ports only.
        assert.deepEqual(ofType(run, types.securityGroupEgressRule).filter((r) => r.inputs.securityGroupId === nlbSg.id).map(describe).sort(), [
            "relay-platform-nlb-out-40001 nlb 40001-40001 relay",
            "relay-platform-nlb-out-40002 nlb 40002-40002 relay",
        ]);
        // globex listens on loopback: nothing outside the host reaches 40010.
        assert.ok(!ofType(run, types.securityGroupIngressRule).some((r) => r.inputs.fromPort === 40010));
    });

    it("publishes per customer the internal NLB's host:port for each reachable port; loopback-only customers are absent", () => {
        const dnsName = String(named(run, "relay-platform-nlb").outputs.dnsName);
        assert.deepEqual(run.outputs.platformEndpoints, { acme: [`${dnsName}:40001`, `${dnsName}:40002`] });
        assert.equal(ofType(run, types.route53Record).length, 0, "no records without dns");
    });

    it("with dns, gives each such customer an alias record <customer>.tunnel.<zone> of the internal NLB and publishes that name", async () => {
        const withDns = await deploy(() => {
            const relay = new TunnelRelay("relay", relayArgs({ dns: { zoneId: "Z0123456789ABCDEFGHIJ", zoneName: "privatelink.firefly.internal" } }));
            return { platformEndpoints: relay.platformEndpoints };
        });
        const nlb = named(withDns, "relay-platform-nlb");
        const record = single(withDns, types.route53Record);
        assert.equal(record.name, "relay-dns-acme");
        assert.equal(record.inputs.name, "acme.tunnel.privatelink.firefly.internal");
        assert.equal(record.inputs.zoneId, "Z0123456789ABCDEFGHIJ");
        assert.equal(record.inputs.type, "A");
        assert.deepEqual(record.inputs.aliases, [{ name: nlb.outputs.dnsName, zoneId: nlb.outputs.zoneId, evaluateTargetHealth: false }]);
        assert.deepEqual(withDns.outputs.platformEndpoints, { acme: ["acme.tunnel.privatelink.firefly.internal:40001", "acme.tunnel.privatelink.firefly.internal:40002"] });
    });

    it("creates no internal NLB when every listen address is loopback (gatewayPorts no), and keeps ELB health for the hosts", async () => {
        const loopback = await deploy(() => {
            const relay = new TunnelRelay("relay", relayArgs({ gatewayPorts: "no", platformSecurityGroupIds: [] }));
            return { platformEndpoints: relay.platformEndpoints, platformHostName: relay.platformHostName };
        });
        // Always an Output (the component provider needs every output declared): undefined without the NLB.
        assert.equal(loopback.outputs.platformHostName, undefined);
        assert.deepEqual(ofType(loopback, types.loadBalancer).map((r) => r.name), ["relay-nlb"]);
        assert.deepEqual(ofType(loopback, types.targetGroup).map((r) => r.name), ["relay-ssh"]);
        assert.deepEqual(ofType(loopback, types.securityGroupIngressRule).map((r) => r.name), ["relay-ssh-from-anywhere"]);
        assert.deepEqual(loopback.outputs.platformEndpoints, {});
        assert.equal(single(loopback, types.autoscalingGroup).inputs.healthCheckType, "ELB");
    });

    it("runs hardened hosts: IMDSv2 with hop limit 1, encrypted root volume, no public IP", () => {
        const lt = single(run, types.launchTemplate);
        assert.equal((lt.inputs.metadataOptions as Record<string, unknown>).httpTokens, "required");
        assert.equal((lt.inputs.metadataOptions as Record<string, unknown>).httpPutResponseHopLimit, 1);
        assert.equal((lt.inputs.networkInterfaces as Record<string, unknown>[])[0]!.associatePublicIpAddress, "false");
        assert.equal((lt.inputs.blockDeviceMappings as { ebs: Record<string, unknown> }[])[0]!.ebs.encrypted, "true");
    });

    it("generates an ed25519 host key, stores it as a secret, lets the hosts read only that secret, and publishes the pin", () => {
        const key = single(run, types.tlsPrivateKey);
        assert.equal(key.inputs.algorithm, "ED25519");
        const secret = single(run, types.secret);
        const version = single(run, types.secretVersion);
        assert.equal(version.inputs.secretId, secret.id);
        const policies = ofType(run, types.iamRolePolicy);
        // The other policy lets a host report its own sshd down (tunnelRelayHealth.test.ts).
        assert.deepEqual(policies.map((p) => p.name).sort(), ["relay-read-host-key", "relay-report-health"]);
        assert.deepEqual(JSON.parse(String(named(run, "relay-read-host-key", types.iamRolePolicy).inputs.policy)).Statement, [
            { Sid: "ReadRelayHostKey", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secret.outputs.arn },
        ]);
        assert.match(userData, new RegExp(`--secret-id '${String(secret.outputs.arn).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}'`));
        const pins = run.outputs.hostPublicKeys as string[];
        assert.deepEqual(pins, [String(key.outputs.publicKeyOpenssh).trim()]);
        const pin = parsePinnedHostKey(pins[0]!);
        assert.ok(typeof pin === "object");
        assert.deepEqual(run.outputs.hostKeyFingerprints, [pin.fingerprint]);
    });

    describe("rolling the hosts when what they read at boot changes", () => {
        it("keeps the launch template as it is when nothing changed (a no-op pulumi up starts no refresh)", async () => {
            const again = await deploy(() => {
                new TunnelRelay("relay", relayArgs());
            });
            assert.deepEqual(launchTemplateInputs(again), launchTemplateInputs(run));
        });

        it("fetches exactly the host key version the stack wrote, so a new host key is a new launch template version", () => {
            const version = single(run, types.secretVersion);
            assert.deepEqual(fetchedSecretVersions(userData), { [String(single(run, types.secret).outputs.arn)]: String(version.outputs.versionId) });
        });

        it("makes a new launch template when the user CA, the customers or the revoked keys change", async () => {
            for (const change of [{ userCaPublicKey: relayHostKey }, { customers: [customers[0]!] }, { revokedKeys: [relayHostKey] }] as Partial<TunnelRelayArgs>[]) {
                const changed = await deploy(() => {
                    new TunnelRelay("relay", relayArgs(change));
                });
                assert.notEqual(launchTemplateInputs(changed).userData, launchTemplateInputs(run).userData, Object.keys(change)[0]);
            }
        });
    });

    describe("argument validation", () => {
        const build = (overrides: Partial<TunnelRelayArgs>) => new TunnelRelay("relay", relayArgs(overrides));
        itRefuses<TunnelRelayArgs>(`${types.tunnelRelay} "relay"`, build, [
            ["no public subnets", { publicSubnetIds: [] }, /publicSubnetIds must list at least one entry; give public subnets/],
            ["a CA key that is not a public key line", { userCaPublicKey: "-----BEGIN OPENSSH PRIVATE KEY-----" }, /userCaPublicKey must be the platform user CA's OpenSSH public key line/],
            [
                "a CA key with corrupt base64",
                { userCaPublicKey: caKey.replace("ssh-ed25519", "ssh-rsa") },
                /userCaPublicKey must be the platform user CA's OpenSSH public key line .*; this one has corrupt base64 data \(its embedded type is not "ssh-rsa"\)/,
            ],
            ["no customers", { customers: [] }, /customers must list at least one entry/],
            [
                "a revoked key that is a fingerprint, not a key line",
                { revokedKeys: [relayHostKey, "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"] },
                /revokedKeys\[1\] must be an OpenSSH public key or certificate line: <type> <base64> \[comment\], as in agent_key\.pub or agent_key-cert\.pub \(got "SHA256:/,
            ],
            ["two revoked keys in one entry", { revokedKeys: [`${relayHostKey}\n${relayHostKey}`] }, /revokedKeys\[0\] must be one line \(one key or certificate per entry\)/],
            [
                "a revoked key with corrupt base64",
                { revokedKeys: [relayHostKey.replace("ssh-ed25519", "ecdsa-sha2-nistp256")] },
                /revokedKeys\[0\] has corrupt base64 data \(its embedded type is not "ecdsa-sha2-nistp256"\); copy the whole line from the \.pub file/,
            ],
            ["the user CA's own key as a revoked key", { revokedKeys: [caKey] }, /revokedKeys\[0\] is the user CA's key \(userCaPublicKey\): revoking it refuses every customer's certificate; to replace the CA, change userCaPublicKey instead/],
            [
                "two customers on one port",
                { customers: [customers[0]!, { name: "globex", principal: "customer-globex", listen: ["0.0.0.0:40001"] }] },
                /customers are refused by the relay generator: customers acme and globex both listen on port 40001/,
            ],
            ["forwarded ports nobody may reach", { platformSecurityGroupIds: [] }, /platformSecurityGroupIds must name the platform services that reach the forwarded ports 40001, 40002/],
            [
                "a hairpin target by name without its CIDRs",
                { customers: [{ name: "acme", principal: "customer-acme", listen: ["0.0.0.0:40001"], permitOpen: ["proxy.firefly.internal:3128"] }] },
                /customers\[0\]\.permitOpen\[0\] names "proxy\.firefly\.internal", so the relay's security group needs hairpinTargetCidrs/,
            ],
            ["a count of zero", { count: 0 }, /count must be an integer between 1 and 20/],
            ["a gatewayPorts sshd does not take here", { gatewayPorts: "yes" as "no" }, /gatewayPorts must be one of "no", "clientspecified" \(got "yes"\)/],
            ["a login user that is not a POSIX name", { loginUser: "bad user" }, /loginUser is refused by the relay generator: - loginUser: must be a POSIX user name/],
            ["a root volume smaller than the AMI", { rootVolumeSizeGiB: 4 }, /rootVolumeSizeGiB must be an integer between 8 and 1024 \(got 4\)/],
            ["an AMI ID that is not one", { amiId: "al2023" }, /amiId must be an AMI ID like ami-0123456789abcdef0 \(got "al2023"\)/],
            ["an AMI parameter that is not an SSM name", { amiParameter: "al2023 latest" }, /amiParameter must be an SSM parameter name/],
            ["a DNS zone name that is not a DNS name", { dns: { zoneId: "Z0123456789ABCDEFGHIJ", zoneName: "Firefly Internal" } }, /dns\.zoneName must be a lower-case DNS name/],
            [
                "a customer name that cannot be a DNS label, with dns",
                { dns: { zoneId: "Z0123456789ABCDEFGHIJ", zoneName: "privatelink.firefly.internal" }, customers: [{ name: "Acme_Corp", principal: "customer-acme", listen: ["0.0.0.0:40001"] }] },
                /customers\[0\]\.name must be one lower-case DNS label like acme to get the record <name>\.tunnel\.privatelink\.firefly\.internal \(got "Acme_Corp"\); rename the customer or leave out dns/,
            ],
        ]);
    });
});
