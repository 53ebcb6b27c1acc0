import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { StackConfigError } from "../../stacks/config";
import { matchOldState } from "../../offline/aliases";
import type { ProgramRun } from "../../offline/runProgram";
import { readStackSettings, SimulatedDeployment } from "../../offline/simulate";
import { exampleDeployment, parseSettings, runStack, withConfig } from "../helpers/stacks";
import { ofType, types } from "../helpers/resources";

// Issue 14: one platform stack serves every customer; onboarding customer N+1 touches no one else.

const fireflyRef = "firefly/private-connectivity/firefly-dev";
const customerRef = "firefly/private-connectivity/customer-dev";

/** A customer given by service name (no StackReference), with its own relay port. */
function customerEntry(name: string, port: number, serviceHex: string): Record<string, unknown> {
    return {
        name,
        endpointServiceName: `com.amazonaws.vpce.us-east-1.vpce-svc-${serviceHex}`,
        availabilityZoneIds: ["use1-az1", "use1-az2"],
        ports: [443],
        connectivityCheck: { runFrom: "lambda", servername: `git.${name}.example.com` },
        tunnel: { principal: `customer-${name}`, listen: [`0.0.0.0:${port}`] },
    };
}
const acme = customerEntry("acme", 40001, "0a1b2c3d4e5f60718");
const globex = customerEntry("globex", 40002, "0b1b2c3d4e5f60718");
const initech = customerEntry("initech", 40003, "0c1b2c3d4e5f60718");

/** A customer's own resources in a platform run, by URN: everything named after it. */
function resourcesOf(run: ProgramRun, name: string): Map<string, unknown> {
    return new Map(
        run.resources
            .filter((r) => r.name === name || r.name.startsWith(`${name}-`) || r.name === `customer-${name}` || r.name === `relay-dns-${name}`)
            .map((r) => [r.urn, r.inputs]),
    );
}

describe("stacks: one platform stack for every customer (customers list)", () => {
    const firefly = readStackSettings("firefly-dev");
    const acmeStack = readStackSettings("customer-dev");
    const globexStack = readStackSettings("customer-globex-dev");
    const platform = (customers: Record<string, unknown>[]) => withConfig(firefly, { customers, migratedFrom: undefined });

    describe("resource names are keyed by customer name, never by list position", () => {
        const plans: Array<[string, Record<string, unknown>[]]> = [
            ["2 customers", [acme, globex]],
            ["3 customers", [acme, globex, initech]],
            ["the 3 reordered", [initech, acme, globex]],
            ["2 again", [acme, globex]],
        ];
        const runs = new Map<string, ProgramRun>();
        before(async () => {
            for (const [label, customers] of plans) runs.set(label, await runStack(platform(customers)));
        });

        it("adding, reordering and removing customers leaves the others' URNs and inputs identical", () => {
            const first = runs.get("2 customers")!;
            for (const name of ["acme", "globex"]) {
                const before = resourcesOf(first, name);
                assert.ok(before.size >= 10, `${name} has its own endpoint, security group, flow logs, record, check and alarm (${before.size})`);
                for (const [label] of plans.slice(1)) {
                    assert.deepEqual(resourcesOf(runs.get(label)!, name), before, `${name} after ${label}`);
                }
            }
            const initechBefore = resourcesOf(runs.get("3 customers")!, "initech");
            assert.deepEqual(resourcesOf(runs.get("the 3 reordered")!, "initech"), initechBefore);
            assert.equal(resourcesOf(runs.get("2 again")!, "initech").size, 0, "a removed customer leaves nothing behind");
        });

        it("shares one private zone, one execute-api endpoint and one relay fleet, whatever the number of customers", () => {
            for (const [label, customers] of plans) {
                const run = runs.get(label)!;
                assert.equal(ofType(run, types.route53Zone).length, 1, label);
                assert.equal(ofType(run, types.vpcEndpoint).filter((e) => String(e.inputs.serviceName).endsWith(".execute-api")).length, 1, label);
                assert.equal(ofType(run, types.tunnelRelay).length, 1, label);
                assert.equal(ofType(run, types.privateLinkEndpoint).length, customers.length, label);
                assert.deepEqual(Object.keys(run.outputs.endpointIds as object).sort(), customers.map((c) => c.name).sort());
            }
        });
    });

    describe("acceptance stays exact: each customer stack accepts only its own entry", () => {
        const ids = { acme: ["vpce-0a0a0a0a0a0a0a0a0"], globex: ["vpce-0b0b0b0b0b0b0b0b0"] };
        const accepted = (run: ProgramRun) => ofType(run, types.vpcEndpointConnectionAccepter).map((a) => a.inputs.vpcEndpointId);

        it("customer B's stack ignores A's endpoint IDs", async () => {
            assert.deepEqual(accepted(await runStack(globexStack, { [fireflyRef]: { endpointIds: ids } })), ids.globex);
            assert.deepEqual(accepted(await runStack(acmeStack, { [fireflyRef]: { endpointIds: ids } })), ids.acme);
        });

        it("accepts nothing while the platform lists only other customers", async () => {
            assert.deepEqual(accepted(await runStack(globexStack, { [fireflyRef]: { endpointIds: { acme: ids.acme } } })), []);
        });

        it("refuses a platform output that is a bare list (whose endpoints would those be?)", async () => {
            await assert.rejects(runStack(globexStack, { [fireflyRef]: { endpointIds: ids.acme } }), /output endpointIds must map customer names to endpoint IDs/);
        });
    });

    describe("bad input is refused at config load, naming the key and the fix", () => {
        const parse = parseSettings;
        const cases: Array<[string, Record<string, unknown>, RegExp]> = [
            ["an empty customers list", { customers: [] }, /private-connectivity:customers: must list at least one customer/],
            ["no customers list", { customers: undefined }, /private-connectivity:customers: Invalid input/],
            [
                "two customers with one name",
                { customers: [acme, { ...globex, name: "acme" }] },
                /private-connectivity:customers\[1\]\.name: "acme" is already customers\[0\]\.name; .*give each customer its own name/,
            ],
            [
                "two customers on one relay port",
                { customers: [acme, { ...globex, tunnel: { principal: "customer-globex", listen: ["0.0.0.0:40001"] } }] },
                /private-connectivity:customers\[1\]\.tunnel\.listen\[0\]: relay port 40001 is already acme's \(customers\[0\]\.tunnel\.listen\[0\]\); .*pick a free one/,
            ],
            [
                "two customers on one hostname",
                { customers: [acme, { ...globex, hostname: "acme.privatelink.firefly.internal" }] },
                /private-connectivity:customers\[1\]\.hostname: acme\.privatelink\.firefly\.internal is already customers\[0\]'s hostname/,
            ],
            [
                "a hostname outside the private zone",
                { customers: [{ ...acme, hostname: "acme.example.com" }] },
                /private-connectivity:customers\[0\]\.hostname: must be one lower-case label in the private zone/,
            ],
            ["a customer without a service", { customers: [{ name: "acme" }] }, /private-connectivity:customers\[0\]\.stack: needs its service/],
            [
                "a customer in the relay's own list as well",
                { customers: [acme], tunnel: { ...(firefly.config["private-connectivity:tunnel"] as object), customers: [{ name: "acme", principal: "customer-acme", listen: ["0.0.0.0:40009"] }] } },
                /private-connectivity:tunnel\.customers\[0\]: the relay already has customer "acme" from customers\[0\]\.tunnel; keep one/,
            ],
            [
                "a relay without any customer",
                { customers: [{ ...acme, tunnel: undefined }] },
                /private-connectivity:tunnel: the relay has no customers; give a customer its relay principal and ports in customers\[i\]\.tunnel/,
            ],
            [
                "the single-customer keys",
                { customerName: "acme", customerStack: customerRef },
                /private-connectivity:customerName is the single-customer form, no longer read by a firefly stack; move it to private-connectivity:customers\[0\]\.name[\s\S]*private-connectivity:customerStack .*move it to private-connectivity:customers\[0\]\.stack/,
            ],
        ];
        for (const [what, changes, expected] of cases) {
            it(`refuses ${what}`, () => {
                assert.throws(() => parse(withConfig(firefly, changes)), (err: Error) => {
                    assert.ok(err instanceof StackConfigError, String(err));
                    assert.match(err.message, expected);
                    return true;
                });
            });
        }

        it("refuses a customer whose stack and explicit service name disagree, before creating anything", async () => {
            const settings = platform([{ name: "acme", stack: customerRef, endpointServiceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaaaa", tunnel: acme.tunnel }]);
            await assert.rejects(
                runStack(settings, { [customerRef]: { endpointServiceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0bbbbbbbbbbbbbbbb", servicePorts: [443] } }),
                /private-connectivity:customers\[0\]\.endpointServiceName: "com\.amazonaws\.vpce\.us-east-1\.vpce-svc-0aaaaaaaaaaaaaaaa" disagrees with firefly\/private-connectivity\/customer-dev's endpointServiceName "com\.amazonaws\.vpce\.us-east-1\.vpce-svc-0bbbbbbbbbbbbbbbb"; remove endpointServiceName/,
            );
        });

        it("refuses a connectivity check on a port the customer's endpoint does not serve", async () => {
            const settings = platform([{ name: "acme", stack: customerRef, connectivityCheck: { runFrom: "lambda", port: 8443 }, tunnel: acme.tunnel }]);
            await assert.rejects(
                runStack(settings, { [customerRef]: { endpointServiceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaaaa", servicePorts: [443] } }),
                /"acme-check": port is 8443, which the target does not serve \(its security group opens 443\)/,
            );
        });

        it("accepts a stack and a service name that agree", async () => {
            const name = "com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaaaa";
            const run = await runStack(platform([{ name: "acme", stack: customerRef, endpointServiceName: name, tunnel: acme.tunnel }]), {
                [customerRef]: { endpointServiceName: name, servicePorts: [443] },
            });
            assert.equal(ofType(run, types.vpcEndpoint).find((e) => e.name === "acme-endpoint")!.inputs.serviceName, name);
        });
    });

    describe("the example deployment: acme and globex behind firefly-dev", () => {
        let deployment: SimulatedDeployment;
        before(async () => {
            deployment = await exampleDeployment();
        });

        it("plans one private zone, one execute-api endpoint, two customer endpoints and one relay fleet", () => {
            const run = deployment.final.get("firefly-dev")!;
            assert.equal(ofType(run, types.route53Zone).length, 1);
            const endpoints = ofType(run, types.vpcEndpoint);
            assert.equal(endpoints.filter((e) => String(e.inputs.serviceName).endsWith(".execute-api")).length, 1);
            assert.deepEqual(endpoints.filter((e) => String(e.inputs.serviceName).startsWith("com.amazonaws.vpce.")).map((e) => e.name).sort(), ["acme-endpoint", "globex-endpoint"]);
            assert.equal(ofType(run, types.tunnelRelay).length, 1);
        });

        it("each customer stack accepts exactly its own endpoint, and the platform reports it available", () => {
            const run = deployment.final.get("firefly-dev")!;
            const exported = run.outputs.endpointIds as Record<string, string[]>;
            const customers = run.outputs.customers as Record<string, { endpointId: string; endpointState: string; connectivityCheck: { skipped: boolean; reason: string }; notAvailableAlarm: string }>;
            for (const [stack, name] of [["customer-dev", "acme"], ["customer-globex-dev", "globex"]] as const) {
                const customer = deployment.final.get(stack)!;
                assert.deepEqual(ofType(customer, types.vpcEndpointConnectionAccepter).map((a) => a.inputs.vpcEndpointId), exported[name]);
                assert.deepEqual(exported[name], [customers[name]!.endpointId]);
                assert.equal(customers[name]!.endpointState, "available");
                // Offline, nothing is probed: the check says so instead of reporting a pass.
                assert.equal(customers[name]!.connectivityCheck.skipped, true);
                assert.match(customers[name]!.connectivityCheck.reason, /^not run \(offline\)/);
                assert.match(customers[name]!.notAvailableAlarm, new RegExp(`^${name}-endpoint-not-available`));
            }
        });

        it("the first platform update sees pendingAcceptance and skips the check until the customer accepts", () => {
            const first = deployment.updates.find((u) => u.stack === "firefly-dev")!;
            const customers = first.run.outputs.customers as Record<string, { endpointState: string; connectivityCheck: { reason: string } }>;
            assert.equal(customers.globex!.endpointState, "pendingAcceptance");
            assert.match(customers.globex!.connectivityCheck.reason, /not accepted by firefly\/private-connectivity\/customer-globex-dev yet/);
        });

        it("alarms per customer when its endpoint is not available, fed by one scheduled state check", () => {
            const run = deployment.final.get("firefly-dev")!;
            const alarms = ofType(run, "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => a.name.endsWith("-endpoint-not-available"));
            assert.deepEqual(alarms.map((a) => a.name).sort(), ["acme-endpoint-not-available", "globex-endpoint-not-available"]);
            for (const alarm of alarms) {
                assert.equal(alarm.inputs.namespace, "Firefly/PrivateLink");
                assert.equal(alarm.inputs.metricName, "EndpointAvailable");
                assert.equal(alarm.inputs.treatMissingData, "breaching");
                assert.deepEqual(alarm.inputs.alarmActions, ["arn:aws:sns:us-east-1:222222222222:platform-oncall"]);
            }
            const checker = ofType(run, "aws:lambda/function:Function").find((f) => f.name === "endpoint-health")!;
            const watched = JSON.parse(String((checker.inputs.environment as { variables: { ENDPOINTS: string } }).variables.ENDPOINTS)) as Record<string, string>;
            const customers = run.outputs.customers as Record<string, { endpointId: string }>;
            assert.deepEqual(watched, { acme: customers.acme!.endpointId, globex: customers.globex!.endpointId });
            assert.equal(ofType(run, "aws:cloudwatch/eventRule:EventRule").find((r) => r.name === "endpoint-health-schedule")!.inputs.scheduleExpression, "rate(5 minutes)");
        });
    });

    describe("migration from the single-customer config", () => {
        // The single-customer platform stack as commit a78d45b's own code planned it (see the fixture's comment).
        const fixture = path.join(__dirname, "..", "layout", "fixtures", "a78d45b-state.json");
        const recorded = JSON.parse(fs.readFileSync(fixture, "utf8")) as { stacks: Record<string, Array<{ urn: string }>> };
        // StackReferences are reads: renamed ("customer" became "customer-acme"), they read again and
        // change nothing in the cloud. Every managed resource must be kept.
        const oldUrns = recorded.stacks["firefly-dev"]!.map((r) => r.urn).filter((urn) => !urn.includes("pulumi:pulumi:StackReference::"));
        // Matched as the engine does: by URN, own aliases, and aliases inherited from an aliased parent.
        const lost = (run: ProgramRun) => matchOldState(run.resources, new Set(oldUrns)).deletes;

        it("the platform stack rewritten to the list form keeps every resource of the single-customer stack (same URN or an alias, own or inherited)", async () => {
            // The example stack is the old acme-only stack, rewritten; globex is new.
            const deployment = await exampleDeployment();
            const run = deployment.final.get("firefly-dev")!;
            assert.ok(oldUrns.length > 50);
            assert.deepEqual(lost(run), []);
            const zone = ofType(run, types.route53Zone)[0]!;
            assert.deepEqual(zone.aliases, ["urn:pulumi:firefly-dev::private-connectivity::firefly:privatelink:PrivateLinkEndpoint$aws:route53/zone:Zone::acme-zone"]);
        });

        it("without migratedFrom the old zone and the workers' API would be lost (replaced)", async () => {
            const deployment = await exampleDeployment();
            const settings = withConfig(firefly, { migratedFrom: undefined });
            const run = await runStack(settings, {
                [customerRef]: deployment.final.get("customer-dev")!.outputs,
                "firefly/private-connectivity/customer-globex-dev": deployment.final.get("customer-globex-dev")!.outputs,
            });
            const missing = lost(run).map((urn) => urn.split("::").slice(2).join("::"));
            assert.ok(missing.includes("firefly:privatelink:PrivateLinkEndpoint$aws:route53/zone:Zone::acme-zone"), missing.join("\n"));
            assert.ok(missing.includes("firefly:privateapi:PrivateApi$aws:apigateway/restApi:RestApi::acme-workers-api-api"), missing.join("\n"));
        });
    });
});
