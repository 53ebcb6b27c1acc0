import * as assert from "node:assert/strict";
import * as fs from "node:fs";
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

    it("the connector bundle's SHA-256 is as recorded for this agent code", () => {
        assert.deepEqual(current.bundleSha256, recorded.bundleSha256);
    });
});
