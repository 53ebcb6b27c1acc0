// The tunnel's specification: what a route, an address, an allowlist rule, a host-key pin and the
// agent's config file are, and what the relay's sshd must say to accept them. The agent, the
// Pulumi components and the stacks all import this one module, so there is one grammar for each.
// Pure: zod, yaml and node's net/crypto only; no ssh2, no I/O.
export * from "./address";
export * from "./allowlist";
export * from "./hostKeys";
export * from "./agentConfig";
export * from "./proxy";
export * from "./relaySshd";
export * from "./sshAlgorithms";
