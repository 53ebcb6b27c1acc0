import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { apiGatewayPolicies } from "../../policies/apiGateway";
import { connectorHostPolicies } from "../../policies/connectorHosts";
import { endpointServicePolicies } from "../../policies/endpointServices";
import { flowLogPolicies } from "../../policies/flowLogs";
import { interfaceEndpointPolicies } from "../../policies/interfaceEndpoints";
import { loadBalancerPolicies } from "../../policies/loadBalancers";
import { publicFrontPolicies } from "../../policies/publicFronts";
import { allPolicies } from "../../policies/rules";
import { tlsPolicies } from "../../policies/tls";
import { parse as parseYaml } from "yaml";
import { offlinePlan, repositoryRoot } from "../helpers/offlinePlan";

// `npm start` as a user runs it: a child process, judged by its exit code and what it prints.
const root = repositoryRoot;
const insecure = path.join(root, "test", "fixtures", "insecure-stack");


interface JsonVerdict {
    verdict: { passed: boolean; stacks: Array<{ stack: string; mandatory: number; advisory: number; violations: Array<{ policyName: string; resourceName?: string; enforcementLevel: string }> }> };
    stacks: Array<{ stack: string; resources: unknown[] }>;
}

const families: Record<string, readonly { name: string }[]> = {
    "endpoint services": endpointServicePolicies,
    "load balancers": loadBalancerPolicies,
    "TLS only": tlsPolicies,
    "private APIs": apiGatewayPolicies,
    "interface endpoints": interfaceEndpointPolicies,
    "connector hosts": connectorHostPolicies,
    "flow logs": flowLogPolicies,
    "public fronts": publicFrontPolicies,
};

function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "offline-plan-"));
}

describe("npm start: the offline plan and policy verdict", function () {
    this.timeout(300_000);

    it("plans both example stacks, passes the pack with no violation and exits 0", () => {
        const run = offlinePlan();
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /Stack customer-dev: \d+ resources/);
        assert.match(run.stdout, /Stack firefly-dev: \d+ resources/);
        assert.match(run.stdout, /aws:ec2\/vpcEndpointService:VpcEndpointService {2}acme-service {2}acceptanceRequired=true/);
        // A tree: the component, then its children one level deeper, before the next sibling.
        const lines = run.stdout.split("\n");
        const service = lines.findIndex((l) => /^ {2}[├└]─ private-connectivity:index:PrivateLinkService {2}acme$/.test(l));
        assert.ok(service >= 0, "the PrivateLinkService component is a top-level node");
        const children = lines.slice(service + 1).filter((_, i, rest) => rest.slice(0, i + 1).every((l) => /^ {2}[│ ] {2}/.test(l)));
        assert.ok(children.some((l) => /^ {2}[│ ] {2}[├└]─ aws:lb\/loadBalancer:LoadBalancer {2}acme-nlb {2}loadBalancerType=network internal=true/.test(l)), children.join("\n"));
        assert.match(run.stdout, /customer-dev: passed, no violations/);
        assert.match(run.stdout, /firefly-dev: passed, no violations/);
        assert.match(run.stdout, /Result: passed/);
        // The programs' log, on stderr: each line once per stack, naming the stack and the run
        // (of several ups and a preview per stack) that first logged it.
        const logged = run.stderr.split("\n").filter((l) => l.includes("endpoint not placed in"));
        assert.equal(logged.length, 1, run.stderr);
        assert.match(logged[0]!, /^\[firefly-dev, up 1\] warning: customer globex: endpoint not placed in subnet-\w+ \(use1-az2\): its endpoint service offers only use1-az1, use1-az3$/);
        assert.match(run.stderr, /^\[customer-dev, up 1\] info: tunnel: .* has no tunnelRelay output yet/m);
    });

    describe("on a deliberately insecure stack", () => {
        let json: JsonVerdict;
        let status: number | null;
        before(() => {
            const run = offlinePlan("--project", insecure, "--json");
            status = run.status;
            json = JSON.parse(run.stdout) as JsonVerdict;
        });

        it("exits 1, the verdict failed", () => {
            assert.equal(status, 1);
            assert.equal(json.verdict.passed, false);
        });

        for (const [family, rules] of Object.entries(families)) {
            it(`every rule of the ${family} family fires`, () => {
                const fired = new Set(json.verdict.stacks[0].violations.map((v) => v.policyName));
                for (const rule of rules) assert.ok(fired.has(rule.name), `${rule.name} did not fire`);
            });
        }

        it("covers the whole pack, and names each offending resource", () => {
            const violations = json.verdict.stacks[0].violations;
            assert.deepEqual(new Set(violations.map((v) => v.policyName)), new Set(allPolicies.map((p) => p.name)));
            assert.deepEqual(
                violations.filter((v) => v.policyName === "load-balancer-internal").map((v) => v.resourceName).sort(),
                ["default-alb", "public-nlb"],
            );
            // Every listener of the public NLB and ALB outside 22 and 443, the tunnel port included.
            assert.deepEqual(
                violations.filter((v) => v.policyName === "public-load-balancer-listener-ports").map((v) => v.resourceName).sort(),
                ["plain-http", "plain-postgres", "tls-default-policy", "tunnel-port-on-public-nlb"],
            );
            assert.ok(violations.every((v) => v.enforcementLevel === "mandatory"));
        });

        it("prints each violation with its rule, resource and enforcement level", () => {
            const run = offlinePlan("--project", insecure);
            assert.equal(run.status, 1);
            assert.match(run.stdout, /insecure: FAILED, 50 mandatory, 0 advisory, config test\/fixtures\/insecure-stack\/policy-config\.insecure\.json$/m);
            assert.match(run.stdout, /\[mandatory\] endpoint-service-acceptance-required {2}aws:ec2\/vpcEndpointService:VpcEndpointService {2}open-service\n {8}Endpoint service 'open-service' accepts endpoint connections automatically; set acceptanceRequired: true/);
            assert.match(run.stdout, /Result: FAILED/);
        });

        it("honours a policy config file in the --policy-pack-config format", () => {
            const dir = tempDir();
            const file = path.join(dir, "policy.json");
            fs.writeFileSync(file, JSON.stringify({ all: "advisory", "load-balancer-internal": { enforcementLevel: "mandatory", allowedPublicLoadBalancers: ["public-nlb"] } }));
            const run = offlinePlan("--project", insecure, "--json", "--policy-config", file);
            const verdict = (JSON.parse(run.stdout) as JsonVerdict).verdict;
            // Only default-alb is left mandatory: public-nlb is excepted, everything else advisory.
            assert.equal(run.status, 1);
            assert.deepEqual(
                verdict.stacks[0].violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policyName} ${v.resourceName}`),
                ["load-balancer-internal default-alb"],
            );
            assert.equal(verdict.stacks[0].advisory, 48);

            fs.writeFileSync(file, JSON.stringify({ all: "advisory" }));
            const advisoryOnly = offlinePlan("--project", insecure, "--policy-config", file);
            assert.equal(advisoryOnly.status, 0, "advisory violations do not fail the verdict");
            assert.match(advisoryOnly.stdout, /insecure: passed, 0 mandatory, 50 advisory/);
        });
    });

    describe("refuses bad input before running anything, with exit code 2", () => {
        it("a policy config that is not JSON, naming the file", () => {
            const file = path.join(tempDir(), "broken.json");
            fs.writeFileSync(file, "{ load-balancer-internal: advisory");
            const run = offlinePlan("--policy-config", file);
            assert.equal(run.status, 2);
            assert.match(run.stderr, /policy config .*broken\.json is not JSON/);
        });

        it("a policy config value the engine would refuse, naming the rule", () => {
            const file = path.join(tempDir(), "bad-value.json");
            fs.writeFileSync(file, JSON.stringify({ "load-balancer-internal": { allowedPublicLoadBalancers: "relay-nlb" } }));
            const run = offlinePlan("--policy-config", file);
            assert.equal(run.status, 2);
            assert.match(run.stderr, /load-balancer-internal/);
            assert.match(run.stderr, /allowedPublicLoadBalancers/);
        });

        it("a missing policy config file", () => {
            const run = offlinePlan("--policy-config", "/nonexistent/policy.json");
            assert.equal(run.status, 2);
            assert.match(run.stderr, /cannot read policy config \/nonexistent\/policy\.json: ENOENT/);
        });

        it("an unknown stack, listing the stacks there are", () => {
            const run = offlinePlan("--stack", "prod");
            assert.equal(run.status, 2);
            assert.match(run.stderr, /unknown stack "prod"; the stacks are customer-dev, customer-globex-dev, firefly-dev/);
        });

        it("a directory that is not a Pulumi project", () => {
            const run = offlinePlan("--project", tempDir());
            assert.equal(run.status, 2);
            assert.match(run.stderr, /has no Pulumi\.yaml/);
        });
    });

    it("reports only the chosen stack, and exits 3 when a stack program fails as pulumi up would", () => {
        const only = offlinePlan("--stack", "firefly-dev");
        assert.equal(only.status, 0, only.stderr);
        assert.doesNotMatch(only.stdout, /Stack customer-dev/);
        assert.match(only.stdout, /firefly-dev: passed/);

        const dir = tempDir();
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: private-connectivity\nruntime: nodejs\nmain: ${path.join(root, "stacks")}\n`);
        fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), "config:\n  private-connectivity:role: platform\n");
        // A sibling with a policy config: the stack without one is named before anything runs.
        fs.writeFileSync(path.join(dir, "Pulumi.sibling.yaml"), "config:\n  private-connectivity:role: platform\n");
        fs.writeFileSync(path.join(dir, "policy-config.sibling.json"), "{}\n");
        const failed = offlinePlan("--project", dir);
        assert.equal(failed.status, 3, failed.stderr);
        assert.match(failed.stderr, /a stack program failed.*private-connectivity:role/s);
        // Every stack runs: the failure names the stack and its settings file first.
        assert.match(failed.stderr, /a stack program failed, as pulumi up would: stack (broken|sibling) \(\S*Pulumi\.(broken|sibling)\.yaml\), up 1: /);
        assert.match(
            failed.stderr,
            /^warning: broken has no policy config \(\S*policy-config\.<stack>\.json\) while sibling has one: its rules run at their defaults \(endpoint-service-allowed-principals then checks no account list\); copy a sibling's file and adjust it$/m,
        );
    });
});

describe("the pull-request workflow", () => {
    const workflow = parseYaml(fs.readFileSync(path.join(root, ".github", "workflows", "pull-request.yml"), "utf8")) as {
        on: Record<string, unknown>;
        jobs: Record<
            string,
            {
                steps: Array<{ id?: string; run?: string; uses?: string; with?: Record<string, unknown> }>;
                strategy?: { matrix: { stack: string } };
                needs?: string;
                outputs?: Record<string, string>;
            }
        >;
    };
    const runs = (job: string) => workflow.jobs[job].steps.map((s) => s.run ?? "").join("\n");

    it("runs on pull requests: the test command, and the offline plan that fails on a mandatory violation", () => {
        assert.ok("pull_request" in workflow.on);
        assert.match(runs("test"), /^sudo -E env "PATH=\$PATH" \.ci\/run$/m);
        assert.match(runs("offline-plan"), /set -o pipefail\s+npm start \|/);
    });

    it("previews every example stack with the pack and the stack's policy config, skipping without secrets", () => {
        const preview = workflow.jobs.preview;
        // The matrix is the stacks job's list: run its script here, as the runner would.
        assert.equal(preview.needs, "stacks");
        assert.equal(preview.strategy!.matrix.stack, "${{ fromJSON(needs.stacks.outputs.list) }}");
        const listStep = workflow.jobs.stacks.steps.find((s) => s.id === "list");
        const outputFile = path.join(tempDir(), "github-output");
        execFileSync("bash", ["-c", listStep!.run!], { cwd: root, env: { ...process.env, GITHUB_OUTPUT: outputFile } });
        const listed = /^list=(.*)$/m.exec(fs.readFileSync(outputFile, "utf8"))?.[1];
        const stacks = fs.readdirSync(path.join(root, "stacks")).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter(Boolean);
        assert.deepEqual(JSON.parse(listed ?? "null"), [...stacks].sort());
        assert.equal(workflow.jobs.stacks.outputs?.list, "${{ steps.list.outputs.list }}");
        const action = preview.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
        assert.equal(action?.with?.command, "preview");
        assert.equal(action?.with?.policyPacks, "policies");
        assert.match(String(action?.with?.policyPackConfigs), /steps\.policy\.outputs\.configs/);
        assert.match(runs("preview"), /stacks\/policy-config\.\$\{\{ matrix\.stack \}\}\.json/);
        assert.match(runs("preview"), /::notice title=pulumi preview skipped::/);
    });
});
