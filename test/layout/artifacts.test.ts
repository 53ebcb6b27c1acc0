import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { matchOldState, type OldStateMatch } from "../../offline/aliases";
import type { Plan } from "../../offline/plan";
import { type Artifacts, currentPlan, recordedFile } from "./artifacts";

// SHA-256 of each resource's inputs (JSON), the connector bundle's hash replaced by a placeholder.
function inputsHash(a: Artifacts, stack: string): Map<string, string> {
    let text = JSON.stringify(a.stacks[stack]?.resources ?? []);
    for (const key of a.bundleSha256) text = text.split(key.slice("firefly-connector-".length)).join("<bundle-sha256>");
    const resources = JSON.parse(text) as Array<{ urn: string; inputs: unknown }>;
    return new Map(resources.map((r) => [r.urn, createHash("sha256").update(JSON.stringify(r.inputs)).digest("hex")]));
}

/** Resource types whose inputs differ from a78d45b's, each changed by feature work on purpose. */
const changedSinceBase: string[] = [
    // PrivateApi's resource policy uses execute-api:/* so it is known at preview (issue 16); the
    // deployment's redeploy trigger hashes the policy, so both change.
    "customer-dev aws:apigateway/deployment:Deployment",
    "customer-dev aws:apigateway/restApiPolicy:RestApiPolicy",
    // Connector user data: AES-256 pinning, native-crypto check, metrics reporter, the agent bundle (issue 18).
    "customer-dev aws:ec2/launchTemplate:LaunchTemplate",
    // The NLB's security group from creation, enforced on PrivateLink traffic (issues 15 and 16).
    "customer-dev aws:lb/loadBalancer:LoadBalancer",
    "firefly-dev aws:apigateway/deployment:Deployment",
    "firefly-dev aws:apigateway/restApiPolicy:RestApiPolicy",
    // Relay user data: one relay fleet for every customer (issue 14), the sshd_config the generator pins
    // (ciphers, ClientAlive) and the agent bundle (issue 18).
    "firefly-dev aws:ec2/launchTemplate:LaunchTemplate",
    // Security group and rule descriptions without an apostrophe: AWS refuses one (only
    // a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*), so no deployment can hold the earlier descriptions.
    "firefly-dev aws:ec2/securityGroup:SecurityGroup",
    "firefly-dev aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "firefly-dev aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
];

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

    // What the example deployment registered at a78d45b, before the layout move (issue 13) and the
    // multi-customer platform: the plan that commit's own code printed (test/layout/fixtures, with
    // how it was made). No resource of it may be lost. Resources are matched to that state the way
    // the engine does it: by URN, then by alias (own, or inherited from an aliased parent), so a
    // moved type token or a migrated zone counts as kept when its alias leads to the old state.
    const base = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "a78d45b-state.json"), "utf8")) as {
        stacks: Record<string, Array<{ urn: string; type: string; inputs: string }>>;
    };
    const typeOf = (urn: string) => urn.split("::")[2]!.split("$").pop()!;
    const match = (stack: string, olds: Iterable<string>) => matchOldState(plan.stacks.find((s) => s.stack === stack)?.resources ?? [], new Set(olds));
    const lostOf = (m: OldStateMatch) => m.deletes.map((urn) => `${typeOf(urn)}::${urn.split("::").pop()}`).sort();

    it("keeps every URN the customer stack had at a78d45b (same URN or an alias)", () => {
        const m = match("customer-dev", base.stacks["customer-dev"]!.map((r) => r.urn));
        assert.deepEqual(m.conflicts, []);
        assert.deepEqual(lostOf(m), []);
    });

    it("keeps every URN the platform stack had at a78d45b (the zone by its alias), but a renamed stack reference (a read, no state)", () => {
        // The zone's alias itself is checked by test/stacks/platformCustomers.test.ts (migration).
        const m = match("firefly-dev", base.stacks["firefly-dev"]!.map((r) => r.urn));
        assert.deepEqual(m.conflicts, []);
        assert.deepEqual(lostOf(m), ["pulumi:pulumi:StackReference::customer"]);
    });

    // Generated artifacts did change since a78d45b, on purpose, by the feature work of issues 14 to
    // 18 (each re-recording commit names what and why). What must not change is anything the move
    // alone would explain: resources whose inputs differ from a78d45b's are exactly the ones below,
    // by type, and every one of them is a resource the features changed.
    it("changes, since a78d45b, the inputs of only the resource types the feature work changed", () => {
        const changedTypes = new Set<string>();
        for (const stack of ["customer-dev", "firefly-dev"]) {
            const olds = new Map(base.stacks[stack]!.map((r) => [r.urn, r.inputs]));
            const m = match(stack, olds.keys());
            const hashes = inputsHash(current, stack);
            for (const [urn, old] of m.matched) if (hashes.get(urn) !== olds.get(old)) changedTypes.add(`${stack} ${typeOf(urn)}`);
        }
        assert.deepEqual([...changedTypes].sort(), changedSinceBase);
    });

    // 0.1.0 registered components as firefly:<module>:<Name>; the component provider needs
    // private-connectivity:index:<Name>. Each component aliases its old type, and the engine carries
    // that alias to every child: all three example stacks must take over every resource they had,
    // with the same inputs, and create none (an update that changes no cloud resource).
    describe("type tokens moved to private-connectivity:index:<Name>", () => {
        // The state fixture was recorded just before the move. Created or changed since by a feature,
        // not by the move, and only these: the certificate-expiry alarm of each tunnel connector and
        // the reporter in its user data that feeds it (issue 18, metrics off the host).
        const addedSinceV010: Record<string, string[]> = {
            "customer-dev": ["aws:cloudwatch/metricAlarm:MetricAlarm::acme-tunnel-certificate-expiring"],
            "customer-globex-dev": ["aws:cloudwatch/metricAlarm:MetricAlarm::globex-tunnel-certificate-expiring"],
        };
        // Security group (rule) descriptions lost their apostrophes, which AWS refuses (CreateSecurityGroup,
        // AuthorizeSecurityGroupIngress/Egress): no deployment can hold the earlier descriptions.
        const changedSinceV010: Record<string, string[]> = {
            "customer-dev": ["aws:ec2/launchTemplate:LaunchTemplate::acme-tunnel-lt", "aws:ec2/securityGroup:SecurityGroup::acme-nlb-sg"],
            "customer-globex-dev": ["aws:ec2/launchTemplate:LaunchTemplate::globex-tunnel-lt", "aws:ec2/securityGroup:SecurityGroup::globex-nlb-sg"],
            "firefly-dev": [
                "aws:ec2/securityGroup:SecurityGroup::relay-platform-nlb-sg",
                "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule::relay-platform-nlb-out-40001",
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::relay-in-40001-from-platform-nlb",
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::relay-platform-nlb-in-40001-from-0",
            ],
        };
        const v010 = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "v0.1.0-state.json"), "utf8")) as { stacks: Record<string, Record<string, string>> };
        for (const stack of ["customer-dev", "customer-globex-dev", "firefly-dev"]) {
            it(`${stack}: every 0.1.0 resource is taken over (by URN or alias) with the same inputs; nothing is created or deleted but by the features listed`, () => {
                const olds = v010.stacks[stack]!;
                const m = match(stack, Object.keys(olds));
                assert.deepEqual(m.conflicts, []);
                assert.deepEqual(m.deletes, [], "deleted (state not taken over)");
                // Resources a feature added since 0.1.0 are created by the upgrade, and only those.
                const added = addedSinceV010[stack] ?? [];
                assert.deepEqual(m.creates.map((urn) => urn.split("$").pop()!).sort(), [...added].sort(), "created (no earlier state)");
                const hashes = inputsHash(current, stack);
                const changed = [...m.matched].filter(([urn, old]) => hashes.get(urn) !== olds[old]).map(([urn]) => urn.split("$").pop()!);
                assert.deepEqual(changed.sort(), [...(changedSinceV010[stack] ?? [])].sort(), "inputs changed");
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
