// The agent's container image (connector/container): built as `npm run connector:image` builds it,
// then tested by what can run here (`podman run` is refused by this sandbox): podman builds the
// image and reports its entrypoint, user and labels; the image's root filesystem alone runs the
// agent, as user 10001, in its own PID and mount namespaces with /proc mounted as a runtime does:
// `--version`, ssh2's native crypto, and `check` and `run` against a real OpenSSH relay named in
// the /etc/hosts a runtime mounts, with the key mounted as a Kubernetes secret would be
// (root-owned, group-readable by the agent's group).
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildImageContext, CONTAINERFILE, IMAGE_CONFIG_DIR, IMAGE_UID, imageEntrypoint, imageProbeCommand, podmanBuild, type ImageContext } from "../../connector/container/build";
import { TunnelLab } from "../../connector/lab/lab";
import { freePort } from "../../connector/lab/relay";
import { waitFor } from "../../connector/lab/wait";
import { parse as parseYaml } from "yaml";
import { renderConnectorConfig } from "../../connector/spec";
import { markdownSection } from "../helpers/markdown";
import { skipInRepeatPass } from "../helpers/testPass";
import { echoThrough, startEchoService, type RunningServer } from "./helpers/targets";

/** Containerfile instructions: `ENTRYPOINT`, `CMD`, `USER`, … to their argument text. */
function instructions(file: string): Map<string, string> {
    const result = new Map<string, string>();
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        const match = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
        if (match) result.set(match[1]!, match[2]!);
    }
    return result;
}

/** The environment a runtime gives the image: just the PATH podman sets (the image sets no ENV). */
const IMAGE_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };

describe("the agent's container image (connector/container)", function () {
    // The first build installs Node.js 22 from the npm registry and compiles ssh2's binding.
    this.timeout(300_000);
    let context: ImageContext;
    let workDir: string;
    const version = (JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as { version: string }).version;

    before(function () {
        // The image carries its own Node.js, whichever Node runs mocha: the repeat passes would build the same.
        skipInRepeatPass(this);
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "firefly-image-"));
        context = buildImageContext({ outDir: path.join(workDir, "context"), log: () => undefined });
    });

    after(() => {
        if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    });

    /** A command in the image's filesystem alone: new PID and mount namespaces, /proc mounted, as user 10001, the image's environment. */
    function inImage(args: readonly string[]): { command: string; args: string[] } {
        return {
            command: "unshare",
            args: ["--fork", "--pid", `--mount-proc=${path.join(context.rootfs, "proc")}`, "chroot", `--userspec=${IMAGE_UID}:${IMAGE_UID}`, context.rootfs, ...args],
        };
    }

    function runInImage(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
        const { command, args: argv } = inImage(args);
        const result = spawnSync(command, argv, { encoding: "utf8", env: IMAGE_ENV, timeout: 60_000 });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    }

    it("the Containerfile runs the agent with the hosts' node flags, as user 10001, and podman builds it", () => {
        const file = instructions(CONTAINERFILE);
        assert.deepEqual(JSON.parse(file.get("ENTRYPOINT")!), imageEntrypoint());
        assert.deepEqual(JSON.parse(file.get("CMD")!), ["run", "--config", `${IMAGE_CONFIG_DIR}/config.yaml`]);
        assert.equal(file.get("USER"), `${IMAGE_UID}:${IMAGE_UID}`);
        assert.equal(file.get("FROM"), "scratch");

        const tag = `localhost/firefly-connector-test:${process.pid}`;
        try {
            podmanBuild(context, tag);
            const inspect = spawnSync("podman", ["image", "inspect", tag, "--format", "{{json .Config}}"], { encoding: "utf8" });
            assert.equal(inspect.status, 0, inspect.stderr);
            const config = JSON.parse(inspect.stdout) as { User: string; Entrypoint: string[]; Cmd: string[]; WorkingDir: string; StopSignal: string; Labels: Record<string, string> };
            assert.equal(config.User, `${IMAGE_UID}:${IMAGE_UID}`);
            assert.deepEqual(config.Entrypoint, imageEntrypoint());
            assert.deepEqual(config.Cmd, ["run", "--config", `${IMAGE_CONFIG_DIR}/config.yaml`]);
            assert.equal(config.StopSignal, "SIGTERM");
            assert.equal(config.Labels["org.opencontainers.image.version"], version);
            assert.match(config.Labels["org.opencontainers.image.description"]!, /Node\.js v22\./);
        } finally {
            spawnSync("podman", ["rmi", "--force", tag], { stdio: "ignore" });
        }
    });

    it("its filesystem alone runs the agent: the version, ssh2's native crypto for the image's Node, and no shell", () => {
        const [node, ...flags] = imageEntrypoint();
        const versionRun = runInImage([node!, ...flags, "--version"]);
        assert.equal(versionRun.status, 0, versionRun.stderr);
        assert.equal(versionRun.stdout.trim(), version);

        const crypto = runInImage([node!, "-p", "[process.version, require('/opt/firefly-connector/node_modules/ssh2/lib/protocol/crypto.js').bindingAvailable, process.getuid()].join(' ')"]);
        assert.equal(crypto.status, 0, crypto.stderr);
        assert.match(crypto.stdout.trim(), new RegExp(`^v22\\.\\d+\\.\\d+ true ${IMAGE_UID}$`));

        for (const shell of ["bin/sh", "bin/bash", "usr/bin/sh"]) assert.ok(!fs.existsSync(path.join(context.rootfs, shell)), `${shell} is in the image`);
        // Nothing in it is writable by the agent's user but /tmp.
        const writable = spawnSync("find", [context.rootfs, "-path", path.join(context.rootfs, "proc"), "-prune", "-o", "-perm", "-o+w", "-print"], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean);
        assert.deepEqual(writable, [path.join(context.rootfs, "tmp")]);
    });

    it("the README's Deployment matches the image: its user, the key's mount and mode, the probes, the grace period", () => {
        const section = markdownSection(fs.readFileSync(path.join(__dirname, "..", "..", "connector", "README.md"), "utf8"), "## In a container");
        const manifest = parseYaml(/```yaml\n([\s\S]*?)```/.exec(section)![1]!) as {
            spec: { template: { spec: {
                terminationGracePeriodSeconds: number;
                securityContext: Record<string, unknown>;
                containers: Array<{ args: string[]; securityContext: Record<string, unknown>; volumeMounts: Array<{ mountPath: string }>; livenessProbe: { exec: { command: string[] } }; readinessProbe: { exec: { command: string[] } } }>;
                volumes: Array<{ secret: { defaultMode: number } }>;
            } } };
        };
        const pod = manifest.spec.template.spec;
        assert.equal(pod.securityContext.runAsUser, IMAGE_UID);
        assert.equal(pod.securityContext.fsGroup, IMAGE_UID);
        assert.equal(pod.volumes[0]!.secret.defaultMode, 0o440);
        const [container] = pod.containers;
        assert.equal(container!.volumeMounts[0]!.mountPath, IMAGE_CONFIG_DIR);
        assert.deepEqual(container!.livenessProbe.exec.command, imageProbeCommand(9464, "/healthz"));
        assert.deepEqual(container!.readinessProbe.exec.command, imageProbeCommand(9464, "/readyz"));
        assert.equal(container!.securityContext.readOnlyRootFilesystem, true);
        // The image's default command, plus the watch that replaces SIGHUP where there is no shell.
        assert.deepEqual(container!.args, ["run", "--config", `${IMAGE_CONFIG_DIR}/config.yaml`, "--watch-config", "10"]);
        // The runtime's SIGKILL must come after the agent's own drain (shutdown.gracePeriodSeconds, default 30).
        assert.ok(pod.terminationGracePeriodSeconds > 30);
    });

    describe("check and run against a real OpenSSH relay, from inside the image", () => {
        let lab: TunnelLab;
        let echo: RunningServer;
        let routePort: number;
        let healthPort: number;
        let agent: ChildProcess | undefined;

        before(async function () {
            skipInRepeatPass(this);
            echo = await startEchoService();
            routePort = await freePort();
            healthPort = await freePort();
            lab = await TunnelLab.create({ label: "image", routes: [{ name: "echo", listen: `127.0.0.1:${routePort}`, target: `127.0.0.1:${echo.port}` }] });

            // The key and certificate as a Kubernetes secret with fsGroup 10001 and defaultMode 0440 mounts them.
            const secrets = path.join(context.rootfs, IMAGE_CONFIG_DIR);
            const key = path.join(secrets, "id_ed25519");
            const certificate = path.join(secrets, "id_ed25519-cert.pub");
            fs.copyFileSync(lab.agentKey.privateKeyFile, key);
            fs.copyFileSync(lab.agentCertificate, certificate);
            for (const file of [key, certificate]) {
                fs.chownSync(file, 0, IMAGE_UID);
                fs.chmodSync(file, 0o440);
            }
            // The relay by name, resolved through the /etc/hosts a runtime mounts: glibc's name
            // service in the image (no nsswitch modules to load since glibc 2.34) must find it.
            fs.writeFileSync(path.join(context.rootfs, "etc", "hosts"), "127.0.0.1 localhost\n127.0.0.1 relay.firefly.test\n");
            const config = lab.config({
                identity: { privateKeyFile: `${IMAGE_CONFIG_DIR}/id_ed25519`, certificateFile: `${IMAGE_CONFIG_DIR}/id_ed25519-cert.pub` },
                health: { listen: `127.0.0.1:${healthPort}` },
                relays: lab.config().relays.map((relay) => ({ ...relay, host: "relay.firefly.test" })),
            });
            fs.writeFileSync(path.join(secrets, "config.yaml"), renderConnectorConfig(config));
        });

        after(async () => {
            agent?.kill("SIGKILL");
            await lab?.cleanup();
            await echo?.close();
        });

        it("`check` passes: it authenticates with the certificate, forwards the route and reaches the target", () => {
            const [node, ...rest] = imageEntrypoint();
            const result = runInImage([node!, ...rest, "check", "--config", `${IMAGE_CONFIG_DIR}/config.yaml`]);
            assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
            assert.match(result.stdout, /aes256-gcm@openssh\.com/);
        });

        it("the default command runs the agent as PID 1: the route carries data, and SIGTERM drains it to exit 0", async () => {
            const { command, args } = inImage([...imageEntrypoint(), "run", "--config", `${IMAGE_CONFIG_DIR}/config.yaml`]);
            const output: Buffer[] = [];
            agent = spawn(command, args, { env: IMAGE_ENV, stdio: ["ignore", "pipe", "pipe"] });
            agent.stdout!.on("data", (chunk: Buffer) => output.push(chunk));
            agent.stderr!.on("data", (chunk: Buffer) => output.push(chunk));
            const exited = new Promise<number | null>((resolve) => agent!.once("exit", (code) => resolve(code)));
            await waitFor(async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined))?.status === 200, {
                timeoutMs: 30_000,
                what: "the agent in the image ready",
            }).catch((err: Error) => {
                throw new Error(`${err.message}; its output: ${Buffer.concat(output).toString("utf8").slice(-2000)}`);
            });
            // The README's Kubernetes exec probes, run in the image beside the agent.
            for (const probe of ["/healthz", "/readyz"] as const) {
                const result = runInImage(imageProbeCommand(healthPort, probe));
                assert.equal(result.status, 0, `${probe}: ${result.stderr}`);
            }
            assert.notEqual(runInImage(imageProbeCommand(await freePort(), "/healthz")).status, 0, "a probe of a port nothing serves fails");
            const payload = Buffer.from("through the image's agent\n".repeat(1000));
            assert.ok((await echoThrough(routePort, payload)).equals(payload));
            const log = Buffer.concat(output).toString("utf8");
            assert.match(log, /"msg":"connector starting"/);
            assert.doesNotMatch(log, /native crypto binding is not loaded/);

            // The agent is PID 1 of its namespace: signal it by its PID out here, as a runtime's stop does.
            const children = spawnSync("pgrep", ["-P", String(agent.pid)], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean);
            assert.equal(children.length, 1, `unshare's child: ${children.join(", ")}`);
            const inNamespace = fs.readFileSync(`/proc/${children[0]}/status`, "utf8").match(/^NSpid:\s+\d+\s+(\d+)$/m)?.[1];
            assert.equal(inNamespace, "1", "node is PID 1 in the image's PID namespace");
            process.kill(Number(children[0]), "SIGTERM");
            assert.equal(await exited, 0, Buffer.concat(output).toString("utf8").slice(-2000));
            agent = undefined;
            // It wrote nothing: the README's readOnlyRootFilesystem holds (/tmp is the only place it could have).
            assert.deepEqual(fs.readdirSync(path.join(context.rootfs, "tmp")), []);
        });
    });
});
