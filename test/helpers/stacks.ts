import { readStackSettings, simulateDeployment, type SimulatedDeployment, type StackSettings } from "../../stacks/offline/simulate";
import { program } from "../../stacks/program";
import { deploy, type ProgramRun } from "./pulumi";

/** One `pulumi up` of the repository's stack program with these settings and the other stacks' outputs. */
export function runStack(settings: StackSettings, stackOutputs: Record<string, Record<string, unknown>> = {}): Promise<ProgramRun> {
    return deploy(program, { stack: settings.stack, config: settings.config, accountId: settings.accountId, region: settings.region, stackOutputs });
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
 * The example stacks deployed in order (customer, firefly, customer again) until they converge.
 * Simulated once per test run and shared: tests only read it.
 */
export function exampleDeployment(): Promise<SimulatedDeployment> {
    example ??= simulateDeployment([readStackSettings("customer-dev"), readStackSettings("firefly-dev")]);
    return example;
}
