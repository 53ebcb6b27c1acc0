import { ProgramRun, RecordedResource, runProgram, RunProgramOptions } from "../../offline/runProgram";

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

export type { ProgramRun, RecordedResource };
