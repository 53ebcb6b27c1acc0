import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { matchOldState, type OldStateMatch } from "../../offline/aliases";
import type { Plan } from "../../offline/plan";
import { type Artifacts, currentPlan, recordedFile } from "./artifacts";

// A restructuring must not change what a deployment generates: no resource renamed or replaced,
// no user data, sshd_config, principals file or output changed. The connector bundle is addressed
// by the agent's compiled code, so it is compared on its own: a change to the agent's code changes
// it by design (one instance refresh), a move of components or stacks must not.
describe("layout: generated artifacts", function () {
    this.timeout(120_000);
    let recorded: Artifacts;
    let current: Artifacts;
    let plan: Plan;
    before(() => {
        recorded = JSON.parse(fs.readFileSync(recordedFile, "utf8")) as Artifacts;
        ({ plan, artifacts: current } = currentPlan());
    });
    // The bundle's hash, wherever it appears (S3 key, user data), replaced by a placeholder.
    const withoutBundle = (a: Artifacts) => {
        let text = JSON.stringify(a.stacks);
        for (const key of a.bundleSha256) text = text.split(key.slice("firefly-connector-".length)).join("<bundle-sha256>");
        return JSON.parse(text) as unknown;
    };

    it("every resource URN and input (user data, sshd_config, principals) and every stack output is as recorded", () => {
        assert.deepEqual(withoutBundle(current), withoutBundle(recorded));
    });

    // What the example deployment registered before the restructuring and the multi-customer
    // platform (recorded then, kept in test/stacks/fixtures): no resource of it may be lost. Resources
    // are matched to that state the way the engine does it: by URN, then by alias (own or inherited
    // from the parent), so a moved type token counts as kept when its alias leads to the old state.
    const beforeFile = path.join(__dirname, "..", "stacks", "fixtures", "single-customer-artifacts.json");
    const typeOf = (urn: string) => urn.split("::")[2]!.split("$").pop()!;
    const match = (stack: string, olds: Iterable<string>) => matchOldState(plan.stacks.find((s) => s.stack === stack)?.resources ?? [], new Set(olds));
    const lostOf = (m: OldStateMatch) => m.deletes.map((urn) => `${typeOf(urn)}::${urn.split("::").pop()}`).sort();

    it("keeps every URN the customer stack had before the restructuring", () => {
        const before = JSON.parse(fs.readFileSync(beforeFile, "utf8")) as Artifacts;
        const m = match("customer-dev", before.stacks["customer-dev"]!.resources.map((r) => r.urn));
        assert.deepEqual(m.conflicts, []);
        assert.deepEqual(lostOf(m), []);
    });

    it("keeps every URN the platform stack had (the zone by its alias), but a renamed stack reference (a read, no state)", () => {
        // The zone's alias itself is checked by test/stacks/platformCustomers.test.ts (migration).
        const before = JSON.parse(fs.readFileSync(beforeFile, "utf8")) as Artifacts;
        const m = match("firefly-dev", before.stacks["firefly-dev"]!.resources.map((r) => r.urn));
        assert.deepEqual(m.conflicts, []);
        assert.deepEqual(lostOf(m), ["pulumi:pulumi:StackReference::customer"]);
    });

    // 0.1.0 registered components as firefly:<module>:<Name>; the component provider needs
    // private-connectivity:index:<Name>. Each component aliases its old type, and the engine carries
    // that alias to every child: all three example stacks must take over every resource they had,
    // with the same inputs, and create none (an update that changes no cloud resource).
    describe("type tokens moved to private-connectivity:index:<Name>", () => {
        const v010 = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "v0.1.0-state.json"), "utf8")) as { stacks: Record<string, Record<string, string>> };
        const inputsHash = (a: Artifacts, stack: string) => {
            let text = JSON.stringify(a.stacks[stack]?.resources ?? []);
            for (const key of a.bundleSha256) text = text.split(key.slice("firefly-connector-".length)).join("<bundle-sha256>");
            const resources = JSON.parse(text) as Array<{ urn: string; inputs: unknown }>;
            return new Map(resources.map((r) => [r.urn, createHash("sha256").update(JSON.stringify(r.inputs)).digest("hex")]));
        };
        for (const stack of ["customer-dev", "customer-globex-dev", "firefly-dev"]) {
            it(`${stack}: every 0.1.0 resource is taken over (by URN or alias) with the same inputs; nothing is created or deleted`, () => {
                const olds = v010.stacks[stack]!;
                const m = match(stack, Object.keys(olds));
                assert.deepEqual(m.conflicts, []);
                assert.deepEqual(m.deletes, [], "deleted (state not taken over)");
                assert.deepEqual(m.creates, [], "created (no earlier state)");
                const hashes = inputsHash(current, stack);
                const changed = [...m.matched].filter(([urn, old]) => hashes.get(urn) !== olds[old]).map(([urn]) => urn);
                assert.deepEqual(changed, [], "inputs changed");
                // The move is real: components are registered under the new token, with the old one as alias.
                const component = plan.stacks.find((s) => s.stack === stack)!.resources.find((r) => r.type.startsWith("private-connectivity:index:"));
                assert.ok(component, "a component under the new token");
                assert.ok(component.aliases?.some((a) => /::pulumi:pulumi:Stack\$firefly:[a-z]+:[A-Za-z]+::/.test(a)), JSON.stringify(component.aliases));
            });
        }
    });

    it("the connector bundle's SHA-256 is as recorded for this agent code", () => {
        assert.deepEqual(current.bundleSha256, recorded.bundleSha256);
    });
});
