import * as assert from "node:assert/strict";
import { PrivateLinkService, PrivateLinkServiceArgs } from "../../../components/privatelink/privateLinkService";
import { itRefuses } from "../../helpers/argumentErrors";
import { deploy, platformAccount } from "../../helpers/pulumi";
import { named, ofType, single, types } from "../../helpers/resources";

const certificateArn = "arn:aws:acm:us-east-1:111111111111:certificate/0d3f1c2e-4b5a-4c6d-8e7f-9a0b1c2d3e4f";

function baseArgs(overrides: Partial<PrivateLinkServiceArgs> = {}): PrivateLinkServiceArgs {
    return {
        vpcId: "vpc-0a1b2c3d4e5f60718",
        subnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60719"],
        listeners: [{ port: 443 }],
        targets: ["i-0a1b2c3d4e5f60718"],
        allowedPrincipals: [platformAccount],
        ...overrides,
    };
}

describe("PrivateLinkService", () => {
    describe("secure defaults", () => {
        it("puts an internal network load balancer in the given subnets", async () => {
            const run = await deploy(() => {
                new PrivateLinkService("acme", baseArgs());
            });
            const lb = single(run, types.loadBalancer);
            assert.equal(lb.inputs.internal, true);
            assert.equal(lb.inputs.loadBalancerType, "network");
            assert.deepEqual(lb.inputs.subnets, ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60719"]);
            assert.equal(lb.parent?.endsWith(`${types.privateLinkService}::acme`), true);
        });

        it("publishes an endpoint service that requires acceptance and allows only the platform account root", async () => {
            const run = await deploy(() => {
                new PrivateLinkService("acme", baseArgs());
            });
            const service = single(run, types.vpcEndpointService);
            assert.equal(service.inputs.acceptanceRequired, true);
            assert.deepEqual(service.inputs.allowedPrincipals, [`arn:aws:iam::${platformAccount}:root`]);
            const lb = single(run, types.loadBalancer);
            assert.deepEqual(service.inputs.networkLoadBalancerArns, [lb.outputs.arn]);
        });

        it("enforces the NLB's security group on PrivateLink traffic and admits only the consumer VPC's blocks on the listener ports", async () => {
            const run = await deploy(() => {
                new PrivateLinkService("acme", baseArgs({ listeners: [{ port: 443 }, { port: 5432 }], privateLinkClientCidrs: ["10.30.0.0/16"] }));
            });
            const lb = single(run, types.loadBalancer);
            assert.equal(lb.inputs.enforceSecurityGroupInboundRulesOnPrivateLinkTraffic, "on");
            const group = named(run, "acme-nlb-sg", types.securityGroup);
            assert.deepEqual(lb.inputs.securityGroups, [group.id]);
            const ingress = ofType(run, types.securityGroupIngressRule).filter((r) => r.inputs.securityGroupId === group.id);
            assert.deepEqual(ingress.map((r) => `${r.inputs.cidrIpv4} ${r.inputs.ipProtocol} ${r.inputs.fromPort}-${r.inputs.toPort}`).sort(), [
                "10.30.0.0/16 tcp 443-443",
                "10.30.0.0/16 tcp 5432-5432",
            ]);
        });

        it("admits no PrivateLink traffic when no client blocks are given (and keeps enforcement on)", async () => {
            const run = await deploy(() => {
                new PrivateLinkService("acme", baseArgs());
            });
            const group = named(run, "acme-nlb-sg", types.securityGroup);
            assert.equal(single(run, types.loadBalancer).inputs.enforceSecurityGroupInboundRulesOnPrivateLinkTraffic, "on");
            assert.deepEqual(ofType(run, types.securityGroupIngressRule).filter((r) => r.inputs.securityGroupId === group.id), []);
        });

        it("keeps IAM principal ARNs as given", async () => {
            const role = `arn:aws:iam::${platformAccount}:role/firefly-endpoints`;
            const run = await deploy(() => {
                new PrivateLinkService("acme", baseArgs({ allowedPrincipals: [role] }));
            });
            assert.deepEqual(single(run, types.vpcEndpointService).inputs.allowedPrincipals, [role]);
        });

        it("creates one TCP listener, target group and attachment set per port", async () => {
            const run = await deploy(() => {
                new PrivateLinkService(
                    "acme",
                    baseArgs({
                        listeners: [{ port: 443 }, { port: 5432, targetPort: 15432 }],
                        targets: ["i-0a1b2c3d4e5f60718", "i-1a1b2c3d4e5f60718"],
                    }),
                );
            });
            const listeners = ofType(run, types.listener);
            assert.deepEqual(listeners.map((l) => [l.inputs.port, l.inputs.protocol]).sort(), [
                [443, "TCP"],
                [5432, "TCP"],
            ]);
            for (const l of listeners) assert.equal(l.inputs.sslPolicy, undefined);
            const tgs = ofType(run, types.targetGroup);
            assert.deepEqual(tgs.map((t) => t.inputs.port).sort(), [15432, 443]);
            for (const tg of tgs) {
                assert.equal(tg.inputs.targetType, "instance");
                assert.equal(tg.inputs.vpcId, "vpc-0a1b2c3d4e5f60718");
                assert.equal((tg.inputs.healthCheck as Record<string, unknown>).protocol, "TCP");
            }
            const attachments = ofType(run, types.targetGroupAttachment);
            assert.equal(attachments.length, 4);
            const tg5432 = tgs.find((t) => t.inputs.port === 15432)!;
            const to5432 = attachments.filter((a) => a.inputs.targetGroupArn === tg5432.outputs.arn);
            assert.deepEqual(to5432.map((a) => a.inputs.targetId).sort(), ["i-0a1b2c3d4e5f60718", "i-1a1b2c3d4e5f60718"]);
            for (const l of listeners) {
                const action = (l.inputs.defaultActions as Array<Record<string, unknown>>)[0]!;
                const tg = tgs.find((t) => t.outputs.arn === action.targetGroupArn)!;
                assert.ok(tg, "each listener forwards to its own target group");
            }
        });

        it("gives TLS listeners the certificate and a TLS 1.2+ policy, never the provider default", async () => {
            const run = await deploy(() => {
                new PrivateLinkService("acme", baseArgs({ listeners: [{ port: 443, protocol: "TLS", certificateArn }] }));
            });
            const listener = single(run, types.listener);
            assert.equal(listener.inputs.protocol, "TLS");
            assert.equal(listener.inputs.certificateArn, certificateArn);
            assert.equal(listener.inputs.sslPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06");
            assert.equal(single(run, types.targetGroup).inputs.protocol, "TLS", "re-encrypts to the targets by default");
        });

        it("registers IP targets with an ip target group", async () => {
            const run = await deploy(() => {
                new PrivateLinkService("acme", baseArgs({ targetType: "ip", targets: ["10.0.1.10", "10.0.2.10"] }));
            });
            assert.equal(single(run, types.targetGroup).inputs.targetType, "ip");
            assert.deepEqual(ofType(run, types.targetGroupAttachment).map((a) => a.inputs.targetId).sort(), ["10.0.1.10", "10.0.2.10"]);
        });

        it("alarms on unhealthy hosts for every target group and notifies connection events", async () => {
            const run = await deploy(() => {
                new PrivateLinkService("acme", baseArgs({ listeners: [{ port: 443 }, { port: 22 }] }));
            });
            const alarms = ofType(run, types.metricAlarm);
            assert.equal(alarms.length, 2);
            const lb = single(run, types.loadBalancer);
            const topic = single(run, types.snsTopic);
            for (const alarm of alarms) {
                assert.equal(alarm.inputs.metricName, "UnHealthyHostCount");
                assert.equal(alarm.inputs.namespace, "AWS/NetworkELB");
                const dims = alarm.inputs.dimensions as Record<string, string>;
                assert.equal(dims.LoadBalancer, lb.outputs.arnSuffix);
                assert.match(dims.TargetGroup!, /^targetgroup\//);
                assert.deepEqual(alarm.inputs.alarmActions, [topic.outputs.arn]);
            }
            const notification = single(run, types.vpcEndpointConnectionNotification);
            assert.equal(notification.inputs.connectionNotificationArn, topic.outputs.arn);
            assert.deepEqual(notification.inputs.connectionEvents, ["Accept", "Connect", "Delete", "Reject"]);
            const policy = JSON.parse(String(single(run, types.snsTopicPolicy).inputs.policy));
            assert.deepEqual(policy, {
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "EndpointServiceAndAlarmsPublish",
                        Effect: "Allow",
                        Principal: { Service: ["vpce.amazonaws.com", "cloudwatch.amazonaws.com"] },
                        Action: "sns:Publish",
                        Resource: topic.outputs.arn,
                        Condition: { StringEquals: { "aws:SourceAccount": "111111111111" } },
                    },
                ],
            });
        });

        it("uses a given SNS topic instead of creating one, and none with notifications: { enabled: false }", async () => {
            const topicArn = "arn:aws:sns:us-east-1:111111111111:ops";
            const withTopic = await deploy(() => {
                new PrivateLinkService("acme", baseArgs({ notifications: { topicArn, events: ["Connect"] } }));
            });
            assert.equal(ofType(withTopic, types.snsTopic).length, 0);
            assert.equal(single(withTopic, types.vpcEndpointConnectionNotification).inputs.connectionNotificationArn, topicArn);
            const without = await deploy(() => {
                new PrivateLinkService("acme", baseArgs({ notifications: { enabled: false } }));
            });
            assert.equal(ofType(without, types.vpcEndpointConnectionNotification).length, 0);
            assert.deepEqual(single(without, types.metricAlarm).inputs.alarmActions ?? [], []);
        });
    });

    describe("accepting endpoint connections", () => {
        it("accepts exactly the endpoint IDs given, read through a Promise (as from a StackReference)", async () => {
            const ids = ["vpce-0a1b2c3d4e5f60718", "vpce-1a1b2c3d4e5f60718"];
            const run = await deploy(() => {
                const svc = new PrivateLinkService("acme", baseArgs({ acceptEndpointIds: Promise.resolve(ids) }));
                return { accepted: svc.acceptedEndpointIds, serviceId: svc.serviceId };
            });
            const accepters = ofType(run, types.vpcEndpointConnectionAccepter);
            assert.deepEqual(accepters.map((a) => a.inputs.vpcEndpointId).sort(), ids);
            for (const a of accepters) assert.equal(a.inputs.vpcEndpointServiceId, run.outputs.serviceId);
            assert.deepEqual(run.outputs.accepted, ids);
            assert.deepEqual(accepters.map((a) => a.name).sort(), ids.map((id) => `acme-accept-${id}`));
        });

        it("accepts nothing when no endpoint IDs are given", async () => {
            const run = await deploy(() => {
                new PrivateLinkService("acme", baseArgs());
            });
            assert.equal(ofType(run, types.vpcEndpointConnectionAccepter).length, 0);
        });
    });

    describe("private DNS name", () => {
        it("outputs the TXT verification record and verifies only when asked", async () => {
            const run = await deploy(() => {
                const svc = new PrivateLinkService("acme", baseArgs({ privateDnsName: "api.acme.example.com" }));
                return { record: svc.privateDnsVerification };
            });
            assert.equal(single(run, types.vpcEndpointService).inputs.privateDnsName, "api.acme.example.com");
            const record = run.outputs.record as Record<string, string>;
            assert.equal(record.type, "TXT");
            assert.match(record.value, /^vpce:/);
            assert.equal(ofType(run, types.endpointServicePrivateDnsVerification).length, 0);

            const verified = await deploy(() => {
                new PrivateLinkService("acme", baseArgs({ privateDnsName: "api.acme.example.com", verifyPrivateDns: true }));
            });
            const verification = single(verified, types.endpointServicePrivateDnsVerification);
            assert.equal(verification.inputs.serviceId, single(verified, types.vpcEndpointService).id);
        });

        it("offers the service to other regions when supportedRegions is set", async () => {
            const run = await deploy(() => {
                new PrivateLinkService("acme", baseArgs({ supportedRegions: ["eu-west-1"] }));
            });
            assert.deepEqual(single(run, types.vpcEndpointService).inputs.supportedRegions, ["eu-west-1"]);
        });
    });

    describe("argument validation", () => {
        itRefuses<PrivateLinkServiceArgs>(`${types.privateLinkService} "acme"`, (overrides) => new PrivateLinkService("acme", baseArgs(overrides)), [
            ["a malformed VPC ID", { vpcId: "vpc-XYZ" }, /vpcId must be a VPC ID/],
            ["no subnets", { subnetIds: [] }, /subnetIds must list at least one entry/],
            ["a malformed subnet", { subnetIds: ["subnet-1", "subnet-0a1b2c3d4e5f60718"] }, /subnetIds\[0\] must be a subnet ID/],
            ["a repeated subnet", { subnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60718"] }, /subnetIds\[1\] repeats/],
            ["no listeners", { listeners: [] }, /listeners must list at least one entry/],
            ["a port above 65535", { listeners: [{ port: 70000 }] }, /listeners\[0\]\.port must be an integer port between 1 and 65535 \(got 70000\)/],
            ["port 0", { listeners: [{ port: 0 }] }, /listeners\[0\]\.port must be an integer port/],
            ["a fractional target port", { listeners: [{ port: 443, targetPort: 44.3 }] }, /listeners\[0\]\.targetPort must be an integer port/],
            ["a duplicate port", { listeners: [{ port: 443 }, { port: 443 }] }, /listeners\[1\] repeats port 443/],
            ["an unknown protocol", { listeners: [{ port: 80, protocol: "HTTP" as "TCP" }] }, /listeners\[0\]\.protocol must be one of "TCP", "TLS"/],
            ["a TLS listener without certificate", { listeners: [{ port: 443, protocol: "TLS" }] }, /listeners\[0\]\.certificateArn is required for a TLS listener/],
            ["a TLS 1.0 policy", { listeners: [{ port: 443, protocol: "TLS", certificateArn, sslPolicy: "ELBSecurityPolicy-2016-08" }] }, /listeners\[0\]\.sslPolicy must allow only TLS 1.2 or newer/],
            ["a TLS13 policy that still allows TLS 1.0", { listeners: [{ port: 443, protocol: "TLS", certificateArn, sslPolicy: "ELBSecurityPolicy-TLS13-1-0-2021-06" }] }, /sslPolicy must allow only TLS 1.2/],
            ["a certificate on a TCP listener", { listeners: [{ port: 443, certificateArn }] }, /listeners\[0\]\.certificateArn is only used by TLS listeners/],
            ["TLS to targets behind a TCP listener", { listeners: [{ port: 443, targetProtocol: "TLS" }] }, /listeners\[0\]\.targetProtocol can be "TLS" only behind a TLS listener/],
            ["a malformed certificate ARN", { listeners: [{ port: 443, protocol: "TLS", certificateArn: "cert-123" }] }, /listeners\[0\]\.certificateArn must be an ACM certificate ARN/],
            ["a client block that is not a CIDR", { privateLinkClientCidrs: ["10.30.0.0"] }, /privateLinkClientCidrs\[0\] must be an IPv4 CIDR block/],
            ["the whole internet as client block", { privateLinkClientCidrs: ["0.0.0.0/0"] }, /privateLinkClientCidrs\[0\] must not be 0\.0\.0\.0\/0/],
            ["a repeated client block", { privateLinkClientCidrs: ["10.30.0.0/16", "10.30.0.0/16"] }, /privateLinkClientCidrs\[1\] repeats/],
            ["a health check interval below what NLBs accept", { listeners: [{ port: 443, healthCheck: { intervalSeconds: 4 } }] }, /healthCheck\.intervalSeconds must be an integer between 5 and 300 \(got 4\)/],
            ["a health check interval above what NLBs accept", { listeners: [{ port: 443, healthCheck: { intervalSeconds: 301 } }] }, /healthCheck\.intervalSeconds must be an integer between 5 and 300 \(got 301\)/],
            ["a path on a TCP health check", { listeners: [{ port: 443, healthCheck: { path: "/health" } }] }, /healthCheck\.path is only used by HTTP\/HTTPS/],
            ["a threshold out of range", { listeners: [{ port: 443, healthCheck: { healthyThreshold: 1 } }] }, /healthyThreshold must be an integer between 2 and 10/],
            ["no targets", { targets: [] }, /targets must list at least one entry/],
            ["an IP target with targetType instance", { targets: ["10.0.0.1"] }, /targets\[0\] must be an instance ID/],
            ["a public IP target", { targetType: "ip", targets: ["8.8.8.8"] }, /targets\[0\] must be a private IPv4 address/],
            ["no allowed principals", { allowedPrincipals: [] }, /allowedPrincipals must list at least one entry/],
            ["a * principal", { allowedPrincipals: ["*"] }, /allowedPrincipals\[0\] must not contain "\*"/],
            ["a wildcard ARN principal", { allowedPrincipals: ["arn:aws:iam::*:root"] }, /allowedPrincipals\[0\] must not contain "\*"/],
            ["a bad account ID", { allowedPrincipals: ["12345"] }, /allowedPrincipals\[0\] must be a 12-digit AWS account ID/],
            ["verification without a name", { verifyPrivateDns: true }, /verifyPrivateDns needs privateDnsName/],
            ["an invalid private DNS name", { privateDnsName: "Not A Name" }, /privateDnsName must be a lower-case DNS name/],
            ["an invalid supported region", { supportedRegions: ["europe"] }, /supportedRegions\[0\] must be an AWS region/],
            ["a region AWS does not have", { supportedRegions: ["eu-west-1", "us-east-9"] }, /supportedRegions\[1\] must be an AWS region like eu-west-1 \(got "us-east-9"\); AWS has af-south-1, .*us-west-2/],
            ["an unknown notification event", { notifications: { events: ["Exploded" as "Accept"] } }, /notifications\.events\[0\] must be one of/],
            ["a topic with notifications disabled", { notifications: { enabled: false, topicArn: "arn:aws:sns:us-east-1:111111111111:ops" } }, /notifications\.enabled is false, so topicArn and events would be ignored/],
            ["a malformed endpoint ID to accept", { acceptEndpointIds: ["vpce-0a1b2c3d4e5f60718", "endpoint-2"] }, /acceptEndpointIds\[1\] must be a VPC endpoint ID like vpce-/],
        ]);

        it("refuses malformed endpoint IDs to accept, naming the entry", async () => {
            await assert.rejects(
                deploy(() => {
                    new PrivateLinkService("acme", baseArgs({ acceptEndpointIds: Promise.resolve(["vpce-0a1b2c3d4e5f60718", "endpoint-2"]) }));
                }),
                /acceptEndpointIds\[1\] must be a VPC endpoint ID like vpce-/,
            );
        });

        it("refuses 0.1's notifications: false at construction and names the new form", () => {
            assert.throws(
                () => new PrivateLinkService("acme", baseArgs({ notifications: false as unknown as { enabled: false } })),
                /PrivateLinkService "acme": notifications no longer takes false; write notifications: \{ enabled: false \}/,
            );
        });

        it("checks principals that arrive as Outputs when they resolve", async () => {
            const pulumi = await import("@pulumi/pulumi");
            await assert.rejects(
                deploy(() => {
                    new PrivateLinkService("acme", baseArgs({ allowedPrincipals: [pulumi.output("*")] }));
                }),
                /allowedPrincipals\[0\] must not contain "\*"/,
            );
        });
    });
});
