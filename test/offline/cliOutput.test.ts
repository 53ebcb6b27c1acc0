import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { offlinePlan, repositoryRoot } from "../helpers/offlinePlan";
import { renderStackVerdicts, verdictOf } from "../../offline/verdict";

// Issue 15, CLI items: what `npm start` prints must be usable as it is.
const root = repositoryRoot;

interface JsonPlan {
    sequence: Array<{ pass: number; stack: string; resources: number }>;
    stacks: Array<{ stack: string; resources: unknown[]; outputs: Record<string, unknown> }>;
    verdict: { passed: boolean };
}

describe("npm start: output", function () {
    this.timeout(180_000);
    let run: ReturnType<typeof offlinePlan>;
    before(() => {
        run = offlinePlan("--json");
    });

    it("--json prints only the JSON document on stdout; the programs' log lines go to stderr", () => {
        assert.equal(run.status, 0, run.stderr);
        const plan = JSON.parse(run.stdout) as JsonPlan;
        assert.equal(plan.verdict.passed, true);
        assert.match(run.stderr, /^\[customer-dev, up 1\] info: tunnel: .* has no tunnelRelay output yet/m);
        assert.match(run.stderr, /^\[firefly-dev, up 1\] warning: customer globex: endpoint not placed in subnet-0f1ef1ef1ef1ef112 \(use1-az2\)/m);
    });

    it("counts resources the same way per pass and per stack", () => {
        const plan = JSON.parse(run.stdout) as JsonPlan;
        const last = Math.max(...plan.sequence.map((s) => s.pass));
        for (const stack of plan.stacks) {
            assert.equal(plan.sequence.find((s) => s.pass === last && s.stack === stack.stack)!.resources, stack.resources.length, stack.stack);
        }
    });

    it("reports the offline connectivity check as not run, never as a pass", () => {
        const plan = JSON.parse(run.stdout) as JsonPlan;
        const customers = plan.stacks.find((s) => s.stack === "firefly-dev")!.outputs.customers as Record<string, { connectivityCheck: { skipped?: boolean; ok?: boolean; reason: string } }>;
        for (const [name, customer] of Object.entries(customers)) {
            assert.equal(customer.connectivityCheck.ok, undefined, name);
            assert.match(customer.connectivityCheck.reason, /^not run \(offline\)/, name);
        }
    });

    it("--project outside this checkout says why it cannot resolve the Pulumi packages and what to do", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "outside-checkout-"));
        for (const file of fs.readdirSync(path.join(root, "test", "fixtures", "insecure-stack"))) {
            fs.copyFileSync(path.join(root, "test", "fixtures", "insecure-stack", file), path.join(dir, file));
        }
        const outside = offlinePlan("--project", dir);
        assert.equal(outside.status, 2, outside.stderr);
        assert.match(
            outside.stderr,
            /is outside this checkout \(.*\), so its program cannot use this checkout's @pulumi\/pulumi \(Node finds no copy from there\); the offline plan's mock runtime lives in this checkout's @pulumi\/pulumi.*Place the project inside this checkout/,
        );
    });
});

describe("a stack's verdict line", () => {
    it("names the policy config applied, or says there was none and every rule ran at its defaults", () => {
        const verdict = verdictOf([
            { stack: "with", policyConfigFile: "stacks/policy-config.with.json", violations: [], mandatory: 0, advisory: 0 },
            { stack: "without", violations: [], mandatory: 0, advisory: 0 },
        ]);
        assert.deepEqual(renderStackVerdicts(verdict), [
            "  with: passed, no violations, config stacks/policy-config.with.json",
            "  without: passed, no violations, no policy config (every rule at its defaults)",
        ]);
    });
});
