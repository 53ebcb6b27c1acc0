import * as assert from "node:assert/strict";
import { UNKNOWN, containsUnknown, previewDeployment, previewMocks } from "../../offline/preview";
import { loadProgram, readProject } from "../../offline/project";
import type { ProgramRun, RecordedResource } from "../../offline/runProgram";
import { SimulatedDeployment, exampleStackNames, readStackSettings, simulateDeployment } from "../../offline/simulate";

// The offline plan's preview pass: the stacks run as `pulumi preview` runs them, and the verdict a
// pull request gets is judged on that (offline/preview.ts).
describe("offline plan: the preview pass", function () {
    this.timeout(300_000);

    describe("the fake cloud at preview", () => {
        const cloud = {
            newResource: () => ({ id: "cloud-id", state: { arn: "arn:computed" } }),
            call: () => ({ answered: true }),
        };
        const mocks = previewMocks(cloud);

        it("gives a resource being created no ID and no computed output, only its inputs", async () => {
            const result = await mocks.newResource({ type: "aws:lb/loadBalancer:LoadBalancer", name: "nlb", inputs: { internal: true }, custom: true, id: "" });
            assert.deepEqual(result, { id: undefined, state: { internal: true } });
        });

        it("still answers reads (StackReference, get) and invokes, as the engine runs them at preview", async () => {
            assert.deepEqual(await mocks.newResource({ type: "aws:ec2/vpc:Vpc", name: "vpc", inputs: {}, custom: true, id: "vpc-1" }), {
                id: "cloud-id",
                state: { arn: "arn:computed" },
            });
            assert.deepEqual(await mocks.call({ token: "aws:index/getRegion:getRegion", inputs: {} }), { answered: true });
        });
    });

    describe("the example stacks", () => {
        let deployment: SimulatedDeployment;
        let previews: Map<string, ProgramRun>;
        before(async () => {
            const project = readProject();
            const settings = exampleStackNames(project.stackConfigDir).map((s) => readStackSettings(s, project.stackConfigDir));
            const program = loadProgram(project);
            deployment = await simulateDeployment(settings, { program, project: project.name });
            previews = await previewDeployment(settings, deployment, { program, project: project.name });
        });

        /** Each (preview resource, deployed resource) pair, by URN. */
        function pairs(): Array<{ stack: string; preview: RecordedResource; deployed: RecordedResource; deployedByUrn: Map<string, RecordedResource> }> {
            const result = [];
            for (const [stack, run] of deployment.final) {
                const deployedByUrn = new Map(run.resources.map((r) => [r.urn, r]));
                for (const preview of previews.get(stack)?.resources ?? []) {
                    const deployed = deployedByUrn.get(preview.urn);
                    if (deployed) result.push({ stack, preview, deployed, deployedByUrn });
                }
            }
            return result;
        }

        it("registers the same URNs as the update pass, in every stack", () => {
            assert.deepEqual([...previews.keys()].sort(), [...deployment.final.keys()].sort());
            for (const [stack, run] of deployment.final) {
                const preview = previews.get(stack);
                assert.ok(preview, stack);
                assert.deepEqual(preview.resources.map((r) => r.urn).sort(), run.resources.map((r) => r.urn).sort(), stack);
            }
        });

        /**
         * Every input that, after deployment, carries a value another resource computed (found
         * through its propertyDependencies) must be unknown at preview; returns how many were checked.
         */
        function checkComputed(type: string, computed: (source: RecordedResource) => string | undefined): number {
            let checked = 0;
            for (const { preview, deployed, deployedByUrn } of pairs()) {
                for (const [key, sources] of Object.entries(deployed.propertyDependencies)) {
                    for (const source of sources.map((urn) => deployedByUrn.get(urn))) {
                        if (source?.type !== type) continue;
                        const value = computed(source);
                        if (value === undefined || !JSON.stringify(deployed.inputs[key] ?? null).includes(value)) continue;
                        assert.ok(containsUnknown(preview.inputs[key]), `${preview.name}.${key} (from ${source.name}) should be unknown at preview, is ${JSON.stringify(preview.inputs[key])}`);
                        checked++;
                    }
                }
            }
            return checked;
        }

        it("leaves an NLB's dnsName and ARN unknown in the inputs of the resources that use them", () => {
            const dns = checkComputed("aws:lb/loadBalancer:LoadBalancer", (lb) => lb.outputs.dnsName as string | undefined);
            const arn = checkComputed("aws:lb/loadBalancer:LoadBalancer", (lb) => lb.outputs.arn as string | undefined);
            assert.ok(dns + arn > 0, "some resource takes an NLB's computed output");
        });

        it("leaves a VPC endpoint's ID unknown in the inputs of the resources that use it", () => {
            assert.ok(checkComputed("aws:ec2/vpcEndpoint:VpcEndpoint", (e) => e.id) > 0, "some resource takes an endpoint's ID");
        });

        it("keeps what the program wrote itself known: an NLB's scheme, an endpoint service's acceptance", () => {
            let checked = 0;
            for (const { preview, deployed } of pairs()) {
                const keys =
                    preview.type === "aws:lb/loadBalancer:LoadBalancer" ? ["internal", "loadBalancerType"] : preview.type === "aws:ec2/vpcEndpointService:VpcEndpointService" ? ["acceptanceRequired"] : [];
                for (const key of keys) {
                    assert.deepEqual(preview.inputs[key], deployed.inputs[key], `${preview.name}.${key}`);
                    assert.notEqual(preview.inputs[key], UNKNOWN);
                    checked++;
                }
            }
            assert.ok(checked >= 3, `checked ${checked} properties`);
        });
    });
});
