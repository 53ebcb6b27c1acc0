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
const exportedRules = [apiGateway, connectorHosts, endpointServices, flowLogs, interfaceEndpoints, loadBalancers, tls, userData].flatMap((module) =>
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
    const packManifest = JSON.parse(read("policies/package.json")) as { version: string; main: string; dependencies?: unknown };

    it("PulumiPolicy.yaml declares the nodejs runtime", () => {
        const project = YAML.parse(read("policies/PulumiPolicy.yaml")) as { runtime: unknown; description?: string };
        assert.equal(project.runtime, "nodejs");
        assert.ok(project.description);
    });

    it("the pack directory's package.json carries the package version and no dependencies of its own", () => {
        assert.equal(packManifest.version, rootManifest.version);
        assert.equal(policyPackVersion, rootManifest.version);
        assert.equal(packManifest.dependencies, undefined, "dependencies resolve from the package root");
    });

    it("the pack directory's main is the compiled index.ts", () => {
        const main = path.resolve(root, "policies", packManifest.main);
        assert.equal(main, path.join(root, "dist", "policies", "index.js"));
        const buildConfig = JSON.parse(read("tsconfig.build.json")) as { include: string[]; compilerOptions: { outDir: string; rootDir: string } };
        assert.ok(buildConfig.include.includes("policies"));
        assert.equal(buildConfig.compilerOptions.outDir, "dist");
        assert.equal(buildConfig.compilerOptions.rootDir, ".");
    });

    it("the published package ships the pack directory and its compiled code", () => {
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
