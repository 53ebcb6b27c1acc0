import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { TunnelRelay, TunnelRelayArgs } from "../../components/tunnelRelay";
import { relayPaths } from "../../components/tunnelUserData";
import { parsePinnedHostKey } from "../../connector/hostKeys";
import { renderRelay } from "../../connector/relay/sshdConfig";
import { itRefuses } from "../helpers/argumentErrors";
import { deploy, ofType, ProgramRun, single } from "../helpers/pulumi";

const NLB = "aws:lb/loadBalancer:LoadBalancer";
const LISTENER = "aws:lb/listener:Listener";
const TARGET_GROUP = "aws:lb/targetGroup:TargetGroup";
const ASG = "aws:autoscaling/group:Group";
const LT = "aws:ec2/launchTemplate:LaunchTemplate";
const EIP = "aws:ec2/eip:Eip";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const SECRET = "aws:secretsmanager/secret:Secret";
const SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const HOST_KEY = "tls:index/privateKey:PrivateKey";

const caKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIABn4UU4BHB9p2NHPg+HoGfdpwpo8IcU3PDt26e5vpa/ firefly-platform-user-ca";
const platformWorkers = "sg-0f1ef1ef1ef1ef1a1";
const customers = [
    { name: "acme", principal: "customer-acme", listen: ["0.0.0.0:40001", "0.0.0.0:40002"], permitOpen: ["10.0.9.9:8443"] },
    { name: "globex", principal: "customer-globex", listen: ["127.0.0.1:40010"] },
];

function relayArgs(overrides: Partial<TunnelRelayArgs> = {}): TunnelRelayArgs {
    return {
        vpcId: "vpc-0f1ef1ef1ef1ef101",
        publicSubnetIds: ["subnet-0f1ef1ef1ef1ef121", "subnet-0f1ef1ef1ef1ef122"],
        subnetIds: ["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112"],
        userCaPublicKey: caKey,
        customers,
        gatewayPorts: "clientspecified",
        platformSecurityGroupIds: [platformWorkers],
        ...overrides,
    };
}

function heredocIn(userData: string, marker: string): string {
    const match = new RegExp(`<<'${marker}'\\n([\\s\\S]*?)\\n${marker}\\n`).exec(userData);
    assert.ok(match, `the user data writes ${marker}`);
    return `${match[1]}\n`;
}

describe("TunnelRelay", () => {
    let run: ProgramRun;
    let userData: string;
    before(async () => {
        run = await deploy(() => {
            const relay = new TunnelRelay("relay", relayArgs());
            return { hostName: relay.hostName, port: relay.port, hostPublicKeys: relay.hostPublicKeys, addresses: relay.addresses, hostKeyFingerprints: relay.hostKeyFingerprints };
        });
        userData = Buffer.from(String(single(run, LT).inputs.userData), "base64").toString("utf8");
    });

    it("configures sshd with exactly the relay generator's output: per-customer principals, permitlisten and permitopen", () => {
        const expected = renderRelay({
            port: 22,
            hostKeyFiles: [relayPaths.hostKey],
            trustedUserCaKeysFile: relayPaths.userCaKeys,
            authorizedPrincipalsFile: relayPaths.principals,
            loginUser: "tunnel",
            gatewayPorts: "clientspecified",
            customers,
        });
        assert.equal(heredocIn(userData, "FIREFLY_SSHD_CONFIG"), expected.sshdConfig);
        assert.equal(heredocIn(userData, "FIREFLY_PRINCIPALS"), expected.authorizedPrincipals);
        assert.equal(heredocIn(userData, "FIREFLY_USER_CA"), `${caKey}\n`);
        assert.match(userData, new RegExp(`sshd -t -f "\\$ROOT${relayPaths.sshdConfig}.firefly"`), "sshd checks the file before it replaces the running config");
        execFileSync("bash", ["-n"], { input: userData });
    });

    it("is reached through an internet-facing NLB on TCP 22 only, with a fixed Elastic IP per public subnet", () => {
        const nlb = single(run, NLB);
        assert.equal(nlb.name, "relay-nlb");
        assert.equal(nlb.inputs.loadBalancerType, "network");
        assert.equal(nlb.inputs.internal, false);
        const eips = ofType(run, EIP);
        assert.deepEqual(
            nlb.inputs.subnetMappings,
            ["subnet-0f1ef1ef1ef1ef121", "subnet-0f1ef1ef1ef1ef122"].map((subnetId, i) => ({ subnetId, allocationId: eips[i]!.outputs.allocationId })),
        );
        const listener = single(run, LISTENER);
        assert.equal(listener.inputs.port, 22);
        assert.equal(listener.inputs.protocol, "TCP");
        const tg = single(run, TARGET_GROUP);
        assert.equal(tg.inputs.port, 22);
        assert.deepEqual(single(run, ASG).inputs.targetGroupArns, [tg.outputs.arn]);
        assert.deepEqual(run.outputs.addresses, eips.map((e) => e.outputs.publicIp));
        assert.equal(run.outputs.hostName, nlb.outputs.dnsName);
        assert.equal(run.outputs.port, 22);
    });

    it("admits 22 from anywhere and customers' forwarded ports only from the platform's security groups", () => {
        const rules = ofType(run, INGRESS).map((r) => `${r.name} ${r.inputs.fromPort}-${r.inputs.toPort} ${r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId}`);
        assert.deepEqual(rules.sort(), [
            `relay-in-40001-from-0 40001-40001 ${platformWorkers}`,
            `relay-in-40002-from-0 40002-40002 ${platformWorkers}`,
            "relay-ssh-from-anywhere 22-22 0.0.0.0/0",
        ]);
        // globex listens on loopback: nothing outside the host reaches 40010.
    });

    it("runs hardened hosts: IMDSv2 with hop limit 1, encrypted root volume, no public IP", () => {
        const lt = single(run, LT);
        assert.equal((lt.inputs.metadataOptions as Record<string, unknown>).httpTokens, "required");
        assert.equal((lt.inputs.metadataOptions as Record<string, unknown>).httpPutResponseHopLimit, 1);
        assert.equal((lt.inputs.networkInterfaces as Record<string, unknown>[])[0]!.associatePublicIpAddress, "false");
        assert.equal((lt.inputs.blockDeviceMappings as { ebs: Record<string, unknown> }[])[0]!.ebs.encrypted, "true");
    });

    it("generates an ed25519 host key, stores it as a secret, lets the hosts read only that secret, and publishes the pin", () => {
        const key = single(run, HOST_KEY);
        assert.equal(key.inputs.algorithm, "ED25519");
        const secret = single(run, SECRET);
        const version = single(run, SECRET_VERSION);
        assert.equal(version.inputs.secretId, secret.id);
        const policies = ofType(run, ROLE_POLICY);
        assert.deepEqual(policies.map((p) => JSON.parse(String(p.inputs.policy)).Statement), [
            [{ Sid: "ReadRelayHostKey", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secret.outputs.arn }],
        ]);
        assert.match(userData, new RegExp(`--secret-id '${String(secret.outputs.arn).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}'`));
        const pins = run.outputs.hostPublicKeys as string[];
        assert.deepEqual(pins, [String(key.outputs.publicKeyOpenssh).trim()]);
        const pin = parsePinnedHostKey(pins[0]!);
        assert.ok(typeof pin === "object");
        assert.deepEqual(run.outputs.hostKeyFingerprints, [pin.fingerprint]);
    });

    describe("argument validation", () => {
        const build = (overrides: Partial<TunnelRelayArgs>) => new TunnelRelay("relay", relayArgs(overrides));
        itRefuses<TunnelRelayArgs>('firefly:tunnel:TunnelRelay "relay"', build, [
            ["no public subnets", { publicSubnetIds: [] }, /publicSubnetIds must list at least one entry; give public subnets/],
            ["a CA key that is not a public key line", { userCaPublicKey: "-----BEGIN OPENSSH PRIVATE KEY-----" }, /userCaPublicKey must be the platform user CA's OpenSSH public key line/],
            ["no customers", { customers: [] }, /customers must list at least one entry/],
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
        ]);
    });
});
