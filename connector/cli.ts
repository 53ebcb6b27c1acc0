#!/usr/bin/env node
// firefly-connector: run the tunnel agent, check a config against the relays, print the config
// schema. Runs as `node dist/connector/cli.js run --config /etc/firefly-connector/config.yaml`
// under systemd: exits 0 after a graceful SIGTERM drain, non-zero on anything fatal.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Command, Option } from "commander";
import { Connector, ReloadRefused } from "./agent";
import { privateKeyExposure, runCheck } from "./check";
import { ConnectorConfigError, connectorConfigJsonSchema, parseConnectorConfig, resolveConfigPaths, type ConnectorConfig } from "./spec";
import { issueCertificate } from "./issueCert";
import { renderRelayFiles } from "./relayRender";
import { createLogger, type LogLevel } from "./log";
import { nativeCryptoAvailable } from "./ssh2/internals";
import { agentVersion } from "./version";

/** The config file as read once: what is validated, and the digest `--watch-config` compares. */
interface ConfigFile {
    readonly absolute: string;
    readonly text: string;
    readonly digest: string;
}

/** Reads the config file; a file that cannot be read is a ConnectorConfigError naming `--config` and the cause. */
function readConfigFile(path: string): ConfigFile {
    const absolute = resolve(path);
    let bytes: Buffer;
    try {
        bytes = readFileSync(absolute);
    } catch (err) {
        throw new ConnectorConfigError([{ field: "--config", message: `cannot read ${absolute}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
    }
    return { absolute, text: bytes.toString("utf8"), digest: createHash("sha256").update(bytes).digest("hex") };
}

/** Validates a config file read by readConfigFile; identity paths become relative to its directory. */
function parseConfigFile(file: ConfigFile): ConnectorConfig {
    return resolveConfigPaths(parseConnectorConfig(file.text, file.absolute), dirname(file.absolute));
}

/** Reads and validates the config file; identity paths become relative to the file's directory. */
export function loadConfigFile(path: string): ConnectorConfig {
    return parseConfigFile(readConfigFile(path));
}

function fail(message: string): never {
    process.stderr.write(`firefly-connector: ${message}\n`);
    process.exit(1);
}

/** `run`'s exit code when the drain grace period ran out and streams were cut. */
export const EXIT_STREAMS_CUT = 2;

const levelOption = new Option("--log-level <level>", "log level").choices(["fatal", "error", "warn", "info", "debug", "trace"]).default("info");

async function run(configPath: string, level: LogLevel, watchSeconds: number): Promise<void> {
    // The digest of the contents last tried (applied or refused): --watch-config reloads on another.
    let lastDigest: string;
    let config: ConnectorConfig;
    try {
        const file = readConfigFile(configPath);
        lastDigest = file.digest;
        config = parseConfigFile(file);
    } catch (err) {
        fail((err as Error).message);
    }
    // As OpenSSH refuses an exposed key at use, and at the earliest point: a service that starts
    // and then only logs authentication errors would be worse (check refuses it the same way).
    const exposed = privateKeyExposure(config.identity.privateKeyFile);
    if (exposed) fail(exposed);
    const log = createLogger({ level });
    const connector = new Connector(config, { log });
    process.on("unhandledRejection", (err) => {
        log.fatal({ err }, "unhandled rejection: exiting so the service manager restarts the agent");
        process.exit(1);
    });
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
            log.warn({ signal }, "second signal: exiting without waiting for streams");
            process.exit(1);
        }
        stopping = true;
        log.info({ signal }, "shutdown requested");
        connector.shutdown().then(
            // Non-zero when the grace period cut streams: the service manager (and its operator) see it.
            ({ drained }) => process.exit(drained ? 0 : EXIT_STREAMS_CUT),
            (err: unknown) => {
                log.error({ err }, "shutdown failed");
                process.exit(1);
            },
        );
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    let reloading = Promise.resolve();
    /** Reloads `read` (the watcher's read), or the file read now (SIGHUP). */
    const reload = (why: string, read?: ConfigFile) => {
        // One reload at a time, in request order; a bad file keeps the config in force.
        reloading = reloading.then(async () => {
            if (stopping) return;
            log.info({ config: configPath }, `${why}: reloading the config file`);
            try {
                const file = read ?? readConfigFile(configPath);
                lastDigest = file.digest;
                const next = parseConfigFile(file);
                // The same refusal as at start, for a key the agent is to switch to.
                const exposed = next.identity.privateKeyFile !== connector.config.identity.privateKeyFile ? privateKeyExposure(next.identity.privateKeyFile) : undefined;
                if (exposed) throw new ReloadRefused(exposed);
                await connector.reload(next);
            } catch (err) {
                log.error({ config: configPath, reason: (err as Error).message }, "config reload refused: keeping the current config");
            }
        });
    };
    process.on("SIGHUP", () => reload("SIGHUP"));
    try {
        await connector.start();
    } catch (err) {
        log.fatal({ err: (err as Error).message }, "cannot start");
        process.exit(1);
    }
    if (watchSeconds > 0) {
        // Where no one can send SIGHUP (a container without a shell, whose Kubernetes secret or
        // ConfigMap volume swaps the file in place): a changed file is reloaded as SIGHUP reloads
        // it. Each content is tried once: a refused one is not tried again until the file changes.
        let unreadable: string | undefined;
        const timer = setInterval(() => {
            let file: ConfigFile;
            try {
                file = readConfigFile(configPath);
            } catch (err) {
                const reason = (err as Error).message;
                if (reason !== unreadable) log.warn({ config: configPath, reason }, "--watch-config: cannot read the config file; keeping the current config");
                unreadable = reason;
                return;
            }
            unreadable = undefined;
            if (file.digest === lastDigest) return;
            // Marked as tried now, so the next tick does not queue it again behind this reload.
            lastDigest = file.digest;
            reload("config file changed", file);
        }, watchSeconds * 1000);
        timer.unref();
    }
}

async function check(configPath: string, level: LogLevel): Promise<void> {
    let config: ConnectorConfig;
    try {
        config = loadConfigFile(configPath);
    } catch (err) {
        fail((err as Error).message);
    }
    // Logs go to stderr so stdout carries only the report.
    const log = createLogger({ level, destination: process.stderr });
    const result = await runCheck(config, log);
    process.stdout.write(`${result.lines.join("\n")}\n`);
    process.exit(result.ok ? 0 : 1);
}

export function buildProgram(): Command {
    const program = new Command()
        .name("firefly-connector")
        .description("Firefly tunnel connector: one outbound SSH connection per relay, remote forwards for each route.")
        .version(agentVersion(), "-V, --version")
        .showHelpAfterError();
    program
        .command("run")
        .description(
            `run the agent until SIGTERM or SIGINT, then drain in-flight streams: exit 0 when they all finished, ${EXIT_STREAMS_CUT} when the grace period cut some, 1 on a second signal or a failure; SIGHUP re-reads the config file and applies it without cutting streams (one it cannot apply is logged and the running config kept)`,
        )
        .requiredOption("-c, --config <file>", "config file (YAML or JSON)")
        .addOption(levelOption)
        .addOption(
            new Option("--watch-config <seconds>", "also reload when the config file's contents change, looking every <seconds> (for containers, where a mounted secret or ConfigMap changes in place and no one sends SIGHUP); 0: off")
                .default(0)
                .argParser((value: string) => {
                    const seconds = Number(value);
                    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600) fail(`--watch-config must be a whole number of seconds from 0 to 3600 (got ${value})`);
                    return seconds;
                }),
        )
        .action((opts: { config: string; logLevel: LogLevel; watchConfig: number }) => run(opts.config, opts.logLevel, opts.watchConfig));
    program
        .command("check")
        .description(
            "validate the config, the private key's file mode and the health port; connect and authenticate to every relay (printing the negotiated algorithms), request and release each forward, open and close a channel to each hairpin target; exit 0, or 1 naming what failed",
        )
        .requiredOption("-c, --config <file>", "config file (YAML or JSON)")
        .addOption(new Option("--log-level <level>", "log level (logs go to stderr)").choices(["fatal", "error", "warn", "info", "debug", "trace"]).default("error"))
        .action((opts: { config: string; logLevel: LogLevel }) => check(opts.config, opts.logLevel));
    program
        .command("schema")
        .description("print the config file's JSON Schema (generated from the same schema the agent validates with)")
        .action(() => {
            process.stdout.write(`${JSON.stringify(connectorConfigJsonSchema(), null, 2)}\n`);
        });
    program
        .command("relay")
        .description("the relay side")
        .command("render")
        .description("render the relay's sshd_config and authorized principals (and keys, revoked keys) files from relay options (YAML or JSON)")
        .requiredOption("-c, --config <file>", "relay options: port, hostKeyFiles, trustedUserCaKeysFile, authorizedPrincipalsFile, loginUser, customers, … (see connector/README.md, The relay side)")
        .requiredOption("-o, --out <dir>", "directory to write the files into")
        .action((opts: { config: string; out: string }) => {
            try {
                for (const file of renderRelayFiles(opts.config, opts.out)) process.stdout.write(`wrote ${file.written} (install at ${file.installAt})\n`);
                process.stdout.write("next: install the files root-owned (StrictModes), check with sshd -t -f <sshd_config>, then reload sshd\n");
            } catch (err) {
                fail((err as Error).message);
            }
        });
    program
        .command("native-crypto")
        .description("exit 0 if ssh2's native crypto binding loads here, 3 if the agent would run ssh2's slower fallback")
        .action(() => {
            process.stdout.write(`native crypto: ${nativeCryptoAvailable ? "available" : "not available (ssh2's fallback through Node's crypto)"}\n`);
            process.exit(nativeCryptoAvailable ? 0 : 3);
        });
    program
        .command("issue-cert")
        .description("sign a connector's public key with the platform CA (ssh-keygen -s): one principal, limited validity, port forwarding only")
        .requiredOption("--ca <file>", "the CA's private key")
        .requiredOption("--public-key <file>", "the connector's public key (.pub); the certificate is written next to it as *-cert.pub")
        .requiredOption("--principal <name>", "the customer's principal on the relays, e.g. customer-acme")
        .option("--validity <interval>", "ssh-keygen -V interval", "-5m:+30d")
        .option("--key-id <id>", "key ID sshd logs at every login (default <principal>-<date>)")
        .option("--serial <n>", "serial number, for revocation (default: Unix time)")
        .action(async (opts: { ca: string; publicKey: string; principal: string; validity: string; keyId?: string; serial?: string }) => {
            if (opts.serial !== undefined && !/^\d{1,19}$/.test(opts.serial)) fail("--serial must be a non-negative integer");
            try {
                const issued = await issueCertificate({
                    caKeyFile: opts.ca,
                    publicKeyFile: opts.publicKey,
                    principal: opts.principal,
                    validity: opts.validity,
                    keyId: opts.keyId,
                    serial: opts.serial === undefined ? undefined : BigInt(opts.serial),
                });
                process.stdout.write(`wrote ${issued.certificateFile}\n${issued.description}`);
            } catch (err) {
                fail((err as Error).message);
            }
        });
    return program;
}

if (require.main === module) {
    buildProgram()
        .parseAsync(process.argv)
        .catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
}
