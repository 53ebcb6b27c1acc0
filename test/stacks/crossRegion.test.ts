import * as assert from "node:assert/strict";
import { loadProgram, readProject } from "../../offline/project";
import type { ProgramRun } from "../../offline/runProgram";
import { OfflineCloud } from "../../offline/cloud";
import { readStackSettings, runStack as runInCloud, simulateDeployment, type SimulatedDeployment, type StackSettings } from "../../offline/simulate";
import { StackConfigError } from "../../stacks/config";
import { ofType, types } from "../helpers/resources";
import { parseSettings, runStack, withConfig } from "../helpers/stacks";

// Cross-region PrivateLink (README "Cross-region PrivateLink"): a customer's endpoint service in
// another region than the platform stack. The AZ rule compares AZ IDs of one region; across regions
// what AWS asks is that the service lists the endpoint's region in its supportedRegions.

const project = readProject();
const program = loadProgram(project, { reloadModules: false });
const globexRef = "firefly/private-connectivity/customer-globex-dev";

/** The settings in another region (the provider's `aws:region` and the fake account's). */
function inRegion(settings: StackSettings, region: string): StackSettings {
    return { ...settings, region, config: { ...settings.config, "aws:region": region } };
}

/** firefly-dev with globex's entry changed. */
function fireflyWithGlobex(changes: Record<string, unknown>): StackSettings {
    const firefly = readStackSettings("firefly-dev");
    const customers = (firefly.config["private-connectivity:customers"] as Array<Record<string, unknown>>).map((c) => (c.name === "globex" ? { ...c, ...changes } : c));
    return withConfig(firefly, { customers });
}

/** customer-globex-dev in us-west-2, offering its service to `supportedRegions`. */
function globexInUsWest2(supportedRegions: string[] | undefined): StackSettings {
    const globex = readStackSettings("customer-globex-dev");
    const privateLink = { ...(globex.config["private-connectivity:privateLink"] as Record<string, unknown>), supportedRegions };
    return inRegion(withConfig(globex, { privateLink }), "us-west-2");
}

function deploy(stacks: StackSettings[]): Promise<SimulatedDeployment> {
    return simulateDeployment(stacks, { program, project: project.name, log: () => () => undefined });
}

const parse = parseSettings;

describe("stacks: cross-region PrivateLink (serviceRegion, supportedRegions)", () => {
    describe("globex's service in us-west-2, the platform in us-east-1 (the reviewer's case)", () => {
        let deployment: SimulatedDeployment;
        let platform: ProgramRun;
        before(async () => {
            deployment = await deploy([readStackSettings("customer-dev"), globexInUsWest2(["us-east-1"]), fireflyWithGlobex({ serviceRegion: "us-west-2" })]);
            platform = deployment.final.get("firefly-dev")!;
        });

        it("deploys: the service's AZs in us-west-2 do not constrain the platform's subnets in us-east-1", () => {
            const globex = deployment.final.get("customer-globex-dev")!;
            assert.match(String(globex.outputs.endpointServiceName), /^com\.amazonaws\.vpce\.us-west-2\./);
            assert.deepEqual(globex.outputs.serviceAvailabilityZoneIds, ["usw2-az1", "usw2-az3"]);
            // The regions its service serves: its own and privateLink.supportedRegions.
            assert.deepEqual(globex.outputs.endpointRegions, ["us-west-2", "us-east-1"]);
            const endpoint = ofType(platform, types.vpcEndpoint).find((e) => e.name === "globex-endpoint")!;
            assert.equal(endpoint.inputs.serviceRegion, "us-west-2");
            assert.equal(endpoint.inputs.serviceName, globex.outputs.endpointServiceName);
            // Every platform subnet: neither is "skipped" for an AZ of another region.
            assert.deepEqual(endpoint.inputs.subnetIds, readStackSettings("firefly-dev").config["private-connectivity:subnetIds"]);
            assert.deepEqual((platform.outputs.customers as Record<string, { subnetIds: string[] }>).globex.subnetIds, endpoint.inputs.subnetIds);
        });

        it("globex accepts its endpoint and the platform reports it available", () => {
            const globex = deployment.final.get("customer-globex-dev")!;
            const id = (platform.outputs.endpointIds as Record<string, string[]>).globex![0]!;
            assert.deepEqual(globex.outputs.acceptedEndpointIds, [id]);
            assert.equal((platform.outputs.customers as Record<string, { endpointState: string }>).globex.endpointState, "available");
        });

        it("leaves acme, in the platform's region, placed by its AZ IDs as before", () => {
            const acme = ofType(platform, types.vpcEndpoint).find((e) => e.name === "acme-endpoint")!;
            assert.equal(acme.inputs.serviceRegion, undefined);
            assert.deepEqual(acme.inputs.subnetIds, ["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112"]);
        });
    });

    it("is refused by the platform stack, naming the customer stack's key, when globex does not list the platform's region", async () => {
        await assert.rejects(
            deploy([readStackSettings("customer-dev"), globexInUsWest2(["eu-west-1"]), fireflyWithGlobex({ serviceRegion: "us-west-2" })]),
            (err: Error) => {
                assert.match(err.message, /^stack firefly-dev \(stacks\/Pulumi\.firefly-dev\.yaml\), up 1: /);
                assert.match(
                    err.message,
                    /private-connectivity:customers\[1\]: the endpoint service of "globex" is offered to endpoints in us-west-2, eu-west-1 only, and this stack is in us-east-1; add us-east-1 to privateLink\.supportedRegions in firefly\/private-connectivity\/customer-globex-dev's config and run `pulumi up` there first/,
                );
                // Said before AWS was asked: no endpoint was attempted.
                assert.doesNotMatch(err.message, /InvalidServiceName/);
                return true;
            },
        );
    });

    it("is refused by AWS (the offline cloud) when a customer stack of an older version exports no endpointRegions", async () => {
        // The customer stack as 0.1.0 deployed it: the same service, without the new output.
        const cloud = new OfflineCloud();
        const globexSettings = globexInUsWest2(["eu-west-1"]);
        const firefly = fireflyWithGlobex({ serviceRegion: "us-west-2" });
        const stacks = [readStackSettings("customer-dev"), globexSettings, firefly];
        const options = { program, project: project.name, cloud, log: () => undefined };
        const outputs = new Map<string, Record<string, unknown>>();
        for (const settings of stacks.slice(0, 2)) {
            const { endpointRegions: _dropped, ...older } = (await runInCloud(settings, stacks, () => ({}), options)).outputs;
            outputs.set(settings.stack, older);
        }
        await assert.rejects(
            runInCloud(firefly, stacks, (stack) => outputs.get(stack) ?? {}, options),
            /InvalidServiceName: The Vpc Endpoint Service 'com\.amazonaws\.vpce\.us-west-2\.vpce-svc-\w+' does not exist\n.*must list us-east-1, the endpoint's region, in its supportedRegions \(it lists eu-west-1\)/,
        );
    });

    it("keeps the AZ rule for a serviceRegion that is the platform's own region", async () => {
        const run = await runStack(fireflyWithGlobex({ serviceRegion: "us-east-1", stack: undefined, endpointServiceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0b1b2c3d4e5f60718", availabilityZoneIds: ["use1-az1", "use1-az3"], ports: [443] }), {
            "firefly/private-connectivity/customer-dev": { endpointServiceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f60718", servicePorts: [443] },
        });
        assert.deepEqual(ofType(run, types.vpcEndpoint).find((e) => e.name === "globex-endpoint")!.inputs.subnetIds, ["subnet-0f1ef1ef1ef1ef111"]);
    });

    describe("a service in another region needs serviceRegion, and the right one", () => {
        const outputs = (serviceName: string) => ({
            "firefly/private-connectivity/customer-dev": { endpointServiceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f60718", servicePorts: [443] },
            [globexRef]: { endpointServiceName: serviceName, servicePorts: [443], serviceAvailabilityZoneIds: ["usw2-az1"] },
        });
        const west = "com.amazonaws.vpce.us-west-2.vpce-svc-0b1b2c3d4e5f60718";

        it("refuses a service in us-west-2 without serviceRegion, naming the key and the value to set", async () => {
            await assert.rejects(
                runStack(fireflyWithGlobex({}), outputs(west)),
                /private-connectivity:customers\[1\]\.serviceRegion: the endpoint service of "globex" \(com\.amazonaws\.vpce\.us-west-2\.vpce-svc-0b1b2c3d4e5f60718\) is in us-west-2, and this stack in us-east-1; set private-connectivity:customers\[1\]\.serviceRegion to us-west-2 .*must list us-east-1 in privateLink\.supportedRegions/,
            );
        });

        it("refuses a serviceRegion that is not the service's region", async () => {
            await assert.rejects(
                runStack(fireflyWithGlobex({ serviceRegion: "eu-west-1" }), outputs(west)),
                /private-connectivity:customers\[1\]\.serviceRegion: the endpoint service of "globex" \(com\.amazonaws\.vpce\.us-west-2\.vpce-svc-0b1b2c3d4e5f60718\) is in us-west-2, not eu-west-1; set private-connectivity:customers\[1\]\.serviceRegion to us-west-2$/m,
            );
        });
    });

    describe("a region AWS does not have is refused at config load, naming the key and listing the regions", () => {
        const listsRegions = /use one of af-south-1, .*eu-west-1, .*us-east-1, us-east-2, .*us-west-2/;

        it("in a customer stack's privateLink.supportedRegions", () => {
            assert.throws(() => parse(globexInUsWest2(["us-east-1", "us-east-9"])), (err: Error) => {
                assert.ok(err instanceof StackConfigError, String(err));
                assert.match(err.message, /private-connectivity:privateLink\.supportedRegions\[1\]: "us-east-9" is not an AWS region; /);
                assert.match(err.message, listsRegions);
                return true;
            });
        });

        it("in a platform customer's serviceRegion", () => {
            assert.throws(() => parse(fireflyWithGlobex({ serviceRegion: "us-east-9" })), (err: Error) => {
                assert.ok(err instanceof StackConfigError, String(err));
                assert.match(err.message, /private-connectivity:customers\[1\]\.serviceRegion: "us-east-9" is not an AWS region; /);
                assert.match(err.message, listsRegions);
                return true;
            });
        });

        it("accepts every region the AWS provider knows", () => {
            parse(globexInUsWest2(["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"]));
            parse(fireflyWithGlobex({ serviceRegion: "ap-southeast-5" }));
        });
    });
});
