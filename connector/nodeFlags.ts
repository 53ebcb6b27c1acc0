// The V8 flags the agent runs with wherever it runs for real: the systemd unit on the connector
// hosts (components/tunnelUserData.ts) and the benchmark. Node refuses them in NODE_OPTIONS, so
// they go on the command line: `node <flags> connector/cli.js run …`.
//
// --initial-old-space-size=64: without it, V8 sizes the old generation's GC limit from the small
// live heap (~12 MiB), and under a bulk transfer a heuristic (too little slack left compared with
// the young generation) starts a major GC every 20 to 50 MiB carried: 8 to 48 major GCs per GiB,
// about a fifth of the agent's CPU, and in some processes but not others, depending on where the
// first limits landed. With a 64 MiB starting size, the bench measured 0 major GCs per GiB in
// every run, also after an idle period in which V8's memory reducer had run. It costs memory only
// as garbage the old generation may hold before it is collected (peak RSS with 1,000 streams
// stayed at ~140 MiB); it is not a cap.
export const AGENT_NODE_FLAGS: readonly string[] = ["--initial-old-space-size=64"];
