import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { CONNECTOR_ROLE_TAG_KEY, CONNECTOR_ROLE_TAG_VALUE } from "../../policies/conventions";
import { PlannedResource, PolicyConfigError, evaluatePolicies } from "../../policies/offline";
import { policyPackVersion } from "../../policies/pack";
import { types } from "../helpers/resources";
import { UNKNOWN, component, plan } from "./helpers";

const vpceArn = "arn:aws:elasticloadbalancing:eu-west-1:444455556666:loadbalancer/net/svc/0123456789abcdef";

/** The firefly side as our components would plan it: endpoint with its group and flow log, and the relay. */
function fireflyStack(): PlannedResource[] {
    const endpointComponent = component(types.privateLinkEndpoint, "customer-a");
    const relayComponent = component(types.tunnelRelay, "relay");
    const inEndpoint = (resource: PlannedResource): PlannedResource => ({ ...resource, parent: endpointComponent.urn });
    const inRelay = (resource: PlannedResource): PlannedResource => ({ ...resource, parent: relayComponent.urn });
    return [
        endpointComponent,
        inEndpoint(plan(aws.ec2.SecurityGroup, "customer-a-sg", { vpcId: "vpc-1", ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["10.0.0.0/16"] }] })),
        inEndpoint(
            plan(aws.ec2.VpcEndpoint, "customer-a-endpoint", {
                vpcId: "vpc-1",
                vpcEndpointType: "Interface",
                serviceName: "com.amazonaws.vpce.eu-west-1.vpce-svc-0123",
                subnetIds: ["subnet-a"],
                securityGroupIds: ["sg-endpoint"],
            }),
        ),
        inEndpoint(plan(aws.ec2.FlowLog, "customer-a-flows", { vpcId: "vpc-1", trafficType: "ALL", logDestination: "arn:aws:logs:eu-west-1:1:log-group:f" })),
        relayComponent,
        inRelay(plan(aws.lb.LoadBalancer, "relay-nlb", { loadBalancerType: "network", internal: false })),
        inRelay(
            plan(aws.lb.Listener, "relay-ssh", {
                loadBalancerArn: vpceArn,
                protocol: "TCP",
                port: 22,
                defaultActions: [{ type: "forward", targetGroupArn: "arn:tg" }],
            }),
        ),
        inRelay(plan(aws.ec2.SecurityGroup, "relay-sg", { vpcId: "vpc-1", ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }] })),
        inRelay(
            plan(aws.ec2.LaunchTemplate, "relay-lt", {
                imageId: "ami-1",
                metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
            }),
        ),
        inRelay(plan(aws.ec2.SecurityGroup, "connector-sg", { vpcId: "vpc-1", tags: { [CONNECTOR_ROLE_TAG_KEY]: CONNECTOR_ROLE_TAG_VALUE } })),
    ];
}

const relayExceptions = {
    "load-balancer-internal": { allowedPublicLoadBalancers: ["relay-nlb"] },
    "security-group-no-public-ingress": { allowedPublicIngress: [{ port: 22, resourceNames: ["relay-sg"] }] },
};

const summary = (violations: { policyName: string; resourceName?: string; enforcementLevel: string }[]) =>
    violations.map((v) => `${v.enforcementLevel} ${v.policyName} ${v.resourceName ?? "(stack)"}`);

describe("offline evaluator: the whole pack", () => {
    it("refuses the relay's public NLB and SSH security group until the config lists them", async () => {
        const violations = await evaluatePolicies(fireflyStack());
        assert.deepEqual(summary(violations), [
            "mandatory load-balancer-internal relay-nlb",
            "mandatory security-group-no-public-ingress relay-sg",
        ]);
        assert.equal(violations[0].resourceType, types.loadBalancer);
        assert.equal(violations[0].urn, "urn:pulumi:test::private-connectivity::aws:lb/loadBalancer:LoadBalancer::relay-nlb");
        assert.equal(violations[0].severity, "high");
        assert.match(violations[0].description, /internal unless/);
    });

    it("passes the same stack with the relay exceptions configured", async () => {
        assert.deepEqual(await evaluatePolicies(fireflyStack(), { config: relayExceptions }), []);
    });

    it("reports a stack policy violation against the resource it names", async () => {
        const stack = fireflyStack().filter((r) => r.name !== "customer-a-flows");
        const violations = await evaluatePolicies(stack, { config: relayExceptions });
        assert.deepEqual(summary(violations), ["mandatory interface-endpoint-flow-logs customer-a-endpoint"]);
    });

    it("reports an unknown value as the SDK's advisory, not as a verdict", async () => {
        const stack = fireflyStack().map((r) => (r.name === "relay-nlb" ? { ...r, props: { ...r.props, internal: UNKNOWN } } : r));
        const [advisory, ...rest] = await evaluatePolicies(stack, { config: relayExceptions });
        assert.deepEqual(rest, []);
        assert.equal(advisory.enforcementLevel, "advisory");
        assert.equal(advisory.unknownDuringPreview, true);
        assert.equal(advisory.resourceName, "relay-nlb");
        assert.equal(advisory.message, `can't run policy 'load-balancer-internal' from policy pack 'private-connectivity@v${policyPackVersion}' during preview: string value at .internal can't be known during preview`);
    });
});

describe("offline evaluator: enforcement levels from config", () => {
    const stack = fireflyStack;

    it("downgrades one policy with a bare level", async () => {
        const violations = await evaluatePolicies(stack(), { config: { "load-balancer-internal": "advisory" } });
        assert.deepEqual(summary(violations), ["advisory load-balancer-internal relay-nlb", "mandatory security-group-no-public-ingress relay-sg"]);
    });

    it("takes the level from an object entry next to its properties", async () => {
        const config = { "security-group-no-public-ingress": { enforcementLevel: "advisory", allowedPublicIngress: [{ port: 443 }] } };
        const violations = await evaluatePolicies(stack(), { config });
        assert.deepEqual(summary(violations), ["mandatory load-balancer-internal relay-nlb", "advisory security-group-no-public-ingress relay-sg"]);
    });

    it("applies \"all\" to every policy, and a policy's own entry over it", async () => {
        const violations = await evaluatePolicies(stack(), { config: { all: "advisory", "security-group-no-public-ingress": "mandatory" } });
        assert.deepEqual(summary(violations), ["advisory load-balancer-internal relay-nlb", "mandatory security-group-no-public-ingress relay-sg"]);
    });

    it("skips disabled policies", async () => {
        const violations = await evaluatePolicies(stack(), { config: { "load-balancer-internal": "disabled" } });
        assert.deepEqual(summary(violations), ["mandatory security-group-no-public-ingress relay-sg"]);
    });

    it("reports a policy set to remediate (ours cannot remediate) as mandatory, as the analyzer does", async () => {
        const violations = await evaluatePolicies(stack(), { config: { all: "remediate" } });
        assert.deepEqual(summary(violations), ["mandatory load-balancer-internal relay-nlb", "mandatory security-group-no-public-ingress relay-sg"]);
    });

    it("ignores config for policies the pack does not have, as the engine does", async () => {
        const violations = await evaluatePolicies(stack(), { config: { ...relayExceptions, "no-such-policy": "disabled" } });
        assert.deepEqual(violations, []);
    });
});

describe("offline evaluator: config errors name the policy and the field", () => {
    const run = (config: Record<string, unknown>) => evaluatePolicies(fireflyStack(), { config });

    it("refuses an unknown enforcement level", async () => {
        await assert.rejects(run({ "load-balancer-internal": "strict" }), (error: unknown) => {
            assert.ok(error instanceof PolicyConfigError);
            assert.match(error.message, /policy "load-balancer-internal": "strict" is not a valid enforcement level/);
            return true;
        });
    });

    it("refuses an unknown enforcementLevel inside an object entry", async () => {
        await assert.rejects(run({ "load-balancer-internal": { enforcementLevel: 3 } }), /policy "load-balancer-internal", field "enforcementLevel": 3 is not a valid enforcement level/);
    });

    it("refuses an entry that is neither a level nor an object", async () => {
        await assert.rejects(run({ "load-balancer-internal": ["relay-nlb"] }), /policy "load-balancer-internal": must be an enforcement level or an object/);
    });

    it("refuses a property of the wrong type, naming the field", async () => {
        await assert.rejects(run({ "load-balancer-internal": { allowedPublicLoadBalancers: "relay-nlb" } }), /policy "load-balancer-internal", field "allowedPublicLoadBalancers": must be array/);
    });

    it("lists every problem at once", async () => {
        await assert.rejects(
            run({ "load-balancer-internal": { allowedPublicLoadBalancers: [1] }, "ec2-imds-hop-limit": { maxHopLimit: 0 } }),
            (error: unknown) => {
                assert.ok(error instanceof PolicyConfigError);
                assert.equal(error.problems.length, 2);
                assert.match(error.problems[0], /field "allowedPublicLoadBalancers.0": must be string/);
                assert.match(error.problems[1], /policy "ec2-imds-hop-limit", field "maxHopLimit": must be >= 1/);
                return true;
            },
        );
    });

    it("validates the schema defaults too, so a rule with a required property needs config", async () => {
        const strict: ResourceValidationPolicy = {
            name: "needs-owner",
            description: "test",
            enforcementLevel: "mandatory",
            configSchema: { properties: { owner: { type: "string" } }, required: ["owner"] },
            validateResource: () => undefined,
        };
        await assert.rejects(evaluatePolicies([], { policies: [strict] }), /policy "needs-owner": must have required property 'owner'/);
        assert.deepEqual(await evaluatePolicies([], { policies: [strict], config: { "needs-owner": { owner: "platform" } } }), []);
    });
});

describe("offline evaluator: the args policies receive", () => {
    it("gives getConfig the schema defaults merged with the user's properties, without enforcementLevel", async () => {
        const seen: object[] = [];
        const probe: ResourceValidationPolicy = {
            name: "probe",
            description: "test",
            enforcementLevel: "advisory",
            configSchema: { properties: { ports: { type: "array", default: [443] }, label: { type: "string", default: "x" } } },
            validateResource: (args) => {
                seen.push(args.getConfig());
            },
        };
        await evaluatePolicies([plan(aws.ec2.Vpc, "vpc", {})], { policies: [probe], config: { probe: { enforcementLevel: "mandatory", label: "y" } } });
        assert.deepEqual(seen, [{ ports: [443], label: "y" }]);
    });

    it("passes stack tags to resource and stack policies", async () => {
        const seen: string[] = [];
        const resourceProbe: ResourceValidationPolicy = {
            name: "resource-probe",
            description: "test",
            validateResource: (args) => {
                seen.push(`resource:${args.stackTags.get("team")}`);
            },
        };
        const stackProbe: StackValidationPolicy = {
            name: "stack-probe",
            description: "test",
            validateStack: (args) => {
                seen.push(`stack:${args.stackTags.get("team")}`);
            },
        };
        await evaluatePolicies([plan(aws.ec2.Vpc, "vpc", {})], { policies: [resourceProbe, stackProbe], stackTags: { team: "platform" } });
        assert.deepEqual(seen, ["resource:platform", "stack:platform"]);
    });

    it("runs resource policies on component resources too, and skips types a policy does not apply to", async () => {
        const seen: string[] = [];
        const anyType: ResourceValidationPolicy = {
            name: "any-type",
            description: "test",
            validateResource: (args) => {
                seen.push(args.type);
            },
        };
        const vpcOnly: ResourceValidationPolicy = {
            name: "vpc-only",
            description: "test",
            validateResource: validateResourceOfType(aws.ec2.Vpc, (_props, args) => {
                seen.push(`vpc-only:${args.name}`);
            }),
        };
        await evaluatePolicies([component(types.tunnelRelay, "relay"), plan(aws.ec2.Vpc, "vpc", {})], { policies: [anyType, vpcOnly] });
        assert.deepEqual(seen, [types.tunnelRelay, types.vpc, "vpc-only:vpc"]);
    });

    it("lists component resources in the stack and links parents and dependencies", async () => {
        let resources: PolicyResource[] = [];
        const capture: StackValidationPolicy = {
            name: "capture",
            description: "test",
            validateStack: (args) => {
                resources = args.resources;
            },
        };
        const parent = component(types.privateLinkService, "svc");
        const nlb = { ...plan(aws.lb.LoadBalancer, "svc-nlb", { internal: true }), parent: parent.urn };
        const service = {
            ...plan(aws.ec2.VpcEndpointService, "svc", { networkLoadBalancerArns: [UNKNOWN] }, { propertyDependencies: { networkLoadBalancerArns: [nlb.urn, "urn:pulumi:test::x::aws:lb/loadBalancer:LoadBalancer::gone"] } }),
            parent: parent.urn,
        };
        await evaluatePolicies([parent, nlb, service], { policies: [capture] });
        assert.deepEqual(resources.map((r) => r.name), ["svc", "svc-nlb", "svc"]);
        const [componentResource, nlbResource, serviceResource] = resources;
        assert.equal(serviceResource.parent, componentResource);
        assert.equal(serviceResource.opts.parent, parent.urn);
        assert.deepEqual(serviceResource.propertyDependencies.networkLoadBalancerArns, [nlbResource], "URNs outside the stack are dropped");
        assert.deepEqual(serviceResource.dependencies, [nlbResource]);
        assert.ok(serviceResource.isType(aws.ec2.VpcEndpointService));
        assert.equal(serviceResource.asType(aws.lb.LoadBalancer), undefined);
        assert.throws(() => serviceResource.props.networkLoadBalancerArns[0], /string value at \.networkLoadBalancerArns\.0 can't be known during preview/);
    });

    it("shows a stack policy the outputs when they are given, the inputs otherwise", async () => {
        const ids: unknown[] = [];
        const capture: StackValidationPolicy = {
            name: "capture",
            description: "test",
            validateStack: (args) => {
                ids.push(...args.resources.map((r) => r.props.id));
            },
        };
        await evaluatePolicies([plan(aws.ec2.Vpc, "a", {}, { outputs: { id: "vpc-1" } }), plan(aws.ec2.Vpc, "b", {})], { policies: [capture] });
        assert.deepEqual(ids, ["vpc-1", undefined]);
    });

    it("unwraps secrets as the analyzer does", async () => {
        const seen: unknown[] = [];
        const probe: ResourceValidationPolicy = {
            name: "probe",
            description: "test",
            validateResource: (args) => {
                seen.push(args.props.password, args.props.nested);
            },
        };
        const secret = (value: unknown) => ({ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value });
        await evaluatePolicies([plan(aws.ec2.Vpc, "vpc", { password: secret("hunter2"), nested: { list: [secret(1)] }, dropped: undefined })], {
            policies: [probe],
        });
        // As plain data: the props are behind the SDK's unknown-checking Proxy, which Node 22's
        // deepStrictEqual does not look through.
        assert.deepEqual(JSON.parse(JSON.stringify(seen)), ["hunter2", { list: [1] }]);
    });

    it("resolves the provider reference to the provider resource", async () => {
        const providers: unknown[] = [];
        const probe: ResourceValidationPolicy = {
            name: "probe",
            description: "test",
            validateResource: validateResourceOfType(aws.ec2.Vpc, (_props, args) => {
                providers.push(args.provider && { type: args.provider.type, name: args.provider.name, region: args.provider.props.region });
            }),
        };
        const provider = { ...component(types.awsProvider, "eu"), custom: true, props: { region: "eu-west-1" } };
        await evaluatePolicies([provider, plan(aws.ec2.Vpc, "vpc", {}, { provider: `${provider.urn}::3c1ee2c4-id` })], { policies: [probe] });
        assert.deepEqual(providers, [{ type: types.awsProvider, name: "eu", region: "eu-west-1" }]);
    });

    it("fails the run when a policy throws, naming the policy and the resource", async () => {
        const broken: ResourceValidationPolicy = {
            name: "broken",
            description: "test",
            validateResource: () => {
                throw new Error("boom");
            },
        };
        await assert.rejects(
            evaluatePolicies([plan(aws.ec2.Vpc, "vpc", {})], { policies: [broken] }),
            new RegExp(`Error validating resource urn:pulumi:test::private-connectivity::aws:ec2/vpc:Vpc::vpc with policy 'broken' from policy pack 'private-connectivity@v${policyPackVersion.replace(/\./g, "\\.")}': boom`),
        );
    });

    it("refuses a plan that registers the same URN twice", async () => {
        const vpc = plan(aws.ec2.Vpc, "vpc", {});
        await assert.rejects(evaluatePolicies([vpc, vpc]), /is planned twice/);
    });
});
