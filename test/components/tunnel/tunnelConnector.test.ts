import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { buildConnectorBundle, compiledAgentDir } from "../../../components/tunnel/bundle";
import { al2023AmiParameter } from "../../../components/tunnel/hostGroup";
import { connectorRoleTag, TunnelConnector, TunnelConnectorArgs } from "../../../components/tunnel/tunnelConnector";
import { connectorPaths } from "../../../components/tunnel/userData";
import { parseConnectorConfig } from "../../../connector/spec";
import { CONNECTOR_ROLE_TAG_KEY, CONNECTOR_ROLE_TAG_VALUE } from "../../../policies/conventions";
import { evaluatePolicies } from "../../../policies/offline";
import { toPlannedResource } from "../../../offline/verdict";
import { itRefuses } from "../../helpers/argumentErrors";
import { deploy, ProgramRun } from "../../helpers/pulumi";
import { named, ofType, single, types } from "../../helpers/resources";
import { certArn, configInUserData, connectorArgs, fetchedSecretVersions, keyArn, launchTemplateInputs, relayHostKey, testCertificate, testPrivateKey, userDataOf } from "../../helpers/tunnel";

async function deployConnector(overrides: Partial<TunnelConnectorArgs> = {}): Promise<ProgramRun> {
    return deploy(() => {
        const connector = new TunnelConnector("acme-tunnel", connectorArgs(overrides));
        return {
            agentConfig: connector.agentConfig,
            bundleKey: connector.bundleKey,
            privateKeySecretArn: connector.privateKeySecretArn,
            certificateSecretArn: connector.certificateSecretArn,
        };
    });
}

function policyOf(run: ProgramRun, name: string): { Statement: { Sid: string; Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: unknown }[] } {
    const policies = ofType(run, types.iamRolePolicy).filter((p) => p.inputs.name === name);
    assert.equal(policies.length, 1, `exactly one role policy ${name}`);
    return JSON.parse(String(policies[0]!.inputs.policy));
}

describe("TunnelConnector", () => {
    let run: ProgramRun;
    before(async () => {
        run = await deployConnector();
    });

    it("launches from a template with IMDSv2 only (hop limit 1), an encrypted root volume, no public IP and an instance profile", () => {
        const lt = single(run, types.launchTemplate);
        assert.deepEqual(lt.inputs.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" });
        const [disk] = lt.inputs.blockDeviceMappings as { deviceName: string; ebs: Record<string, unknown> }[];
        assert.equal(disk!.deviceName, "/dev/xvda");
        assert.equal(disk!.ebs.encrypted, "true");
        assert.equal(disk!.ebs.volumeType, "gp3");
        const [nic] = lt.inputs.networkInterfaces as Record<string, unknown>[];
        assert.equal(nic!.associatePublicIpAddress, "false");
        assert.deepEqual(nic!.securityGroups, [single(run, types.securityGroup).id]);
        assert.deepEqual(lt.inputs.iamInstanceProfile, { arn: single(run, types.iamInstanceProfile).outputs.arn });
    });

    it("runs the current Amazon Linux 2023 AMI from AWS's SSM parameter, or the AMI it is given", async () => {
        const expected = `ami-${crypto.createHash("sha256").update(al2023AmiParameter).digest("hex").slice(0, 17)}`;
        assert.equal(single(run, types.launchTemplate).inputs.imageId, expected, "the fake SSM parameter's value for the AL2023 parameter");
        const pinned = await deployConnector({ amiId: "ami-0123456789abcdef0" });
        assert.equal(single(pinned, types.launchTemplate).inputs.imageId, "ami-0123456789abcdef0");
    });

    it("keeps `count` instances spread over the subnets, and refreshes them whenever the launch template changes", () => {
        const asg = single(run, types.autoscalingGroup);
        assert.equal(asg.inputs.desiredCapacity, 2);
        assert.equal(asg.inputs.minSize, 2);
        assert.deepEqual(asg.inputs.vpcZoneIdentifiers, ["subnet-0c0ffee0c0ffee011", "subnet-0c0ffee0c0ffee012"]);
        const lt = single(run, types.launchTemplate);
        assert.deepEqual(asg.inputs.launchTemplate, { id: lt.id, version: String(lt.outputs.latestVersion) });
        const refresh = asg.inputs.instanceRefresh as { strategy: string; preferences: Record<string, unknown> };
        assert.equal(refresh.strategy, "Rolling");
        assert.equal(refresh.preferences.minHealthyPercentage, 100, "replacements start before old instances stop");
        // A new host needs its first boot (packages, the native crypto build) before it counts as serving.
        assert.equal(refresh.preferences.instanceWarmup, "300");
        assert.equal(asg.inputs.healthCheckGracePeriod, 300);
        assert.equal(lt.inputs.updateDefaultVersion, true);
    });

    describe("rolling the hosts when what they read at boot changes", () => {
        const versionOf = (r: ProgramRun, name: string) => String(named(r, name, types.secretVersion).outputs.versionId);

        it("keeps the launch template as it is when nothing changed (a no-op pulumi up starts no refresh)", async () => {
            const again = await deploy(() => {
                new TunnelConnector("acme-tunnel", connectorArgs());
            });
            assert.deepEqual(launchTemplateInputs(again), launchTemplateInputs(run));
        });

        it("fetches exactly the secret versions the stack wrote, so a new certificate is a new launch template version", async () => {
            const userData = userDataOf(run);
            assert.deepEqual(Object.values(fetchedSecretVersions(userData)), [versionOf(run, "acme-tunnel-private-key"), versionOf(run, "acme-tunnel-certificate")]);
            const renewed = await deploy(() => {
                new TunnelConnector("acme-tunnel", connectorArgs({ identity: { privateKey: pulumi.secret(testPrivateKey), certificate: `${testCertificate} renewed` } }));
            });
            const renewedUserData = userDataOf(renewed);
            assert.notEqual(renewedUserData, userData);
            // The only difference is the certificate's version: everything else stays, so the refresh is for the new certificate.
            assert.equal(renewedUserData.replace(versionOf(renewed, "acme-tunnel-certificate"), versionOf(run, "acme-tunnel-certificate")), userData);
        });
    });

    it("has a security group with no ingress at all, tagged as a connector group the policy pack recognises", () => {
        const sg = single(run, types.securityGroup);
        assert.equal(sg.inputs.ingress, undefined);
        assert.equal(ofType(run, types.securityGroupIngressRule).length, 0);
        assert.equal((sg.inputs.tags as Record<string, string>)[connectorRoleTag.key], connectorRoleTag.value);
        assert.deepEqual([connectorRoleTag.key, connectorRoleTag.value], [CONNECTOR_ROLE_TAG_KEY, CONNECTOR_ROLE_TAG_VALUE], "component and pack agree");
    });

    it("allows egress only to the relays' SSH port, direct route targets' ports, DNS and HTTPS for AWS APIs", () => {
        const sg = single(run, types.securityGroup);
        const rules = ofType(run, types.securityGroupEgressRule).map((r) => {
            assert.equal(r.inputs.securityGroupId, sg.id);
            assert.equal(r.inputs.fromPort, r.inputs.toPort);
            return `${r.inputs.ipProtocol}/${r.inputs.fromPort} ${r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6}`;
        });
        assert.deepEqual(rules.sort(), [
            "tcp/22 203.0.113.10/32",
            "tcp/22 203.0.113.11/32",
            "tcp/443 0.0.0.0/0",
            "tcp/443 10.20.1.15/32",
            "tcp/53 169.254.169.253/32",
            "tcp/5432 10.20.0.0/16",
            "udp/53 169.254.169.253/32",
        ]);
        // The hairpin route (via: tunnel) needs no egress of its own: it rides the SSH connection.
        assert.ok(!rules.some((r) => r.includes("8443")));
    });

    it("with an egress proxy, allows the proxy instead of the relays, and tells the agent to use it", async () => {
        const proxied = await deployConnector({ proxy: "http://10.20.0.5:3128" });
        const rules = ofType(proxied, types.securityGroupEgressRule).map((r) => `${r.inputs.ipProtocol}/${r.inputs.fromPort} ${r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6}`);
        assert.ok(rules.includes("tcp/3128 10.20.0.5/32"), rules.join(", "));
        assert.ok(!rules.some((r) => r.startsWith("tcp/22 ")), `no rule to the relays: ${rules.join(", ")}`);
        const config = parseConnectorConfig(String(proxied.outputs.agentConfig));
        assert.equal(config.proxy, "http://10.20.0.5:3128");
    });

    it("lets the instance role read exactly its two secrets and its bundle object, plus SSM core", () => {
        const secrets = ofType(run, types.secret);
        assert.equal(secrets.length, 2);
        const identity = policyOf(run, "read-agent-identity");
        assert.deepEqual(identity.Statement, [
            { Sid: "ReadAgentIdentity", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secrets.map((s) => s.outputs.arn) },
        ]);
        const bucket = single(run, types.s3Bucket);
        const object = single(run, types.s3BucketObject);
        assert.deepEqual(policyOf(run, "read-agent-bundle").Statement, [
            { Sid: "ReadAgentBundle", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucket.outputs.arn}/${object.inputs.key}` },
        ]);
        // Nothing else reads secrets or S3.
        for (const policy of ofType(run, types.iamRolePolicy)) {
            if (["read-agent-identity", "read-agent-bundle"].includes(String(policy.inputs.name))) continue;
            assert.doesNotMatch(String(policy.inputs.policy), /secretsmanager:|s3:/, String(policy.inputs.name));
        }
        assert.deepEqual(ofType(run, types.iamRolePolicyAttachment).map((a) => a.inputs.policyArn), ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]);
        assert.deepEqual(policyOf(run, "publish-readiness").Statement[0]!.Condition, { StringEquals: { "cloudwatch:namespace": "Firefly/TunnelConnector" } });
    });

    it("stores the given key and certificate as secret values in Secrets Manager", () => {
        const versions = ofType(run, types.secretVersion);
        // As the engine receives them: in Pulumi's secret wire form, so state and previews keep them encrypted.
        const secretSignature = "4dabf18193072939515e22adb298388d";
        const values = versions.map((v) => v.inputs.secretString as Record<string, string>);
        for (const value of values) assert.equal(value[secretSignature], "1b47061264138c4ac30d75fd1eb44270", "a secret");
        assert.deepEqual(values.map((v) => v.value).sort(), [testCertificate, testPrivateKey].sort());
        assert.deepEqual(run.outputs.privateKeySecretArn, named(run, "acme-tunnel-private-key", types.secret).outputs.arn);
    });

    it("uses existing secrets by ARN, creating none, and scopes the policy to those ARNs", async () => {
        const byArn = await deployConnector({ identity: { privateKeySecretArn: keyArn, certificateSecretArn: certArn } });
        assert.equal(ofType(byArn, types.secret).length, 0);
        assert.deepEqual(policyOf(byArn, "read-agent-identity").Statement[0]!.Resource, [keyArn, certArn]);
        assert.match(userDataOf(byArn), new RegExp(`fetch_secret '${keyArn}' "\\$ROOT${connectorPaths.privateKey}"`));
        // The stack does not see their values: hosts fetch the current version.
        assert.deepEqual(fetchedSecretVersions(userDataOf(byArn)), { [keyArn]: null, [certArn]: null });
    });

    it("renders user data whose config the agent's own validator accepts, with the relay pinned and the secrets' paths", () => {
        const config = parseConnectorConfig(configInUserData(userDataOf(run)));
        assert.deepEqual(config.relays, [{ host: "relay.firefly.example.com", port: 22, hostKeys: [relayHostKey] }]);
        assert.deepEqual(config.identity, { privateKeyFile: connectorPaths.privateKey, certificateFile: connectorPaths.certificate });
        assert.deepEqual(config.routes.map((r) => r.name), ["gitlab", "postgres", "platform-api"]);
        assert.equal(config.health?.listen, "127.0.0.1:9101");
        assert.equal(run.outputs.agentConfig, configInUserData(userDataOf(run)));
        assert.doesNotMatch(userDataOf(run), /BEGIN OPENSSH PRIVATE KEY/, "the key is fetched at boot, never in user data");
    });

    it("uploads the agent bundle under a key holding its SHA-256, which the user data verifies", () => {
        const bundle = buildConnectorBundle();
        const object = single(run, types.s3BucketObject);
        assert.equal(object.inputs.key, `agent/firefly-connector-${bundle.sha256}.tar.gz`);
        assert.equal(crypto.createHash("sha256").update(fs.readFileSync(bundle.file)).digest("hex"), bundle.sha256);
        assert.match(userDataOf(run), new RegExp(`BUNDLE_SHA256='${bundle.sha256}'`));
        assert.match(userDataOf(run), /sha256sum --check/);
    });

    it("gives a changed agent a new bundle key (and so a new launch template version), the same agent the same key", () => {
        // Copies inside the package, so package.json and node_modules resolve as for the original.
        const copyOfAgent = () => {
            const dir = fs.mkdtempSync(path.join(path.dirname(compiledAgentDir()), ".agent-copy-"));
            fs.cpSync(compiledAgentDir(), dir, { recursive: true });
            return dir;
        };
        const same = copyOfAgent();
        const changed = copyOfAgent();
        try {
            assert.equal(buildConnectorBundle(same).sha256, buildConnectorBundle().sha256, "same sources, same bytes");
            fs.appendFileSync(path.join(changed, "cli.js"), "\n// changed\n");
            assert.notEqual(buildConnectorBundle(changed).sha256, buildConnectorBundle().sha256);
        } finally {
            fs.rmSync(same, { recursive: true, force: true });
            fs.rmSync(changed, { recursive: true, force: true });
        }
    });

    it("bundles the compiled agent with exactly the packages it requires, without native binaries", () => {
        const bundle = buildConnectorBundle();
        assert.ok(bundle.files.includes("connector/cli.js"));
        for (const name of ["ssh2", "commander", "pino", "prom-client", "yaml", "zod"]) {
            assert.ok(bundle.packages.some((p) => p.startsWith(`${name}@`)), name);
        }
        assert.ok(!bundle.packages.some((p) => p.startsWith("@pulumi/")), "no Pulumi SDK in the agent");
        assert.ok(!bundle.files.some((f) => f.endsWith(".node")));
    });

    it("logs to a CloudWatch log group and alarms when no agent reports ready", () => {
        const logGroup = single(run, types.logGroup);
        assert.equal(logGroup.inputs.retentionInDays, 365);
        assert.match(userDataOf(run), new RegExp(`"log_group_name": "${logGroup.outputs.name}"`));
        const alarm = ofType(run, types.metricAlarm).find((a) => a.name === "acme-tunnel-not-ready")!;
        assert.ok(alarm);
        assert.equal(alarm.inputs.namespace, "Firefly/TunnelConnector");
        assert.equal(alarm.inputs.metricName, "AgentReady");
        assert.equal(alarm.inputs.statistic, "Maximum");
        assert.equal(alarm.inputs.comparisonOperator, "LessThanThreshold");
        assert.equal(alarm.inputs.treatMissingData, "breaching");
        assert.deepEqual(alarm.inputs.dimensions, { Connector: "test/acme-tunnel" });
        // The reporter publishes the alarm's metric with the alarm's dimension (inside --metric-data, quotes escaped for bash).
        assert.ok(userDataOf(run).includes('{\\"MetricName\\":\\"AgentReady\\",\\"Dimensions\\":[{\\"Name\\":\\"Connector\\",\\"Value\\":\\"test/acme-tunnel\\"}]'));
    });

    it("alarms when an agent's certificate has less than 7 days left, on the time left the hosts report", () => {
        const alarms = ofType(run, types.metricAlarm);
        assert.deepEqual(alarms.map((a) => a.name).sort(), ["acme-tunnel-certificate-expiring", "acme-tunnel-not-ready"]);
        const alarm = alarms.find((a) => a.name === "acme-tunnel-certificate-expiring")!;
        assert.equal(alarm.inputs.namespace, "Firefly/TunnelConnector");
        assert.equal(alarm.inputs.metricName, "CertificateSecondsLeft");
        assert.equal(alarm.inputs.statistic, "Minimum", "the host with the least time left decides");
        assert.equal(alarm.inputs.comparisonOperator, "LessThanThreshold");
        assert.equal(alarm.inputs.threshold, 7 * 86400);
        assert.equal(alarm.inputs.treatMissingData, "notBreaching", "no agent running is the not-ready alarm's case");
        assert.deepEqual(alarm.inputs.dimensions, { Connector: "test/acme-tunnel" });
        // The reporter publishes that metric with the alarm's dimension.
        assert.ok(userDataOf(run).includes('\\"MetricName\\":\\"CertificateSecondsLeft\\",\\"Dimensions\\":[{\\"Name\\":\\"Connector\\",\\"Value\\":\\"test/acme-tunnel\\"}]'));
    });

    it("pins relay host keys that arrive as Outputs (from a StackReference), validating them when they resolve", async () => {
        const fromStack = await deployConnector({
            relays: [{ host: pulumi.output("relay-nlb-1234.elb.us-east-1.amazonaws.com"), hostKeys: pulumi.output([relayHostKey]), cidrs: [pulumi.output("203.0.113.7/32")] }],
        });
        const config = parseConnectorConfig(configInUserData(userDataOf(fromStack)));
        assert.equal(config.relays[0]!.host, "relay-nlb-1234.elb.us-east-1.amazonaws.com");
        await assert.rejects(
            deployConnector({ relays: [{ host: pulumi.output("relay.example.com"), hostKeys: pulumi.output(["ssh-dss AAAA"]) }] }),
            /TunnelConnector "acme-tunnel": relays\[0\]\.hostKeys\[0\] is refused by the agent's config schema/,
        );
    });

    it("passes the policy pack", async () => {
        const violations = await evaluatePolicies(run.resources.map(toPlannedResource));
        assert.deepEqual(violations.map((v) => `${v.policyName} ${v.resourceName}: ${v.message}`), []);
    });

    describe("argument validation", () => {
        const build = (overrides: Partial<TunnelConnectorArgs>) => new TunnelConnector("acme-tunnel", connectorArgs(overrides));
        itRefuses<TunnelConnectorArgs>(`${types.tunnelConnector} "acme-tunnel"`, build, [
            ["no subnets", { subnetIds: [] }, /subnetIds must list at least one entry/],
            ["a count of zero", { count: 0 }, /count must be an integer between 1 and 20 \(got 0\)/],
            ["no relays", { relays: [] }, /relays must list at least one entry/],
            ["a relay without pinned host keys", { relays: [{ host: "relay.example.com", hostKeys: [] }] }, /relays\[0\]\.hostKeys is refused by the agent's config schema: relays\[0\]\.hostKeys: pin at least one relay host key/],
            ["an unparseable route", { routes: [{ name: "x", listen: "0.0.0.0", target: "10.0.0.1:1" }] }, /routes\[0\]\.listen is refused by the agent's config schema/],
            ["no route and no dynamic route", { routes: [] }, /routes is refused by the agent's config schema: routes: configure at least one route/],
            ["a named target without targetCidrs", { targetCidrs: undefined }, /routes\[1\]\.target names the host "db\.acme\.internal", so the security group needs to know where it lives: set targetCidrs/],
            ["both identity forms", { identity: { privateKey: testPrivateKey, certificate: testCertificate, privateKeySecretArn: keyArn } }, /identity must give either privateKey and certificate, or privateKeySecretArn and certificateSecretArn/],
            ["a key without its certificate", { identity: { privateKey: testPrivateKey } }, /identity\.certificate is required with identity\.privateKey/],
            ["a public key given as the private key", { identity: { privateKey: "ssh-ed25519 AAAA", certificate: testCertificate } }, /identity\.privateKey must be an unencrypted OpenSSH private key/],
            ["a malformed secret ARN", { identity: { privateKeySecretArn: "acme/key", certificateSecretArn: certArn } }, /identity\.privateKeySecretArn must be a Secrets Manager secret ARN/],
            ["a relay CIDR that is not one", { relays: [{ host: "relay.example.com", hostKeys: [relayHostKey], cidrs: ["203.0.113.10"] }] }, /relays\[0\]\.cidrs\[0\] must be an IPv4 CIDR/],
            ["no HTTPS egress at all", { awsApiEgress: {} }, /awsApiEgress must allow HTTPS somewhere/],
            ["proxy credentials (they would be in the user data)", { proxy: "http://u:p@10.20.0.5:3128" }, /proxy must not carry credentials: .*proxy\.credentialsFile/],
            ["a proxy named by host without proxyCidrs", { proxy: "http://proxy.acme.internal:3128" }, /proxyCidrs is required: proxy names the host "proxy\.acme\.internal"/],
            ["a proxy that is not http://host:port", { proxy: "proxy:3128" }, /proxy is refused by the agent's config schema: proxy: must be "http:\/\/\[user:password@\]host:port"/],
            ["an unsupported Node.js", { nodeMajor: 18 as 22 }, /nodeMajor must be one of "20", "22", "24"/],
            ["a log retention CloudWatch does not offer", { logRetentionInDays: 10 }, /logRetentionInDays must be a retention CloudWatch Logs accepts/],
        ]);
    });
});
