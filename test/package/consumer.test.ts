import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { AnalyzerInfo } from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { policyPackName, policyPackVersion } from "../../policies/pack";
import { allPolicies } from "../../policies/rules";
import { types } from "../helpers/resources";
import { skipInRepeatPass } from "../helpers/testPass";
import { analyzerClient, promised, startPack } from "../policies/startPack";

const run = promisify(execFile);
const root = path.resolve(__dirname, "..", "..");
const fixture = path.join(root, "test", "fixtures", "consumer");

/**
 * The fixture's copy this test process installs into and runs: a sibling of the fixture, so its
 * relative paths (tsconfig's typeRoots, package.json's `file:../../..`) and the climb to this
 * repository's node_modules hold as they do for the fixture. Private to the process because the
 * test command runs its passes side by side (test/setup/passes.js): two passes extracting into one
 * node_modules would read each other's half-written package.
 */
function copyOfFixture(): string {
    const copy = fs.mkdtempSync(path.join(root, "test", "fixtures", ".consumer-run-"));
    process.once("exit", () => fs.rmSync(copy, { recursive: true, force: true }));
    fs.cpSync(fixture, copy, { recursive: true, filter: (source) => path.basename(source) !== "node_modules" });
    return copy;
}

let consumerDir = fixture;
let installed = path.join(consumerDir, "node_modules", "@firefly", "private-connectivity");

/**
 * Another Pulumi project installs this package and imports it by name: `@firefly/private-connectivity`
 * for the components, `@firefly/private-connectivity/policies/offline` for the policy pack's offline
 * evaluator, and runs `pulumi preview --policy-pack node_modules/@firefly/private-connectivity/policies`
 * (README.md). The fixture gets exactly what `npm pack` publishes (dist/ and the compiled pack in
 * policies/bin/, never the TypeScript sources), extracted where `npm install <tarball>` puts it;
 * the package's own dependencies resolve from this repository's node_modules, as they would from
 * the consumer's.
 */
describe("the package as another project uses it", function () {
    this.timeout(120_000);
    let published: string[];

    before(async () => {
        assert.ok(
            fs.existsSync(path.join(root, "dist", "components", "index.js")) && fs.existsSync(path.join(root, "policies", "bin", "index.js")),
            "dist/ or policies/bin/ is missing: run `npm run build` (npm test does) before these tests",
        );
        consumerDir = copyOfFixture();
        installed = path.join(consumerDir, "node_modules", "@firefly", "private-connectivity");
        const packDir = fs.mkdtempSync(path.join(os.tmpdir(), "consumer-pack-"));
        try {
            const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", packDir], { cwd: root });
            const [pack] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
            published = pack!.files.map((f) => f.path);
            fs.rmSync(installed, { force: true, recursive: true });
            fs.mkdirSync(installed, { recursive: true });
            await run("tar", ["-xzf", path.join(packDir, pack!.filename), "-C", installed, "--strip-components=1"]);
        } finally {
            fs.rmSync(packDir, { force: true, recursive: true });
        }
    });

    after(() => {
        if (consumerDir !== fixture) fs.rmSync(consumerDir, { recursive: true, force: true });
    });

    it("publishes the compiled components and the offline policy evaluator with their type declarations", () => {
        for (const required of [
            "package.json",
            "dist/components/index.js",
            "dist/components/index.d.ts",
            "dist/components/privatelink/privateLinkService.d.ts",
            "dist/policies/offline.js",
            "dist/policies/offline.d.ts",
        ]) {
            assert.ok(published.includes(required), `${required} is in the package`);
        }
        assert.ok(!published.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), "no TypeScript sources are published");
        assert.ok(!published.some((f) => f.startsWith("test/")), "no tests are published");
    });

    // README.md: another project runs `pulumi preview --policy-pack node_modules/@firefly/private-connectivity/policies`.
    // npm applies policies/' own ignore file over the root's `files` patterns; policies/.npmignore
    // keeps the pack's .gitignore (which ignores the build output bin/) from dropping the compiled pack.
    it("publishes the policy pack directory with its compiled pack and nothing of its sources", () => {
        for (const required of ["policies/bin/index.js", "policies/bin/rules.js", "policies/PulumiPolicy.yaml", "policies/package.json"]) {
            assert.ok(published.includes(required), `${required} is in the package`);
        }
        const pack = published.filter((f) => f.startsWith("policies/"));
        assert.deepEqual(
            pack.filter((f) => !(f.startsWith("policies/bin/") && f.endsWith(".js"))).sort(),
            ["policies/PulumiPolicy.yaml", "policies/README.md", "policies/package.json"],
            "policies/ carries the compiled pack, its manifests and its README only (no tsconfig, no sources)",
        );
    });

    it("starts the installed policies/ directory as `pulumi preview --policy-pack` does, serving the private-connectivity pack", async () => {
        const started = await startPack(path.join(installed, "policies"));
        const client = analyzerClient(started);
        try {
            const info = await promised<AnalyzerInfo>((done) => client.getAnalyzerInfo(new Empty(), done));
            assert.equal(info.getName(), policyPackName);
            assert.equal(info.getVersion(), policyPackVersion);
            assert.deepEqual(info.getPoliciesList().map((p) => p.getName()), allPolicies.map((p) => p.name));
        } finally {
            client.close();
            started.child.kill();
        }
    });

    // Pulumi's TypeScript template resolves modules the classic "node" way, which ignores package.json
    // "exports" (typesVersions serves the subpath there); node16 projects read "exports".
    for (const [tsconfig, project] of [
        ["tsconfig.json", "a Pulumi template project (moduleResolution node)"],
        ["tsconfig.node16.json", "a project on moduleResolution node16 (package.json exports)"],
    ] as const) {
        it(`type-checks ${project} against the published declarations of both entry points`, async function () {
            // node_modules/.bin/tsc runs on the machine's Node in either pass.
            skipInRepeatPass(this);
            const tsc = path.join(root, "node_modules", ".bin", "tsc");
            const { stdout } = await run(tsc, ["-p", path.join(consumerDir, tsconfig), "--listFiles"], { cwd: consumerDir, maxBuffer: 16 * 1024 * 1024 }).catch(
                (err: { stdout?: string; stderr?: string; message?: string }) =>
                    assert.fail(`the consumer fixture does not type-check (${tsconfig}) against the published *.d.ts:\n${err.stdout || err.stderr || err.message}`),
            );
            const files = stdout.split("\n").filter((line) => line.length > 0);
            for (const declaration of ["dist/components/index.d.ts", "dist/policies/offline.d.ts"]) {
                assert.ok(files.includes(path.join(installed, declaration)), `the program uses the installed ${declaration}`);
            }
            const ownSources = files.filter((f) => !f.includes(`${path.sep}node_modules${path.sep}`) && !f.startsWith(consumerDir + path.sep));
            assert.deepEqual(ownSources, [], "nothing resolves to this repository's sources");
        });
    }

    it("instantiates PrivateLinkService from the built package under Pulumi mocks", async () => {
        const result = await runFixture();
        assert.equal(fs.realpathSync(result.resolvedFrom), path.join(installed, "dist", "components", "index.js"));
        assert.equal(result.outputs.serviceName, "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0");
        const component = result.registered.find((r) => r.type === types.privateLinkService);
        assert.equal(component?.name, "consumer");
        const lb = result.registered.find((r) => r.type === types.loadBalancer);
        assert.equal(lb?.inputs.internal, true);
        const service = result.registered.find((r) => r.type === types.vpcEndpointService);
        assert.equal(service?.inputs.acceptanceRequired, true);
        assert.deepEqual(service?.inputs.allowedPrincipals, ["arn:aws:iam::222222222222:root"]);
    });

    it("judges the program with the policy pack through @firefly/private-connectivity/policies/offline", async () => {
        const result = await runFixture();
        assert.equal(fs.realpathSync(result.policiesResolvedFrom), path.join(installed, "dist", "policies", "offline.js"));
        assert.ok(result.registered.length > 5, "the verdict covers the component's resources");
        assert.deepEqual(result.verdict, [], "the component's secure defaults pass the pack");
        assert.deepEqual(result.publicLoadBalancerVerdict, [
            "load-balancer-internal consumer-nlb [mandatory]",
            "endpoint-service-nlb-internal consumer-nlb [mandatory]",
        ]);
        // PolicyConfigError is the installed module's class: `instanceof` works in the consumer's code.
        assert.deepEqual(result.badPortProblems, ['policy "lb-listener-tcp-encrypted-ports", field "tlsPassthroughPorts.0": must be >= 1']);
    });
});

interface FixtureResult {
    resolvedFrom: string;
    policiesResolvedFrom: string;
    outputs: Record<string, unknown>;
    registered: Array<{ type: string; name: string; inputs: Record<string, unknown> }>;
    verdict: string[];
    publicLoadBalancerVerdict: string[];
    badPortProblems?: string[];
}

let fixtureRun: Promise<FixtureResult> | undefined;

/** The fixture's run.ts (in this process's copy) in its own process (once: the tests only read its result). */
function runFixture(): Promise<FixtureResult> {
    fixtureRun ??= run(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(consumerDir, "run.ts")], {
        cwd: consumerDir,
        env: { ...process.env, TS_NODE_PROJECT: path.join(consumerDir, "tsconfig.json") },
        maxBuffer: 16 * 1024 * 1024,
    }).then(({ stdout }) => JSON.parse(stdout) as FixtureResult);
    return fixtureRun;
}
