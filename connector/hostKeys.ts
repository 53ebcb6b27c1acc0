// Relay host key pinning. ssh2 accepts any host key unless given a hostVerifier; the supervisor
// always passes the verifier built here. Pure (node:crypto only) so config validation reuses it.
import { createHash } from "node:crypto";

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const KEY_LINE = /^([a-z0-9@.-]+) ([A-Za-z0-9+/]+={0,2})(?:\s.*)?$/;

/** The key types OpenSSH prints for host keys, mapped to the host key algorithms that use them. */
const HOST_KEY_ALGORITHMS: Readonly<Record<string, readonly string[]>> = {
    "ssh-ed25519": ["ssh-ed25519"],
    "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
    "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
    "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
    // SHA-1 "ssh-rsa" signatures are deliberately not offered (OpenSSH disabled them in 8.8).
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256"],
};

export interface PinnedHostKey {
    readonly fingerprint: string;
    /** Known only when the pin is a public key line rather than a bare fingerprint. */
    readonly keyType?: string;
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
    const line = KEY_LINE.exec(trimmed);
    if (!line) {
        return `not a pinned host key: expected "SHA256:<fingerprint>" or a public key line such as "ssh-ed25519 AAAA…" (from ssh-keyscan or /etc/ssh/ssh_host_*_key.pub)`;
    }
    const keyType = line[1] as string;
    if (keyType.includes("-cert-")) return `host certificates are not supported: pin the host's plain public key instead`;
    if (!(keyType in HOST_KEY_ALGORITHMS)) return `unsupported host key type "${keyType}"`;
    const blob = Buffer.from(line[2] as string, "base64");
    if (keyBlobType(blob) !== keyType) return `the base64 data of this "${keyType}" key is corrupt (its embedded type does not match)`;
    return { fingerprint: sha256Fingerprint(blob), keyType };
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
     * unknown: then ssh2's default order applies and a mismatch names the key that was presented.
     */
    hostKeyAlgorithms(): string[] | undefined {
        if (this.pins.some((pin) => pin.keyType === undefined)) return undefined;
        const algorithms = this.pins.flatMap((pin) => HOST_KEY_ALGORITHMS[pin.keyType as string] ?? []);
        return [...new Set(algorithms)];
    }
}
