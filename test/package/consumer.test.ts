import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = path.resolve(__dirname, "..", "..");
const fixture = path.join(root, "test", "fixtures", "consumer");
const linked = path.join(fixture, "node_modules", "@firefly", "private-connectivity");

/**
 * Another Pulumi project installs this package and imports it by name. These tests use the
 * built package entry (dist/, through package.json `exports`), never the TypeScript sources.
 */
describe("the package as another project uses it", function () {
    this.timeout(120_000);

    before(() => {
        assert.ok(
            fs.existsSync(path.join(root, "dist", "components", "index.js")),
            "dist/ is missing: run `npm run build` (npm test does) before these tests",
        );
        // What `npm install ../..` (a file: dependency) does: a symlink in node_modules.
        fs.mkdirSync(path.dirname(linked), { recursive: true });
        fs.rmSync(linked, { force: true, recursive: true });
        fs.symlinkSync(root, linked, "dir");
    });

    it("publishes the compiled components with their type declarations", async () => {
        const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root });
        const [pack] = JSON.parse(stdout) as Array<{ name: string; files: Array<{ path: string }> }>;
        const files = pack!.files.map((f) => f.path);
        for (const required of ["package.json", "dist/components/index.js", "dist/components/index.d.ts", "dist/components/privateLinkService.d.ts"]) {
            assert.ok(files.includes(required), `${required} is in the package`);
        }
        assert.ok(!files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), "no TypeScript sources are published");
        assert.ok(!files.some((f) => f.startsWith("test/")), "no tests are published");
    });

    it("type-checks a consumer program against the published declarations", async () => {
        const tsc = path.join(root, "node_modules", ".bin", "tsc");
        await run(tsc, ["-p", path.join(fixture, "tsconfig.json")], { cwd: fixture }).catch((err: { stdout?: string }) => {
            assert.fail(`the consumer fixture does not type-check against dist/*.d.ts:\n${err.stdout}`);
        });
    });

    it("instantiates PrivateLinkService from the built package under Pulumi mocks", async () => {
        const { stdout } = await run(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(fixture, "run.ts")], {
            cwd: fixture,
            env: { ...process.env, TS_NODE_PROJECT: path.join(fixture, "tsconfig.json") },
        });
        const result = JSON.parse(stdout) as {
            resolvedFrom: string;
            outputs: Record<string, unknown>;
            registered: Array<{ type: string; name: string; inputs: Record<string, unknown> }>;
        };
        assert.equal(fs.realpathSync(result.resolvedFrom), path.join(root, "dist", "components", "index.js"));
        assert.equal(result.outputs.serviceName, "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0");
        const component = result.registered.find((r) => r.type === "firefly:privatelink:PrivateLinkService");
        assert.equal(component?.name, "consumer");
        const lb = result.registered.find((r) => r.type === "aws:lb/loadBalancer:LoadBalancer");
        assert.equal(lb?.inputs.internal, true);
        const service = result.registered.find((r) => r.type === "aws:ec2/vpcEndpointService:VpcEndpointService");
        assert.equal(service?.inputs.acceptanceRequired, true);
        assert.deepEqual(service?.inputs.allowedPrincipals, ["arn:aws:iam::222222222222:root"]);
    });
});
