// The V8 flags the agent runs with wherever it runs for real: the systemd unit on the connector
// hosts (components/tunnel/userData.ts) and the benchmark. Node refuses them in NODE_OPTIONS, so
// they go on the command line: `node <flags> connector/cli.js run …`.
//
// --initial-old-space-size=64 gives the old generation room before its first major GC; without
// it, bulk transfers trigger a major GC every few dozen MiB (connector/README.md, Performance). It
// is a starting size, not a cap: removing it costs CPU, not correctness.
export const AGENT_NODE_FLAGS: readonly string[] = ["--initial-old-space-size=64"];
