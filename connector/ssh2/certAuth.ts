// OpenSSH user certificate authentication for ssh2, contained in this one module (ssh2 internals
// come from ./internals).
//
// ssh2 as shipped cannot log in with a certificate (upstream issue #551, open PRs #1486/#1495):
//  1. its key parser drops the certificate from a "-cert.pub" line (for ed25519 it even reads the
//     certificate nonce as the public key);
//  2. Protocol.authPK writes one algorithm name into both the request and the signature blob, but
//     for a certificate the request names the certificate algorithm
//     ("ssh-ed25519-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com") while the
//     signature must name the base algorithm ("ssh-ed25519", "rsa-sha2-256"); OpenSSH rejects
//     anything else ("Failed publickey … ED25519-CERT").
//
// The fix: parse certificates here, hand ssh2 a key object that is the real parsed private key
// plus a certificate (so ssh2's own signing and RSA SHA-2 negotiation are reused untouched), and
// replace authPK on each connection's Protocol instance (never the shared prototype) with one
// that writes the two algorithm names correctly. Keys without a certificate go to ssh2's original
// authPK. Agent identities are out of scope: the connector reads its key from files.
import { readFile } from "node:fs/promises";
import type { Client, ParsedKey } from "ssh2";
import { utils as ssh2Utils } from "ssh2";
import { sha256Fingerprint } from "../spec";
import { convertSignature, originalAuthPK, protocolOf, sendPacket, type AuthPK } from "./internals";

// ---- OpenSSH certificates (PROTOCOL.certkeys) ----

export interface OpenSshCertificate {
    /** e.g. "ssh-ed25519-cert-v01@openssh.com" */
    readonly certType: string;
    /** The certified key's type: "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", … */
    readonly keyType: string;
    /** The certificate in wire format: what goes into USERAUTH_REQUEST. */
    readonly blob: Buffer;
    /** The certified public key in plain wire format, to compare with the private key. */
    readonly publicKey: Buffer;
    readonly serial: bigint;
    readonly kind: "user" | "host";
    readonly keyId: string;
    readonly principals: readonly string[];
    /** Undefined: valid since forever. */
    readonly validAfter: Date | undefined;
    /** Undefined: valid forever. */
    readonly validBefore: Date | undefined;
    readonly criticalOptions: readonly string[];
    readonly extensions: readonly string[];
    /** SHA256 fingerprint of the signing CA, as in sshd's logs. */
    readonly caFingerprint: string;
}

class WireReader {
    private offset = 0;
    constructor(private readonly buf: Buffer) {}
    string(): Buffer {
        const length = this.uint32();
        if (this.offset + length > this.buf.length) throw new Error("truncated");
        const value = this.buf.subarray(this.offset, this.offset + length);
        this.offset += length;
        return value;
    }
    text(): string {
        return this.string().toString("utf8");
    }
    uint32(): number {
        if (this.offset + 4 > this.buf.length) throw new Error("truncated");
        const value = this.buf.readUInt32BE(this.offset);
        this.offset += 4;
        return value;
    }
    uint64(): bigint {
        if (this.offset + 8 > this.buf.length) throw new Error("truncated");
        const value = this.buf.readBigUInt64BE(this.offset);
        this.offset += 8;
        return value;
    }
    /** Names in a packed list of strings (principals) or of name/data pairs (options, extensions). */
    names(pairs: boolean): string[] {
        const inner = new WireReader(this.string());
        const out: string[] = [];
        while (!inner.done()) {
            out.push(inner.text());
            if (pairs) inner.string();
        }
        return out;
    }
    done(): boolean {
        return this.offset >= this.buf.length;
    }
}

function wireString(...parts: (Buffer | string)[]): Buffer {
    return Buffer.concat(
        parts.flatMap((part) => {
            const data = typeof part === "string" ? Buffer.from(part) : part;
            const length = Buffer.allocUnsafe(4);
            length.writeUInt32BE(data.length, 0);
            return [length, data];
        }),
    );
}

const CERT_SUFFIX = "-cert-v01@openssh.com";
// uint64 max means "forever" in valid_before; anything past JavaScript's Date range is forever too.
const MAX_DATE_SECONDS = 8_640_000_000_000n;

function certDate(seconds: bigint, zeroMeans: "always" | "forever"): Date | undefined {
    if (seconds === 0n && zeroMeans === "always") return undefined;
    if (seconds >= MAX_DATE_SECONDS) return undefined;
    return new Date(Number(seconds) * 1000);
}

/** Parses one "<type>-cert-v01@openssh.com AAAA… [comment]" line; throws saying what is wrong. */
export function parseOpenSshCertificate(line: string): OpenSshCertificate {
    const match = /^(\S+-cert-v01@openssh\.com)\s+([A-Za-z0-9+/]+={0,2})(?:\s.*)?$/.exec(line.trim());
    if (!match) throw new Error("not an OpenSSH certificate (expected a *-cert.pub line as written by ssh-keygen -s)");
    const certType = match[1] as string;
    const blob = Buffer.from(match[2] as string, "base64");
    try {
        const reader = new WireReader(blob);
        if (reader.text() !== certType) throw new Error("the embedded type does not match the line");
        reader.string(); // nonce
        const keyType = certType.slice(0, -CERT_SUFFIX.length);
        let publicKey: Buffer;
        if (keyType === "ssh-ed25519") {
            publicKey = wireString(keyType, reader.string());
        } else if (keyType === "ssh-rsa") {
            const e = reader.string();
            const n = reader.string();
            publicKey = wireString(keyType, e, n);
        } else if (keyType.startsWith("ecdsa-sha2-")) {
            const curve = reader.string();
            const point = reader.string();
            publicKey = wireString(keyType, curve, point);
        } else {
            throw new Error(`unsupported certificate key type ${keyType}`);
        }
        const serial = reader.uint64();
        const kindCode = reader.uint32();
        const keyId = reader.text();
        const principals = reader.names(false);
        const validAfter = certDate(reader.uint64(), "always");
        const validBefore = certDate(reader.uint64(), "forever");
        const criticalOptions = reader.names(true);
        const extensions = reader.names(true);
        reader.string(); // reserved
        const caKey = reader.string();
        return {
            certType,
            keyType,
            blob,
            publicKey,
            serial,
            kind: kindCode === 2 ? "host" : "user",
            keyId,
            principals,
            validAfter,
            validBefore,
            criticalOptions,
            extensions,
            caFingerprint: sha256Fingerprint(caKey),
        };
    } catch (err) {
        throw new Error(`malformed OpenSSH certificate: ${(err as Error).message}`);
    }
}

// ---- Identity: private key + optional certificate, read from the configured files ----

export interface Identity {
    readonly key: ParsedKey;
    readonly certificate?: OpenSshCertificate;
    /** Safe to log: key type, fingerprint, certificate ID and validity; never key material. */
    readonly summary: IdentitySummary;
}

export interface IdentitySummary {
    readonly keyType: string;
    readonly keyFingerprint: string;
    readonly certificate?: {
        readonly keyId: string;
        readonly serial: string;
        readonly principals: readonly string[];
        readonly validAfter?: string;
        readonly validBefore?: string;
        readonly caFingerprint: string;
    };
}

export class IdentityError extends Error {
    constructor(readonly field: string, message: string) {
        super(`${field}: ${message}`);
        this.name = "IdentityError";
    }
}

export interface IdentityFiles {
    readonly privateKeyFile: string;
    readonly certificateFile?: string | undefined;
}

/**
 * Reads and cross-checks the key and certificate. Called before every connection attempt, so a
 * renewed certificate on disk is picked up without restarting the agent.
 */
export async function loadIdentity(files: IdentityFiles): Promise<Identity> {
    const keyText = await readFile(files.privateKeyFile).catch((err: NodeJS.ErrnoException) => {
        throw new IdentityError("identity.privateKeyFile", `cannot read ${files.privateKeyFile}: ${err.code ?? err.message}`);
    });
    const parsed = ssh2Utils.parseKey(keyText);
    // ssh2's parse errors never quote the key, so they are safe to pass on.
    if (parsed instanceof Error) throw new IdentityError("identity.privateKeyFile", `${files.privateKeyFile} is not a usable private key (${parsed.message})`);
    const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
    if (!key.isPrivateKey()) {
        throw new IdentityError("identity.privateKeyFile", `${files.privateKeyFile} holds a public key; point it at the private key file`);
    }
    const keyFingerprint = sha256Fingerprint(key.getPublicSSH());
    if (!files.certificateFile) return { key, summary: { keyType: key.type, keyFingerprint } };

    const certText = await readFile(files.certificateFile, "utf8").catch((err: NodeJS.ErrnoException) => {
        throw new IdentityError("identity.certificateFile", `cannot read ${files.certificateFile}: ${err.code ?? err.message}`);
    });
    let certificate: OpenSshCertificate;
    try {
        certificate = parseOpenSshCertificate(certText);
    } catch (err) {
        throw new IdentityError("identity.certificateFile", `${files.certificateFile}: ${(err as Error).message}`);
    }
    if (certificate.kind !== "user") {
        throw new IdentityError("identity.certificateFile", "this is a host certificate; sign the agent's key without -h");
    }
    if (!certificate.publicKey.equals(key.getPublicSSH())) {
        throw new IdentityError(
            "identity.certificateFile",
            `the certificate certifies ${sha256Fingerprint(certificate.publicKey)}, not the key in identity.privateKeyFile (${keyFingerprint})`,
        );
    }
    if (!certificate.extensions.includes("permit-port-forwarding")) {
        throw new IdentityError(
            "identity.certificateFile",
            "the certificate lacks the permit-port-forwarding extension, so every relay would refuse the forwards: re-sign with ssh-keygen -O permit-port-forwarding",
        );
    }
    return {
        key,
        certificate,
        summary: {
            keyType: key.type,
            keyFingerprint,
            certificate: {
                keyId: certificate.keyId,
                serial: certificate.serial.toString(),
                principals: certificate.principals,
                ...(certificate.validAfter ? { validAfter: certificate.validAfter.toISOString() } : {}),
                ...(certificate.validBefore ? { validBefore: certificate.validBefore.toISOString() } : {}),
                caFingerprint: certificate.caFingerprint,
            },
        },
    };
}

/** Why a certificate is not valid at `now`, or undefined when its validity window holds. */
export function certificateValidityProblem(cert: OpenSshCertificate, now: Date): string | undefined {
    if (cert.validBefore && now >= cert.validBefore) {
        return `certificate '${cert.keyId}' (serial ${cert.serial}) expired at ${cert.validBefore.toISOString()}: issue a new one`;
    }
    if (cert.validAfter && now < cert.validAfter) {
        return `certificate '${cert.keyId}' (serial ${cert.serial}) is not valid before ${cert.validAfter.toISOString()} (check this host's clock)`;
    }
    return undefined;
}

/** A clear sentence for "the relay refused our key", using what we know about the identity. */
export function explainAuthenticationFailure(identity: Identity, user: string, now: Date): string {
    const cert = identity.certificate;
    if (cert) {
        const validity = certificateValidityProblem(cert, now);
        if (validity) return `the relay refused the certificate: ${validity}`;
    }
    // sshd refuses every key, without saying why, for a login user it does not know or that is
    // locked: the most common cause on a new relay, so it comes first. Next, a user the relay's
    // AllowUsers does not list (the agent's `user` is not the relay's loginUser), which sshd also
    // refuses before it looks at the key.
    const loginUser =
        `the login user '${user}' is missing or locked on the relay (its sshd log says "Invalid user ${user}" or ` +
        `"User ${user} not allowed because account is locked"; create it with useradd and unlock it with usermod -p '*' ${user})`;
    const otherUser =
        `'${user}' is not the relay's login user (its sshd log says "User ${user} ... not allowed because not listed in AllowUsers"; ` +
        `set user to the relay options' loginUser)`;
    if (!cert) {
        return (
            `the relay refused key ${identity.summary.keyFingerprint} for user '${user}'. Likely causes, most common first: (1) ${loginUser}; ` +
            `(2) ${otherUser}; (3) the key is not in the relay's authorized keys for '${user}' (add it, or use a certificate)`
        );
    }
    return (
        `the relay refused certificate '${cert.keyId}' (serial ${cert.serial}, principals [${cert.principals.join(", ")}], ` +
        `signed by CA ${cert.caFingerprint}) for user '${user}'. Likely causes, most common first: (1) ${loginUser}; (2) ${otherUser}; ` +
        `(3) the relay does not trust this CA (TrustedUserCAKeys); (4) none of these principals is authorized for '${user}' ` +
        `(AuthorizedPrincipalsFile); (5) sshd cannot use the relay's principals or CA file for its owner or mode (its log says ` +
        `"bad ownership or modes" under StrictModes: they and every directory above them must be root-owned and not group- or ` +
        `world-writable, and the files readable by all, 0644); (6) the relay revoked this key (RevokedKeys)`
    );
}

// ---- The ssh2 fix ----

const CERTIFICATE = Symbol("firefly.openssh-certificate");
type CertifiedKey = ParsedKey & { readonly [CERTIFICATE]: OpenSshCertificate };

/**
 * The key to give ssh2's authHandler. With a certificate it is the parsed private key (as its
 * prototype, so ssh2 still recognises and signs with it) carrying the certificate.
 */
export function authenticationKey(identity: Identity): ParsedKey {
    if (!identity.certificate) return identity.key;
    return Object.create(identity.key, { [CERTIFICATE]: { value: identity.certificate } }) as CertifiedKey;
}

/**
 * Makes this client's connection able to authenticate with certificates. Call right after
 * client.connect(): ssh2 creates the Protocol there, and authentication starts only after the
 * key exchange, so the override is in place in time. Other clients are untouched.
 */
export function enableCertificateAuth(client: Client): void {
    protocolOf(client, "enableCertificateAuth").authPK = certificateAwareAuthPK;
}

function certificateOf(key: unknown): OpenSshCertificate | undefined {
    return typeof key === "object" && key !== null ? (key as Partial<CertifiedKey>)[CERTIFICATE] : undefined;
}

const certificateAwareAuthPK: AuthPK = function (username, key, keyAlgo, cbSign) {
    const cert = certificateOf(key);
    if (!cert) {
        originalAuthPK.call(this, username, key, keyAlgo, cbSign);
        return;
    }
    if (typeof keyAlgo === "function") {
        cbSign = keyAlgo;
        keyAlgo = undefined;
    }
    // ssh2 picks the signature algorithm (rsa-sha2-256/512 from server-sig-algs for RSA; none
    // for ed25519, where the key type is the algorithm). The certificate algorithm is derived.
    const signatureAlgo = keyAlgo ?? cert.keyType;
    const requestAlgo = `${signatureAlgo}${CERT_SUFFIX}`;
    const request = (withSignature: boolean) =>
        Buffer.concat([
            Buffer.from([50 /* SSH_MSG_USERAUTH_REQUEST */]),
            wireString(username, "ssh-connection", "publickey"),
            Buffer.from([withSignature ? 1 : 0]),
            wireString(requestAlgo, cert.blob),
        ]);
    const send = (payload: Buffer, what: string) => {
        const writer = this._packetRW.write;
        const packet = writer.alloc(payload.length);
        packet.set(payload, writer.allocStart);
        this._authsQueue.push("publickey");
        this._debug?.(`Outbound: Sending USERAUTH_REQUEST (publickey certificate ${requestAlgo} -- ${what})`);
        sendPacket(this, writer.finalize(packet));
    };

    if (!cbSign) {
        send(request(false), "check");
        return;
    }
    const signed = request(true);
    cbSign(Buffer.concat([wireString(this._kex.sessionID), signed]), (rawSignature) => {
        const signature = convertSignature(rawSignature, cert.keyType);
        if (signature === false) throw new Error("Error while converting handshake signature");
        send(Buffer.concat([signed, wireString(wireString(signatureAlgo, signature))]), "signed");
    });
};
