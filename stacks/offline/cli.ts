#!/usr/bin/env node
// `npm start`: the offline plan. Runs the example stacks under Pulumi's mock runtime (no cloud
// account, no Pulumi CLI), in the order a real deployment needs, and prints what they create.
import { Command } from "commander";
import { buildPlan, renderPlan } from "./plan";
import { exampleStackNames, readStackSettings, simulateDeployment } from "./simulate";

async function main(argv: string[]): Promise<number> {
    const cli = new Command()
        .name("npm start --")
        .description("Offline plan: run the stack programs under Pulumi's mock runtime and print what they would create.")
        .option("-s, --stack <name...>", "stacks to show (default: every stacks/Pulumi.<stack>.yaml); all of them still run, since they read each other's outputs")
        .option("--json", "print the plan as JSON")
        .helpOption("-h, --help", "show this help")
        .exitOverride();
    cli.parse(argv, { from: "user" });
    const options = cli.opts<{ stack?: string[]; json?: boolean }>();

    const names = exampleStackNames();
    for (const wanted of options.stack ?? []) {
        if (!names.includes(wanted)) throw new UsageError(`unknown stack "${wanted}"; the example stacks are ${names.join(", ")}`);
    }
    const deployment = await simulateDeployment(names.map((name) => readStackSettings(name)));
    const plan = buildPlan(deployment);
    if (options.stack) plan.stacks = plan.stacks.filter((s) => options.stack!.includes(s.stack));
    process.stdout.write(options.json ? `${JSON.stringify(plan, null, 2)}\n` : `${renderPlan(plan)}\n`);
    return 0;
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
        const e = err as { code?: string; exitCode?: number; message?: string };
        if (e.code?.startsWith("commander.")) process.exit(e.exitCode ?? 2);
        process.stderr.write(`offline plan failed: ${e.message ?? String(err)}\n`);
        process.exit(err instanceof UsageError ? 2 : 1);
    },
);
