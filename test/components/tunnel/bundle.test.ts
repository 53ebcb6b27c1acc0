// The agent bundle and native add-ons: no machine-specific build output in it (so two deployers
// upload the same bytes), and enough of ssh2's sources that a host can build the binding itself.
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildConnectorBundle } from "../../../components/tunnel/bundle";
import * as zlib from "node:zlib";
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
    describe("the compressed archive kept between builds", () => {
        // A small agent whose archive is unique to this run and variant, so no earlier run's files are found;
        // the label only makes its directory another one.
        const agent = (label: string, variant: string): string => {
            const root = scratchDirectory(`bundle-reuse-${label}`);
            write(path.join(root, "package.json"), JSON.stringify({ name: "@firefly/private-connectivity", version: "9.9.9" }));
            write(path.join(root, "dist", "connector", "cli.js"), `// ${reuseRun} ${variant}\n`);
            return path.join(root, "dist", "connector");
        };
        const reuseRun = crypto.randomUUID();
        const outDir = path.join(os.tmpdir(), "firefly-connector-bundle");
        const indexOf = (bundle: { file: string }): string => {
            const tar = zlib.gunzipSync(fs.readFileSync(bundle.file));
            return path.join(outDir, `tar-${crypto.createHash("sha256").update(tar).digest("hex")}.gz-sha256`);
        };

        it("is taken by the next build of the same sources: same bytes, same key, found through the index", () => {
            const first = buildConnectorBundle(agent("a", "1"));
            const index = indexOf(first);
            assert.equal(fs.readFileSync(index, "utf8").trim(), first.sha256);
            const before = fs.statSync(first.file).mtimeMs;
            const second = buildConnectorBundle(agent("b", "1"));
            assert.equal(second.sha256, first.sha256);
            assert.equal(second.file, first.file);
            // Not written again (true of any build of identical bytes; that the index was used is shown below).
            assert.equal(fs.statSync(second.file).mtimeMs, before, "the archive file is not written again");
            assert.equal(crypto.createHash("sha256").update(fs.readFileSync(second.file)).digest("hex"), second.sha256);

            // Proof that the build read the index rather than compressing again to the same bytes:
            // another valid archive of the same tar (level 1), listed in the index, is taken as is.
            const fast = zlib.gzipSync(zlib.gunzipSync(fs.readFileSync(first.file)), { level: 1 });
            const fastSha = crypto.createHash("sha256").update(fast).digest("hex");
            assert.notEqual(fastSha, first.sha256);
            fs.writeFileSync(path.join(outDir, `firefly-connector-${fastSha}.tar.gz`), fast);
            fs.writeFileSync(index, `${fastSha}\n`);
            assert.equal(buildConnectorBundle(agent("b2", "1")).sha256, fastSha);
        });

        it("is never uploaded when it is cut short or replaced: the build compresses afresh and rewrites it", () => {
            const good = buildConnectorBundle(agent("c", "2"));
            const bytes = fs.readFileSync(good.file);
            // Cut short: the index still names it, its bytes no longer hash to that name.
            fs.writeFileSync(good.file, bytes.subarray(0, bytes.length >> 1));
            const afterCut = buildConnectorBundle(agent("d", "2"));
            assert.equal(afterCut.sha256, good.sha256);
            assert.ok(fs.readFileSync(afterCut.file).equals(bytes), "the archive file holds the whole archive again");

            // The index names another valid archive (of other sources): it does not unpack to this tar.
            const other = buildConnectorBundle(agent("e-other", "3"));
            fs.writeFileSync(indexOf(good), `${other.sha256}\n`);
            const afterSwap = buildConnectorBundle(agent("f", "2"));
            assert.equal(afterSwap.sha256, good.sha256);
            assert.equal(fs.readFileSync(indexOf(good), "utf8").trim(), good.sha256, "the index is put right");

            // Garbage in the index.
            fs.writeFileSync(indexOf(good), "../../etc/passwd\n");
            assert.equal(buildConnectorBundle(agent("g", "2")).sha256, good.sha256);
        });

        it("is never written into or read from a directory of another user's: it takes one of its own", function () {
            if (process.getuid?.() !== 0) this.skip(); // needs chown, as the tests' sshd does
            const tmp = scratchDirectory("bundle-foreign-tmp");
            const shared = path.join(tmp, "firefly-connector-bundle");
            fs.mkdirSync(shared, { mode: 0o777 });
            fs.chownSync(shared, 65534, 65534); // nobody's, as another user would leave it
            const previous = process.env.TMPDIR;
            process.env.TMPDIR = tmp;
            try {
                const bundle = buildConnectorBundle(agent("h", "4"));
                assert.equal(path.dirname(bundle.file), `${shared}-0`);
                assert.equal(fs.statSync(`${shared}-0`).mode & 0o777, 0o700, "this user's directory, private");
                assert.deepEqual(fs.readdirSync(shared), [], "nothing written into the other user's directory");

                // Both names taken by someone else: refused, saying what to do.
                fs.rmSync(`${shared}-0`, { recursive: true });
                fs.writeFileSync(`${shared}-0`, "not a directory");
                assert.throws(() => buildConnectorBundle(agent("i", "5")), /belong to another user or are not directories; remove them or set TMPDIR/);
            } finally {
                if (previous === undefined) delete process.env.TMPDIR;
                else process.env.TMPDIR = previous;
            }
        });
    });
});
