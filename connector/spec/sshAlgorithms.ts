// The SSH algorithms the agent offers and the relay accepts. Both sides read them from here, so a
// relay rendered by the generator and an agent with default settings always agree on AES-256-GCM,
// curve25519 key exchange and modern host key signatures; anything weaker is never negotiated.

/** Ciphers an operator may choose (config `ciphers`); AEAD or CTR with an ETM MAC, nothing CBC. */
export const SUPPORTED_CIPHERS = [
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes128-ctr",
] as const;
export type SshCipher = (typeof SUPPORTED_CIPHERS)[number];

/** What the agent offers and the relay accepts unless configured otherwise. */
export const DEFAULT_CIPHERS: readonly SshCipher[] = ["aes256-gcm@openssh.com"];

/** Key exchange: curve25519 only (both names of the same method). */
export const KEX_ALGORITHMS: readonly string[] = ["curve25519-sha256", "curve25519-sha256@libssh.org"];

/** MACs, used only with a CTR cipher (GCM and ChaCha20-Poly1305 authenticate themselves). */
export const MAC_ALGORITHMS: readonly string[] = ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"];

/** Host key signature algorithms: no ssh-rsa (SHA-1), no DSA. */
export const HOST_KEY_SIGNATURE_ALGORITHMS: readonly string[] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
];
