import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { runProgram, type LogSeverity } from "../../offline/runProgram";

// The offline plan takes each run's log instead of the console (offline/cli.ts prints each line
// once per stack): what the SDK logs arrives with its severity, what a program prints as info,
// and the console is the same afterwards, also after a run that failed.
describe("offline runProgram: the program's log", () => {
    const run = (program: () => Promise<Record<string, unknown>>, lines: Array<[LogSeverity, string]>) =>
        runProgram(program, { project: "log-test", stack: "dev", accountId: "123456789012", region: "us-east-1", log: (severity, message) => void lines.push([severity, message]) });

    it("arrives with its severity, instead of on the console", async () => {
        const lines: Array<[LogSeverity, string]> = [];
        const saved = { log: console.log, warn: console.warn, error: console.error, info: console.info };
        await run(async () => {
            await pulumi.log.info("an info");
            await pulumi.log.warn("a warning\nover two lines");
            console.log("printed by the program", 42);
            console.error("printed to stderr");
            return {};
        }, lines);
        assert.deepEqual(lines, [
            ["info", "an info"],
            ["warning", "a warning\nover two lines"],
            ["info", "printed by the program 42"],
            ["error", "printed to stderr"],
        ]);
        assert.deepEqual({ log: console.log, warn: console.warn, error: console.error, info: console.info }, saved, "the console is given back");
    });

    it("gives the console back after a run that failed, with the failure's log line delivered", async () => {
        const lines: Array<[LogSeverity, string]> = [];
        const saved = console.warn;
        await assert.rejects(
            run(async () => {
                await pulumi.log.warn("before the failure");
                throw new Error("the program failed");
            }, lines),
            /the program failed/,
        );
        assert.deepEqual(lines, [["warning", "before the failure"]]);
        assert.equal(console.warn, saved);
    });
});
