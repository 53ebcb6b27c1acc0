// The agent bundle and native add-ons: no machine-specific build output in it (so two deployers
// upload the same bytes), and enough of ssh2's sources that a host can build the binding itself.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildConnectorBundle } from "../../../components/tunnel/bundle";
import { removeScriptRuns, scratchDirectory } from "../../helpers/userData";

function write(file: string, content: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
}

describe("connector bundle and native add-ons", function () {
    this.timeout(30_000);
    after(() => removeScriptRuns());

    it("says how to get ssh2 when a PrivateLink-only install left the optional dependency out", () => {
        const root = scratchDirectory("no-ssh2");
        write(path.join(root, "package.json"), JSON.stringify({ name: "@firefly/private-connectivity", version: "0.1.0" }));
        write(path.join(root, "agent", "cli.js"), 'require("ssh2");\n');
        assert.throws(() => buildConnectorBundle(path.join(root, "agent")), /"ssh2", an optional dependency .*\(npm install --include=optional\) to deploy TunnelConnector/);
    });

    it("is the same bytes whether or not the deployer's npm built the add-ons", () => {
        // A package with an agent that requires an add-on package, once with node-gyp's build
        // output in place (binary, generated makefiles) and once without.
        const bundleOf = (withBuildOutput: boolean) => {
            const root = scratchDirectory(withBuildOutput ? "bundle-built" : "bundle-unbuilt");
            write(path.join(root, "package.json"), JSON.stringify({ name: "@firefly/private-connectivity", version: "9.9.9" }));
            write(path.join(root, "dist", "connector", "cli.js"), 'require("addon");\n');
            const addon = path.join(root, "node_modules", "addon");
            write(path.join(addon, "package.json"), JSON.stringify({ name: "addon", version: "1.0.0" }));
            write(path.join(addon, "index.js"), "module.exports = 1;\n");
            write(path.join(addon, "lib", "binding.gyp"), "{ 'targets': [] }\n");
            write(path.join(addon, "lib", "src", "binding.cc"), "// source\n");
            if (withBuildOutput) {
                write(path.join(addon, "lib", "build", "Release", "addon.node"), "\u007fELF");
                write(path.join(addon, "lib", "build", "addon.target.mk"), `# generated in ${root}\n`);
                write(path.join(addon, "lib", "build", "binding.Makefile"), "# generated\n");
                write(path.join(addon, "lib", "build", "deps", "x.o"), "obj");
            }
            return buildConnectorBundle(path.join(root, "dist", "connector"));
        };
        const built = bundleOf(true);
        const unbuilt = bundleOf(false);
        assert.deepEqual(built.files, unbuilt.files);
        assert.equal(built.sha256, unbuilt.sha256);
        assert.ok(built.files.includes("node_modules/addon/lib/binding.gyp"), "the sources stay, for a build on the host");
        assert.ok(built.files.includes("node_modules/addon/lib/src/binding.cc"));
    });

    it("carries ssh2's binding sources and none of this machine's build output", () => {
        // That a host really builds the binding from them is run in userData.test.ts (the
        // user data with this machine's npm as npm-22, on this bundle).
        const bundle = buildConnectorBundle();
        assert.ok(!bundle.files.some((f) => /node_modules\/(ssh2|cpu-features)\/.*\bbuild\//.test(f)), "no build output of this machine");
        for (const file of ["binding.gyp", "src/binding.cc"]) assert.ok(bundle.files.includes(`node_modules/ssh2/lib/protocol/crypto/${file}`), file);
        assert.ok(bundle.packages.some((p) => p.startsWith("nan@")), "nan, which binding.gyp includes");
    });
});
