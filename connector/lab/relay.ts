// A real OpenSSH relay for tests and benchmarks: throwaway CA, keys and certificates made by
// ssh-keygen, sshd_config + principals rendered by the production generator
// (connector/spec/relaySshd.ts), sshd started on 127.0.0.1 and killed with all its children.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { bindProblem } from "../check";
import { renderRelay, type RelayCustomer } from "../spec";
import type { NetworkNamespace } from "./netns";
import { signalProcessTree } from "./processes";
import { waitFor } from "./wait";

const execFileAsync = promisify(execFile);

/** The entries of a file the relay generator writes (principals, keys, revoked keys): its lines without blanks and '#' comments. */
export function fileEntries(file: string): string[] {
    return file.split("\n").filter((line) => line && !line.startsWith("#"));
}

/** Login user the relays accept; prepare-machine.js creates it (see connector/README.md). */
export const TEST_LOGIN_USER = "tunnel";
export const SSHD = "/usr/sbin/sshd";

// sshd's StrictModes (on, as in production) refuses principals files under world-writable
// directories such as /tmp, and reads them as the login user: a root-owned 0755 tree under /run.
const TEST_ROOT = "/run/firefly-connector-tests";

/** A private temp directory that the relay's login user can traverse; removed by cleanup(). */
export function makeWorkDir(label: string): string {
    mkdirSync(TEST_ROOT, { recursive: true, mode: 0o755 });
    chmodSync(TEST_ROOT, 0o755);
    const dir = mkdtempSync(join(TEST_ROOT, `${label}-`));
    chmodSync(dir, 0o755);
    return dir;
}

export function removeWorkDir(dir: string): void {
    rmSync(dir, { recursive: true, force: true });
}

// Ports for test listeners come from below the kernel's ephemeral range. A port the kernel picks
// (listen on port 0) comes from the same range as the local port of every outgoing connection, so
// between freePort() and the listen that uses it, any connect() on the machine (the agent's own
// connection to its relay, an echo client) may take it, and sshd's remote forward on it is then
// refused for as long as that connection lives. Below the range only listeners compete, and
// those of this process are never handed the same port twice.
const EPHEMERAL_LOW = (() => {
    try {
        const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
        return Number.isInteger(low) && low > 2048 ? low : 32768;
    } catch {
        return 32768;
    }
})();
/** Test ports: the 12,000 ports below the ephemeral range (or from 1024 when it starts low). */
export const TEST_PORT_RANGE: readonly [number, number] = [Math.max(1024, EPHEMERAL_LOW - 12_000), EPHEMERAL_LOW - 1];
const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, below the kernel's ephemeral range (so no
 * outgoing connection can take it meanwhile) and never handed out before by this process.
 */
export async function freePort(): Promise<number> {
    const [low, high] = TEST_PORT_RANGE;
    for (let attempt = 0; attempt < 500 && handedOut.size < high - low; attempt++) {
        const port = low + Math.floor(Math.random() * (high - low + 1));
        if (handedOut.has(port)) continue;
        if ((await bindProblem("127.0.0.1", port)) === undefined) {
            handedOut.add(port);
            return port;
        }
    }
    // The range is used up (or taken by others): the kernel's pick, as a last resort.
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.unref();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
        });
    });
}

/** One TCP connect to `host`:`port`: "accepted" (then closed at once), or the error code. */
export function tryConnect(port: number, host = "127.0.0.1"): Promise<"accepted" | string> {
    return new Promise((resolve) => {
        const socket = connect({ host, port });
        socket.once("connect", () => {
            socket.destroy();
            resolve("accepted");
        });
        socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
}

export type KeyType = "ed25519" | "rsa" | "ecdsa";

export interface KeyPair {
    readonly privateKeyFile: string;
    readonly publicKeyFile: string;
    readonly publicKey: string;
}

export async function generateKey(dir: string, name: string, type: KeyType = "ed25519"): Promise<KeyPair> {
    const privateKeyFile = join(dir, name);
    const args = ["-q", "-t", type, "-N", "", "-C", name, "-f", privateKeyFile];
    if (type === "rsa") args.push("-b", "3072");
    await execFileAsync("ssh-keygen", args);
    const publicKeyFile = `${privateKeyFile}.pub`;
    return { privateKeyFile, publicKeyFile, publicKey: readFileSync(publicKeyFile, "utf8").trim() };
}

/** SHA256 fingerprint exactly as ssh-keygen prints it (an independent check of ours). */
export async function fingerprintOf(publicKeyFile: string): Promise<string> {
    const { stdout } = await execFileAsync("ssh-keygen", ["-l", "-E", "sha256", "-f", publicKeyFile]);
    return stdout.split(" ")[1] as string;
}

export interface CertificateOptions {
    readonly principals: readonly string[];
    /** ssh-keygen -V syntax; default valid from 5 minutes ago for an hour. */
    readonly validity?: string;
    /** Default: only permit-port-forwarding (what a tunnel agent needs). */
    readonly extensions?: readonly string[];
    readonly keyId?: string;
}

export class CertificateAuthority {
    private serial = 1;
    private constructor(readonly dir: string, readonly key: KeyPair) {}

    static async create(dir: string, name = "ca", type: KeyType = "ed25519"): Promise<CertificateAuthority> {
        return new CertificateAuthority(dir, await generateKey(dir, name, type));
    }

    /** Signs `key` with ssh-keygen -s and returns the path of the *-cert.pub it wrote. */
    async issueUserCertificate(key: KeyPair, options: CertificateOptions): Promise<string> {
        const serial = this.serial++;
        const args = [
            "-q",
            "-s",
            this.key.privateKeyFile,
            "-I",
            options.keyId ?? `test-${serial}`,
            "-z",
            String(serial),
            "-n",
            options.principals.join(","),
            "-V",
            options.validity ?? "-5m:+1h",
            "-O",
            "clear",
            ...(options.extensions ?? ["permit-port-forwarding"]).flatMap((ext) => ["-O", ext]),
            key.publicKeyFile,
        ];
        await execFileAsync("ssh-keygen", args);
        return key.privateKeyFile + "-cert.pub";
    }
}

export interface RelayOptions {
    readonly dir: string;
    /** Run sshd inside this namespace (listening on its address) instead of on 127.0.0.1. */
    readonly namespace?: NetworkNamespace;
    readonly ca: CertificateAuthority;
    readonly customers: readonly RelayCustomer[];
    readonly port?: number;
    readonly hostKeyType?: KeyType;
    /** sshd_config lines put before the generated ones (sshd keeps the first value it reads). */
    readonly sshdConfigPrefix?: string;
    /** Keys sshd refuses (the generator's revokedKeys); giving them, or `revokedKeysFile`, adds a RevokedKeys file. */
    readonly revokedKeys?: readonly string[];
    /**
     * The RevokedKeys file on disk: the generator's output (`rendered`, as the relay host writes it),
     * an `empty` file, or `missing` (named in sshd_config, never written). Default: `rendered` when
     * `revokedKeys` is given, else no RevokedKeys line at all.
     */
    readonly revokedKeysFile?: "rendered" | "empty" | "missing";
    /** Environment variables added to sshd's (e.g. GLIBC_TUNABLES, which the bench can set for the relay alone). */
    readonly env?: Readonly<Record<string, string>>;
}

/** One sshd relay on 127.0.0.1. start() again after kill() restarts it with the same keys and port. */
export class TestRelay {
    /** Where the agent connects: 127.0.0.1, or the namespace's address. */
    readonly host: string;
    readonly port: number;
    readonly configFile: string;
    readonly logFile: string;
    readonly hostKey: KeyPair;
    private process: ChildProcess | undefined;

    private constructor(readonly options: RelayOptions, port: number, hostKey: KeyPair) {
        this.host = options.namespace?.address ?? "127.0.0.1";
        this.port = port;
        this.hostKey = hostKey;
        this.configFile = join(options.dir, "sshd_config");
        this.logFile = join(options.dir, "sshd.log");
    }

    static async create(options: RelayOptions): Promise<TestRelay> {
        const hostKey = await generateKey(options.dir, "ssh_host_key", options.hostKeyType ?? "ed25519");
        const relay = new TestRelay(options, options.port ?? (await freePort()), hostKey);
        const caPublicKeyFile = join(options.dir, "trusted_user_ca_keys.pub");
        writeFileSync(caPublicKeyFile, readFileSync(options.ca.key.publicKeyFile));
        const principalsFile = join(options.dir, "authorized_principals");
        const keysFile = join(options.dir, "authorized_keys");
        const revokedMode = options.revokedKeysFile ?? (options.revokedKeys ? "rendered" : undefined);
        const revokedKeysFile = join(options.dir, "revoked_keys");
        const rendered = renderRelay({
            port: relay.port,
            listenAddresses: [relay.host],
            hostKeyFiles: [hostKey.privateKeyFile],
            trustedUserCaKeysFile: caPublicKeyFile,
            authorizedPrincipalsFile: principalsFile,
            authorizedKeysFile: keysFile,
            loginUser: TEST_LOGIN_USER,
            pidFile: join(options.dir, "sshd.pid"),
            customers: [...options.customers],
            ...(revokedMode ? { revokedKeysFile, revokedKeys: [...(options.revokedKeys ?? [])] } : {}),
        });
        writeFileSync(relay.configFile, `${options.sshdConfigPrefix ?? ""}${rendered.sshdConfig}`);
        writeFileSync(principalsFile, rendered.authorizedPrincipals, { mode: 0o644 });
        writeFileSync(keysFile, rendered.authorizedKeys ?? "", { mode: 0o644 });
        rmSync(revokedKeysFile, { force: true });
        if (revokedMode === "rendered") writeFileSync(revokedKeysFile, rendered.revokedKeys!, { mode: 0o644 });
        if (revokedMode === "empty") writeFileSync(revokedKeysFile, "", { mode: 0o644 });
        // sshd -t: the generated config must be one that sshd itself accepts.
        await execFileAsync(SSHD, ["-t", "-f", relay.configFile]);
        return relay;
    }

    /** Starts sshd in the foreground (-D) so the test owns the process; resolves once it accepts TCP. */
    async start(): Promise<void> {
        if (this.process) throw new Error("relay already running");
        const argv: [string, string[]] = [SSHD, ["-D", "-f", this.configFile, "-E", this.logFile]];
        const [command, args] = this.options.namespace ? this.options.namespace.wrap(...argv) : argv;
        const child = spawn(command, args, { stdio: "ignore", ...(this.options.env ? { env: { ...process.env, ...this.options.env } } : {}) });
        this.process = child;
        child.once("exit", () => {
            if (this.process === child) this.process = undefined;
        });
        await waitFor(() => this.acceptsConnections(), { timeoutMs: 10_000, what: `sshd on port ${this.port} to listen` });
    }

    get pid(): number | undefined {
        return this.process?.pid;
    }

    get running(): boolean {
        return this.process !== undefined;
    }

    /** SIGKILLs sshd and every per-connection child: a relay crash, as seen by the agent. */
    async kill(): Promise<void> {
        const child = this.process;
        if (!child?.pid) return;
        const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", () => resolve())));
        signalProcessTree(child.pid, "SIGKILL");
        await exited;
        this.process = undefined;
    }

    log(): string {
        try {
            return readFileSync(this.logFile, "utf8");
        } catch {
            return "";
        }
    }

    private async acceptsConnections(): Promise<boolean> {
        return (await tryConnect(this.port, this.host)) === "accepted";
    }
}
