import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import {
    endpointServiceLoadBalancersInternal,
    loadBalancerInternal,
    nlbPrivateLinkInboundRulesEnforced,
    publicLoadBalancerListenerPorts,
    publicLoadBalancerTargetPorts,
} from "../../policies/loadBalancers";
import { evaluatePolicies } from "../../policies/offline";
import { allPolicies } from "../../policies/rules";
import {
    PropsOf,
    UNKNOWN,
    assertCannotRunDuringPreview,
    assertNoViolations,
    assertNotApplicable,
    assertViolation,
    plan,
    violationsOf,
} from "./helpers";

const internalNlb = {
    loadBalancerType: "network",
    internal: true,
    subnets: ["subnet-a", "subnet-b"],
} satisfies PropsOf<typeof aws.lb.LoadBalancer>;

const allowRelay = { "load-balancer-internal": { allowedPublicLoadBalancers: ["relay-nlb"] } };

describe("load-balancer-internal", () => {
    const policy = loadBalancerInternal;

    it("passes an internal NLB", async () => {
        await assertNoViolations(policy, plan(aws.lb.LoadBalancer, "svc-nlb", internalNlb));
    });

    it("refuses an internet-facing NLB", async () => {
        await assertViolation(
            policy,
            plan(aws.lb.LoadBalancer, "svc-nlb", { ...internalNlb, internal: false }),
            "Load balancer 'svc-nlb' is internet-facing; set internal: true",
        );
    });

    it("refuses a load balancer that leaves internal unset (AWS makes it internet-facing)", async () => {
        const { internal: _, ...props } = internalNlb;
        await assertViolation(policy, plan(aws.lb.LoadBalancer, "svc-nlb", props), "is internet-facing");
    });

    it("refuses an internet-facing ALB declared through the aws.alb alias", async () => {
        await assertViolation(
            policy,
            plan(aws.alb.LoadBalancer, "api-alb", { loadBalancerType: "application", internal: false }),
            "Load balancer 'api-alb' is internet-facing",
        );
    });

    it("refuses an internet-facing classic load balancer", async () => {
        await assertViolation(
            policy,
            plan(aws.elb.LoadBalancer, "legacy", { listeners: [], internal: false }),
            "Classic load balancer 'legacy' is internet-facing",
        );
    });

    it("does not judge Gateway Load Balancers, which have no scheme", async () => {
        await assertNoViolations(policy, plan(aws.lb.LoadBalancer, "gwlb", { loadBalancerType: "gateway" }));
    });

    it("refuses the relay's public NLB by default", async () => {
        await assertViolation(policy, plan(aws.lb.LoadBalancer, "relay-nlb", { ...internalNlb, internal: false }), "list 'relay-nlb' under allowedPublicLoadBalancers");
    });

    it("passes a public NLB whose name is listed in allowedPublicLoadBalancers", async () => {
        await assertNoViolations(policy, plan(aws.lb.LoadBalancer, "relay-nlb", { ...internalNlb, internal: false }), { config: allowRelay });
    });

    it("still refuses public load balancers that are not listed", async () => {
        await assertViolation(policy, plan(aws.lb.LoadBalancer, "other-nlb", { ...internalNlb, internal: false }), "'other-nlb'", { config: allowRelay });
    });

    it("cannot decide during preview when internal is unknown", async () => {
        await assertCannotRunDuringPreview(policy, plan(aws.lb.LoadBalancer, "svc-nlb", { ...internalNlb, internal: UNKNOWN }), ".internal");
    });
});

describe("endpoint-service-nlb-internal", () => {
    const policy = endpointServiceLoadBalancersInternal;
    const nlbArn = "arn:aws:elasticloadbalancing:eu-west-1:444455556666:loadbalancer/net/svc/0123456789abcdef";

    const nlb = (name: string, internal: unknown, arn: unknown = nlbArn) =>
        plan(aws.lb.LoadBalancer, name, { ...internalNlb, internal }, { outputs: { ...internalNlb, internal, arn, id: arn } });

    const service = (arns: unknown[], propertyDependencies: Record<string, string[]> = {}) =>
        plan(aws.ec2.VpcEndpointService, "svc", { acceptanceRequired: true, networkLoadBalancerArns: arns }, { propertyDependencies });

    it("passes a service whose NLB (matched by ARN) is internal", async () => {
        await assertNoViolations(policy, [nlb("svc-nlb", true), service([nlbArn])]);
    });

    it("refuses a service whose NLB (matched by ARN) is internet-facing, even when that NLB is exempt from load-balancer-internal", async () => {
        const violation = await assertViolation(
            policy,
            [nlb("svc-nlb", false), service([nlbArn])],
            "Load balancer 'svc-nlb' behind endpoint service 'svc' is internet-facing",
            { config: { "load-balancer-internal": { allowedPublicLoadBalancers: ["svc-nlb"] } } },
        );
        assert.equal(violation.resourceName, "svc-nlb");
    });

    it("during preview, finds the NLB through propertyDependencies when its ARN is unknown", async () => {
        const publicNlb = nlb("svc-nlb", false, UNKNOWN);
        await assertViolation(policy, [publicNlb, service([UNKNOWN], { networkLoadBalancerArns: [publicNlb.urn] })], "'svc-nlb'");
    });

    it("during preview, passes an internal NLB found through propertyDependencies", async () => {
        const privateNlb = nlb("svc-nlb", true, UNKNOWN);
        await assertNoViolations(policy, [privateNlb, service([UNKNOWN], { networkLoadBalancerArns: [privateNlb.urn] })]);
    });

    it("judges only the NLBs the service references", async () => {
        const otherArn = nlbArn.replace("0123456789abcdef", "fedcba9876543210");
        const violations = await violationsOf(policy, [nlb("svc-nlb", true), nlb("relay-nlb", false, otherArn), service([nlbArn])]);
        assert.deepEqual(violations, []);
    });

    it("does not judge NLB ARNs that belong to no resource in this stack", async () => {
        await assertNoViolations(policy, [service(["arn:aws:elasticloadbalancing:eu-west-1:444455556666:loadbalancer/net/elsewhere/1"])]);
    });

    it("cannot decide during preview when an ARN is unknown and no dependency explains it", async () => {
        await assertCannotRunDuringPreview(policy, [nlb("svc-nlb", true), service([UNKNOWN])], ".networkLoadBalancerArns.0");
    });

    it("cannot decide during preview when a referenced NLB's internal flag is unknown", async () => {
        await assertCannotRunDuringPreview(policy, [nlb("svc-nlb", UNKNOWN), service([nlbArn])], ".internal");
        const newNlb = nlb("svc-nlb", UNKNOWN, UNKNOWN);
        await assertCannotRunDuringPreview(policy, [newNlb, service([UNKNOWN], { networkLoadBalancerArns: [newNlb.urn] })], ".internal");
    });

    it("is not applicable to a stack without endpoint services", async () => {
        await assertNotApplicable(policy, [nlb("relay-nlb", false)]);
    });
});

describe("nlb-privatelink-inbound-rules-enforced", () => {
    const policy = nlbPrivateLinkInboundRulesEnforced;
    const nlb = (props: Record<string, unknown>) => plan(aws.lb.LoadBalancer, "svc-nlb", props);
    const withGroup = { ...internalNlb, securityGroups: ["sg-nlb"] };

    it("passes an NLB that leaves the setting unset (on) or sets it on", async () => {
        await assertNoViolations(policy, [nlb(withGroup), plan(aws.lb.LoadBalancer, "on", { ...withGroup, enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: "on" })]);
    });

    it("refuses an NLB that turns it off", async () => {
        await assertViolation(
            policy,
            nlb({ ...withGroup, enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: "off" }),
            "Load balancer 'svc-nlb' has enforceSecurityGroupInboundRulesOnPrivateLinkTraffic \"off\", so PrivateLink traffic bypasses its security group",
        );
    });

    it("refuses it on the aws.alb alias too", async () => {
        await assertViolation(policy, plan(aws.alb.LoadBalancer, "alias", { ...withGroup, enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: "OFF" }), "bypasses its security group");
    });

    it("cannot decide during preview when the setting is unknown", async () => {
        await assertCannotRunDuringPreview(policy, nlb({ ...withGroup, enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: UNKNOWN }), ".enforceSecurityGroupInboundRulesOnPrivateLinkTraffic");
    });
});

describe("public-load-balancer-listener-ports", () => {
    const policy = publicLoadBalancerListenerPorts;
    const relayArn = "arn:aws:elasticloadbalancing:eu-west-1:222222222222:loadbalancer/net/relay/0123456789abcdef";
    const platformArn = "arn:aws:elasticloadbalancing:eu-west-1:222222222222:loadbalancer/net/relay-platform/fedcba9876543210";
    const forward = [{ type: "forward", targetGroupArn: "arn:aws:elasticloadbalancing:eu-west-1:222222222222:targetgroup/relay/1" }];
    /** The firefly stack's own policy config: relay-nlb excepted, 40001 a TLS pass-through port. */
    const fireflyConfig = JSON.parse(
        fs.readFileSync(path.join(__dirname, "..", "..", "stacks", "policy-config.firefly-dev.json"), "utf8"),
    ) as Record<string, unknown>;

    /** A load balancer of the stack; `arn` unknown as during a preview of a new one. */
    const lb = (name: string, internal: unknown, arn: unknown, extra: Record<string, unknown> = {}) => {
        const props = { loadBalancerType: "network", internal, subnets: ["subnet-a", "subnet-b"], ...extra };
        return plan(aws.lb.LoadBalancer, name, props, { outputs: { ...props, arn, id: arn } });
    };
    const relayNlb = lb("relay-nlb", false, relayArn);
    const platformNlb = lb("relay-platform-nlb", true, platformArn);
    const listener = (name: string, port: unknown, loadBalancerArn: unknown, propertyDependencies: Record<string, string[]> = {}) =>
        plan(aws.lb.Listener, name, { loadBalancerArn, port, protocol: "TCP", defaultActions: forward }, { propertyDependencies });

    it("refuses the reviewer's combination: a tunnel port on the excepted public relay NLB, client IPs hidden, the relay's group open to the VPC", async () => {
        const targets = plan(aws.lb.TargetGroup, "relay-tunnel-40001", {
            port: 40001,
            protocol: "TCP",
            vpcId: "vpc-platform",
            targetType: "instance",
            preserveClientIp: "false",
        });
        const relayGroup = plan(aws.ec2.SecurityGroup, "relay-sg", { vpcId: "vpc-platform", description: "SSH relay" }, {
            outputs: { vpcId: "vpc-platform", description: "SSH relay", id: "sg-relay" },
        });
        const fromVpc = plan(aws.vpc.SecurityGroupIngressRule, "relay-40001-from-vpc", {
            securityGroupId: "sg-relay",
            ipProtocol: "tcp",
            fromPort: 40001,
            toPort: 40001,
            cidrIpv4: "10.20.0.0/16",
        });
        const publicTunnel = plan(aws.lb.Listener, "relay-public-40001", {
            loadBalancerArn: relayArn,
            port: 40001,
            protocol: "TCP",
            defaultActions: [{ type: "forward", targetGroupArn: "arn:aws:elasticloadbalancing:eu-west-1:222222222222:targetgroup/relay-tunnel-40001/1" }],
        });
        const stack = [relayNlb, targets, relayGroup, fromVpc, publicTunnel];

        // Without this rule the whole pack lets it through under the firefly stack's config: that was the hole.
        const others = await evaluatePolicies(stack, { config: fireflyConfig, policies: allPolicies.filter((p) => p.name !== policy.name) });
        assert.deepEqual(others.filter((v) => v.enforcementLevel === "mandatory"), []);

        const violations = await evaluatePolicies(stack, { config: fireflyConfig });
        assert.deepEqual(
            violations.map((v) => `${v.policyName} ${v.enforcementLevel} ${v.resourceName}`),
            [`${policy.name} mandatory relay-public-40001`],
        );
        const [violation] = violations;
        assert.equal(violation!.unknownDuringPreview, false);
        assert.match(violation!.message, /^Listener 'relay-public-40001' on port 40001 of internet-facing load balancer 'relay-nlb' puts that port on the internet; /);
        assert.ok(violation!.message.includes("serve port 40001 from an internal load balancer"), violation!.message);
        assert.ok(violation!.message.includes("add 40001 to publicListenerPorts (22, 443)"), violation!.message);
        assert.ok(violation!.message.includes(`{ "port": 40001, "loadBalancers": ["relay-nlb"] } to allowedPublicListeners`), violation!.message);
    });

    it("passes the relay's SSH listener on 22 and an HTTPS one on 443 of the public NLB, with or without the firefly config", async () => {
        const stack = [relayNlb, listener("relay-ssh", 22, relayArn), listener("relay-https", 443, relayArn)];
        await assertNoViolations(policy, stack);
        await assertNoViolations(policy, stack, { config: fireflyConfig });
    });

    it("passes listeners of internal load balancers on any port", async () => {
        await assertNoViolations(policy, [
            platformNlb,
            listener("relay-platform-40001", 40001, platformArn),
            listener("relay-platform-5432", 5432, platformArn),
            listener("relay-platform-80", 80, platformArn),
        ]);
    });

    it("judges only the listeners of the public load balancer when both kinds share the stack", async () => {
        const violations = await violationsOf(policy, [
            relayNlb,
            platformNlb,
            listener("relay-ssh", 22, relayArn),
            listener("relay-platform-40001", 40001, platformArn),
            listener("relay-public-40002", 40002, relayArn),
        ]);
        assert.deepEqual(violations.map((v) => v.resourceName), ["relay-public-40002"]);
    });

    it("refuses a listener on a load balancer that leaves internal unset (AWS makes it internet-facing)", async () => {
        const props = { loadBalancerType: "application", subnets: ["subnet-a"] };
        const alb = plan(aws.lb.LoadBalancer, "web-alb", props, { outputs: { ...props, arn: relayArn, id: relayArn } });
        await assertViolation(policy, [alb, listener("web-8080", 8080, relayArn)], "Listener 'web-8080' on port 8080 of internet-facing load balancer 'web-alb'");
    });

    it("refuses through the aws.alb aliases too", async () => {
        const props = { loadBalancerType: "application", internal: false, subnets: ["subnet-a"] };
        const alb = plan(aws.alb.LoadBalancer, "web-alb", props, { outputs: { ...props, arn: relayArn, id: relayArn } });
        const aliasListener = plan(aws.alb.Listener, "web-8443", { loadBalancerArn: relayArn, port: 8443, protocol: "HTTPS", defaultActions: forward });
        await assertViolation(policy, [alb, aliasListener], "Listener 'web-8443' on port 8443 of internet-facing load balancer 'web-alb'");
    });

    it("skips Gateway Load Balancers and their port-less listeners (no scheme)", async () => {
        const gwlb = lb("gwlb", undefined, relayArn, { loadBalancerType: "gateway" });
        await assertNoViolations(policy, [gwlb, plan(aws.lb.Listener, "gwlb-listener", { loadBalancerArn: relayArn, defaultActions: forward })]);
    });

    it("refuses a port-less listener of an internet-facing NLB", async () => {
        await assertViolation(policy, [relayNlb, plan(aws.lb.Listener, "no-port", { loadBalancerArn: relayArn, defaultActions: forward })], "Listener 'no-port' without a port");
    });

    it("lets allowedPublicListeners except a port on the named load balancers only", async () => {
        const config = { [policy.name]: { allowedPublicListeners: [{ port: 8443, loadBalancers: ["relay-nlb"] }] } };
        const otherArn = relayArn.replace("relay/", "other/");
        const violations = await violationsOf(
            policy,
            [relayNlb, lb("other-nlb", false, otherArn), listener("relay-8443", 8443, relayArn), listener("other-8443", 8443, otherArn), listener("relay-8444", 8444, relayArn)],
            { config },
        );
        assert.deepEqual(violations.map((v) => v.resourceName), ["other-8443", "relay-8444"]);
    });

    it("takes its public ports from publicListenerPorts, which replaces the default", async () => {
        const config = { [policy.name]: { publicListenerPorts: [22] } };
        await assertViolation(policy, [relayNlb, listener("relay-ssh", 22, relayArn), listener("relay-https", 443, relayArn)], "'relay-https' on port 443", { config });
        await assertNoViolations(policy, [relayNlb, listener("relay-40001", 40001, relayArn)], { config: { [policy.name]: { publicListenerPorts: [22, 443, 40001] } } });
    });

    it("is not loosened by tlsPassthroughPorts or sshPorts, which apply to every load balancer in the stack", async () => {
        const config = { "lb-listener-tcp-encrypted-ports": { tlsPassthroughPorts: [443, 40001], sshPorts: [22, 2222] } };
        const violations = await violationsOf(policy, [relayNlb, listener("relay-40001", 40001, relayArn), listener("relay-2222", 2222, relayArn)], { config });
        assert.deepEqual(violations.map((v) => v.resourceName), ["relay-40001", "relay-2222"]);
    });

    it("refuses invalid config: ports outside 1–65535, an exception naming no load balancer", async () => {
        await assert.rejects(
            violationsOf(policy, [relayNlb], { config: { [policy.name]: { publicListenerPorts: [22, 0] } } }),
            /policy "public-load-balancer-listener-ports", field "publicListenerPorts.1": must be >= 1/,
        );
        await assert.rejects(
            violationsOf(policy, [relayNlb], { config: { [policy.name]: { allowedPublicListeners: [{ port: 8443, loadBalancers: [] }] } } }),
            /policy "public-load-balancer-listener-ports", field "allowedPublicListeners.0.loadBalancers"/,
        );
        await assert.rejects(
            violationsOf(policy, [relayNlb], { config: { [policy.name]: { allowedPublicListeners: [{ port: 8443 }] } } }),
            /policy "public-load-balancer-listener-ports", field "allowedPublicListeners.0"/,
        );
    });

    it("does not judge listeners whose load balancer ARN belongs to no resource in this stack", async () => {
        await assertNoViolations(policy, [listener("elsewhere-40001", 40001, relayArn.replace("relay/", "elsewhere/"))]);
    });

    describe("during a preview", () => {
        it("finds a new public NLB through propertyDependencies when its ARN is unknown, and refuses the tunnel port", async () => {
            const newNlb = lb("relay-nlb", false, UNKNOWN);
            await assertViolation(
                policy,
                [newNlb, listener("relay-public-40001", 40001, UNKNOWN, { loadBalancerArn: [newNlb.urn] })],
                "Listener 'relay-public-40001' on port 40001 of internet-facing load balancer 'relay-nlb'",
                { config: fireflyConfig },
            );
        });

        it("passes a listener whose unknown ARN came from an internal NLB", async () => {
            const newNlb = lb("relay-platform-nlb", true, UNKNOWN);
            await assertNoViolations(policy, [newNlb, listener("relay-platform-40001", 40001, UNKNOWN, { loadBalancerArn: [newNlb.urn] })]);
        });

        it("cannot decide when the load balancer ARN is unknown and no dependency explains it", async () => {
            await assertCannotRunDuringPreview(policy, [relayNlb, listener("relay-public-40001", 40001, UNKNOWN)], ".loadBalancerArn");
        });

        it("does not wait for the load balancer of a listener on a public port", async () => {
            await assertNoViolations(policy, [relayNlb, listener("relay-ssh", 22, UNKNOWN)]);
        });

        it("cannot decide when the load balancer's scheme is unknown", async () => {
            const unknownScheme = lb("relay-nlb", UNKNOWN, relayArn);
            await assertCannotRunDuringPreview(policy, [unknownScheme, listener("relay-public-40001", 40001, relayArn)], ".internal");
        });

        it("cannot decide when the port of a public load balancer's listener is unknown; an internal one's passes", async () => {
            await assertCannotRunDuringPreview(policy, [relayNlb, listener("relay-public", UNKNOWN, relayArn)], ".port");
            await assertNoViolations(policy, [platformNlb, listener("relay-platform", UNKNOWN, platformArn)]);
        });
    });

    describe("classic load balancers", () => {
        const classic = (name: string, internal: unknown, ports: unknown[]) =>
            plan(aws.elb.LoadBalancer, name, {
                internal,
                subnets: ["subnet-a"],
                listeners: ports.map((lbPort) => ({ lbPort, lbProtocol: "tcp", instancePort: 40001, instanceProtocol: "tcp" })),
            });

        it("refuses each inline listener of an internet-facing one outside the public ports, naming it <lb>:<port>", async () => {
            const violation = await assertViolation(
                policy,
                classic("legacy", false, [22, 443, 40001]),
                "Listener 'legacy:40001' on port 40001 of internet-facing classic load balancer 'legacy' puts that port on the internet",
            );
            assert.equal(violation.resourceName, "legacy");
        });

        it("treats an unset scheme as internet-facing, and passes an internal one on any port", async () => {
            await assertViolation(policy, classic("legacy", undefined, [5432]), "'legacy:5432'");
            await assertNoViolations(policy, classic("legacy", true, [40001, 5432]));
        });

        it("honours allowedPublicListeners for the named classic load balancer", async () => {
            await assertNoViolations(policy, classic("legacy", false, [8443]), {
                config: { [policy.name]: { allowedPublicListeners: [{ port: 8443, loadBalancers: ["legacy"] }] } },
            });
        });

        it("cannot decide when the scheme or a port is unknown, unless every port is public", async () => {
            await assertCannotRunDuringPreview(policy, classic("legacy", UNKNOWN, [40001]), ".internal");
            await assertCannotRunDuringPreview(policy, classic("legacy", false, [UNKNOWN]), ".listeners.0.lbPort");
            await assertNoViolations(policy, classic("legacy", UNKNOWN, [22, 443]));
        });
    });

    it("is not applicable to a stack without listeners", async () => {
        await assertNotApplicable(policy, [relayNlb]);
    });
});

describe("public-load-balancer-target-ports", () => {
    const policy = publicLoadBalancerTargetPorts;
    const region = "arn:aws:elasticloadbalancing:eu-west-1:222222222222";
    const relayArn = `${region}:loadbalancer/net/relay/0123456789abcdef`;
    const platformArn = `${region}:loadbalancer/net/relay-platform/fedcba9876543210`;
    const fireflyConfig = JSON.parse(
        fs.readFileSync(path.join(__dirname, "..", "..", "stacks", "policy-config.firefly-dev.json"), "utf8"),
    ) as Record<string, unknown>;

    const lb = (name: string, internal: unknown, arn: unknown) => {
        const props = { loadBalancerType: "network", internal, subnets: ["subnet-a", "subnet-b"] };
        return plan(aws.lb.LoadBalancer, name, props, { outputs: { ...props, arn, id: arn } });
    };
    const relayNlb = lb("relay-nlb", false, relayArn);
    const platformNlb = lb("relay-platform-nlb", true, platformArn);
    /** A target group of the stack; `arn` unknown as during a preview of a new one. */
    const targetGroup = (name: string, port: unknown, arn: unknown = `${region}:targetgroup/${name}/1`, extra: Record<string, unknown> = {}) => {
        const props = { port, protocol: "TCP", vpcId: "vpc-platform", targetType: "instance", ...extra };
        return plan(aws.lb.TargetGroup, name, props, { outputs: { ...props, arn, id: arn } });
    };
    const tgArn = (name: string) => `${region}:targetgroup/${name}/1`;
    const listener = (name: string, port: number, loadBalancerArn: unknown, defaultActions: unknown, propertyDependencies: Record<string, string[]> = {}) => {
        const arn = `${region}:listener/net/${name}/1`;
        const props = { loadBalancerArn, port, protocol: "TCP", defaultActions };
        return plan(aws.lb.Listener, name, props, { propertyDependencies, outputs: { ...props, arn, id: arn } });
    };
    const forwardTo = (arn: unknown) => [{ type: "forward", targetGroupArn: arn }];
    const sshGroup = targetGroup("relay-ssh", 22);
    const tunnelGroup = targetGroup("relay-tunnel-40001", 40001);

    it("refuses the hole it closes: 443 of the excepted public relay NLB forwarding to a customer's tunnel port", async () => {
        const stack = [relayNlb, sshGroup, tunnelGroup, listener("relay-ssh", 22, relayArn, forwardTo(tgArn("relay-ssh"))), listener("relay-https", 443, relayArn, forwardTo(tgArn("relay-tunnel-40001")))];

        // Without this rule the whole pack passes it under the firefly stack's config (443 is a public listener port).
        const others = await evaluatePolicies(stack, { config: fireflyConfig, policies: allPolicies.filter((p) => p.name !== policy.name) });
        assert.deepEqual(others.filter((v) => v.enforcementLevel === "mandatory"), []);

        const violations = await evaluatePolicies(stack, { config: fireflyConfig });
        assert.deepEqual(
            violations.map((v) => `${v.policyName} ${v.enforcementLevel} ${v.resourceName}`),
            [`${policy.name} mandatory relay-https`],
        );
        const message = violations[0]!.message;
        assert.match(message, /^Listener 'relay-https' of internet-facing load balancer 'relay-nlb' forwards to target group 'relay-tunnel-40001' on port 40001, which puts that port on the internet; /);
        assert.ok(message.includes("forward it to a target group on 22 or 443 instead"), message);
        assert.ok(message.includes("add 40001 to publicTargetPorts (22, 443)"), message);
        assert.ok(message.includes(`{ "port": 40001, "loadBalancers": ["relay-nlb"] } to allowedPublicTargets`), message);
    });

    it("passes TunnelRelay's shape: SSH to 22 on the public NLB, tunnel ports only behind the internal platform NLB", async () => {
        await assertNoViolations(policy, [
            relayNlb,
            platformNlb,
            sshGroup,
            tunnelGroup,
            listener("relay-ssh", 22, relayArn, forwardTo(tgArn("relay-ssh"))),
            listener("relay-platform-40001", 40001, platformArn, forwardTo(tgArn("relay-tunnel-40001"))),
        ]);
    });

    it("judges an attachment's own port, which overrides its target group's", async () => {
        const attachment = plan(aws.lb.TargetGroupAttachment, "relay-host-0-40001", { targetGroupArn: tgArn("relay-ssh"), targetId: "i-0123456789abcdef0", port: 40001 });
        const plain = plan(aws.lb.TargetGroupAttachment, "relay-host-1", { targetGroupArn: tgArn("relay-ssh"), targetId: "i-0123456789abcdef1" });
        await assertViolation(
            policy,
            [relayNlb, sshGroup, attachment, plain, listener("relay-ssh", 22, relayArn, forwardTo(tgArn("relay-ssh")))],
            "Listener 'relay-ssh' of internet-facing load balancer 'relay-nlb' forwards to target group 'relay-ssh' on port 40001 through attachment 'relay-host-0-40001'",
        );
    });

    it("follows weighted forwarding (forward.targetGroups) and listener rules", async () => {
        const weighted = [{ type: "forward", forward: { targetGroups: [{ arn: tgArn("relay-ssh"), weight: 1 }, { arn: tgArn("relay-tunnel-40001"), weight: 1 }] } }];
        await assertViolation(
            policy,
            [relayNlb, sshGroup, tunnelGroup, listener("relay-ssh", 22, relayArn, weighted)],
            "forwards to target group 'relay-tunnel-40001' on port 40001",
        );
        const props = { loadBalancerType: "application", internal: false, subnets: ["subnet-a"] };
        const alb = plan(aws.lb.LoadBalancer, "web-alb", props, { outputs: { ...props, arn: relayArn, id: relayArn } });
        const web = targetGroup("web-443", 443, undefined, { protocol: "HTTPS" });
        const rule = plan(aws.lb.ListenerRule, "web-admin", {
            listenerArn: `${region}:listener/net/web-https/1`,
            actions: forwardTo(tgArn("relay-tunnel-40001")),
            conditions: [{ pathPattern: { values: ["/admin/*"] } }],
        });
        const violation = await assertViolation(
            policy,
            [alb, web, tunnelGroup, listener("web-https", 443, relayArn, forwardTo(tgArn("web-443"))), rule],
            "Listener rule 'web-admin' of internet-facing load balancer 'web-alb' forwards to target group 'relay-tunnel-40001' on port 40001",
        );
        assert.equal(violation.resourceName, "web-admin");
    });

    it("passes internal load balancers, lambda targets and target groups outside the stack", async () => {
        await assertNoViolations(policy, [platformNlb, tunnelGroup, listener("relay-platform-40001", 443, platformArn, forwardTo(tgArn("relay-tunnel-40001")))]);
        const fn = targetGroup("fn", undefined, undefined, { targetType: "lambda", protocol: undefined, vpcId: undefined });
        await assertNoViolations(policy, [relayNlb, fn, listener("relay-https", 443, relayArn, forwardTo(tgArn("fn")))]);
        await assertNoViolations(policy, [relayNlb, listener("relay-https", 443, relayArn, forwardTo(tgArn("elsewhere-40001")))]);
    });

    it("lets allowedPublicTargets except a port behind the named load balancers only; publicTargetPorts replaces the default", async () => {
        const otherArn = relayArn.replace("relay/", "other/");
        const app = targetGroup("app-8080", 8080);
        const stack = [relayNlb, lb("other-nlb", false, otherArn), app, listener("relay-https", 443, relayArn, forwardTo(tgArn("app-8080"))), listener("other-https", 443, otherArn, forwardTo(tgArn("app-8080")))];
        const violations = await violationsOf(policy, stack, { config: { [policy.name]: { allowedPublicTargets: [{ port: 8080, loadBalancers: ["relay-nlb"] }] } } });
        assert.deepEqual(violations.map((v) => v.resourceName), ["other-https"]);
        await assertNoViolations(policy, stack, { config: { [policy.name]: { publicTargetPorts: [8080] } } });
        await assertViolation(policy, [relayNlb, sshGroup, listener("relay-ssh", 22, relayArn, forwardTo(tgArn("relay-ssh")))], "on port 22", {
            config: { [policy.name]: { publicTargetPorts: [443] } },
        });
    });

    it("refuses invalid config", async () => {
        await assert.rejects(
            violationsOf(policy, [relayNlb], { config: { [policy.name]: { publicTargetPorts: [70000] } } }),
            /policy "public-load-balancer-target-ports", field "publicTargetPorts.0": must be <= 65535/,
        );
        await assert.rejects(
            violationsOf(policy, [relayNlb], { config: { [policy.name]: { allowedPublicTargets: [{ port: 8080, loadBalancers: [] }] } } }),
            /policy "public-load-balancer-target-ports", field "allowedPublicTargets.0.loadBalancers"/,
        );
    });

    it("judges a classic load balancer's instance ports", async () => {
        const classic = (internal: unknown, instancePort: unknown) =>
            plan(aws.elb.LoadBalancer, "legacy", { internal, subnets: ["subnet-a"], listeners: [{ lbPort: 443, lbProtocol: "tcp", instancePort, instanceProtocol: "tcp" }] });
        await assertViolation(policy, classic(false, 40001), "Classic load balancer 'legacy' is internet-facing and forwards to instance port 40001");
        await assertNoViolations(policy, classic(false, 443));
        await assertNoViolations(policy, classic(true, 40001));
        await assertCannotRunDuringPreview(policy, classic(false, UNKNOWN), ".listeners.0.instancePort");
    });

    describe("during a preview", () => {
        it("finds a new target group through propertyDependencies when its ARN is unknown, and refuses the tunnel port", async () => {
            const newGroup = targetGroup("relay-tunnel-40001", 40001, UNKNOWN);
            await assertViolation(
                policy,
                [relayNlb, newGroup, listener("relay-https", 443, relayArn, forwardTo(UNKNOWN), { defaultActions: [newGroup.urn] })],
                "forwards to target group 'relay-tunnel-40001' on port 40001",
            );
        });

        it("cannot decide when a target group ARN is unknown and no dependency explains it", async () => {
            await assertCannotRunDuringPreview(policy, [relayNlb, tunnelGroup, listener("relay-https", 443, relayArn, forwardTo(UNKNOWN))], ".defaultActions.0.targetGroupArn");
        });

        it("cannot decide when an attachment with a port of its own names a target group not known yet; one without a port does not wait", async () => {
            const stack = [relayNlb, sshGroup, listener("relay-ssh", 22, relayArn, forwardTo(tgArn("relay-ssh")))];
            const withPort = plan(aws.lb.TargetGroupAttachment, "relay-host-0-40001", { targetGroupArn: UNKNOWN, targetId: "i-0123456789abcdef0", port: 40001 });
            await assertCannotRunDuringPreview(policy, [...stack, withPort], ".targetGroupArn");
            const withoutPort = plan(aws.lb.TargetGroupAttachment, "relay-host-1", { targetGroupArn: UNKNOWN, targetId: "i-0123456789abcdef1" });
            await assertNoViolations(policy, [...stack, withoutPort]);
        });

        it("cannot decide when a target group's port is unknown behind a public listener", async () => {
            await assertCannotRunDuringPreview(policy, [relayNlb, targetGroup("relay-x", UNKNOWN), listener("relay-https", 443, relayArn, forwardTo(tgArn("relay-x")))], ".port");
        });
    });

    it("is not applicable to a stack without listeners", async () => {
        await assertNotApplicable(policy, [relayNlb]);
    });
});
