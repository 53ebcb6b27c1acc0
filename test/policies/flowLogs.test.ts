import * as assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import { interfaceEndpointFlowLogs } from "../../policies/flowLogs";
import { PropsOf, UNKNOWN, assertCannotRunDuringPreview, assertNoViolations, assertNotApplicable, assertViolation, plan } from "./helpers";

const policy = interfaceEndpointFlowLogs;

const endpointProps = {
    vpcId: "vpc-1",
    serviceName: "com.amazonaws.vpce.eu-west-1.vpce-svc-0123",
    vpcEndpointType: "Interface",
    subnetIds: ["subnet-a", "subnet-b"],
    securityGroupIds: ["sg-endpoint"],
} satisfies PropsOf<typeof aws.ec2.VpcEndpoint>;

const logDestination = { logDestination: "arn:aws:logs:eu-west-1:1:log-group:flows", trafficType: "ALL" } satisfies PropsOf<typeof aws.ec2.FlowLog>;

const endpoint = (props: Record<string, unknown> = {}, propertyDependencies: Record<string, string[]> = {}) =>
    plan(aws.ec2.VpcEndpoint, "customer-endpoint", { ...endpointProps, ...props }, { propertyDependencies });
const flowLog = (name: string, target: Record<string, unknown>, propertyDependencies: Record<string, string[]> = {}) =>
    plan(aws.ec2.FlowLog, name, { ...logDestination, ...target }, { propertyDependencies });
const vpc = (id: unknown) => plan(aws.ec2.Vpc, "vpc", { cidrBlock: "10.0.0.0/16" }, { outputs: { cidrBlock: "10.0.0.0/16", id } });
const subnet = (name: string, id: unknown) => plan(aws.ec2.Subnet, name, { vpcId: "vpc-1" }, { outputs: { vpcId: "vpc-1", id } });

describe("interface-endpoint-flow-logs", () => {
    it("is not applicable to a stack without interface endpoints (a gateway endpoint needs no flow log here)", async () => {
        await assertNotApplicable(policy, [endpoint({ vpcEndpointType: "Gateway", serviceName: "com.amazonaws.eu-west-1.s3", subnetIds: [], securityGroupIds: [] })]);
    });

    it("passes an endpoint whose VPC has a flow log (IDs known)", async () => {
        await assertNoViolations(policy, [endpoint(), flowLog("vpc-flows", { vpcId: "vpc-1" })]);
    });

    it("during preview, passes when the endpoint and the flow log depend on the same VPC", async () => {
        const theVpc = vpc(UNKNOWN);
        await assertNoViolations(policy, [
            theVpc,
            endpoint({ vpcId: UNKNOWN, subnetIds: [UNKNOWN] }, { vpcId: [theVpc.urn] }),
            flowLog("vpc-flows", { vpcId: UNKNOWN }, { vpcId: [theVpc.urn] }),
        ]);
    });

    it("matches a known VPC id against a VPC resource the flow log depends on", async () => {
        const theVpc = vpc("vpc-1");
        await assertNoViolations(policy, [theVpc, endpoint(), flowLog("vpc-flows", { vpcId: UNKNOWN }, { vpcId: [theVpc.urn] })]);
    });

    describe("a subnet added to the endpoint by aws.ec2.VpcEndpointSubnetAssociation (another ENI of it)", () => {
        const theEndpoint = endpoint();
        const association = (subnetId: string) =>
            plan(aws.ec2.VpcEndpointSubnetAssociation, `endpoint-${subnetId}`, { vpcEndpointId: UNKNOWN, subnetId }, { propertyDependencies: { vpcEndpointId: [theEndpoint.urn] } });
        const ownSubnetsLogged = [flowLog("a-flows", { subnetId: "subnet-a" }), flowLog("b-flows", { subnetId: "subnet-b" })];

        it("needs its own flow log when the endpoint's subnets are logged one by one", async () => {
            await assertViolation(policy, [theEndpoint, association("subnet-c"), ...ownSubnetsLogged], "Interface endpoint 'customer-endpoint' has no flow log recording all traffic");
            await assertNoViolations(policy, [theEndpoint, association("subnet-c"), ...ownSubnetsLogged, flowLog("c-flows", { subnetId: "subnet-c" })]);
        });

        it("is covered by the VPC's flow log", async () => {
            await assertNoViolations(policy, [theEndpoint, association("subnet-c"), flowLog("vpc-flows", { vpcId: "vpc-1" })]);
        });

        it("belongs to another endpoint: does not count against this one", async () => {
            const other = plan(aws.ec2.VpcEndpoint, "other-endpoint", { ...endpointProps, subnetIds: ["subnet-x"] });
            const elsewhere = plan(aws.ec2.VpcEndpointSubnetAssociation, "other-c", { vpcEndpointId: UNKNOWN, subnetId: "subnet-c" }, { propertyDependencies: { vpcEndpointId: [other.urn] } });
            await assertNoViolations(policy, [theEndpoint, other, elsewhere, ...ownSubnetsLogged, flowLog("x-flows", { subnetId: "subnet-x" }), flowLog("c-flows", { subnetId: "subnet-c" })]);
            await assertViolation(policy, [theEndpoint, other, elsewhere, ...ownSubnetsLogged, flowLog("x-flows", { subnetId: "subnet-x" })], "Interface endpoint 'other-endpoint' has no flow log");
        });
    });

    it("passes an endpoint whose every subnet has a flow log", async () => {
        await assertNoViolations(policy, [endpoint(), flowLog("a-flows", { subnetId: "subnet-a" }), flowLog("b-flows", { subnetId: "subnet-b" })]);
    });

    it("during preview, passes subnet flow logs matched through the subnets both depend on", async () => {
        const a = subnet("subnet-a", UNKNOWN);
        const b = subnet("subnet-b", UNKNOWN);
        await assertNoViolations(policy, [
            a,
            b,
            endpoint({ vpcId: "vpc-2", subnetIds: [UNKNOWN, UNKNOWN] }, { subnetIds: [a.urn, b.urn] }),
            flowLog("a-flows", { subnetId: UNKNOWN }, { subnetId: [a.urn] }),
            flowLog("b-flows", { subnetId: UNKNOWN }, { subnetId: [b.urn] }),
        ]);
    });

    it("passes subnets given through subnetConfigurations", async () => {
        await assertNoViolations(policy, [
            endpoint({ subnetIds: undefined, vpcId: "vpc-2", subnetConfigurations: [{ subnetId: "subnet-a", ipv4: "10.0.1.10" }] }),
            flowLog("a-flows", { subnetId: "subnet-a" }),
        ]);
    });

    it("refuses an endpoint with no flow log at all", async () => {
        const violation = await assertViolation(
            policy,
            [endpoint()],
            "Interface endpoint 'customer-endpoint' has no flow log recording all traffic on its VPC or on all of its subnets; add an aws.ec2.FlowLog with vpcId",
        );
        assert.equal(violation.resourceName, "customer-endpoint");
    });

    it("refuses an endpoint when only some of its subnets have flow logs", async () => {
        await assertViolation(policy, [endpoint(), flowLog("a-flows", { subnetId: "subnet-a" })], "has no flow log recording all traffic on its VPC or on all of its subnets");
    });

    it("refuses an endpoint when the flow log is on another VPC", async () => {
        await assertViolation(policy, [endpoint(), flowLog("other-flows", { vpcId: "vpc-9" })], "'customer-endpoint'");
    });

    it("does not count an ENI-level flow log on the endpoint's network interface", async () => {
        const theEndpoint = endpoint();
        await assertViolation(policy, [theEndpoint, flowLog("eni-flows", { eniId: UNKNOWN }, { eniId: [theEndpoint.urn] })], "has no flow log");
    });

    for (const trafficType of ["REJECT", "ACCEPT"]) {
        it(`does not count a VPC flow log that records only ${trafficType}`, async () => {
            await assertViolation(policy, [endpoint(), flowLog("vpc-flows", { vpcId: "vpc-1", trafficType })], "has no flow log recording all traffic");
        });
    }

    it("does not count a flow log without trafficType", async () => {
        const { trafficType: _, ...destination } = logDestination;
        await assertViolation(policy, [endpoint(), plan(aws.ec2.FlowLog, "untyped", { ...destination, vpcId: "vpc-1" })], "has no flow log recording all traffic");
    });

    it("cannot decide during preview when the only flow log's trafficType is unknown", async () => {
        await assertCannotRunDuringPreview(policy, [endpoint(), flowLog("vpc-flows", { vpcId: "vpc-1", trafficType: UNKNOWN })], ".trafficType");
    });

    it("does not judge gateway endpoints", async () => {
        await assertNoViolations(policy, [endpoint({ vpcEndpointType: "Gateway", subnetIds: undefined, securityGroupIds: undefined })]);
    });

    it("cannot decide during preview when the endpoint's VPC and subnets are unknown and nothing explains them", async () => {
        await assertCannotRunDuringPreview(policy, [endpoint({ vpcId: UNKNOWN, subnetIds: UNKNOWN }), flowLog("vpc-flows", { vpcId: "vpc-1" })], ".vpcId");
    });

    it("cannot decide during preview when a flow log's VPC is unknown and nothing explains it", async () => {
        await assertCannotRunDuringPreview(policy, [endpoint(), flowLog("vpc-flows", { vpcId: UNKNOWN })], ".vpcId");
    });
});
