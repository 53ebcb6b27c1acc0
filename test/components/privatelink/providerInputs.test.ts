// The PrivateLink components as Pulumi's component provider serves them: a schema inferred from the
// TypeScript types (every input and output documented), and arguments as other languages pass them,
// where any argument that depends on another resource arrives as one Output wrapping the whole
// value. Built from Outputs, a component must register exactly what it registers from plain values,
// and refuse a bad value inside an Output with the message it gives for the plain value.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ConnectivityCheck, ConnectivityCheckArgs } from "../../../components/privatelink/connectivityCheck";
import { EndpointFlowLogs, EndpointFlowLogsArgs } from "../../../components/privatelink/endpointFlowLogs";
import { PrivateLinkEndpoint, PrivateLinkEndpointArgs } from "../../../components/privatelink/privateLinkEndpoint";
import { PrivateLinkService, PrivateLinkServiceArgs } from "../../../components/privatelink/privateLinkService";
import { deploy, platformAccount, ProgramRun } from "../../helpers/pulumi";
import { ofType, types } from "../../helpers/resources";
import { inferredSchema, PackageSchema, undocumented } from "../../helpers/schema";

const components = ["PrivateLinkService", "PrivateLinkEndpoint", "EndpointFlowLogs", "ConnectivityCheck"];
const subnets = ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60719"];
const certificateArn = "arn:aws:acm:us-east-1:111111111111:certificate/0d3f1c2e-4b5a-4c6d-8e7f-9a0b1c2d3e4f";

describe("PrivateLink components through the component provider", function () {
    this.timeout(120_000);

    describe("inferred schema", () => {
        let schema: PackageSchema;
        before(async () => {
            schema = await inferredSchema();
        });
        const resource = (name: string) => schema.resources[`private-connectivity:index:${name}`]!;
        const type = (name: string) => schema.types?.[`private-connectivity:index:${name}`];

        for (const component of components) {
            it(`${component}: every input, output and nested property has a description`, () => {
                assert.ok(resource(component), `${component} is in the schema`);
                assert.deepEqual(undocumented(schema, component), []);
            });
        }

        it("listeners are a list of PrivateLinkListener, whose protocols are the ListenerProtocol enum", () => {
            const listeners = resource("PrivateLinkService").inputProperties!.listeners!;
            assert.equal(listeners.type, "array");
            assert.equal(listeners.items?.$ref, "#/types/private-connectivity:index:PrivateLinkListener");
            const listener = type("PrivateLinkListener")!;
            assert.equal(listener.properties!.protocol!.$ref, "#/types/private-connectivity:index:ListenerProtocol");
            assert.equal(listener.properties!.targets!.type, "array");
            assert.deepEqual(type("ListenerProtocol")!.enum!.map((e) => e.value), ["TCP", "TLS"]);
            assert.deepEqual(type("EndpointConnectionEvent")!.enum!.map((e) => e.value), ["Accept", "Connect", "Delete", "Reject"]);
        });

        it("acceptEndpointIds is a list of strings (an Output of one is accepted), notifications an object with enabled", () => {
            const inputs = resource("PrivateLinkService").inputProperties!;
            assert.equal(inputs.acceptEndpointIds!.type, "array");
            assert.equal(inputs.acceptEndpointIds!.items?.type, "string");
            assert.equal(inputs.acceptEndpointIds!.plain, undefined, "not plain: Outputs are allowed");
            assert.equal(inputs.notifications!.$ref, "#/types/private-connectivity:index:PrivateLinkNotifications");
            assert.equal(type("PrivateLinkNotifications")!.properties!.enabled!.type, "boolean");
        });

        it("flow-log settings are an object type with enum traffic type and aggregation interval", () => {
            assert.equal(resource("PrivateLinkEndpoint").inputProperties!.flowLogs!.$ref, "#/types/private-connectivity:index:FlowLogSettings");
            assert.deepEqual(type("FlowLogTrafficType")!.enum!.map((e) => e.value), ["ALL", "ACCEPT", "REJECT"]);
            assert.deepEqual(type("FlowLogAggregationInterval")!.enum!.map((e) => e.value), [60, 600]);
            assert.equal(resource("EndpointFlowLogs").inputProperties!.trafficType!.$ref, "#/types/private-connectivity:index:FlowLogTrafficType");
        });

        it("the connectivity check takes httpHead (a boolean) and httpHeadPath (a string), and returns a named result type", () => {
            const check = resource("ConnectivityCheck");
            assert.equal(check.inputProperties!.httpHead!.type, "boolean");
            assert.equal(check.inputProperties!.httpHeadPath!.type, "string");
            assert.equal(check.inputProperties!.runFrom!.$ref, "#/types/private-connectivity:index:ConnectivityCheckRunFrom");
            assert.equal(check.properties!.result!.$ref, "#/types/private-connectivity:index:ConnectivityCheckResult");
        });
    });

    // ---- What a run registered, to compare runs: every resource's URN, parent and inputs. ----
    const layout = (run: ProgramRun) =>
        run.resources.map((r) => ({ urn: r.urn, parent: r.parent, inputs: r.inputs })).sort((a, b) => a.urn.localeCompare(b.urn));

    /** Every argument wrapped in an Output, as the component provider passes them. */
    function allOutputs<T extends object>(args: T): T {
        return Object.fromEntries(Object.entries(args).map(([key, value]) => [key, pulumi.output(value)])) as T;
    }

    /** Builds the component from `args` (made inside the program: Outputs need the runtime) and checks it registers what the plain args do. */
    async function sameAsPlain<A extends object>(build: (args: A) => pulumi.ComponentResource, plain: () => A, transform: (args: A) => A): Promise<ProgramRun> {
        const expected = await deploy(() => {
            build(plain());
        });
        const actual = await deploy(() => {
            build(transform(plain()));
        });
        assert.deepEqual(layout(actual), layout(expected));
        return actual;
    }

    const service = (args: PrivateLinkServiceArgs) => new PrivateLinkService("acme", args);
    const serviceArgs = (): PrivateLinkServiceArgs => ({
        vpcId: "vpc-0a1b2c3d4e5f60718",
        subnetIds: subnets,
        listeners: [
            { port: 443, protocol: "TLS", certificateArn, healthCheck: { protocol: "HTTPS", path: "/health", port: 8443 } },
            { port: 5432, targetPort: 15432, targets: ["i-1a1b2c3d4e5f60718"] },
        ],
        targets: ["i-0a1b2c3d4e5f60718", "i-2a1b2c3d4e5f60718"],
        allowedPrincipals: [platformAccount],
        acceptEndpointIds: ["vpce-0a1b2c3d4e5f60718", "vpce-1a1b2c3d4e5f60718"],
        privateDnsName: "api.acme.example.com",
        verifyPrivateDns: true,
        supportedRegions: ["eu-west-1"],
        notifications: { events: ["Connect", "Accept"] },
        privateLinkClientCidrs: ["10.30.0.0/16"],
        tags: { team: "platform" },
    });
    const ipServiceArgs = (): PrivateLinkServiceArgs => ({ ...serviceArgs(), targetType: "ip", targets: ["10.0.1.10", "10.0.2.10"], listeners: [{ port: 443 }] });

    const endpoint = (args: PrivateLinkEndpointArgs) => new PrivateLinkEndpoint("acme", args);
    const endpointArgs = (): PrivateLinkEndpointArgs => ({
        vpcId: "vpc-0f1e2d3c4b5a69788",
        subnetIds: subnets,
        serviceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f60718",
        serviceRegion: "eu-west-1",
        ports: [443, 22],
        sourceSecurityGroupIds: ["sg-0a1b2c3d4e5f60718", "sg-1a1b2c3d4e5f60718"],
        dns: { zoneName: "privatelink.firefly.internal", recordName: "acme" },
        privateDns: true,
        flowLogs: { retentionInDays: 90, trafficType: "REJECT", maxAggregationIntervalSeconds: 600 },
        tags: { team: "platform" },
    });

    const flowLogs = (args: EndpointFlowLogsArgs) => new EndpointFlowLogs("logs", args);
    const flowLogArgs = (): EndpointFlowLogsArgs => ({ subnetIds: subnets, trafficType: "ACCEPT", retentionInDays: 30, maxAggregationIntervalSeconds: 600, tags: { team: "platform" } });

    const check = (args: ConnectivityCheckArgs) => new ConnectivityCheck("acme", args);
    const checkArgs = (): ConnectivityCheckArgs => ({
        hostname: "acme.privatelink.firefly.internal",
        port: 8443,
        targetPorts: [443, 8443],
        servername: "gitlab.acme.com",
        httpHeadPath: "/health",
        timeoutSeconds: 20,
        ready: true,
        triggers: ["vpce-0a1b2c3d4e5f60718"],
        vpcId: "vpc-0f1e2d3c4b5a69788",
        subnetIds: subnets,
        targetSecurityGroupId: "sg-0e1e2d3c4b5a69788",
        logRetentionInDays: 90,
        tags: { team: "platform" },
    });

    describe("subnets as an awsx-style Output<string[]>", () => {
        const cases: Array<[string, () => Promise<unknown>, (bad: pulumi.Output<string[]>) => () => void]> = [
            ["PrivateLinkService", () => sameAsPlain(service, serviceArgs, (a) => ({ ...a, subnetIds: pulumi.output(subnets) })), (bad) => () => void service({ ...serviceArgs(), subnetIds: bad })],
            ["PrivateLinkEndpoint", () => sameAsPlain(endpoint, endpointArgs, (a) => ({ ...a, subnetIds: pulumi.output(subnets) })), (bad) => () => void endpoint({ ...endpointArgs(), subnetIds: bad })],
            ["EndpointFlowLogs", () => sameAsPlain(flowLogs, flowLogArgs, (a) => ({ ...a, subnetIds: pulumi.output(subnets) })), (bad) => () => void flowLogs({ ...flowLogArgs(), subnetIds: bad })],
            ["ConnectivityCheck", () => sameAsPlain(check, checkArgs, (a) => ({ ...a, subnetIds: pulumi.output(subnets) })), (bad) => () => void check({ ...checkArgs(), subnetIds: bad })],
        ];
        for (const [component, same, withBad] of cases) {
            it(`${component}: registers the same resources as with the plain list`, async () => {
                await same();
            });
            it(`${component}: refuses a bad subnet ID inside the Output, naming the entry`, async () => {
                await assert.rejects(
                    deploy(() => withBad(pulumi.output([subnets[0]!, "sn-1"]))()),
                    new RegExp(`${component} "(acme|logs)": subnetIds\\[1\\] must be a subnet ID like subnet-`),
                );
            });
        }

        it("EndpointFlowLogs names each flow log after its subnet once the Output resolves", async () => {
            const run = await deploy(() => {
                flowLogs({ subnetIds: pulumi.output(subnets) });
            });
            assert.deepEqual(ofType(run, types.flowLog).map((f) => f.name).sort(), subnets.map((s) => `logs-${s}`));
        });
    });

    describe("every argument an Output", () => {
        it("PrivateLinkService (instance targets, TLS listener, notifications, accepters) registers the same resources", async () => {
            const run = await sameAsPlain(service, serviceArgs, allOutputs);
            assert.deepEqual(ofType(run, types.vpcEndpointConnectionAccepter).map((a) => a.name).sort(), ["acme-accept-vpce-0a1b2c3d4e5f60718", "acme-accept-vpce-1a1b2c3d4e5f60718"]);
        });

        it("PrivateLinkService with IP targets (rules named after the addresses) registers the same resources", async () => {
            await sameAsPlain(service, ipServiceArgs, allOutputs);
        });

        it("PrivateLinkService outputs are the same", async () => {
            const outputs = (args: PrivateLinkServiceArgs) => {
                const s = service(args);
                return { accepted: s.acceptedEndpointIds, topic: s.notificationTopicArn, ingress: s.targetIngress, targets: s.targetSecurityGroupId };
            };
            const plain = await deploy(() => outputs(serviceArgs()));
            const wrapped = await deploy(() => outputs(allOutputs(serviceArgs())));
            assert.deepEqual(wrapped.outputs, plain.outputs);
            assert.deepEqual((plain.outputs.ingress as { ports: number[] }).ports, [443, 8443, 15432]);
        });

        it("PrivateLinkService with notifications { enabled: false } registers the same resources", async () => {
            await sameAsPlain(service, () => ({ ...serviceArgs(), notifications: { enabled: false } }), allOutputs);
        });

        it("PrivateLinkEndpoint registers the same resources and outputs", async () => {
            await sameAsPlain(endpoint, endpointArgs, allOutputs);
            const outputs = (args: PrivateLinkEndpointArgs) => {
                const e = endpoint(args);
                return { hostname: e.hostname, zoneId: e.zoneId, endpointId: e.endpointId, logs: e.flowLogGroupName };
            };
            const plain = await deploy(() => outputs(endpointArgs()));
            const wrapped = await deploy(() => outputs(allOutputs(endpointArgs())));
            assert.deepEqual(wrapped.outputs, plain.outputs);
        });

        it("PrivateLinkEndpoint with an existing zone (its ID an Output) registers the same resources", async () => {
            await sameAsPlain(endpoint, () => ({ ...endpointArgs(), dns: { zoneName: "privatelink.firefly.internal", recordName: "acme", zoneId: "Z0123456789ABCDEFGHIJ" } }), allOutputs);
        });

        it("EndpointFlowLogs registers the same resources, for subnets and for a VPC", async () => {
            await sameAsPlain(flowLogs, flowLogArgs, allOutputs);
            await sameAsPlain(flowLogs, () => ({ vpcId: "vpc-0f1e2d3c4b5a69788", kmsKeyArn: "arn:aws:kms:us-east-1:111111111111:key/0d3f1c2e-4b5a-4c6d-8e7f-9a0b1c2d3e4f" }), allOutputs);
        });

        it("ConnectivityCheck registers the same resources, in Lambda and on the runner", async () => {
            await sameAsPlain(check, checkArgs, allOutputs);
            await sameAsPlain(check, () => ({ hostname: "acme.privatelink.firefly.internal", runFrom: "runner" as const, httpHead: false, tls: false }), allOutputs);
        });

        const refusals: Array<[string, () => void, RegExp]> = [
            [
                "a listener port inside listeners",
                () => void service(allOutputs({ ...serviceArgs(), listeners: [{ port: 443 }, { port: 70000 }] })),
                /PrivateLinkService "acme": listeners\[1\]\.port must be an integer port between 1 and 65535 \(got 70000\)/,
            ],
            [
                "a TLS listener's TLS 1.0 policy",
                () => void service(allOutputs({ ...serviceArgs(), listeners: [{ port: 443, protocol: "TLS", certificateArn, sslPolicy: "ELBSecurityPolicy-2016-08" }] })),
                /PrivateLinkService "acme": listeners\[0\]\.sslPolicy must allow only TLS 1\.2 or newer/,
            ],
            ["a health check path on a TCP check", () => void service(allOutputs({ ...serviceArgs(), listeners: [{ port: 443, healthCheck: { path: "/x" } }] })), /listeners\[0\]\.healthCheck\.path is only used by HTTP\/HTTPS/],
            ["an IP target with instance targets", () => void service(allOutputs({ ...serviceArgs(), targets: ["10.0.0.1"] })), /PrivateLinkService "acme": targets\[0\] must be an instance ID/],
            ["a wildcard principal", () => void service(allOutputs({ ...serviceArgs(), allowedPrincipals: ["*"] })), /allowedPrincipals\[0\] must not contain "\*"/],
            ["a client block of the whole internet", () => void service(allOutputs({ ...serviceArgs(), privateLinkClientCidrs: ["0.0.0.0/0"] })), /privateLinkClientCidrs\[0\] must not be 0\.0\.0\.0\/0/],
            ["an unknown notification event", () => void service(allOutputs({ ...serviceArgs(), notifications: { events: ["Exploded" as "Accept"] } })), /notifications\.events\[0\] must be one of/],
            ["0.1's notifications: false", () => void service(allOutputs({ ...serviceArgs(), notifications: false as unknown as { enabled: false } })), /notifications no longer takes false; write notifications: \{ enabled: false \}/],
            ["a malformed endpoint ID to accept", () => void service(allOutputs({ ...serviceArgs(), acceptEndpointIds: ["vpce-0a1b2c3d4e5f60718", "endpoint-2"] })), /acceptEndpointIds\[1\] must be a VPC endpoint ID like vpce-/],
            ["a repeated endpoint port", () => void endpoint(allOutputs({ ...endpointArgs(), ports: [443, 443] })), /PrivateLinkEndpoint "acme": ports\[1\] repeats port 443/],
            ["a dotted record name", () => void endpoint(allOutputs({ ...endpointArgs(), dns: { zoneName: "privatelink.firefly.internal", recordName: "a.b" } })), /dns\.recordName must be one lower-case DNS label/],
            ["a CIDR as a source group", () => void endpoint(allOutputs({ ...endpointArgs(), sourceSecurityGroupIds: ["0.0.0.0/0"] })), /sourceSecurityGroupIds\[0\] must be a security group ID/],
            ["a flow-log retention CloudWatch does not offer", () => void endpoint(allOutputs({ ...endpointArgs(), flowLogs: { retentionInDays: 42 } })), /PrivateLinkEndpoint "acme": flowLogs\.retentionInDays must be a retention CloudWatch Logs accepts/],
            ["an unknown traffic type", () => void flowLogs(allOutputs({ ...flowLogArgs(), trafficType: "SOME" as "ALL" })), /EndpointFlowLogs "logs": trafficType must be one of "ALL", "ACCEPT", "REJECT"/],
            ["an unsupported aggregation interval", () => void flowLogs(allOutputs({ ...flowLogArgs(), maxAggregationIntervalSeconds: 30 as 60 })), /EndpointFlowLogs "logs": maxAggregationIntervalSeconds must be 60 or 600/],
            ["a probe port the target does not serve", () => void check(allOutputs({ ...checkArgs(), port: 22 })), /ConnectivityCheck "acme": port is 22, which the target does not serve/],
            ["a probe path without a leading slash", () => void check(allOutputs({ ...checkArgs(), httpHeadPath: "health" })), /ConnectivityCheck "acme": httpHeadPath must be a path starting with "\/"/],
            ["an unknown runFrom", () => void check(allOutputs({ ...checkArgs(), runFrom: "ec2" as "lambda" })), /runFrom must be one of "lambda", "runner"/],
        ];
        for (const [what, build, expected] of refusals) {
            it(`refuses ${what} inside an Output when it resolves, with the plain value's message`, async () => {
                let constructed = false;
                await assert.rejects(
                    deploy(() => {
                        build();
                        constructed = true;
                    }),
                    expected,
                );
                assert.ok(constructed, "an Output is checked when it resolves, not at construction");
            });
        }

        it("still refuses plain values at construction, before any resource exists", () => {
            assert.throws(() => service({ ...serviceArgs(), listeners: [{ port: 70000 }] }), /listeners\[0\]\.port must be an integer port/);
            assert.throws(() => endpoint({ ...endpointArgs(), ports: [443, 443] }), /ports\[1\] repeats port 443/);
            assert.throws(() => flowLogs({ ...flowLogArgs(), trafficType: "SOME" as "ALL" }), /trafficType must be one of/);
            assert.throws(() => check({ ...checkArgs(), port: 22 }), /port is 22, which the target does not serve/);
        });
    });

    describe("acceptEndpointIds from a StackReference", () => {
        it("accepts an Output of endpoint IDs (getOutput), one accepter per ID named after it", async () => {
            const ids = ["vpce-0a1b2c3d4e5f60718", "vpce-1a1b2c3d4e5f60718"];
            const run = await deploy(() => {
                const s = service({ ...serviceArgs(), acceptEndpointIds: pulumi.secret(ids) });
                return { accepted: s.acceptedEndpointIds };
            });
            assert.deepEqual(ofType(run, types.vpcEndpointConnectionAccepter).map((a) => a.name).sort(), ids.map((id) => `acme-accept-${id}`));
            assert.deepEqual(run.outputs.accepted, ids);
        });
    });
});
