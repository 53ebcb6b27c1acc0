import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { type Artifacts, currentArtifacts, recordedFile } from "./artifacts";

// A restructuring must not change what a deployment generates: no resource renamed or replaced,
// no user data, sshd_config, principals file or output changed. The connector bundle is addressed
// by the agent's compiled code, so it is compared on its own: a change to the agent's code changes
// it by design (one instance refresh), a move of components or stacks must not.
describe("layout: generated artifacts", function () {
    this.timeout(120_000);
    let recorded: Artifacts;
    let current: Artifacts;
    before(() => {
        recorded = JSON.parse(fs.readFileSync(recordedFile, "utf8")) as Artifacts;
        current = currentArtifacts();
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
    // platform (recorded then, kept in test/stacks/fixtures): no resource of it may be lost.
    const beforeFile = path.join(__dirname, "..", "stacks", "fixtures", "single-customer-artifacts.json");
    const urnsOf = (a: Artifacts, stack: string) => new Set((a.stacks[stack]?.resources ?? []).map((r) => r.urn));
    const typeOf = (urn: string) => urn.split("::")[2]!.split("$").pop()!;

    it("keeps every URN the customer stack had before the restructuring", () => {
        const before = JSON.parse(fs.readFileSync(beforeFile, "utf8")) as Artifacts;
        const now = urnsOf(current, "customer-dev");
        assert.deepEqual([...urnsOf(before, "customer-dev")].filter((urn) => !now.has(urn)), []);
    });

    it("keeps every URN the platform stack had, but the zone moved by alias and a renamed stack reference (a read, no state)", () => {
        // The alias itself is checked by test/stacks/platformCustomers.test.ts (migration).
        const before = JSON.parse(fs.readFileSync(beforeFile, "utf8")) as Artifacts;
        const now = urnsOf(current, "firefly-dev");
        const lost = [...urnsOf(before, "firefly-dev")].filter((urn) => !now.has(urn)).map((urn) => `${typeOf(urn)}::${urn.split("::").pop()}`);
        assert.deepEqual(lost.sort(), ["aws:route53/zone:Zone::acme-zone", "pulumi:pulumi:StackReference::customer"]);
    });

    it("keeps every component type token (firefly:<module>:<Name>) the stacks used before", () => {
        const before = JSON.parse(fs.readFileSync(beforeFile, "utf8")) as Artifacts;
        const tokens = (a: Artifacts) =>
            new Set(Object.values(a.stacks).flatMap((s) => s.resources.map((r) => typeOf(r.urn)).filter((t) => t.startsWith("firefly:"))));
        const now = tokens(current);
        assert.deepEqual([...tokens(before)].filter((t) => !now.has(t)), []);
    });

    it("the connector bundle's SHA-256 is as recorded for this agent code", () => {
        assert.deepEqual(current.bundleSha256, recorded.bundleSha256);
    });
});
