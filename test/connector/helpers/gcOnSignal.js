// Preload (`node -r`) for leak tests: a full garbage collection on SIGUSR2, then a JSON line on
// stdout once it ran (`{"msg":"gc done","gc":N,"newSpaceBytes":B,"liveBytes":L}`, N counting the
// collections from 1, B the size V8's young generation has grown to: V8 grows it with the
// allocation rate, up to a fixed cap, and a collection does not shrink it, so it is capacity, not a
// leak; L what is alive: V8's used heap and the external memory its objects hold). Without it, a process's RSS carries however much garbage V8 has not
// collected yet, which swung the churn test's reading by 50 MiB between runs of the same code.
// Plain JavaScript because it runs before anything else is loaded.
"use strict";
const v8 = require("node:v8");
const vm = require("node:vm");
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");
let collections = 0;
process.on("SIGUSR2", () => {
    gc();
    collections++;
    const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space");
    // What is alive after the collection: V8's heap objects and the memory they hold outside it
    // (Buffers): where a leak of streams, sockets or chunks shows.
    const { heapUsed, external } = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ msg: "gc done", gc: collections, newSpaceBytes: newSpace ? newSpace.space_size : 0, liveBytes: heapUsed + external })}\n`);
});
