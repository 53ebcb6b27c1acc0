import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { configKeys, parseStackConfig, StackConfigError } from "../../stacks/config";
import { configKeyOf } from "../../stacks/configKeys";
import type { ProgramRun } from "../../offline/runProgram";
import {
    exampleStackNames,
    readStackSettings,
    settingsFromYaml,
    SimulatedDeployment,
    StackSettings,
} from "../../offline/simulate";
import { judgeStack } from "../../offline/verdict";
import { exampleDeployment, runStack, withConfig } from "../helpers/stacks";
import { ofType, single, types } from "../helpers/resources";

const fireflyRef = "firefly/private-connectivity/firefly-dev";
const customerRef = "firefly/private-connectivity/customer-dev";
const globexRef = "firefly/private-connectivity/customer-globex-dev";

/** acme's PrivateLink endpoint (the firefly stack also has globex's and its private API's execute-api endpoint). */
function privateLinkEndpoint(run: ProgramRun) {
    const endpoints = ofType(run, types.vpcEndpoint).filter((r) => String(r.inputs.serviceName).startsWith("com.amazonaws.vpce.") && r.name === "acme-endpoint");
    assert.equal(endpoints.length, 1, `one PrivateLink endpoint for acme, found ${endpoints.map((e) => e.name).join(", ")}`);
    return endpoints[0]!;
}

/** acme's entry in the platform stack's per-customer outputs. */
function acmeOutputs(run: ProgramRun): { hostname: string; connectivityCheck?: unknown } {
    return (run.outputs.customers as Record<string, { hostname: string; connectivityCheck?: unknown }>).acme!;
}

describe("stacks", () => {
    const customer = readStackSettings("customer-dev");
    const fireflyExample = readStackSettings("firefly-dev");
    // The platform stack serving acme only (the example also serves globex).
    const acmeEntry = (fireflyExample.config["private-connectivity:customers"] as Array<Record<string, unknown>>).find((c) => c.name === "acme")!;
    const firefly = withConfig(fireflyExample, { customers: [acmeEntry] });
    const withAcme = (changes: Record<string, unknown>) => withConfig(firefly, { customers: [{ ...acmeEntry, ...changes }] });

    describe("the example stacks deployed in order (customers, firefly, customers again)", () => {
        let deployment: SimulatedDeployment;
        before(async () => {
            deployment = await exampleDeployment();
        });

        it("converges: a third pass changes nothing", () => {
            assert.equal(deployment.passes, 3);
            const last = deployment.updates.filter((u) => u.pass === 3);
            assert.deepEqual(last.map((u) => u.outputsChanged), [false, false, false]);
        });

        it("the firefly endpoint gets exactly the service name the customer stack exports", () => {
            const customerRun = deployment.final.get("customer-dev")!;
            const fireflyRun = deployment.final.get("firefly-dev")!;
            const exported = customerRun.outputs.endpointServiceName as string;
            assert.match(exported, /^com\.amazonaws\.vpce\.us-east-1\.vpce-svc-[0-9a-f]{17}$/);
            assert.equal(exported, single(customerRun, types.vpcEndpointService).outputs.serviceName);
            assert.equal(privateLinkEndpoint(fireflyRun).inputs.serviceName, exported);
        });

        it("the customer accepts exactly the endpoint IDs the firefly stack exports", () => {
            const customerRun = deployment.final.get("customer-dev")!;
            const fireflyRun = deployment.final.get("firefly-dev")!;
            const exported = (fireflyRun.outputs.endpointIds as Record<string, string[]>).acme;
            assert.deepEqual(exported, [privateLinkEndpoint(fireflyRun).id]);
            assert.deepEqual(ofType(customerRun, types.vpcEndpointConnectionAccepter).map((a) => a.inputs.vpcEndpointId), exported);
            assert.deepEqual(customerRun.outputs.acceptedEndpointIds, exported);
        });

        it("accepts nothing before the firefly stack has deployed, and checks connectivity only after acceptance", () => {
            const [customer1, , firefly1, , , firefly2] = deployment.updates;
            assert.equal(ofType(customer1!.run, types.vpcEndpointConnectionAccepter).length, 0);
            const skipped = acmeOutputs(firefly1!.run).connectivityCheck as { skipped: boolean; reason: string };
            assert.equal(skipped.skipped, true);
            assert.match(skipped.reason, /not accepted by firefly\/private-connectivity\/customer-dev yet: run `pulumi up` on the customer stack/);
            // After acceptance the check would run; offline nothing is probed, and it says so (never a pass).
            const offline = acmeOutputs(firefly2!.run).connectivityCheck as { skipped: boolean; reason: string };
            assert.equal(offline.skipped, true);
            assert.match(offline.reason, /^not run \(offline\)/);
        });

        it("exports the stable hostname from the private zone", () => {
            assert.equal(acmeOutputs(deployment.final.get("firefly-dev")!).hostname, "acme.privatelink.firefly.internal");
        });
    });

    describe("customer stack", () => {
        it("accepts exactly the endpoint IDs the firefly stack reports for it, however many", async () => {
            const ids = ["vpce-0a1b2c3d4e5f60718", "vpce-1b2c3d4e5f6071829"];
            const run = await runStack(customer, { [fireflyRef]: { endpointIds: { acme: ids } } });
            assert.deepEqual(ofType(run, types.vpcEndpointConnectionAccepter).map((a) => a.inputs.vpcEndpointId).sort(), ids);
            const serviceId = single(run, types.vpcEndpointService).id;
            for (const a of ofType(run, types.vpcEndpointConnectionAccepter)) assert.equal(a.inputs.vpcEndpointServiceId, serviceId);
        });

        it("reads the firefly stack through a StackReference named in config", async () => {
            const run = await runStack(customer, { [fireflyRef]: {} });
            const ref = single(run, types.stackReference);
            assert.equal(ref.inputs.name, fireflyRef);
        });

        it("accepts configured endpoint IDs when the firefly stack is in another backend", async () => {
            const run = await runStack(withConfig(customer, { fireflyStack: undefined, acceptEndpointIds: ["vpce-0a1b2c3d4e5f60718"], tunnel: undefined }));
            assert.equal(ofType(run, types.stackReference).length, 0);
            assert.deepEqual(ofType(run, types.vpcEndpointConnectionAccepter).map((a) => a.inputs.vpcEndpointId), ["vpce-0a1b2c3d4e5f60718"]);
        });

        it("fails clearly when the firefly stack's endpointIds entry is not a list of IDs", async () => {
            await assert.rejects(runStack(customer, { [fireflyRef]: { endpointIds: { acme: "vpce-1" } } }), /output endpointIds\.acme must be a list of endpoint IDs/);
        });

        it("exports the service name, ID and ports", async () => {
            const run = await runStack(customer, { [fireflyRef]: {} });
            assert.deepEqual(Object.keys(run.outputs).sort(), [
                "acceptedEndpointIds",
                "endpointRegions",
                "endpointServiceId",
                "endpointServiceName",
                "loadBalancerDnsName",
                "notificationTopicArn",
                "privateApiAccessLogGroup",
                "privateApiEndpointIds",
                "privateApiEndpointSecurityGroupId",
                "privateApiExampleCurl",
                "privateApiId",
                "privateApiInvokeUrl",
                "privateApiInvokerPolicy",
                "serviceAvailabilityZoneIds",
                "servicePorts",
                // The tunnel connector waits for the firefly stack's relay (none in this reference).
                "tunnelConnector",
            ]);
            assert.deepEqual(run.outputs.servicePorts, [443]);
            // Its NLB's subnets' AZ IDs (the fake account maps …011 to use1-az1, …012 to use1-az2).
            assert.deepEqual(run.outputs.serviceAvailabilityZoneIds, ["use1-az1", "use1-az2"]);
            // Its region only: no privateLink.supportedRegions.
            assert.deepEqual(run.outputs.endpointRegions, ["us-east-1"]);
        });
    });

    describe("firefly stack", () => {
        const customerOutputs = {
            endpointServiceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f60718",
            servicePorts: [443, 5432],
            acceptedEndpointIds: [],
        };

        it("names the config key when the endpoint component refuses a value from it (flowLogRetentionDays)", async () => {
            await assert.rejects(runStack(withConfig(firefly, { flowLogRetentionDays: 2 }), { [customerRef]: customerOutputs }), (err: Error) => {
                // By name: the program may run from another module instance than this test's import (offline/project.ts loads it).
                assert.equal(err.name, "StackConfigError", String(err));
                assert.match(err.message, /private-connectivity:flowLogRetentionDays .*\(private-connectivity:index:PrivateLinkEndpoint "acme" checks it as flowLogs\.retentionInDays\)/);
                return true;
            });
        });

        it("follows a recreated endpoint service: a new service name, a new endpoint, the same hostname", async () => {
            const before = await runStack(firefly, { [customerRef]: customerOutputs });
            const after = await runStack(firefly, {
                [customerRef]: { ...customerOutputs, endpointServiceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0fffffffffffffff1" },
            });
            assert.equal(privateLinkEndpoint(after).inputs.serviceName, "com.amazonaws.vpce.us-east-1.vpce-svc-0fffffffffffffff1");
            assert.equal(acmeOutputs(before).hostname, acmeOutputs(after).hostname);
        });

        it("opens the ports the customer stack offers unless the customer's ports say otherwise", async () => {
            const run = await runStack(firefly, { [customerRef]: customerOutputs });
            const ports = ofType(run, types.securityGroupIngressRule)
                .filter((r) => r.parent?.includes("PrivateLinkEndpoint"))
                .map((r) => r.inputs.fromPort);
            assert.deepEqual(ports.sort(), [443, 5432]);
            const narrowed = await runStack(withAcme({ ports: [5432] }), { [customerRef]: customerOutputs });
            const narrowedPorts = ofType(narrowed, types.securityGroupIngressRule)
                .filter((r) => r.parent?.includes("PrivateLinkEndpoint"))
                .map((r) => r.inputs.fromPort);
            assert.deepEqual(narrowedPorts, [5432]);
        });

        it("uses a configured service name without any StackReference", async () => {
            const run = await runStack(withAcme({ stack: undefined, endpointServiceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f60718" }));
            assert.equal(ofType(run, types.stackReference).length, 0);
            assert.equal(privateLinkEndpoint(run).inputs.serviceName, "com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f60718");
        });

        it("refuses to turn on private DNS before the customer accepted any endpoint", async () => {
            await assert.rejects(
                runStack(withAcme({ enablePrivateDns: true }), { [customerRef]: customerOutputs }),
                /private-connectivity:customers\[0\]\.enablePrivateDns needs an accepted endpoint/,
            );
        });

        it("can leave the connectivity check out", async () => {
            const run = await runStack(withAcme({ connectivityCheck: { runFrom: "off" } }), { [customerRef]: customerOutputs });
            assert.equal(ofType(run, types.connectivityCheck).length, 0);
            assert.equal(acmeOutputs(run).connectivityCheck, "off");
        });
    });

    describe("private API (config switch privateApi)", () => {
        let deployment: SimulatedDeployment;
        before(async () => {
            deployment = await exampleDeployment();
        });

        it("both example stacks publish a PRIVATE API through their own execute-api endpoint", () => {
            for (const [stack, name] of [["customer-dev", "acme-api"], ["firefly-dev", "acme-workers-api"]]) {
                const run = deployment.final.get(stack)!;
                const api = single(run, types.privateApi);
                assert.equal(api.name, name);
                const restApi = ofType(run, types.restApi).find((r) => r.parent === api.urn)!;
                assert.deepEqual((restApi.inputs.endpointConfiguration as { types: string }).types, "PRIVATE");
                const endpoint = ofType(run, types.vpcEndpoint).find((r) => String(r.inputs.serviceName).endsWith(".execute-api"))!;
                assert.equal(endpoint.inputs.vpcEndpointType, "Interface");
                assert.deepEqual(run.outputs.privateApiEndpointIds, [endpoint.id]);
                assert.match(String(run.outputs.privateApiInvokeUrl), /^https:\/\/\w+\.execute-api\.us-east-1\.amazonaws\.com\/v1$/);
                assert.match(String(run.outputs.privateApiExampleCurl), /--aws-sigv4 "aws:amz:us-east-1:execute-api"/);
            }
        });

        it("lets exactly the configured callers reach the endpoint: the customer's groups, the firefly workers by default", () => {
            const callers = (stack: string) => {
                const run = deployment.final.get(stack)!;
                const api = single(run, types.privateApi);
                const inApi = (urn: string | undefined): boolean => urn !== undefined && (urn === api.urn || inApi(run.resources.find((r) => r.urn === urn)?.parent));
                return ofType(run, types.securityGroupIngressRule)
                    .filter((r) => inApi(r.parent))
                    .map((r) => `${r.inputs.referencedSecurityGroupId}:${r.inputs.fromPort}`);
            };
            assert.deepEqual(callers("customer-dev"), ["sg-0c0ffee0c0ffee0a1:443"]);
            assert.deepEqual(callers("firefly-dev"), ["sg-0f1ef1ef1ef1ef1a1:443"]);
        });

        it("passes the policy pack on both stacks with the API enabled", async () => {
            for (const stack of ["customer-dev", "firefly-dev"]) {
                const run = deployment.final.get(stack)!;
                assert.ok(ofType(run, types.privateApi).length === 1, `${stack} has the API`);
                // With the stack's own policy config, as npm start and the CI preview use it (the relay's exceptions).
                const file = path.join(__dirname, "..", "..", "stacks", `policy-config.${stack}.json`);
                const config = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>) : undefined;
                const verdict = await judgeStack(stack, run, { project: "private-connectivity", config });
                assert.deepEqual(verdict.violations.map((v) => `${v.policyName} ${v.resourceName}`), [], stack);
            }
        });

        it("creates nothing when switched off, and adds no outputs", async () => {
            const settings = withConfig(customer, { privateApi: { ...(customer.config["private-connectivity:privateApi"] as object), enabled: false } });
            const run = await runStack(settings, { [fireflyRef]: {} });
            assert.equal(ofType(run, types.privateApi).length, 0);
            assert.equal(ofType(run, types.restApi).length, 0);
            assert.ok(!Object.keys(run.outputs).some((k) => k.startsWith("privateApi")));
        });

        it("serves existing endpoints only when told not to create one", async () => {
            const settings = withConfig(fireflyExample, {
                privateApi: { createEndpoint: false, existingEndpointIds: ["vpce-0123456789abcdef0"], routes: [{ path: "/", method: "GET", integration: { type: "MOCK" } }] },
            });
            const run = await runStack(settings, {
                [customerRef]: deployment.final.get("customer-dev")!.outputs,
                [globexRef]: deployment.final.get("customer-globex-dev")!.outputs,
            });
            assert.deepEqual(run.outputs.privateApiEndpointIds, ["vpce-0123456789abcdef0"]);
            assert.ok(!ofType(run, types.vpcEndpoint).some((r) => String(r.inputs.serviceName).endsWith(".execute-api")));
        });
    });

    describe("configuration", () => {
        const parse = (values: Record<string, unknown>) =>
            parseStackConfig(
                Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
                "private-connectivity",
            );
        const strip = (settings: StackSettings) =>
            Object.fromEntries(
                Object.entries(settings.config)
                    .filter(([k]) => k.startsWith("private-connectivity:"))
                    .map(([k, v]) => [k.slice("private-connectivity:".length), v]),
            );

        it("accepts both example configs", () => {
            assert.equal(parse(strip(customer)).role, "customer");
            assert.equal(parse(strip(firefly)).role, "firefly");
        });

        const cases: Array<[string, StackSettings, Record<string, unknown>, RegExp]> = [
            ["a missing role", customer, { role: undefined }, /private-connectivity:role must be "customer" or "firefly" \(got nothing\); set it with `pulumi config set role customer`/],
            ["an unknown role", customer, { role: "platform" }, /private-connectivity:role must be "customer" or "firefly" \(got "platform"\)/],
            ["a misspelt key", customer, { platformAcountIds: ["1"] }, /unknown key "private-connectivity:platformAcountIds"/],
            ["a key of the other role", customer, { customerStack: customerRef }, /unknown key "private-connectivity:customerStack"/],
            ["a customer name that is not a DNS label", customer, { customerName: "Acme Corp" }, /private-connectivity:customerName: must be one lower-case DNS label/],
            ["no platform accounts", customer, { platformAccountIds: [] }, /private-connectivity:platformAccountIds: must list the platform's AWS account ID/],
            ["a port given as text", customer, { privateLink: { listeners: [{ port: "443" }], targets: ["10.0.0.1"] } }, /private-connectivity:privateLink\.listeners\[0\]\.port: Invalid input: expected number/],
            ["an unknown listener key", customer, { privateLink: { listeners: [{ port: 443, proto: "TCP" }], targets: ["10.0.0.1"] } }, /private-connectivity:privateLink\.listeners\[0\]: unknown key "proto"/],
            ["a stack name that is not fully qualified", customer, { fireflyStack: "firefly-dev" }, /private-connectivity:fireflyStack: must be a fully qualified stack name/],
            ["a customer entry without its service", firefly, { customers: [{ ...acmeEntry, stack: undefined }] }, /private-connectivity:customers\[0\]\.stack: needs its service/],
            ["an unknown check location", firefly, { customers: [{ ...acmeEntry, connectivityCheck: { runFrom: "laptop" } }] }, /private-connectivity:customers\[0\]\.connectivityCheck\.runFrom: Invalid option/],
            [
                "a customer private API nobody may call",
                customer,
                { privateApi: { routes: [{ path: "/", method: "GET", integration: { type: "MOCK" } }] } },
                /private-connectivity:privateApi\.callerSecurityGroupIds: must name who may call the API/,
            ],
            [
                "an unknown integration type",
                firefly,
                { privateApi: { routes: [{ path: "/", method: "GET", integration: { type: "LAMBDA", functionArn: "x" } }] } },
                /private-connectivity:privateApi\.routes\[0\]\.integration\.type: Invalid discriminator value\. Expected 'AWS_PROXY' \| 'HTTP_PROXY' \| 'MOCK'/,
            ],
            ["a private API without routes", firefly, { privateApi: { routes: [] } }, /private-connectivity:privateApi\.routes: must list at least one route/],
            [
                "no endpoint at all",
                firefly,
                { privateApi: { createEndpoint: false, routes: [{ path: "/", method: "GET", integration: { type: "MOCK" } }] } },
                /private-connectivity:privateApi\.existingEndpointIds: with createEndpoint: false, list the execute-api endpoints/,
            ],
            [
                "a misspelt private API key",
                firefly,
                { privateApi: { throttle: { rateLimit: 1 }, routes: [{ path: "/", method: "GET", integration: { type: "MOCK" } }] } },
                /private-connectivity:privateApi: unknown key "throttle"/,
            ],
        ];
        for (const [what, base, changes, expected] of cases) {
            it(`refuses ${what}, naming the key`, () => {
                const values = strip(withConfig(base, changes));
                assert.throws(() => parse(values), (err: Error) => {
                    assert.ok(err instanceof StackConfigError);
                    assert.match(err.message, expected);
                    return true;
                });
            });
        }

        it("fails the program (not later, inside AWS) on bad config", async () => {
            await assert.rejects(runStack(withConfig(customer, { role: "platform" })), /private-connectivity:role must be "customer" or "firefly"/);
        });

        // A value the schema admits but a component refuses: the error names the config key the
        // user wrote, not only the component's field (which the stack file never mentions).
        const refusedByComponent: Array<[string, StackSettings, Record<string, unknown>, RegExp]> = [
            [
                "a wildcard platform account",
                customer,
                { platformAccountIds: ["*"] },
                /^invalid stack configuration:\n {2}- private-connectivity:platformAccountIds\[0\] must not contain "\*" .*\(private-connectivity:index:PrivateLinkService "acme" checks it as allowedPrincipals\[0\]\)$/,
            ],
            [
                "private API callers from anywhere",
                customer,
                { privateApi: { callerCidrs: ["0.0.0.0/0"], routes: [{ path: "/", method: "GET", integration: { type: "MOCK" } }] } },
                /private-connectivity:privateApi\.callerCidrs\[0\] .*\(private-connectivity:index:PrivateApi "acme-api" checks it as endpoint\.allowedSourceCidrs\[0\]\)/,
            ],
            [
                "a customer name too long for the NLB's name",
                customer,
                { customerName: "globex-industries-intl" },
                /private-connectivity:customerName is too long: Pulumi names the load balancer "globex-industries-intl-nlb-" plus 7 random characters, 34 in all, and Elastic Load Balancing allows 32; use a name of at most 20 characters \(private-connectivity:index:PrivateLinkService "globex-industries-intl" checks it as name\)/,
            ],
        ];
        for (const [what, base, changes, expected] of refusedByComponent) {
            it(`names the config key when a component refuses its value: ${what}`, async () => {
                await assert.rejects(runStack(withConfig(base, changes)), (err: Error) => {
                    // By name: the program may run from another module instance than this test's import (offline/project.ts loads it).
                    assert.equal(err.name, "StackConfigError", String(err));
                    assert.match(err.message, expected);
                    return true;
                });
            });
        }

        it("maps a component's field to the config key it came from: the longest argument path that holds it, then the rest of the path", () => {
            const keys = { endpoint: "privateApi", "endpoint.allowedSourceCidrs": "privateApi.callerCidrs", allowedPrincipals: "platformAccountIds" };
            assert.equal(configKeyOf("endpoint.allowedSourceCidrs[2]", keys), "privateApi.callerCidrs[2]");
            assert.equal(configKeyOf("endpoint.vpcId", keys), "privateApi.vpcId");
            assert.equal(configKeyOf("allowedPrincipals", keys), "platformAccountIds");
            assert.equal(configKeyOf("allowedPrincipalsExtra", keys), undefined, "a field that only starts with the same letters is another field");
            assert.equal(configKeyOf("tags.team", keys), undefined, "an argument the program made up itself names no key");
        });

        it("refuses secrets in a stack file it has to read offline", () => {
            assert.throws(
                () => settingsFromYaml("x", "config:\n  private-connectivity:token:\n    secure: AAABAxyz\n"),
                /private-connectivity:token is a secret; the offline plan cannot decrypt it/,
            );
        });

        it("Pulumi.yaml runs stacks/ with stack files in stacks/, and declares only keys every role needs", () => {
            const project = parseYaml(fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), "utf8")) as {
                name: string;
                runtime: { name: string };
                main: string;
                stackConfigDir: string;
                config: Record<string, { type: string; description: string }>;
            };
            assert.equal(project.name, "private-connectivity");
            assert.equal(project.runtime.name, "nodejs");
            assert.equal(project.main, "stacks/");
            assert.equal(project.stackConfigDir, "stacks");
            for (const [key, declaration] of Object.entries(project.config)) {
                // A declared key without a default is required by Pulumi for every stack.
                assert.ok(configKeys.customer.includes(key) && configKeys.firefly.includes(key), `${key} is used by both roles`);
                assert.ok(declaration.type && declaration.description, `${key} has a type and a description`);
            }
        });

        it("every example stack file names a role and parses", () => {
            assert.deepEqual(exampleStackNames(), ["customer-dev", "customer-globex-dev", "firefly-dev"]);
        });
    });
});
