// policies/README.md is what a user configures the pack from: its rules table and its config
// examples must say what the pack's schemas accept, or a user copies a config the engine refuses.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { Policy, PolicyConfigSchema } from "@pulumi/policy";
import { reconcilePolicyPackConfig } from "../../policies/packConfig";
import { allPolicies } from "../../policies/rules";
import { defaultPolicyConfigFile } from "../../offline/cli";
import { readProject } from "../../offline/project";
import { markdownSection } from "../helpers/markdown";

const root = path.resolve(__dirname, "..", "..");
const readme = fs.readFileSync(path.join(root, "policies", "README.md"), "utf8");

type PropertySchema = PolicyConfigSchema["properties"][string];

/** The rules table's rows by rule name: `| \`name\` | family | kind | checks | severity | config |`. */
function rulesTable(): Map<string, { kind: string; severity: string; config: string }> {
    const rows = new Map<string, { kind: string; severity: string; config: string }>();
    for (const line of readme.split("\n")) {
        const match = /^\| `([a-z0-9-]+)` \|(.*)\|$/.exec(line);
        if (!match) continue;
        // Cells are separated by unescaped pipes; `\|` is a pipe inside a cell.
        const cells = match[2]!.split(/(?<!\\)\|/).map((cell) => cell.trim());
        assert.equal(cells.length, 5, `the row of ${match[1]} has six columns: ${line}`);
        rows.set(match[1]!, { kind: cells[1]!, severity: cells[3]!, config: cells[4]! });
    }
    return rows;
}

/** Every `minimum`–`maximum` range in a property's schema, nested ones (array items, object fields) included. */
function rangesIn(schema: PropertySchema): string[] {
    const ranges: string[] = [];
    const visit = (node: unknown): void => {
        if (node === null || typeof node !== "object") return;
        const { minimum, maximum } = node as { minimum?: unknown; maximum?: unknown };
        if (typeof minimum === "number" && typeof maximum === "number") ranges.push(`${minimum}–${maximum}`);
        for (const child of Object.values(node)) visit(child);
    };
    visit(schema);
    return ranges;
}

/** The fenced JSON blocks of the README: every one is a `--policy-pack-config` file. */
function jsonExamples(): unknown[] {
    return [...readme.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((block) => JSON.parse(block[1]!) as unknown);
}

describe("policies/README.md", () => {
    const rows = rulesTable();

    it("has one row in the rules table per rule of the pack, and no other", () => {
        assert.deepEqual([...rows.keys()].sort(), allPolicies.map((p) => p.name).sort());
    });

    for (const policy of allPolicies) {
        const properties = Object.entries(policy.configSchema?.properties ?? {});
        it(`documents ${policy.name}: its kind, severity${properties.length > 0 ? ", each config key with its default and range" : " and no config"}`, () => {
            const row = rows.get(policy.name);
            assert.ok(row, `${policy.name} has a row`);
            assert.equal(row.kind, isStackPolicy(policy) ? "stack" : "resource");
            assert.equal(row.severity, policy.severity);
            if (properties.length === 0) {
                assert.equal(row.config, "–");
            }
            for (const [key, schema] of properties) {
                assert.ok(row.config.includes(`\`${key}: `), `the config cell names ${key}: ${row.config}`);
                assert.ok(row.config.includes(`(\`${JSON.stringify(schema.default)}\`)`), `the config cell gives ${key}'s default ${JSON.stringify(schema.default)}: ${row.config}`);
                for (const range of rangesIn(schema)) {
                    assert.ok(row.config.includes(range), `the config cell states the range ${range} that ${key} accepts: ${row.config}`);
                }
            }
        });
    }

    it("states the accepted port range next to every port setting", () => {
        // The ports are the one range shared by several rules: each rule's cell says it (above), and so
        // does the configuration section, which names every port key.
        const section = markdownSection(readme, "## Configuration and the expected exceptions");
        const portKeys = allPolicies.flatMap((policy) =>
            Object.entries(policy.configSchema?.properties ?? {}).flatMap(([key, schema]) => {
                if (rangesIn(schema).includes("1–65535")) {
                    return schema.type === "array" && (schema.items as PropertySchema | undefined)?.type === "object" ? [`${key}[].port`] : [key];
                }
                return [];
            }),
        );
        assert.deepEqual(portKeys.sort(), ["allowedPublicIngress[].port", "allowedPublicListeners[].port", "allowedPublicTargets[].port", "publicListenerPorts", "publicTargetPorts", "relaySshPorts", "sshPorts", "tlsPassthroughPorts"]);
        assert.match(section, /integer from \*\*1 to 65535\*\*/);
        for (const key of portKeys) assert.ok(section.includes(`\`${key}\``), `the configuration section names ${key}`);
    });

    describe("every config example", () => {
        const examples = jsonExamples();

        it("exists (the relay's exceptions at least)", () => {
            assert.ok(examples.length > 0);
        });

        examples.forEach((example, index) => {
            it(`#${index + 1} names only rules of the pack and passes their config schemas`, () => {
                assert.ok(example !== null && typeof example === "object" && !Array.isArray(example), "a config file is a JSON object");
                const names = new Set(["all", ...allPolicies.map((p) => p.name)]);
                // The engine ignores entries for rules the pack does not have: a misspelt name would pass silently.
                for (const key of Object.keys(example)) assert.ok(names.has(key), `"${key}" is a rule of the pack`);
                assert.doesNotThrow(() => reconcilePolicyPackConfig(allPolicies, example as Record<string, unknown>));
            });
        });

        it("the relay's exceptions are exactly the firefly stack's policy config file", () => {
            const configFile = defaultPolicyConfigFile(readProject().stackConfigDir, "firefly-dev");
            assert.ok(configFile, "the firefly stack ships a policy config file, where npm start looks for it");
            const file = JSON.parse(fs.readFileSync(configFile, "utf8")) as unknown;
            assert.ok(
                examples.some((example) => isDeepStrictEqual(example, file)),
                "policies/README.md shows stacks/policy-config.firefly-dev.json as it is",
            );
        });
    });
});

function isStackPolicy(policy: Policy): boolean {
    return "validateStack" in policy;
}
