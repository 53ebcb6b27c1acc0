import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { EndpointFlowLogs } from "../../../components/privatelink/endpointFlowLogs";
import { PrivateLinkEndpoint, PrivateLinkEndpointArgs } from "../../../components/privatelink/privateLinkEndpoint";
import { FakeAws } from "../../../offline/fakeAws";
import { itRefuses } from "../../helpers/argumentErrors";
import { customerAccount, deploy } from "../../helpers/pulumi";
import { ofType, single, types } from "../../helpers/resources";

const serviceName = "com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f60718";
const subnets = ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60719"];
const workers = "sg-0a1b2c3d4e5f60718";

function baseArgs(overrides: Partial<PrivateLinkEndpointArgs> = {}): PrivateLinkEndpointArgs {
    return {
        vpcId: "vpc-0f1e2d3c4b5a69788",
        subnetIds: subnets,
        serviceName,
        ports: [443],
        sourceSecurityGroupIds: [workers],
        dns: { zoneName: "privatelink.firefly.internal", recordName: "acme" },
        ...overrides,
    };
}

describe("PrivateLinkEndpoint", () => {
    it("creates an Interface endpoint (never the provider's Gateway default) with its own security group", async () => {
        const run = await deploy(() => {
            const e = new PrivateLinkEndpoint("acme", baseArgs({ serviceRegion: "eu-west-1" }));
            return { endpointId: e.endpointId, securityGroupId: e.securityGroupId };
        });
        const endpoint = single(run, types.vpcEndpoint);
        assert.equal(endpoint.inputs.vpcEndpointType, "Interface");
        assert.equal(endpoint.inputs.serviceName, serviceName);
        assert.equal(endpoint.inputs.serviceRegion, "eu-west-1");
        assert.deepEqual(endpoint.inputs.subnetIds, subnets);
        assert.equal(endpoint.inputs.privateDnsEnabled, false);
        const sg = single(run, types.securityGroup);
        assert.deepEqual(endpoint.inputs.securityGroupIds, [sg.id], "the dedicated group, not the VPC default");
        assert.equal(run.outputs.endpointId, endpoint.id);
        assert.equal(run.outputs.securityGroupId, sg.id);
    });

    it("allows ingress only from the source security groups on the given ports, egress only on those ports", async () => {
        const other = "sg-1a1b2c3d4e5f60718";
        const run = await deploy(() => {
            new PrivateLinkEndpoint("acme", baseArgs({ ports: [443, 22], sourceSecurityGroupIds: [workers, other] }));
        });
        const sg = single(run, types.securityGroup);
        assert.equal(sg.inputs.ingress, undefined, "no inline rules");
        assert.equal(sg.inputs.egress, undefined, "no inline rules");
        const ingress = ofType(run, types.securityGroupIngressRule);
        assert.equal(ingress.length, 4);
        for (const rule of [...ingress, ...ofType(run, types.securityGroupEgressRule)]) {
            assert.equal(rule.inputs.securityGroupId, sg.id);
            assert.equal(rule.inputs.ipProtocol, "tcp");
            assert.equal(rule.inputs.fromPort, rule.inputs.toPort);
            assert.ok([22, 443].includes(rule.inputs.fromPort as number));
            assert.ok([workers, other].includes(rule.inputs.referencedSecurityGroupId as string));
            assert.equal(rule.inputs.cidrIpv4, undefined, "never a CIDR");
        }
        const pairs = ingress.map((r) => `${r.inputs.referencedSecurityGroupId}:${r.inputs.fromPort}`).sort();
        assert.deepEqual(pairs, [`${other}:22`, `${other}:443`, `${workers}:22`, `${workers}:443`].sort());
    });

    it("gives a stable hostname: an alias in a new private zone to the endpoint's regional DNS name", async () => {
        const run = await deploy(() => {
            const e = new PrivateLinkEndpoint("acme", baseArgs());
            return { hostname: e.hostname, dnsName: e.dnsName };
        });
        const zone = single(run, types.route53Zone);
        assert.equal(zone.inputs.name, "privatelink.firefly.internal");
        assert.deepEqual(zone.inputs.vpcs, [{ vpcId: "vpc-0f1e2d3c4b5a69788" }], "private to the VPC");
        const record = single(run, types.route53Record);
        assert.equal(record.inputs.name, "acme.privatelink.firefly.internal");
        assert.equal(record.inputs.type, "A");
        assert.equal(record.inputs.zoneId, zone.outputs.zoneId);
        const endpoint = single(run, types.vpcEndpoint);
        const regional = (endpoint.outputs.dnsEntries as Array<{ dnsName: string; hostedZoneId: string }>)[0]!;
        assert.deepEqual(record.inputs.aliases, [{ name: regional.dnsName, zoneId: regional.hostedZoneId, evaluateTargetHealth: false }]);
        assert.equal(run.outputs.hostname, "acme.privatelink.firefly.internal");
        assert.equal(run.outputs.dnsName, regional.dnsName);
    });

    it("keeps the hostname when the endpoint is recreated (a new endpoint ID)", async () => {
        const first = await deploy(() => ({ hostname: new PrivateLinkEndpoint("acme", baseArgs()).hostname }));
        // A new service name forces a new endpoint, as a recreated customer endpoint service does.
        const second = await deploy(() => ({
            hostname: new PrivateLinkEndpoint("acme", baseArgs({ serviceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0fffffffffffffff1" })).hostname,
        }));
        assert.equal(first.outputs.hostname, second.outputs.hostname);
        const [r1, r2] = [single(first, types.route53Record), single(second, types.route53Record)];
        assert.equal(r1.inputs.name, r2.inputs.name);
        assert.notDeepEqual(r1.inputs.aliases, r2.inputs.aliases, "the alias follows the new endpoint");
    });

    it("uses an existing private zone when given its ID", async () => {
        const run = await deploy(() => {
            new PrivateLinkEndpoint("acme", baseArgs({ dns: { zoneName: "privatelink.firefly.internal", recordName: "acme", zoneId: "Z0123456789ABCDEFGHIJ" } }));
        });
        assert.equal(ofType(run, types.route53Zone).length, 0);
        assert.equal(single(run, types.route53Record).inputs.zoneId, "Z0123456789ABCDEFGHIJ");
    });

    it("logs the endpoint's subnets' flows to a retained log group through a confined role", async () => {
        const run = await deploy(() => {
            new PrivateLinkEndpoint("acme", baseArgs({ flowLogs: { retentionInDays: 90 } }));
        });
        const flowLogs = ofType(run, types.flowLog);
        assert.deepEqual(flowLogs.map((f) => f.inputs.subnetId).sort(), subnets);
        const logGroup = single(run, types.logGroup);
        assert.equal(logGroup.inputs.retentionInDays, 90);
        const role = single(run, types.iamRole);
        for (const f of flowLogs) {
            assert.equal(f.inputs.logDestination, logGroup.outputs.arn);
            assert.equal(f.inputs.logDestinationType, "cloud-watch-logs");
            assert.equal(f.inputs.iamRoleArn, role.outputs.arn);
            assert.equal(f.inputs.trafficType, "ALL");
        }
        const trust = JSON.parse(String(role.inputs.assumeRolePolicy));
        assert.deepEqual(trust.Statement[0].Principal.Service, ["vpc-flow-logs.amazonaws.com"]);
        assert.equal(trust.Statement[0].Condition.StringEquals["aws:SourceAccount"], customerAccount);
        assert.equal(trust.Statement[0].Condition.ArnLike["aws:SourceArn"], `arn:aws:ec2:us-east-1:${customerAccount}:vpc-flow-log/*`);
        const policy = JSON.parse(String(single(run, types.iamRolePolicy).inputs.policy));
        assert.deepEqual(policy.Statement[0].Resource, [logGroup.outputs.arn, `${logGroup.outputs.arn}:*`]);
    });

    it("enables the service's private DNS only when asked", async () => {
        const without = await deploy(() => {
            new PrivateLinkEndpoint("acme", baseArgs());
        });
        assert.equal(ofType(without, types.endpointPrivateDns).length, 0);
        const withDns = await deploy(() => {
            new PrivateLinkEndpoint("acme", baseArgs({ privateDns: true }));
        });
        const dns = single(withDns, types.endpointPrivateDns);
        assert.equal(dns.inputs.privateDnsEnabled, true);
        assert.equal(dns.inputs.vpcEndpointId, single(withDns, types.vpcEndpoint).id);
    });

    describe("argument validation", () => {
        itRefuses<PrivateLinkEndpointArgs>(`${types.privateLinkEndpoint} "acme"`, (overrides) => new PrivateLinkEndpoint("acme", baseArgs(overrides)), [
            ["a malformed service name", { serviceName: "vpce-svc-123" }, /serviceName must be an endpoint service name like com\.amazonaws\.vpce/],
            ["no subnets", { subnetIds: [] }, /subnetIds must list at least one entry/],
            ["a malformed subnet", { subnetIds: ["sn-1"] }, /subnetIds\[0\] must be a subnet ID/],
            ["no ports", { ports: [] }, /ports must list at least one entry/],
            ["a port outside 1-65535", { ports: [443, 65536] }, /ports\[1\] must be an integer port between 1 and 65535 \(got 65536\)/],
            ["a duplicate port", { ports: [443, 443] }, /ports\[1\] repeats port 443/],
            ["no source security groups", { sourceSecurityGroupIds: [] }, /sourceSecurityGroupIds must list at least one entry.*ingress is allowed from nowhere else/],
            ["a CIDR as source", { sourceSecurityGroupIds: ["0.0.0.0/0"] }, /sourceSecurityGroupIds\[0\] must be a security group ID/],
            ["a bad zone name", { dns: { zoneName: "Firefly Internal", recordName: "acme" } }, /dns\.zoneName must be a lower-case DNS name/],
            ["a dotted record name", { dns: { zoneName: "privatelink.firefly.internal", recordName: "a.b" } }, /dns\.recordName must be one lower-case DNS label/],
            ["a bad zone ID", { dns: { zoneName: "privatelink.firefly.internal", recordName: "acme", zoneId: "zone-1" } }, /dns\.zoneId must be a Route 53 hosted zone ID/],
            ["a bad service region", { serviceRegion: "mars-1" }, /serviceRegion must be an AWS region/],
            ["a region AWS does not have", { serviceRegion: "us-east-9" }, /serviceRegion must be an AWS region like eu-west-1 \(got "us-east-9"\); AWS has af-south-1, .*us-west-2/],
            ["a retention CloudWatch does not offer", { flowLogs: { retentionInDays: 42 } }, /flowLogs\.retentionInDays must be a retention CloudWatch Logs accepts: 1, 3, .* \(got 42\)/],
            ["an unknown traffic type", { flowLogs: { trafficType: "SOME" as "ALL" } }, /flowLogs\.trafficType must be one of "ALL", "ACCEPT", "REJECT"/],
        ]);

        it("checks a service name that arrives as an Output (a StackReference) when it resolves", async () => {
            const pulumi = await import("@pulumi/pulumi");
            await assert.rejects(
                deploy(() => {
                    new PrivateLinkEndpoint("acme", baseArgs({ serviceName: pulumi.output("not-a-service") }));
                }),
                /serviceName must be an endpoint service name.*\(got "not-a-service"\)/,
            );
        });
    });
});

describe("EndpointFlowLogs", () => {
    it("defaults to a year of retention, all traffic, one-minute aggregation and a rich log format", async () => {
        const run = await deploy(() => {
            new EndpointFlowLogs("x", { subnetIds: ["subnet-0a1b2c3d4e5f60718"] });
        });
        assert.equal(single(run, types.logGroup).inputs.retentionInDays, 365);
        const flowLog = single(run, types.flowLog);
        assert.equal(flowLog.inputs.trafficType, "ALL");
        assert.equal(flowLog.inputs.maxAggregationInterval, 60);
        assert.match(String(flowLog.inputs.logFormat), /\$\{pkt-srcaddr\}.*\$\{flow-direction\}/);
    });

    it("refuses an aggregation interval flow logs do not support", () => {
        assert.throws(
            () => new EndpointFlowLogs("x", { subnetIds: ["subnet-0a1b2c3d4e5f60718"], maxAggregationIntervalSeconds: 30 as 60 }),
            /private-connectivity:index:EndpointFlowLogs "x": maxAggregationIntervalSeconds must be 60 or 600/,
        );
    });
});

describe("IDs that arrive as Outputs", () => {
    // A value known only at deploy time is checked when it resolves; no resource may receive it
    // unchecked in the meantime (the checked input, not the argument, is what the component uses).
    it("reach no resource before the check refuses them", async () => {
        const seen: unknown[] = [];
        const original = FakeAws.prototype.newResource;
        FakeAws.prototype.newResource = function (this: FakeAws, args) {
            seen.push(args.inputs.vpcId, args.inputs.subnetId, ...(Array.isArray(args.inputs.subnetIds) ? args.inputs.subnetIds : []));
            return original.call(this, args);
        };
        try {
            await assert.rejects(
                deploy(() => {
                    new PrivateLinkEndpoint("acme", baseArgs({ vpcId: pulumi.output("not-a-vpc"), subnetIds: [pulumi.output("not-a-subnet")] }));
                }),
                /PrivateLinkEndpoint "acme": (vpcId must be a VPC ID|subnetIds\[0\] must be a subnet ID)/,
            );
        } finally {
            FakeAws.prototype.newResource = original;
        }
        assert.ok(!seen.includes("not-a-vpc") && !seen.includes("not-a-subnet"), `a resource got an unchecked ID: ${JSON.stringify(seen.filter((v) => v !== undefined))}`);
    });
});
