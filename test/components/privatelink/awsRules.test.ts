// The rules AWS enforces on the PrivateLink path, as the offline cloud enforces them: each spec shows
// the offline cloud refusing what the components used to do, with AWS's own message, and the
// components passing.
import * as assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ConnectivityCheck } from "../../../components/privatelink/connectivityCheck";
import { PrivateLinkEndpoint } from "../../../components/privatelink/privateLinkEndpoint";
import { PrivateLinkService } from "../../../components/privatelink/privateLinkService";
import { deploy } from "../../helpers/pulumi";
import { endpointArgs, serviceArgs, subnetIds, vpcId } from "../../helpers/privateLink";
import { named, ofType, single, types } from "../../helpers/resources";

/** The run fails with an offline AWS rule's refusal that carries `awsMessage` and names `rule`. */
async function refused(program: () => void, rule: string, awsMessage: RegExp, options: Parameters<typeof deploy>[1] = {}): Promise<void> {
    await assert.rejects(deploy(program, options), (err: Error) => {
        assert.match(err.message, awsMessage);
        assert.match(err.message, new RegExp(`offline AWS rule ${rule} refused .+; fix: `));
        return true;
    });
}

describe("offline AWS rules on the PrivateLink path", () => {
    describe("an NLB's security groups are set only when it is created", () => {
        const nlb = (securityGroups?: string[]) => () => {
            new aws.lb.LoadBalancer("acme-nlb", { loadBalancerType: "network", internal: true, subnets: subnetIds, securityGroups });
        };
        const deployedWithout = { "aws:lb/loadBalancer:LoadBalancer::acme-nlb": { loadBalancerType: "network", internal: true, subnets: subnetIds } };

        it("refuses security groups on an NLB that was created without any, with AWS's message", async () => {
            await refused(
                nlb(["sg-0a1b2c3d4e5f60718"]),
                "nlb-security-groups-at-creation",
                /^.*InvalidConfigurationRequest: You cannot set security groups on a Network Load Balancer which was created without any security groups\./,
                { deployed: deployedWithout },
            );
            await deploy(nlb(["sg-0a1b2c3d4e5f60718"]));
        });

        it("PrivateLinkService creates its NLB with its own security group, which judges PrivateLink traffic too and admits only the given client blocks", async () => {
            const run = await deploy(() => {
                new PrivateLinkService("acme", serviceArgs({ privateLinkClientCidrs: ["10.30.0.0/16"] }));
            });
            const lb = single(run, types.loadBalancer);
            const sg = named(run, "acme-nlb-sg", types.securityGroup);
            assert.deepEqual(lb.inputs.securityGroups, [sg.id]);
            assert.equal(lb.inputs.enforceSecurityGroupInboundRulesOnPrivateLinkTraffic, "on");
            const rules = ofType(run, types.securityGroupIngressRule).filter((r) => r.inputs.securityGroupId === sg.id);
            assert.deepEqual(
                rules.map((r) => `${r.inputs.cidrIpv4} ${r.inputs.fromPort}`),
                ["10.30.0.0/16 443"],
                "ingress only from the platform's clients, on the listener port",
            );
        });

        it("for instance targets, creates a group to attach to them that admits the NLB, and sends only to it", async () => {
            const run = await deploy(() => {
                const service = new PrivateLinkService("acme", serviceArgs());
                return { targetSecurityGroupId: service.targetSecurityGroupId };
            });
            const nlbSg = named(run, "acme-nlb-sg", types.securityGroup);
            const targetsSg = named(run, "acme-targets-sg", types.securityGroup);
            assert.equal(run.outputs.targetSecurityGroupId, targetsSg.id);
            const admitted = ofType(run, types.securityGroupIngressRule).filter((r) => r.inputs.securityGroupId === targetsSg.id);
            assert.deepEqual(admitted.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort]), [[nlbSg.id, 443]]);
            const egress = ofType(run, types.securityGroupEgressRule).filter((r) => r.inputs.securityGroupId === nlbSg.id);
            assert.deepEqual(egress.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort]), [[targetsSg.id, 443]]);
        });

        it("adds the targets' rule (traffic and health-check ports from the NLB's group) to a given target security group", async () => {
            const targetSg = "sg-0f0f0f0f0f0f0f0f0";
            const run = await deploy(() => {
                const service = new PrivateLinkService(
                    "acme",
                    serviceArgs({ listeners: [{ port: 443, targetPort: 8443, healthCheck: { protocol: "HTTPS", port: 9000, path: "/health" } }], targetSecurityGroupId: targetSg }),
                );
                return { targetIngress: service.targetIngress };
            });
            const sg = named(run, "acme-nlb-sg", types.securityGroup);
            const admitted = ofType(run, types.securityGroupIngressRule).filter((r) => r.inputs.securityGroupId === targetSg);
            assert.deepEqual(admitted.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort]).sort(), [[sg.id, 8443], [sg.id, 9000]]);
            const egress = ofType(run, types.securityGroupEgressRule).filter((r) => r.inputs.securityGroupId === sg.id);
            assert.deepEqual(egress.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort]).sort(), [[targetSg, 8443], [targetSg, 9000]]);
            assert.deepEqual(run.outputs.targetIngress, { sourceSecurityGroupId: sg.id, protocol: "tcp", ports: [8443, 9000] });
        });
    });

    describe("health-check intervals", () => {
        it("refuses an interval outside 5–300 seconds with AWS's message", async () => {
            await refused(
                () => {
                    new aws.lb.TargetGroup("tg", { vpcId, port: 443, protocol: "TCP", healthCheck: { interval: 600 } });
                },
                "health-check-interval-range",
                /ValidationError: 1 validation error detected: Value '600' at 'healthCheckIntervalSeconds' failed to satisfy constraint: Member must have value less than or equal to 300/,
            );
        });

        it("PrivateLinkService accepts every interval from 5 to 300 seconds", async () => {
            const run = await deploy(() => {
                new PrivateLinkService("acme", serviceArgs({ listeners: [{ port: 443, healthCheck: { intervalSeconds: 5 } }, { port: 8443, healthCheck: { intervalSeconds: 300 } }] }));
            });
            assert.deepEqual(ofType(run, types.targetGroup).map((tg) => (tg.inputs.healthCheck as { interval: number }).interval).sort((a, b) => a - b), [5, 300]);
        });
    });

    describe("IP targets outside the VPC", () => {
        const ipTargets = (targets: string[]) => serviceArgs({ targetType: "ip", targets });

        it("refuses an IP outside the VPC's CIDR blocks without Availability Zone \"all\", with AWS's message", async () => {
            await refused(
                () => {
                    const tg = new aws.lb.TargetGroup("tg", { vpcId, port: 443, protocol: "TCP", targetType: "ip" });
                    new aws.lb.TargetGroupAttachment("target", { targetGroupArn: tg.arn, targetId: "192.168.7.10", port: 443 });
                },
                "ip-target-outside-vpc",
                /ValidationError: The Availability Zone is required for IP address '192\.168\.7\.10' because it is not in the VPC/,
            );
        });

        it("PrivateLinkService registers targets outside the VPC (here 10.0.0.0/16) in \"all\", and those inside it in their own zone", async () => {
            const run = await deploy(() => {
                new PrivateLinkService("acme", ipTargets(["10.0.1.10", "192.168.7.10"]));
            });
            const zones = Object.fromEntries(ofType(run, types.targetGroupAttachment).map((a) => [a.inputs.targetId, a.inputs.availabilityZone]));
            assert.deepEqual(zones, { "10.0.1.10": undefined, "192.168.7.10": "all" });
            // Without a target security group, the NLB may send to exactly those addresses.
            const sg = named(run, "acme-nlb-sg", types.securityGroup);
            const egress = ofType(run, types.securityGroupEgressRule).filter((r) => r.inputs.securityGroupId === sg.id);
            assert.deepEqual(egress.map((r) => r.inputs.cidrIpv4).sort(), ["10.0.1.10/32", "192.168.7.10/32"]);
        });

        it("reads the VPC's CIDR blocks from AWS: a target in a VPC's secondary block stays in its zone", async () => {
            const run = await deploy(
                () => {
                    new PrivateLinkService("acme", ipTargets(["100.64.3.3"]));
                },
                { vpcCidrs: { [vpcId]: ["10.0.0.0/16", "100.64.0.0/16"] } },
            );
            assert.equal(single(run, types.targetGroupAttachment).inputs.availabilityZone, undefined);
        });
    });

    describe("an endpoint's private DNS has one owner", () => {
        it("refuses EndpointPrivateDns on an endpoint that also sets privateDnsEnabled, with the provider's warning", async () => {
            await refused(
                () => {
                    const endpoint = new aws.ec2.VpcEndpoint("endpoint", { vpcId, serviceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f60718", vpcEndpointType: "Interface", privateDnsEnabled: false });
                    new aws.vpc.EndpointPrivateDns("private-dns", { vpcEndpointId: endpoint.id, privateDnsEnabled: true });
                },
                "endpoint-private-dns-one-owner",
                /Setting the value both places can lead to unintended behavior and persistent differences/,
            );
        });

        it("PrivateLinkEndpoint leaves privateDnsEnabled to EndpointPrivateDns once private DNS is on, and sets it false before", async () => {
            const on = await deploy(() => {
                new PrivateLinkEndpoint("acme", endpointArgs({ privateDns: true }));
            });
            assert.equal("privateDnsEnabled" in single(on, types.vpcEndpoint).inputs, false);
            assert.equal(single(on, types.endpointPrivateDns).inputs.privateDnsEnabled, true);
            const off = await deploy(() => {
                new PrivateLinkEndpoint("acme", endpointArgs());
            });
            assert.equal(single(off, types.vpcEndpoint).inputs.privateDnsEnabled, false);
        });
    });

    describe("ordering AWS needs", () => {
        it("refuses a VPC Lambda created before its role may create network interfaces, with AWS's message", async () => {
            await refused(
                () => {
                    new aws.lambda.Function("probe", {
                        role: "arn:aws:iam::111111111111:role/probe-role",
                        runtime: "nodejs22.x",
                        handler: "index.handler",
                        code: new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => ({});") }),
                        vpcConfig: { subnetIds, securityGroupIds: ["sg-0a1b2c3d4e5f60718"] },
                    });
                },
                "lambda-after-role-policy",
                /InvalidParameterValueException: The provided execution role does not have permissions to call CreateNetworkInterface on EC2/,
            );
        });

        it("ConnectivityCheck creates its Lambda after the role's policy attachment and invokes it after its security group rules", async () => {
            const run = await deploy(() => {
                new ConnectivityCheck("acme", { hostname: "acme.privatelink.firefly.internal", vpcId, subnetIds, targetSecurityGroupId: "sg-0e1e2d3c4b5a69788" });
            });
            const fn = single(run, types.lambdaFunction);
            assert.ok(fn.dependencies.includes(single(run, types.iamRolePolicyAttachment).urn));
            const invocation = single(run, types.lambdaInvocation);
            assert.ok(invocation.dependencies.includes(single(run, types.securityGroupEgressRule).urn));
            assert.ok(invocation.dependencies.includes(single(run, types.securityGroupIngressRule).urn));
        });

        it("refuses a connection notification to a new topic before its policy lets the service publish", async () => {
            await refused(
                () => {
                    const topic = new aws.sns.Topic("events");
                    new aws.ec2.VpcEndpointConnectionNotification("events", { vpcEndpointServiceId: "vpce-svc-0a1b2c3d4e5f60718", connectionNotificationArn: topic.arn, connectionEvents: ["Accept"] });
                },
                "notification-after-topic-policy",
                /InvalidParameter: vpce\.amazonaws\.com is not authorized to publish/,
            );
        });

        it("PrivateLinkService creates the connection notification after the topic policy", async () => {
            const run = await deploy(() => {
                new PrivateLinkService("acme", serviceArgs());
            });
            assert.ok(single(run, types.vpcEndpointConnectionNotification).dependencies.includes(single(run, types.snsTopicPolicy).urn));
        });
    });

    describe("the connectivity check probes a port the endpoint serves", () => {
        const checkThrough = (port: number, targetPorts?: number[]) => () => {
            const endpoint = new PrivateLinkEndpoint("acme", endpointArgs({ ports: [443] }));
            new ConnectivityCheck("acme-check", { hostname: endpoint.hostname, port, targetPorts, vpcId, subnetIds, targetSecurityGroupId: endpoint.securityGroupId });
        };

        it("fails a probe of a port the endpoint's security group does not open to its clients", async () => {
            await refused(checkThrough(8443), "probe-port-served", /connect ETIMEDOUT: port 8443 of the target behind sg-\w+ is not served \(its security group opens 443 to its clients\)/);
            await deploy(checkThrough(443));
        });

        it("ConnectivityCheck refuses such a port at construction when told the target's ports", () => {
            assert.throws(checkThrough(8443, [443]), /private-connectivity:index:ConnectivityCheck "acme-check": port is 8443, which the target does not serve \(its security group opens 443\); probe one of those ports/);
        });
    });

    describe("every partition", () => {
        it("PrivateLinkEndpoint and PrivateLinkService accept the China and GovCloud partitions' names and ARNs", async () => {
            await deploy(
                () => {
                    new PrivateLinkEndpoint("acme", endpointArgs({ serviceName: "cn.com.amazonaws.vpce.cn-north-1.vpce-svc-0a1b2c3d4e5f60718" }));
                    new PrivateLinkService("svc", serviceArgs({ allowedPrincipals: ["arn:aws-cn:iam::222222222222:role/firefly"] }));
                },
                { region: "cn-north-1" },
            );
            const gov = await deploy(
                () => {
                    new PrivateLinkService("svc", serviceArgs({ notifications: { topicArn: "arn:aws-us-gov:sns:us-gov-west-1:111111111111:events" } }));
                },
                { region: "us-gov-west-1" },
            );
            assert.equal(single(gov, types.vpcEndpointConnectionNotification).inputs.connectionNotificationArn, "arn:aws-us-gov:sns:us-gov-west-1:111111111111:events");
        });
    });
});
