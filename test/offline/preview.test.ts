import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { UNKNOWN, containsUnknown, previewDeployment } from "../../offline/preview";
import { FakeAws } from "../../offline/fakeAws";
import { loadProgram, readProject } from "../../offline/project";
import type { ProgramRun, RecordedResource } from "../../offline/runProgram";
import { SimulatedDeployment, exampleStackNames, readStackSettings, simulateDeployment } from "../../offline/simulate";
import { offlinePlan, repositoryRoot } from "../helpers/offlinePlan";

// The offline plan's preview pass: the stacks run as `pulumi preview` runs them, and the verdict a
// pull request gets is judged on that (offline/preview.ts).
const root = repositoryRoot;
const fixture = path.join(root, "test", "fixtures", "preview-stack");


interface JsonViolation {
    policyName: string;
    enforcementLevel: string;
    resourceName?: string;
    message: string;
    unknownDuringPreview: boolean;
    unknownProperty?: string;
    toJudgeAtPreview?: string;
}
interface JsonVerdicts {
    previewVerdict: { passed: boolean; stacks: Array<{ stack: string; mandatory: number; violations: JsonViolation[] }> };
    verdict: { passed: boolean; stacks: Array<{ stack: string; mandatory: number; violations: JsonViolation[] }> };
}

describe("offline plan: the preview pass", function () {
    this.timeout(300_000);

    describe("the fake cloud at preview", () => {
        const cloud = new FakeAws({ accountId: "111111111111", region: "us-east-1" });
        before(() => pulumi.runtime.setMocks(cloud, "private-connectivity", "preview-unit", true));

        it("gives a resource being created no ID and no computed output, only its inputs", async () => {
            const result = await cloud.newResource({ type: "aws:lb/loadBalancer:LoadBalancer", name: "nlb", inputs: { internal: true }, custom: true, id: "" });
            assert.deepEqual(result, { id: undefined, state: { internal: true } });
        });

        it("still answers reads (get, import) and invokes, as the engine runs them at preview", async () => {
            const read = await cloud.newResource({ type: "aws:lb/loadBalancer:LoadBalancer", name: "existing", inputs: {}, custom: true, id: "existing-nlb" });
            assert.equal(read.id, "existing-nlb");
            assert.match(String(read.state.arn), /^arn:aws:elasticloadbalancing:/);
            assert.equal((await cloud.call({ token: "aws:index/getRegion:getRegion", inputs: {}, provider: "" })).name, "us-east-1");
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

    describe("npm start on a stack whose verdict differs at preview", () => {
        let run: { status: number | null; stdout: string; stderr: string };
        let json: JsonVerdicts;
        before(() => {
            run = offlinePlan("--project", fixture, "--json");
            json = JSON.parse(run.stdout) as JsonVerdicts;
        });

        it("reports a resource whose deciding property stays unknown at preview with an advisory naming it, not a pass", () => {
            const advisory = json.previewVerdict.stacks[0].violations.find((v) => v.policyName === "apigateway-private-api-resource-policy");
            assert.ok(advisory, "the private-API rule reports at preview");
            assert.equal(advisory.enforcementLevel, "advisory");
            assert.equal(advisory.unknownDuringPreview, true);
            assert.equal(advisory.unknownProperty, ".policy");
            assert.match(advisory.toJudgeAtPreview ?? "", /`\.policy` of aws:apigateway\/restApiPolicy:RestApiPolicy orders-api-policy is computed from aws:apigateway\/restApi:RestApi orders-api/);
            assert.match(advisory.toJudgeAtPreview ?? "", /After deployment, with every value known, the rule passes it/);
            // After deployment the same rule decides, and passes it.
            assert.equal(json.verdict.stacks[0].violations.filter((v) => v.policyName === "apigateway-private-api-resource-policy").length, 0);
        });

        it("fails with exit 1 on a mandatory violation only the preview shows", () => {
            assert.equal(run.status, 1, run.stderr);
            assert.equal(json.verdict.passed, true, "after deployment nothing is mandatory");
            assert.equal(json.previewVerdict.passed, false);
            const mandatory = json.previewVerdict.stacks[0].violations.filter((v) => v.enforcementLevel === "mandatory");
            assert.deepEqual(mandatory.map((v) => `${v.policyName} ${v.resourceName}`), ["load-balancer-internal preview-only-nlb"]);
        });

        it("prints both verdicts, the preview one with what would make the advisory judgeable", () => {
            const text = offlinePlan("--project", fixture);
            assert.equal(text.status, 1, text.stderr);
            const previewAt = text.stdout.indexOf("Preview verdict");
            const deployedAt = text.stdout.indexOf("Verdict after deployment");
            assert.ok(previewAt >= 0 && deployedAt > previewAt, text.stdout);
            const preview = text.stdout.slice(previewAt, deployedAt);
            assert.match(preview, /preview: FAILED, 1 mandatory, 1 advisory/);
            assert.match(preview, /\[advisory\] apigateway-private-api-resource-policy {2}\(stack\)\n {8}can't run policy .* during preview: string value at \.policy can't be known during preview\n {8}To judge it at preview: `\.policy` of aws:apigateway\/restApiPolicy:RestApiPolicy orders-api-policy/);
            assert.match(text.stdout.slice(deployedAt), /preview: passed, no violations/);
            assert.match(text.stdout, /Result: FAILED; a mandatory violation at preview/);
        });
    });

    it("the pull-request workflow's offline-plan job says the preview verdict gates the pull request", () => {
        const workflow = parseYaml(fs.readFileSync(path.join(root, ".github", "workflows", "pull-request.yml"), "utf8")) as {
            jobs: Record<string, { steps: Array<{ name?: string; run?: string }> }>;
        };
        const step = workflow.jobs["offline-plan"].steps.find((s) => /npm start/.test(s.run ?? ""));
        assert.match(step?.name ?? "", /preview verdict = PR gate/);
    });
});
