#!/usr/bin/env node
// `npm start`: the offline plan and policy verdict. Runs the stacks of a Pulumi project (this
// repository's example stacks by default) under Pulumi's mock runtime, with no cloud account and
// no Pulumi CLI, in the order a real deployment needs; prints what they create and what the
// policy pack says about it. Exit codes: 0 passed, 1 a mandatory violation, 2 bad usage or
// config, 3 a stack program failed.
// First: later imports are transpiled through its cache.
import "./transpileCache";
import * as fs from "node:fs";
import * as path from "node:path";
import { format } from "node:util";
import { Command } from "commander";
import { buildPlan, renderPlan } from "./plan";
import { judgePreview, previewDeployment, renderVerdicts } from "./preview";
import { ProjectError, checkSharedPulumiPackages, loadProgram, readProject, repositoryRoot } from "./project";
import type { ProgramLog } from "./runProgram";
import { exampleStackNames, readStackSettings, simulateDeployment } from "./simulate";
import { PolicyConfigError, PolicyConfigFileError, StackVerdict, judgeStack, readPolicyConfig, verdictOf } from "./verdict";

export const EXIT = { passed: 0, violations: 1, usage: 2, programFailed: 3 } as const;

/** The per-stack policy config the example stacks ship, next to their settings files. */
export function defaultPolicyConfigFile(stackConfigDir: string, stack: string): string | undefined {
    const file = path.join(stackConfigDir, `policy-config.${stack}.json`);
    return fs.existsSync(file) ? file : undefined;
}

async function main(argv: string[]): Promise<number> {
    const cli = new Command()
        .name("npm start --")
        .description(
            "Offline plan and policy verdict: run a Pulumi project's stacks under Pulumi's mock runtime, print what they would create, and run the private-connectivity policy pack over it.",
        )
        .option("-s, --stack <name...>", "stacks to report (default: every Pulumi.<stack>.yaml); all of them still run, since they read each other's outputs")
        .option("-p, --project <dir>", "the Pulumi project to run (a directory with Pulumi.yaml)", path.relative(process.cwd(), repositoryRoot) || ".")
        .option(
            "-c, --policy-config <file>",
            "policy config for every stack, as for `pulumi preview --policy-pack-config` (default: <stackConfigDir>/policy-config.<stack>.json when it exists)",
        )
        .option("--no-policy", "print the plan only, without the policy verdict")
        .option("--json", "print the plan and verdict as JSON")
        .helpOption("-h, --help", "show this help")
        .exitOverride();
    cli.parse(argv, { from: "user" });
    // stdout carries the plan (or the JSON document) only: the programs' log lines, which Pulumi
    // writes with console.log when no engine runs, go to stderr like the engine's diagnostics.
    console.log = (...args: unknown[]) => void process.stderr.write(`${format(...args)}\n`);
    console.info = console.log;
    const options = cli.opts<{ stack?: string[]; project: string; policyConfig?: string; policy: boolean; json?: boolean }>();

    const project = readProject(path.resolve(options.project));
    checkSharedPulumiPackages(project);
    const names = exampleStackNames(project.stackConfigDir);
    if (names.length === 0) throw new UsageError(`${project.stackConfigDir} has no Pulumi.<stack>.yaml: nothing to run`);
    for (const wanted of options.stack ?? []) {
        if (!names.includes(wanted)) throw new UsageError(`unknown stack "${wanted}"; the stacks are ${names.join(", ")}`);
    }
    const reported = (stack: string) => !options.stack || options.stack.includes(stack);
    // Read every policy config before running anything: a typo should not cost a whole plan.
    const defaultFiles = new Map(names.map((stack) => [stack, defaultPolicyConfigFile(project.stackConfigDir, stack)]));
    const policyConfigs = new Map<string, { file?: string; config?: Record<string, unknown> }>();
    for (const stack of names.filter(reported)) {
        const file = options.policyConfig ?? defaultFiles.get(stack);
        policyConfigs.set(stack, file ? { file: path.relative(process.cwd(), path.resolve(file)), config: readPolicyConfig(file) } : {});
    }
    // A stack without the policy config its siblings have is most likely a new one copied from a
    // sibling without it: its rules would pass what the others' configs refuse (an account list).
    if (options.policy && !options.policyConfig) {
        const configured = names.filter((stack) => defaultFiles.get(stack) !== undefined);
        const missing = names.filter((stack) => reported(stack) && !configured.includes(stack));
        if (configured.length > 0 && missing.length > 0) {
            const where = path.relative(process.cwd(), path.join(project.stackConfigDir, "policy-config.<stack>.json"));
            process.stderr.write(
                `warning: ${missing.join(", ")} ${missing.length === 1 ? "has" : "have"} no policy config (${where}) while ${configured.join(", ")} ` +
                    `${configured.length === 1 ? "has" : "have"} one: ${missing.length === 1 ? "its" : "their"} rules run at their defaults ` +
                    `(endpoint-service-allowed-principals then checks no account list); copy a sibling's file and adjust it\n`,
            );
        }
    }

    const settings = names.map((name) => readStackSettings(name, project.stackConfigDir));
    const log = oncePerStack(process.stderr);
    let deployment;
    // This repository's program exports a function and keeps no module state, so its modules
    // stay loaded between runs (no re-transpiling per run); any other project's are reloaded.
    const program = loadProgram(project, { reloadModules: project.dir !== repositoryRoot });
    try {
        deployment = await simulateDeployment(settings, { program, project: project.name, log });
    } catch (err) {
        throw new ProgramFailed((err as Error).message ?? String(err));
    }
    const plan = buildPlan(deployment);
    plan.stacks = plan.stacks.filter((s) => reported(s.stack));

    const verdicts: StackVerdict[] = [];
    // The verdict a pull request gets: the same stacks previewed (see offline/preview.ts).
    const previewVerdicts: StackVerdict[] = [];
    if (options.policy) {
        let previews;
        try {
            previews = await previewDeployment(settings, deployment, { program, project: project.name, log });
        } catch (err) {
            throw new ProgramFailed((err as Error).message ?? String(err));
        }
        for (const [stack, run] of deployment.final) {
            if (!reported(stack)) continue;
            const { file, config } = policyConfigs.get(stack) ?? {};
            const deployed = await judgeStack(stack, run, { project: project.name, config, policyConfigFile: file });
            verdicts.push(deployed);
            const preview = previews.get(stack);
            if (preview) previewVerdicts.push(await judgePreview(stack, preview, { run, verdict: deployed }, { project: project.name, config, policyConfigFile: file }));
        }
    }
    const verdict = verdictOf(verdicts);
    const previewVerdict = verdictOf(previewVerdicts);
    if (options.json) {
        process.stdout.write(`${JSON.stringify(options.policy ? { ...plan, previewVerdict, verdict } : plan, null, 2)}\n`);
    } else {
        process.stdout.write(`${renderPlan(plan)}\n`);
        if (options.policy) process.stdout.write(`\n${renderVerdicts(previewVerdict, verdict)}\n`);
    }
    return verdict.passed && previewVerdict.passed ? EXIT.passed : EXIT.violations;
}

/**
 * The programs' log lines, each printed once per stack: the simulation runs a stack several times
 * (each `pulumi up` of the sequence, then its preview), and the same warning from every run said
 * nothing new. A line names its stack and the run that first logged it ("up 1", "preview").
 */
function oncePerStack(out: NodeJS.WritableStream): (stack: string, run: string) => ProgramLog {
    const seen = new Set<string>();
    return (stack, run) => (severity, message) => {
        const key = JSON.stringify([stack, severity, message]);
        if (seen.has(key)) return;
        seen.add(key);
        out.write(`[${stack}, ${run}] ${severity}: ${message}\n`);
    };
}

class UsageError extends Error {}
class ProgramFailed extends Error {}

// Run as `npm start` (or node offline/cli.ts); imported, as by tests, it only exports.
if (require.main === module) {
    main(process.argv.slice(2)).then(
        // Exit once stdout has drained: a large --json plan written to a pipe is flushed
        // asynchronously, and exiting at once cut it short (seen on Node.js 22).
        (code) => process.stdout.write("", () => process.exit(code)),
        (err: unknown) => {
            const e = err as { code?: string; exitCode?: number; message?: string };
            if (e.code?.startsWith("commander.")) process.exit(e.exitCode === 0 ? 0 : EXIT.usage);
            if (err instanceof ProgramFailed) {
                process.stderr.write(`offline plan failed: a stack program failed, as pulumi up would: ${e.message}\n`);
                process.exit(EXIT.programFailed);
            }
            process.stderr.write(`offline plan failed: ${e.message ?? String(err)}\n`);
            process.exit(err instanceof UsageError || err instanceof PolicyConfigError || err instanceof PolicyConfigFileError || err instanceof ProjectError ? EXIT.usage : 1);
        },
    );
}
