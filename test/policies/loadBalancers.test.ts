import * as assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import { endpointServiceLoadBalancersInternal, loadBalancerInternal, nlbPrivateLinkInboundRulesEnforced } from "../../policies/loadBalancers";
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
