import { ProgramRun, RecordedResource, runProgram, RunProgramOptions } from "../../stacks/offline/runProgram";

/** Accounts used across the tests: the customer's, and the platform's (Firefly). */
export const customerAccount = "111111111111";
export const platformAccount = "222222222222";

/**
 * Runs `program` under Pulumi's mock runtime against the fake cloud, waits until every resource
 * is registered, and returns them with the program's outputs resolved.
 */
export function deploy(
    program: () => Promise<Record<string, unknown> | void> | Record<string, unknown> | void,
    options: Partial<RunProgramOptions> = {},
): Promise<ProgramRun> {
    return runProgram(program, {
        project: "private-connectivity",
        stack: "test",
        accountId: customerAccount,
        region: "us-east-1",
        ...options,
    });
}

/** Resources of one type token, e.g. "aws:lb/loadBalancer:LoadBalancer". */
export function ofType(run: ProgramRun, type: string): RecordedResource[] {
    return run.resources.filter((r) => r.type === type);
}

/** The single resource of a type; fails the test when there are none or several. */
export function single(run: ProgramRun, type: string): RecordedResource {
    const found = ofType(run, type);
    if (found.length !== 1) {
        throw new Error(`expected exactly one ${type}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
    }
    return found[0]!;
}

export type { ProgramRun, RecordedResource };
