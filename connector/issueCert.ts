// `firefly-connector issue-cert`: the platform CA signs a connector's public key with
// `ssh-keygen -s`, as a user certificate for one principal, for a bounded time, allowed to do
// exactly one thing: port forwarding. The relay then decides which ports (principals file).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface IssueCertOptions {
    /** The CA's private key file (ssh-keygen -s). */
    readonly caKeyFile: string;
    /** The connector's public key file (`agent_key.pub`); the certificate is written next to it as `agent_key-cert.pub`. */
    readonly publicKeyFile: string;
    /** The customer's principal on the relays, e.g. `customer-acme` (ssh-keygen -n). */
    readonly principal: string;
    /** Key ID logged by sshd at every login, e.g. `acme-connector-2025-06`. Default `<principal>-<UTC date>`. */
    readonly keyId?: string;
    /** ssh-keygen -V: e.g. `+30d` or `-5m:+30d` (default: from 5 minutes ago for 30 days). */
    readonly validity?: string;
    /** Serial number (ssh-keygen -z), to revoke by serial. Default: the current Unix time. */
    readonly serial?: bigint;
}

export interface IssuedCertificate {
    readonly certificateFile: string;
    /** `ssh-keygen -L` of the new certificate. */
    readonly description: string;
}

const PRINCIPAL = /^[A-Za-z0-9._@+=-]{1,128}$/;
const VALIDITY = /^([-+]\d+[smhdw]|\d{8}(\d{6})?|always)(:([-+]\d+[smhdw]|\d{8}(\d{6})?|forever))?$/;

/** What is wrong with the options, or undefined. */
export function checkIssueCertOptions(options: IssueCertOptions): string | undefined {
    if (!PRINCIPAL.test(options.principal)) return `--principal must be 1-128 characters from A-Z a-z 0-9 . _ @ + = - (got "${options.principal}")`;
    if (options.validity !== undefined && !VALIDITY.test(options.validity)) {
        return `--validity must be ssh-keygen -V syntax such as +30d or -5m:+30d (got "${options.validity}")`;
    }
    if (options.validity !== undefined && /(^always|forever$)/.test(options.validity)) {
        return "--validity must end: a connector certificate that never expires cannot be rotated away";
    }
    if (options.keyId !== undefined && !/^[\x21-\x7e]{1,128}$/.test(options.keyId)) return "--key-id must be 1-128 printable characters without spaces";
    for (const [flag, file] of [["--ca", options.caKeyFile], ["--public-key", options.publicKeyFile]] as const) {
        if (!existsSync(file)) return `${flag} ${file} does not exist`;
    }
    if (!options.publicKeyFile.endsWith(".pub")) return `--public-key must be the .pub file (got ${options.publicKeyFile}); the private key never leaves the connector host`;
    return undefined;
}

/** Signs the key; throws with ssh-keygen's message on failure. */
export async function issueCertificate(options: IssueCertOptions): Promise<IssuedCertificate> {
    const problem = checkIssueCertOptions(options);
    if (problem) throw new Error(problem);
    const keyId = options.keyId ?? `${options.principal}-${new Date().toISOString().slice(0, 10)}`;
    const serial = options.serial ?? BigInt(Math.floor(Date.now() / 1000));
    await execFileAsync("ssh-keygen", [
        "-q",
        "-s",
        options.caKeyFile,
        "-I",
        keyId,
        "-z",
        serial.toString(),
        "-n",
        options.principal,
        "-V",
        options.validity ?? "-5m:+30d",
        // Start from no permissions at all, then allow forwarding only: no pty, no agent or X11
        // forwarding, no user rc.
        "-O",
        "clear",
        "-O",
        "permit-port-forwarding",
        options.publicKeyFile,
    ]);
    const certificateFile = options.publicKeyFile.replace(/\.pub$/, "-cert.pub");
    const { stdout } = await execFileAsync("ssh-keygen", ["-L", "-f", certificateFile]);
    return { certificateFile, description: stdout };
}
