import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { undocumented, type PackageSchema } from "../helpers/schema";
import { ProviderHost } from "../helpers/providerHost";
import { types } from "../helpers/resources";

const root = path.resolve(__dirname, "..", "..");
const components = ["ConnectivityCheck", "EndpointFlowLogs", "PrivateApi", "PrivateLinkEndpoint", "PrivateLinkService", "TunnelConnector", "TunnelRelay"];

// The package as `pulumi package add <repo>` uses it from Python, Go, C#, YAML or TypeScript: the
// CLI runs the package directory as a Node.js plugin (PulumiPlugin.yaml), which serves a schema
// inferred from the TypeScript sources (SDKs are generated from it) and constructs components on
// the engine's request. Here this test plays the engine: it starts the provider process the way
// the Node.js language host does and talks gRPC to it, with a resource monitor on the offline cloud.
describe("the component provider (source-based Pulumi package)", function () {
    this.timeout(180_000);
    const host = new ProviderHost({ accountId: "111111111111", region: "us-east-1" });
    let schema: PackageSchema;

    before(async () => {
        assert.ok(fs.existsSync(path.join(root, "dist", "components", "index.js")), "dist/ is missing: run `npm run build` (npm test does)");
        await host.start();
        schema = (await host.getSchema()) as PackageSchema;
    });
    after(() => host.stop());

    it("is a Node.js plugin package: PulumiPlugin.yaml says runtime nodejs", () => {
        assert.match(fs.readFileSync(path.join(root, "PulumiPlugin.yaml"), "utf8"), /^runtime:\s*nodejs\s*$/m);
    });

    it("serves a schema named after the npm package, at the package's version, with every component", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
        assert.equal(schema.name, "private-connectivity");
        assert.equal(schema.version, pkg.version);
        const served = Object.entries(schema.resources).filter(([, r]) => r.isComponent).map(([token]) => token).sort();
        assert.deepEqual(served, components.map((c) => `private-connectivity:index:${c}`));
    });

    for (const component of components) {
        it(`${component}: every input and output, and every property of the types they use, has a description`, () => {
            assert.deepEqual(undocumented(schema, component), []);
            const resource = schema.resources[`private-connectivity:index:${component}`]!;
            assert.ok(resource.description, "the component has a description");
            assert.ok(Object.keys(resource.inputProperties ?? {}).length > 0, "inputs");
            assert.ok(Object.keys(resource.properties ?? {}).length > 0, "outputs");
        });
    }

    it("types list arguments as arrays and string choices as enums, e.g. PrivateLinkService's listeners and protocol", () => {
        const service = schema.resources["private-connectivity:index:PrivateLinkService"]!;
        assert.equal(service.inputProperties!.subnetIds!.type, "array");
        assert.equal(service.inputProperties!.subnetIds!.items!.type, "string");
        const listenerRef = service.inputProperties!.listeners!.items!.$ref!;
        const listener = schema.types![listenerRef.replace("#/types/", "")]!;
        const protocolRef = listener.properties!.protocol!.$ref!;
        const protocol = schema.types![protocolRef.replace("#/types/", "")]!;
        assert.deepEqual(protocol.enum!.map((e) => e.value).sort(), ["TCP", "TLS"]);
    });

    // The README's Python and YAML examples must match the schema the SDKs are generated from.
    describe("the README's examples in other languages", () => {
        const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
        const section = readme.slice(readme.indexOf("### From Python, Go, C#, YAML"));
        const blocks = (lang: string) => [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].filter((m) => m[1] === lang).map((m) => m[2]!);
        const inputsOf = (component: string) => {
            const resource = schema.resources[`private-connectivity:index:${component}`];
            assert.ok(resource, `${component} is in the schema`);
            return resource;
        };

        it("YAML: every component's properties are inputs of the schema, and its required inputs are given", () => {
            const [program] = blocks("yaml");
            assert.ok(program, "a YAML example");
            const doc = parseYaml(program) as { resources: Record<string, { type: string; properties: Record<string, unknown> }>; outputs: Record<string, string> };
            let checked = 0;
            for (const [name, r] of Object.entries(doc.resources)) {
                const m = /^private-connectivity:index:(\w+)$/.exec(r.type);
                if (!m) continue;
                checked++;
                const resource = inputsOf(m[1]!);
                const inputs = Object.keys(resource.inputProperties ?? {});
                assert.deepEqual(Object.keys(r.properties).filter((p) => !inputs.includes(p)), [], `${name}: properties the schema does not have`);
                assert.deepEqual((resource.requiredInputs ?? []).filter((p) => !(p in r.properties)), [], `${name}: required inputs missing`);
                for (const [, expression] of Object.entries(doc.outputs)) {
                    const out = new RegExp(`^\\$\\{${name}\\.(\\w+)\\}$`).exec(expression);
                    if (out) assert.ok(out[1]! in (resource.properties ?? {}), `output ${out[1]} of ${name}`);
                }
            }
            assert.ok(checked > 0);
        });

        it("Python: every keyword argument is an input of the schema (snake_case of the TypeScript name), and required inputs are given", () => {
            const [program] = blocks("python");
            assert.ok(program, "a Python example");
            const camel = (snake: string) => snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
            let checked = 0;
            for (const call of program.matchAll(/pc\.(\w+)\("[^"]+",([\s\S]*?)\)\n(?=\S|$)/g)) {
                checked++;
                const resource = inputsOf(call[1]!);
                const given = [...call[2]!.matchAll(/^\s*(\w+)=/gm)].map((m) => camel(m[1]!));
                const inputs = Object.keys(resource.inputProperties ?? {});
                assert.deepEqual(given.filter((g) => !inputs.includes(g)), [], `${call[1]}: keyword arguments the schema does not have`);
                assert.deepEqual((resource.requiredInputs ?? []).filter((p) => !given.includes(p)), [], `${call[1]}: required inputs missing`);
            }
            assert.ok(checked > 0);
        });
    });

    describe("Construct, as a program in another language creates the components", () => {
        const vpc = "urn:pulumi:dev::consumer::awsx:ec2:Vpc::vpc";
        let serviceName = "";

        it("PrivateLinkService: the NLB, endpoint service and their children, from inputs that arrive as Outputs (subnets from another resource)", async () => {
            const before = host.registered.length;
            const result = await host.construct({
                type: "private-connectivity:index:PrivateLinkService",
                name: "acme",
                inputs: {
                    vpcId: "vpc-0c0ffee0c0ffee001",
                    subnetIds: ["subnet-0c0ffee0c0ffee011", "subnet-0c0ffee0c0ffee012"],
                    listeners: [{ port: 443 }],
                    targetType: "ip",
                    targets: ["10.20.1.15"],
                    allowedPrincipals: ["222222222222"],
                    privateLinkClientCidrs: ["10.30.0.0/16"],
                },
                // As from `awsx.ec2.Vpc(...).private_subnet_ids` in Python: the list depends on the VPC.
                dependencies: { vpcId: [vpc], subnetIds: [vpc] },
            });
            assert.match(result.urn, /[:$]private-connectivity:index:PrivateLinkService::acme$/);
            serviceName = String(result.state.serviceName);
            assert.match(serviceName, /^com\.amazonaws\.vpce\.us-east-1\.vpce-svc-[0-9a-f]+$/);
            const mine = host.registered.slice(before);
            const component = mine.find((r) => r.type === "private-connectivity:index:PrivateLinkService")!;
            assert.equal(component.name, "acme");
            const children = mine.filter((r) => r.parent === result.urn);
            const lb = children.find((r) => r.type === types.loadBalancer)!;
            assert.equal(lb.inputs.internal, true);
            assert.deepEqual(lb.inputs.subnets, ["subnet-0c0ffee0c0ffee011", "subnet-0c0ffee0c0ffee012"]);
            const service = children.find((r) => r.type === types.vpcEndpointService)!;
            assert.equal(service.inputs.acceptanceRequired, true);
            assert.deepEqual(service.inputs.allowedPrincipals, ["arn:aws:iam::222222222222:root"]);
            assert.ok(children.some((r) => r.type === types.targetGroup));
            assert.ok(children.some((r) => r.type === types.listener));
        });

        it("PrivateLinkEndpoint: the interface endpoint with its own security group and flow logs", async () => {
            const before = host.registered.length;
            const result = await host.construct({
                type: "private-connectivity:index:PrivateLinkEndpoint",
                name: "acme",
                inputs: {
                    vpcId: "vpc-0f1ef1ef1ef1ef101",
                    subnetIds: ["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112"],
                    // The service the previous test published, as a StackReference would read it.
                    serviceName,
                    ports: [443],
                    sourceSecurityGroupIds: ["sg-0f1ef1ef1ef1ef1a1"],
                    dns: { zoneName: "privatelink.firefly.internal", recordName: "acme" },
                },
                dependencies: { subnetIds: [vpc] },
            });
            assert.match(result.urn, /[:$]private-connectivity:index:PrivateLinkEndpoint::acme$/);
            const mine = host.registered.slice(before);
            const endpoint = mine.find((r) => r.type === types.vpcEndpoint)!;
            assert.equal(endpoint.parent, result.urn);
            assert.equal(endpoint.inputs.vpcEndpointType, "Interface");
            assert.deepEqual(endpoint.inputs.subnetIds, ["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112"]);
            assert.ok(mine.some((r) => r.type === types.securityGroup && r.parent === result.urn));
            assert.ok(mine.some((r) => r.type === "private-connectivity:index:EndpointFlowLogs"));
            assert.ok(mine.some((r) => r.type === types.flowLog));
            assert.ok(typeof result.state.endpointId === "string" && String(result.state.endpointId).startsWith("vpce-"), JSON.stringify(result.state));
            assert.equal(result.state.hostname, "acme.privatelink.firefly.internal");
            assert.ok(mine.some((r) => r.type === types.route53Record && r.parent === result.urn));
        });

        it("a bad value inside an input that arrives as an Output fails the Construct with the message naming the field", async () => {
            await assert.rejects(
                host.construct({
                    type: "private-connectivity:index:PrivateLinkService",
                    name: "bad",
                    inputs: {
                        vpcId: "vpc-0c0ffee0c0ffee001",
                        subnetIds: ["subnet-0c0ffee0c0ffee011", "sg-0c0ffee0c0ffee0a1"],
                        listeners: [{ port: 443 }],
                        targetType: "ip",
                        targets: ["10.20.1.15"],
                        allowedPrincipals: ["222222222222"],
                    },
                    dependencies: { subnetIds: [vpc] },
                }),
                /PrivateLinkService "bad": subnetIds\[1\] must be a subnet ID/,
            );
        });
    });
});
