// The tunnel agent as one artifact: the compiled agent (dist/connector) plus exactly the npm
// packages it requires at run time, as a deterministic .tar.gz. TunnelConnector builds it while
// the Pulumi program runs (every preview and up), uploads it to S3 under a key that contains its
// SHA-256, and the instances' user data fetches and verifies it. Same sources, same bytes, same
// key: an unchanged agent changes nothing; a changed one gets a new key, a new launch template
// version, and an instance refresh.
//
// Built in-process with node:zlib and a minimal ustar writer (no tar binary, no bundler, no
// shell), so `pulumi preview` shows the new key before anything is uploaded and the build works
// wherever the Pulumi program runs.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { isBuiltin } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";

export interface ConnectorBundle {
    /** The .tar.gz on local disk (a temp file), for a `pulumi.asset.FileAsset`. */
    readonly file: string;
    /** Hex SHA-256 of the .tar.gz: the S3 key carries it and the instance checks it. */
    readonly sha256: string;
    /** Bytes of the .tar.gz. */
    readonly size: number;
    /** Paths inside the archive, sorted (`connector/cli.js`, `node_modules/ssh2/package.json`, …). */
    readonly files: readonly string[];
    /** Packages included, `name@version`, sorted. */
    readonly packages: readonly string[];
}

/** Where the agent's entry point is, relative to the bundle's root. */
/** The agent's command line inside an unpacked bundle. */
export const bundleEntryPoint = "connector/cli.js";

/** Every file in the archive gets this modification time, so the bytes depend on content only. */
const fixedMtime = Date.UTC(2024, 0, 1) / 1000;

const cache = new Map<string, ConnectorBundle>();

/**
 * Builds (once per process and agent directory) the agent bundle. `agentDir` defaults to the
 * compiled agent next to the components: `dist/connector` of this package.
 */
export function buildConnectorBundle(agentDir: string = compiledAgentDir()): ConnectorBundle {
    const cached = cache.get(agentDir);
    if (cached) return cached;
    const entries = new Map<string, Buffer>();
    const packageRoot = findPackageRoot(agentDir);
    const manifest = readJson(path.join(packageRoot, "package.json")) as { name?: string; version?: string };
    // The agent prints this version (`firefly-connector --version`) and finds its package by name.
    entries.set("package.json", Buffer.from(`${JSON.stringify({ name: manifest.name, version: manifest.version, private: true }, null, 2)}\n`));

    const required = new Set<string>();
    for (const file of walk(agentDir)) {
        if (!file.endsWith(".js")) continue;
        const source = fs.readFileSync(path.join(agentDir, file));
        entries.set(`connector/${file}`, source);
        for (const specifier of requiredSpecifiers(source.toString("utf8"))) {
            if (specifier.startsWith(".") || isBuiltin(specifier)) continue;
            required.add(packageNameOf(specifier));
        }
    }
    if (!entries.has(bundleEntryPoint)) {
        throw new Error(`${agentDir} has no cli.js: build the agent first (npm run build)`);
    }

    const packages = new Map<string, { dir: string; version: string }>();
    const visit = (name: string, from: string, optional: boolean): void => {
        const dir = resolvePackageDir(name, from);
        if (dir === undefined) {
            if (optional) return;
            throw new Error(
                name === "ssh2"
                    ? `the agent needs the npm package "ssh2", an optional dependency of this package that is not installed (npm install --omit=optional skips it): install it (npm install --include=optional) to deploy TunnelConnector`
                    : `the agent needs the npm package "${name}" (required from ${from}), which is not installed: run npm ci`,
            );
        }
        const pkg = readJson(path.join(dir, "package.json")) as {
            version?: string;
            dependencies?: Record<string, string>;
            optionalDependencies?: Record<string, string>;
        };
        const version = pkg.version ?? "0.0.0";
        const seen = packages.get(name);
        if (seen) {
            if (fs.realpathSync(seen.dir) !== fs.realpathSync(dir)) {
                throw new Error(
                    `the agent's dependencies need two versions of "${name}" (${seen.version} and ${version}); the bundle holds one copy of each package: align the versions (npm dedupe)`,
                );
            }
            return;
        }
        packages.set(name, { dir, version });
        const optionalNames = new Set(Object.keys(pkg.optionalDependencies ?? {}));
        for (const dependency of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
            visit(dependency, dir, optionalNames.has(dependency));
        }
    };
    for (const name of [...required].sort()) visit(name, agentDir, false);

    for (const [name, { dir }] of packages) {
        const files = walk(dir);
        const buildDirs = nativeBuildDirs(files);
        for (const file of files) {
            if (file.endsWith(".node") || buildDirs.some((prefix) => file.startsWith(prefix))) continue;
            entries.set(`node_modules/${name}/${file}`, fs.readFileSync(path.join(dir, file)));
        }
    }

    const files = [...entries.keys()].sort();
    const tar = ustar(files.map((name) => ({ name, data: entries.get(name)! })));
    const outDir = bundleDirectory();
    const index = path.join(outDir, `tar-${sha256Of(tar)}.gz-sha256`);
    // A reused archive is the very file it names, already read and checked: nothing to write.
    const reused = reusedArchive(index, outDir, tar);
    const gz = reused?.gz ?? zlib.gzipSync(tar, { level: 9 });
    const sha256 = reused?.sha256 ?? sha256Of(gz);
    const file = path.join(outDir, `firefly-connector-${sha256}.tar.gz`);
    if (!reused) {
        if (!sameBytes(file, gz)) {
            // Write then rename, so a concurrent program never uploads a half-written file; a file
            // already there with other bytes (cut short, or not ours) is replaced, never uploaded.
            const partial = `${file}.${process.pid}.partial`;
            fs.writeFileSync(partial, gz);
            fs.renameSync(partial, file);
        }
        writeIndex(index, sha256);
    }
    const bundle: ConnectorBundle = {
        file,
        sha256,
        size: gz.length,
        files,
        packages: [...packages].map(([name, { version }]) => `${name}@${version}`).sort(),
    };
    cache.set(agentDir, bundle);
    return bundle;
}

/**
 * Where the archive is written: `firefly-connector-bundle` in the temp directory, created for this
 * user only. Where that name is another user's (a shared machine, or a directory planted there),
 * `firefly-connector-bundle-<uid>`; nothing in a directory of someone else's is read or uploaded.
 */
function bundleDirectory(): string {
    const base = path.join(os.tmpdir(), "firefly-connector-bundle");
    const uid = process.getuid?.();
    const candidates = uid === undefined ? [base] : [base, `${base}-${uid}`];
    for (const dir of candidates) {
        try {
            fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        } catch {
            continue; // e.g. the name is taken by a file
        }
        const stat = fs.lstatSync(dir);
        if (stat.isDirectory() && (uid === undefined || stat.uid === uid)) return dir;
    }
    throw new Error(
        `cannot build the connector bundle: ${candidates.join(" and ")} belong to another user or are not directories; remove them or set TMPDIR to a directory of your own`,
    );
}

const sha256Of = (data: Buffer): string => crypto.createHash("sha256").update(data).digest("hex");

/**
 * Compressing the archive at level 9 is most of a build (about 0.7 s), and every process that runs
 * the program builds it again: each `pulumi preview` and `up`, each offline plan. The archive
 * from an earlier build of the same tar is taken instead, found through an index file named by the
 * tar's SHA-256. It is trusted only when it is this user's file, its bytes hash to the name it is
 * listed under and it decompresses to exactly this tar, so a stale, cut-short or planted file
 * is never uploaded: the build then compresses afresh. The bytes are those level 9 wrote, so the
 * S3 key is the same with or without the index.
 */
function reusedArchive(index: string, outDir: string, tar: Buffer): { gz: Buffer; sha256: string } | undefined {
    try {
        const gzSha = fs.readFileSync(index, "utf8").trim();
        if (!/^[0-9a-f]{64}$/.test(gzSha)) return undefined;
        const file = path.join(outDir, `firefly-connector-${gzSha}.tar.gz`);
        if (!ownedByUs(file)) return undefined;
        const gz = fs.readFileSync(file);
        return sha256Of(gz) === gzSha && zlib.gunzipSync(gz).equals(tar) ? { gz, sha256: gzSha } : undefined;
    } catch {
        return undefined;
    }
}

/** Points the index at the archive just written (called only when the index did not lead to it). */
function writeIndex(index: string, gzSha: string): void {
    try {
        const partial = `${index}.${process.pid}.partial`;
        fs.writeFileSync(partial, `${gzSha}\n`);
        fs.renameSync(partial, index);
    } catch {
        // A cache only: a read-only or shared temp directory builds without it.
    }
}

function ownedByUs(file: string): boolean {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    return stat !== undefined && stat.isFile() && (process.getuid === undefined || stat.uid === process.getuid());
}

function sameBytes(file: string, data: Buffer): boolean {
    try {
        return ownedByUs(file) && fs.readFileSync(file).equals(data);
    } catch {
        return false;
    }
}

/**
 * The compiled agent: `../connector` from `dist/components` (an installed package), or
 * `../dist/connector` from `components/` (this repository, run by ts-node).
 */
export function compiledAgentDir(): string {
    const candidates = [path.resolve(__dirname, "..", "..", "connector"), path.resolve(__dirname, "..", "..", "dist", "connector")];
    const found = candidates.find((dir) => fs.existsSync(path.join(dir, "cli.js")));
    if (!found) {
        throw new Error(`the compiled tunnel agent is missing (looked in ${candidates.join(" and ")}): run npm run build before pulumi preview/up`);
    }
    return found;
}

// Native add-ons (ssh2's optional AES-GCM binding, cpu-features) are built for the machine that
// ran `npm ci`, which need not be the instances' OS or CPU. Both packages fall back to pure
// JavaScript when their binding is absent, so the bundle leaves out every compiled binary and the
// whole node-gyp `build/` directory beside each `binding.gyp` (its makefiles are generated per
// machine too: with them, a deployer whose npm built the add-ons and one whose npm skipped the
// install scripts would upload different bundles and roll the hosts for nothing). The sources and
// `binding.gyp` stay, so the hosts can build the binding for themselves (`npm rebuild ssh2`).
function nativeBuildDirs(files: readonly string[]): string[] {
    return files.filter((f) => f === "binding.gyp" || f.endsWith("/binding.gyp")).map((f) => `${f.slice(0, -"binding.gyp".length)}build/`);
}

function requiredSpecifiers(source: string): string[] {
    return [...source.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);
}

function packageNameOf(specifier: string): string {
    const parts = specifier.split("/");
    return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/** Node's lookup: `<dir>/node_modules/<name>`, then each parent directory's. */
function resolvePackageDir(name: string, from: string): string | undefined {
    for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
        const candidate = path.join(dir, "node_modules", name);
        if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
        if (path.dirname(dir) === dir) return undefined;
    }
}

function findPackageRoot(from: string): string {
    for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "package.json"))) {
            const pkg = readJson(path.join(dir, "package.json")) as { name?: string };
            if (pkg.name === "@firefly/private-connectivity") return dir;
        }
        if (path.dirname(dir) === dir) throw new Error(`${from} is not inside the @firefly/private-connectivity package`);
    }
}

function readJson(file: string): unknown {
    return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** Files under `dir` (relative, `/`-separated, sorted), without nested node_modules. */
function walk(dir: string, prefix = ""): string[] {
    const out: string[] = [];
    for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
            if (entry.name !== "node_modules") out.push(...walk(dir, relative));
        } else if (entry.isFile()) {
            out.push(relative);
        }
    }
    return out;
}

/** A POSIX ustar archive of regular files (mode 0644, root-owned, fixed mtime). */
function ustar(files: { name: string; data: Buffer }[]): Buffer {
    const blocks: Buffer[] = [];
    for (const { name, data } of files) {
        const header = Buffer.alloc(512);
        const [prefix, base] = splitName(name);
        header.write(base, 0, 100, "utf8");
        header.write("0000644\0", 100, "ascii");
        header.write("0000000\0", 108, "ascii");
        header.write("0000000\0", 116, "ascii");
        header.write(`${data.length.toString(8).padStart(11, "0")}\0`, 124, "ascii");
        header.write(`${fixedMtime.toString(8).padStart(11, "0")}\0`, 136, "ascii");
        header.write("        ", 148, "ascii");
        header.write("0", 156, "ascii");
        header.write("ustar\0", 257, "ascii");
        header.write("00", 263, "ascii");
        header.write(prefix, 345, 155, "utf8");
        let sum = 0;
        for (const byte of header) sum += byte;
        header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
        blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
    blocks.push(Buffer.alloc(1024));
    return Buffer.concat(blocks);
}

/** ustar keeps names up to 100 bytes, plus a 155-byte directory prefix split at a `/`. */
function splitName(name: string): [string, string] {
    if (Buffer.byteLength(name) <= 100) return ["", name];
    for (let i = name.indexOf("/"); i !== -1; i = name.indexOf("/", i + 1)) {
        const prefix = name.slice(0, i);
        const base = name.slice(i + 1);
        if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(base) <= 100) return [prefix, base];
    }
    throw new Error(`cannot store ${name} in the agent bundle: the path is too long for a ustar archive`);
}
