import { loadProgram, readProject } from "../../offline/project";
import { exampleStackNames, readStackSettings, simulateDeployment, type SimulatedDeployment, type StackSettings } from "../../offline/simulate";
import { deploy, type ProgramRun } from "./pulumi";
import { parseStackConfig, type StackConfig } from "../../stacks/config";

/** This repository's Pulumi project (Pulumi.yaml at the root), as `npm start` reads it. */
const project = readProject();

/**
 * The repository's stack program, loaded the way `npm start` and the Node.js language host load
 * it: Pulumi.yaml's `main` (stacks/index.ts), whose exported function is the program. The modules
 * stay loaded between runs (`reloadModules: false`), which saves re-transpiling the project on
 * every run; the program keeps no module state, and test/offline/cli.test.ts runs the CLI
 * itself, which reloads them.
 */
const stackProgram = loadProgram(project, { reloadModules: false });

/** One `pulumi up` of the repository's stack program with these settings and the other stacks' outputs. */
export function runStack(settings: StackSettings, stackOutputs: Record<string, Record<string, unknown>> = {}): Promise<ProgramRun> {
    return deploy(stackProgram, {
        project: project.name,
        stack: settings.stack,
        config: settings.config,
        accountId: settings.accountId,
        region: settings.region,
        stackOutputs,
    });
}

/** The settings with project config keys changed (`undefined` removes a key). */
export function withConfig(settings: StackSettings, changes: Record<string, unknown>): StackSettings {
    const config = { ...settings.config };
    for (const [key, value] of Object.entries(changes)) {
        if (value === undefined) delete config[`private-connectivity:${key}`];
        else config[`private-connectivity:${key}`] = value;
    }
    return { ...settings, config };
}

let example: Promise<SimulatedDeployment> | undefined;

/**
 * Every example stack deployed in order (the customers, the platform, the customers again) until they converge.
 * Simulated once per test run and shared: tests only read it.
 */
export function exampleDeployment(): Promise<SimulatedDeployment> {
    example ??= simulateDeployment(exampleStackNames().map((name) => readStackSettings(name)), {
        program: stackProgram,
        project: project.name,
    });
    return example;
}

/** A stack's settings through the program's config validation (stacks/config.ts), as `pulumi up` would start it. */
export function parseSettings(settings: StackSettings): StackConfig {
    return parseStackConfig(
        Object.fromEntries(
            Object.entries(settings.config)
                .filter(([k]) => k.startsWith("private-connectivity:"))
                .map(([k, v]) => [k.slice("private-connectivity:".length), typeof v === "string" ? v : JSON.stringify(v)]),
        ),
        "private-connectivity",
    );
}
