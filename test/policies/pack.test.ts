// The pack's wiring: what index.ts registers, each rule's metadata, and what the package ships
// so that the CLI can run the pack from this repository and from node_modules.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Policy } from "@pulumi/policy";
import * as YAML from "yaml";
import * as apiGateway from "../../policies/apiGateway";
import * as connectorHosts from "../../policies/connectorHosts";
import { CONNECTOR_ROLE_TAG_KEY, CONNECTOR_ROLE_TAG_VALUE } from "../../policies/conventions";
import * as endpointServices from "../../policies/endpointServices";
import * as flowLogs from "../../policies/flowLogs";
import * as interfaceEndpoints from "../../policies/interfaceEndpoints";
import * as loadBalancers from "../../policies/loadBalancers";
import { evaluatePolicies } from "../../policies/offline";
import { policyPackName, policyPackVersion } from "../../policies/pack";
import * as publicFronts from "../../policies/publicFronts";
import { allPolicies } from "../../policies/rules";
import * as tls from "../../policies/tls";
import * as userData from "../../policies/userData";

const root = path.resolve(__dirname, "..", "..");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");

function isPolicy(value: unknown): value is Policy {
    return (
        value !== null &&
        typeof value === "object" &&
        typeof (value as Policy).name === "string" &&
        ("validateResource" in value || "validateStack" in value)
    );
}

/** Every rule constant any family module exports. */
const exportedRules = [apiGateway, connectorHosts, endpointServices, flowLogs, interfaceEndpoints, loadBalancers, publicFronts, tls, userData].flatMap((module) =>
    Object.values(module).filter(isPolicy),
);

describe("policy pack wiring", () => {
    it("index.ts constructs PolicyPack('private-connectivity') from allPolicies and nothing else", () => {
        const source = read("policies/index.ts");
        assert.match(source, /import \{ allPolicies \} from "\.\/rules";/);
        assert.match(source, /import \{ policyPackName \} from "\.\/pack";/);
        const constructions = source.match(/new PolicyPack\(/g) ?? [];
        assert.equal(constructions.length, 1);
        assert.match(source, /new PolicyPack\(policyPackName, \{ policies: allPolicies \}\);/);
        assert.equal(policyPackName, "private-connectivity");
    });

    it("allPolicies holds every rule the family modules export, once", () => {
        const names = allPolicies.map((p) => p.name);
        assert.equal(new Set(names).size, names.length, "rule names are unique");
        assert.deepEqual(new Set(exportedRules), new Set(allPolicies));
    });

    for (const policy of allPolicies) {
        describe(policy.name, () => {
            it("has a kebab-case name the engine accepts", () => {
                assert.match(policy.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
                assert.notEqual(policy.name, "all");
            });

            it("declares description, enforcement level, severity and remediation steps", () => {
                assert.ok(policy.description.length > 20);
                // Issue 16: unauthenticated methods are advisory unless the config makes them mandatory.
                const advisoryByDesign = ["apigateway-method-authorization"];
                assert.equal(policy.enforcementLevel, advisoryByDesign.includes(policy.name) ? "advisory" : "mandatory");
                assert.ok(policy.severity);
                assert.ok((policy.remediationSteps ?? "").length > 20);
            });

            it("has a config schema the engine accepts: no enforcementLevel property, every property documented with a default", () => {
                const properties = policy.configSchema?.properties ?? {};
                assert.ok(!("enforcementLevel" in properties));
                assert.ok(!(policy.configSchema?.required ?? []).includes("enforcementLevel"));
                for (const [key, schema] of Object.entries(properties)) {
                    assert.ok(schema.description, `${key} has a description`);
                    assert.ok(schema.default !== undefined, `${key} has a default`);
                }
            });
        });
    }

    it("runs with no config at all (every default validates)", async () => {
        assert.deepEqual(await evaluatePolicies([]), []);
    });
});

describe("policy pack directory and package", () => {
    const rootManifest = JSON.parse(read("package.json")) as {
        version: string;
        files: string[];
        dependencies: Record<string, string>;
        devDependencies: Record<string, string>;
        exports: Record<string, unknown>;
    };
    const packManifest = JSON.parse(read("policies/package.json")) as {
        version: string;
        main: string;
        files: string[];
        scripts: Record<string, string>;
        dependencies: Record<string, string>;
    };

    it("PulumiPolicy.yaml declares the nodejs runtime", () => {
        const project = YAML.parse(read("policies/PulumiPolicy.yaml")) as { runtime: unknown; description?: string };
        assert.equal(project.runtime, "nodejs");
        assert.ok(project.description);
    });

    it("the pack directory's package.json carries the package version", () => {
        assert.equal(packManifest.version, rootManifest.version);
        assert.equal(policyPackVersion, rootManifest.version);
    });

    it("the pack directory depends on every package its sources import, at the root package's versions", () => {
        const imported = new Set<string>();
        for (const file of fs.readdirSync(path.join(root, "policies")).filter((f) => f.endsWith(".ts"))) {
            for (const [, specifier] of read(`policies/${file}`).matchAll(/from "([^".][^"]*)"/g)) {
                if (specifier && !specifier.startsWith("node:")) imported.add(specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!);
            }
        }
        assert.deepEqual(Object.keys(packManifest.dependencies).sort(), [...imported].sort());
        for (const [name, range] of Object.entries(packManifest.dependencies)) {
            assert.equal(range, rootManifest.dependencies[name], `${name} has the root package's range`);
        }
    });

    it("the pack directory's main is its own compiled index.ts, built by its build script and before every npm pack", () => {
        assert.equal(packManifest.main, "bin/index.js");
        const buildConfig = JSON.parse(read("policies/tsconfig.json")) as { include: string[]; compilerOptions: { outDir: string; rootDir: string } };
        assert.equal(buildConfig.compilerOptions.outDir, "bin");
        assert.equal(buildConfig.compilerOptions.rootDir, ".");
        assert.match(packManifest.scripts.build ?? "", /^tsc -p tsconfig\.json$/);
        assert.equal(packManifest.scripts.prepack, "npm run build");
        assert.deepEqual(packManifest.files, ["bin/**/*.js", "PulumiPolicy.yaml", "README.md"]);
    });

    it("the published package ships the pack directory and its compiled code", () => {
        // The package keeps shipping the compiled rules for the offline evaluator other projects import.
        for (const entry of ["dist/policies/**", "policies/PulumiPolicy.yaml", "policies/package.json"]) {
            assert.ok(rootManifest.files.includes(entry), `files includes ${entry}`);
        }
        assert.ok(rootManifest.exports["./policies/offline"], "the offline evaluator is importable by other projects");
    });

    it("the pack's runtime dependencies are dependencies, not devDependencies", () => {
        for (const dependency of ["@pulumi/policy", "@pulumi/pulumi", "@pulumi/aws", "ajv"]) {
            assert.ok(rootManifest.dependencies[dependency], `${dependency} is a dependency`);
            assert.equal(rootManifest.devDependencies[dependency], undefined);
        }
    });

    it("marks connector security groups with firefly:role = connector", () => {
        assert.equal(CONNECTOR_ROLE_TAG_KEY, "firefly:role");
        assert.equal(CONNECTOR_ROLE_TAG_VALUE, "connector");
    });
});
