// Limits AWS sets that a component's user input reaches through what the component creates: the
// tags it puts on every resource (50, keys of 1-128 characters without "aws:", values of 256) and
// the Route 53 record names it builds from a record name and a zone name (253 characters, labels
// of 63). They are refused when the component is built, naming the field and the fix, instead of
// by AWS in the middle of pulumi up (the offline cloud, offline/awsLimits.ts, refuses them too).
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { PrivateLinkEndpoint } from "../../../components/privatelink/privateLinkEndpoint";
import { PrivateLinkService } from "../../../components/privatelink/privateLinkService";
import { TunnelRelay } from "../../../components/tunnel/tunnelRelay";
import { ArgChecker } from "../../../components/shared/validation";
import { deploy } from "../../helpers/pulumi";
import { endpointArgs, serviceArgs } from "../../helpers/privateLink";
import { relayArgs } from "../../helpers/tunnel";

/** `count` tags `tag0`…, as a user's tagging policy may ask for. */
function manyTags(count: number): Record<string, string> {
    return Object.fromEntries(Array.from({ length: count }, (_, i) => [`tag${i}`, `value${i}`]));
}

function run(build: () => unknown): ReturnType<typeof deploy> {
    return deploy(() => {
        build();
    });
}

describe("component arguments that would break AWS's limits on tags and record names", () => {
    describe("ArgChecker.tags", () => {
        const c = new ArgChecker("private-connectivity:index:Test", "acme");
        it("accepts 50 tags, a key of 128 characters and a value of 256, and refuses one more of each", () => {
            c.tags("tags", manyTags(50));
            c.tags("tags", { ["k".repeat(128)]: "v".repeat(256), empty: "" });
            assert.throws(() => c.tags("tags", manyTags(51)), /Test "acme": tags has 51 tags: 51 on a resource, over the 50 AWS allows; give at most 50/);
            assert.throws(() => c.tags("tags", { ["k".repeat(129)]: "v" }), /tags\["k{129}"\] is a tag key of 129 characters; AWS takes keys of 1 to 128/);
            assert.throws(() => c.tags("tags", { "": "v" }), /tags\[""\] is a tag key of 0 characters/);
            assert.throws(() => c.tags("tags", { owner: "o".repeat(257) }), /tags\["owner"\] is a tag value of 257 characters; AWS takes at most 256/);
        });
        it("refuses a key starting with aws: in any case, and accepts aws elsewhere in a key", () => {
            assert.throws(() => c.tags("tags", { "aws:cloudformation:stack-name": "legacy" }), /tags\["aws:cloudformation:stack-name"\] starts with "aws:", which AWS reserves for its own tags/);
            assert.throws(() => c.tags("tags", { "AWS:owner": "x" }), /starts with "aws:"/);
            c.tags("tags", { "awsome:owner": "x", "team:aws": "y" });
        });
        it("counts the keys the component adds to a resource, once, and only on that resource", () => {
            c.tags("tags", manyTags(49), [["Name"]]);
            assert.throws(() => c.tags("tags", manyTags(50), [["Name"]]), /tags has 50 tags and the component adds "Name" to some of its resources: 51 on a resource, over the 50 AWS allows; give at most 49/);
            c.tags("tags", { ...manyTags(49), Name: "mine" }, [["Name"]]);
            c.tags("tags", manyTags(49), [["firefly:role"], ["Name"]]);
        });
        it("checks a value that is an Output, and tags that are an Output, when they resolve", async () => {
            await assert.rejects(run(() => new PrivateLinkService("acme", serviceArgs({ tags: { owner: pulumi.output("o".repeat(257)) } }))), /PrivateLinkService "acme": tags\["owner"\] is a tag value of 257 characters/);
            await assert.rejects(run(() => new PrivateLinkService("acme", serviceArgs({ tags: pulumi.output(manyTags(51)) }))), /PrivateLinkService "acme": tags has 51 tags/);
        });
    });

    describe("the components refuse such tags at construction, and deploy 50", () => {
        it("PrivateLinkService", async () => {
            assert.throws(() => new PrivateLinkService("acme", serviceArgs({ tags: manyTags(51) })), /PrivateLinkService "acme": tags has 51 tags/);
            assert.throws(() => new PrivateLinkService("acme", serviceArgs({ tags: { "aws:createdBy": "me" } })), /PrivateLinkService "acme": tags\["aws:createdBy"\] starts with "aws:"/);
            await run(() => new PrivateLinkService("acme", serviceArgs({ tags: manyTags(50) })));
        });
        it("PrivateLinkEndpoint", () => {
            assert.throws(() => new PrivateLinkEndpoint("acme", endpointArgs({ tags: manyTags(51) })), /PrivateLinkEndpoint "acme": tags has 51 tags/);
        });
        it("TunnelRelay, which adds a Name tag to its Elastic IPs and hosts: 49 of the user's", async () => {
            assert.throws(() => new TunnelRelay("relay", relayArgs({ tags: manyTags(50) })), /TunnelRelay "relay": tags has 50 tags and the component adds "Name" to some of its resources: 51 on a resource/);
            await run(() => new TunnelRelay("relay", relayArgs({ tags: manyTags(49) })));
        });
    });

    describe("Route 53 record names built from two arguments", () => {
        // Labels of 63, 63 and 61 characters and the record's own: 253 or 254 characters in all.
        const zoneName = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(61)}.internal`;
        it("PrivateLinkEndpoint: <recordName>.<zoneName> of 254 characters is refused, 253 deploys", async () => {
            assert.equal(`${"r".repeat(55)}.${zoneName}`.length, 254);
            await assert.rejects(
                run(() => new PrivateLinkEndpoint("acme", endpointArgs({ dns: { zoneName, recordName: "r".repeat(55) } }))),
                /PrivateLinkEndpoint "acme": dns\.recordName makes the record name "r{40}…" 254 characters long, over the 253 Route 53 allows; use a shorter recordName or zoneName/,
            );
            await run(() => new PrivateLinkEndpoint("acme", endpointArgs({ dns: { zoneName, recordName: "r".repeat(54) } })));
        });
        it("TunnelRelay: <customer>.tunnel.<zoneName> of 254 characters is refused, naming the customer", () => {
            const relayZone = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.internal`;
            const dns = { zoneId: "Z0123456789ABCDEFGHIJ", zoneName: relayZone };
            const customers = (name: string) => [{ name, principal: `customer-${name}`, listen: ["0.0.0.0:40001"] }];
            assert.equal(`${"x".repeat(46)}.tunnel.${relayZone}`.length, 254);
            assert.throws(
                () => new TunnelRelay("relay", relayArgs({ dns, customers: customers("x".repeat(46)) })),
                /TunnelRelay "relay": customers\[0\]\.name makes the record name "x{40}…" 254 characters long, over the 253 Route 53 allows; use a shorter customer name or dns\.zoneName/,
            );
            new ArgChecker("T", "relay").recordNameFits("customers[0].name", `${"x".repeat(45)}.tunnel.${relayZone}`, "");
        });
        it("ArgChecker.recordNameFits: a label of 64 characters", () => {
            assert.throws(() => new ArgChecker("T", "acme").recordNameFits("f", `${"l".repeat(64)}.internal`, "fix it"), /T "acme": f makes the record name "l{64}\.internal", whose label "l{64}" has 64 characters, over the 63 Route 53 allows; fix it/);
        });
    });
});
