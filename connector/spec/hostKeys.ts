// Relay host key pinning. ssh2 accepts any host key unless given a hostVerifier; the supervisor
// always passes the verifier built here. Pure (node:crypto only) so config validation reuses it.
import { createHash } from "node:crypto";

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
// <type> <base64> [comment]: what ssh-keygen writes to a .pub file (and ssh-keyscan prints).
const KEY_LINE = /^(\S+) ([A-Za-z0-9+/]+={0,2})(?:[ \t][^\r\n]*)?$/;

/** The key types this project accepts anywhere: agents' keys, the user CA, relay host keys. */
export const PUBLIC_KEY_TYPES = ["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"] as const;
export type PublicKeyType = (typeof PUBLIC_KEY_TYPES)[number];
/** What OpenSSH appends to a key type for a certificate of that key. */
export const CERTIFICATE_SUFFIX = "-cert-v01@openssh.com";

/** The key types OpenSSH prints for host keys, mapped to the host key algorithms that use them. */
const HOST_KEY_ALGORITHMS: Readonly<Record<PublicKeyType, readonly string[]>> = {
    "ssh-ed25519": ["ssh-ed25519"],
    "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
    "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
    "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
    // SHA-1 "ssh-rsa" signatures are deliberately not offered (OpenSSH disabled them in 8.8).
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256"],
};

/** One OpenSSH public key or certificate line, checked. */
export interface PublicKeyLine {
    /** As written: e.g. "ssh-ed25519" or "ssh-ed25519-cert-v01@openssh.com". */
    readonly type: string;
    /** The key's own type, also for a certificate ("ssh-ed25519"). */
    readonly keyType: PublicKeyType;
    /** The wire-format blob (the base64 field, decoded): compare keys with `blob.equals`. */
    readonly blob: Buffer;
    readonly certificate: boolean;
}

/** Why a line is not a public key line: `message` says it and the fix, to follow a field name. */
export interface PublicKeyLineProblem {
    readonly problem: "not-a-string" | "lines" | "format" | "certificate" | "type" | "corrupt";
    readonly message: string;
}

/**
 * Parses one OpenSSH public key line (`ssh-ed25519 AAAA… comment`, a .pub file) or, with
 * `certificates`, certificate line (a *-cert.pub file): surrounding whitespace ignored, one line,
 * a known key type, and base64 data whose embedded type is the written one.
 */
export function parsePublicKeyLine(text: unknown, options: { certificates: boolean }): PublicKeyLine | PublicKeyLineProblem {
    const problem = (kind: PublicKeyLineProblem["problem"], message: string): PublicKeyLineProblem => ({ problem: kind, message });
    const what = options.certificates ? "public key or certificate line" : "public key line";
    if (typeof text !== "string") return problem("not-a-string", `must be a string: an OpenSSH ${what}`);
    const trimmed = text.trim();
    if (/[\r\n]/.test(trimmed)) return problem("lines", `must be one line (one key${options.certificates ? " or certificate" : ""} per entry)`);
    const match = KEY_LINE.exec(trimmed);
    if (!match) {
        return problem("format", `must be an OpenSSH ${what}: <type> <base64> [comment], as in ${options.certificates ? "agent_key.pub or agent_key-cert.pub" : "a .pub file"}`);
    }
    const type = match[1] as string;
    const certificate = type.endsWith(CERTIFICATE_SUFFIX);
    if (certificate && !options.certificates) return problem("certificate", `is a certificate ("${type}"); give the plain public key line instead`);
    const keyType = certificate ? type.slice(0, -CERTIFICATE_SUFFIX.length) : type;
    if (!isPublicKeyType(keyType)) {
        return problem("type", `has key type "${type}"; expected one of ${PUBLIC_KEY_TYPES.join(", ")}${options.certificates ? ` or their ${CERTIFICATE_SUFFIX} certificates` : ""}`);
    }
    const blob = Buffer.from(match[2] as string, "base64");
    if (keyBlobType(blob) !== type) return problem("corrupt", `has corrupt base64 data (its embedded type is not "${type}"); copy the whole line from the .pub file`);
    return { type, keyType, blob, certificate };
}

export function isPublicKeyProblem(parsed: PublicKeyLine | PublicKeyLineProblem): parsed is PublicKeyLineProblem {
    return "problem" in parsed;
}

function isPublicKeyType(type: string): type is PublicKeyType {
    return (PUBLIC_KEY_TYPES as readonly string[]).includes(type);
}

export interface PinnedHostKey {
    readonly fingerprint: string;
    /** Known only when the pin is a public key line rather than a bare fingerprint. */
    readonly keyType?: PublicKeyType;
}

/** OpenSSH's `ssh-keygen -l` fingerprint of a wire-format public key. */
export function sha256Fingerprint(keyBlob: Buffer): string {
    return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type string that opens every SSH wire-format key blob. */
export function keyBlobType(blob: Buffer): string | undefined {
    if (blob.length < 4) return undefined;
    const length = blob.readUInt32BE(0);
    if (length === 0 || length > 64 || 4 + length > blob.length) return undefined;
    return blob.toString("latin1", 4, 4 + length);
}

/** Parses "SHA256:…" or "ssh-ed25519 AAAA… [comment]"; a string result says what is wrong. */
export function parsePinnedHostKey(text: string): PinnedHostKey | string {
    const trimmed = text.trim();
    if (trimmed.startsWith("SHA256:")) {
        return FINGERPRINT.test(trimmed)
            ? { fingerprint: trimmed }
            : `"${trimmed}" is not a SHA256 fingerprint (expected SHA256: and 43 base64 characters, as printed by ssh-keygen -lf)`;
    }
    const key = parsePublicKeyLine(trimmed, { certificates: false });
    if (!isPublicKeyProblem(key)) return { fingerprint: sha256Fingerprint(key.blob), keyType: key.keyType };
    switch (key.problem) {
        case "format":
            return `not a pinned host key: expected "SHA256:<fingerprint>" or a public key line such as "ssh-ed25519 AAAA…" (from ssh-keyscan or /etc/ssh/ssh_host_*_key.pub)`;
        case "certificate":
            return `host certificates are not supported: pin the host's plain public key instead`;
        default:
            return key.message;
    }
}

export class HostKeyPins {
    readonly pins: readonly PinnedHostKey[];

    constructor(texts: readonly string[]) {
        this.pins = texts.map((text) => {
            const pin = parsePinnedHostKey(text);
            if (typeof pin === "string") throw new Error(`invalid host key pin: ${pin}`);
            return pin;
        });
    }

    matches(keyBlob: Buffer): boolean {
        const fingerprint = sha256Fingerprint(keyBlob);
        return this.pins.some((pin) => pin.fingerprint === fingerprint);
    }

    /**
     * Host key algorithms to offer, so that a relay with several host keys presents the pinned
     * one (as OpenSSH does from known_hosts). Undefined when a bare fingerprint leaves the type
     * unknown: then every modern algorithm is offered and a mismatch names the key that was presented.
     */
    hostKeyAlgorithms(): string[] | undefined {
        if (this.pins.some((pin) => pin.keyType === undefined)) return undefined;
        const algorithms = this.pins.flatMap((pin) => HOST_KEY_ALGORITHMS[pin.keyType as PublicKeyType]);
        return [...new Set(algorithms)];
    }
}
