import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { OfflineCloud } from "./cloud";
import { readProject, type StackProgram } from "./project";
import { ProgramRun, runProgram, type ProgramLog } from "./runProgram";

/** Where this repository's example stack settings (`Pulumi.<stack>.yaml`) live: its Pulumi.yaml's stackConfigDir. */
function stacksDir(): string {
    return readProject().stackConfigDir;
}

export interface StackSettings {
    stack: string;
    /** Config as in the file: `namespace:key` to value. */
    config: Record<string, unknown>;
    accountId: string;
    region: string;
    /** The settings file, when read from one: named when the stack's program fails. */
    source?: string;
}

/**
 * One stack's update or preview failed. The message names the stack and its settings file first,
 * as `pulumi up --stack <stack>` makes obvious: the offline plan runs every stack, so an error
 * from a component ("PrivateLinkService \"acme\": ...") alone would not say which file to fix.
 */
export class StackRunFailed extends Error {
    constructor(
        readonly stackName: string,
        source: string | undefined,
        run: string,
        cause: unknown,
    ) {
        const where = source ? ` (${path.relative(process.cwd(), source)})` : "";
        super(`stack ${stackName}${where}, ${run}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
        this.name = "StackRunFailed";
    }
}

/** runStack, its failure named by stack, settings file and run ("up 2", "preview"). */
export async function runStackNamed(...args: [...Parameters<typeof runStack>, run: string]): Promise<ProgramRun> {
    const [settings, stacks, outputsOf, options, run] = args;
    try {
        return await runStack(settings, stacks, outputsOf, options);
    } catch (err) {
        throw new StackRunFailed(settings.stack, settings.source, run, err);
    }
}

/** The example stacks shipped in stacks/ (`Pulumi.<stack>.yaml`), by name. */
export function exampleStackNames(dir = stacksDir()): string[] {
    return fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** Reads a stack settings file; the fake account is the one `aws:allowedAccountIds` pins. */
export function readStackSettings(stack: string, dir = stacksDir()): StackSettings {
    const file = ["yaml", "yml"].map((ext) => path.join(dir, `Pulumi.${stack}.${ext}`)).find((f) => fs.existsSync(f));
    if (!file) throw new Error(`no settings file for stack "${stack}" in ${dir} (expected Pulumi.${stack}.yaml)`);
    return settingsFromYaml(stack, fs.readFileSync(file, "utf8"), file);
}

export function settingsFromYaml(stack: string, text: string, source = `Pulumi.${stack}.yaml`): StackSettings {
    const doc = (parseYaml(text) ?? {}) as { config?: Record<string, unknown> };
    const config = doc.config ?? {};
    for (const [key, value] of Object.entries(config)) {
        if (value && typeof value === "object" && "secure" in (value as object)) {
            throw new Error(`${source}: ${key} is a secret; the offline plan cannot decrypt it, so give a plain placeholder`);
        }
    }
    const allowed = config["aws:allowedAccountIds"];
    const accountId = Array.isArray(allowed) && typeof allowed[0] === "string" ? allowed[0] : "123456789012";
    const region = typeof config["aws:region"] === "string" ? config["aws:region"] : "us-east-1";
    return { stack, config, accountId, region, source };
}

/** One `pulumi up` of one stack in the simulated sequence. */
export interface SimulatedUpdate {
    pass: number;
    stack: string;
    run: ProgramRun;
    /** True when the stack's outputs differ from its previous update (or it is the first). */
    outputsChanged: boolean;
}

export interface SimulatedDeployment {
    updates: SimulatedUpdate[];
    /** The last update of each stack: what the stacks converge to. */
    final: Map<string, ProgramRun>;
    /** Number of passes until no stack's outputs changed. */
    passes: number;
}

/**
 * Simulates deploying the stacks in order, pass after pass, each reading the others' latest
 * outputs through its StackReferences, until no output changes — the real sequence "customer,
 * firefly, customer again" falls out of it. A stack that has not run yet has no outputs, like a
 * stack that was `pulumi stack init`-ed but never deployed.
 */
export async function simulateDeployment(
    stacks: StackSettings[],
    options: {
        maxPasses?: number;
        /** The program, as loadProgram() loads it from the project's Pulumi.yaml `main`. */
        program: StackProgram;
        /** The project's name (Pulumi.yaml `name`): StackReferences name stacks by it. */
        project: string;
        /** Where each update's log goes (default: the console, as the SDK writes it). */
        log?: (stack: string, run: string) => ProgramLog;
    },
): Promise<SimulatedDeployment> {
    const { program, project } = options;
    const maxPasses = options.maxPasses ?? 5;
    const latest = new Map<string, Record<string, unknown>>();
    const final = new Map<string, ProgramRun>();
    const updates: SimulatedUpdate[] = [];
    // One cloud for the whole deployment: what one stack created, the next one's AWS rules see.
    const cloud = new OfflineCloud();
    for (let pass = 1; pass <= maxPasses; pass++) {
        let changed = false;
        for (const settings of stacks) {
            const log = options.log?.(settings.stack, `up ${pass}`);
            const run = await runStackNamed(settings, stacks, (stack) => latest.get(stack) ?? {}, { program, project, cloud, ...(log ? { log } : {}) }, `up ${pass}`);
            const before = latest.get(settings.stack);
            const outputsChanged = before === undefined || JSON.stringify(before) !== JSON.stringify(run.outputs);
            changed ||= outputsChanged;
            latest.set(settings.stack, run.outputs);
            final.set(settings.stack, run);
            updates.push({ pass, stack: settings.stack, run, outputsChanged });
        }
        if (!changed) return { updates, final, passes: pass };
    }
    throw new Error(`the stacks did not converge after ${maxPasses} passes: their outputs keep changing`);
}

/**
 * One `pulumi up` (or, with `preview`, one `pulumi preview`) of one stack, its StackReferences
 * reading the other stacks' outputs as `outputsOf` gives them (a stack not yet run: `{}`).
 */
export function runStack(
    settings: StackSettings,
    stacks: StackSettings[],
    outputsOf: (stack: string) => Record<string, unknown>,
    options: { program: StackProgram; project: string; cloud?: OfflineCloud; preview?: boolean; log?: ProgramLog },
): Promise<ProgramRun> {
    const { program, project } = options;
    const stackOutputs: Record<string, Record<string, unknown>> = {};
    for (const ref of referencedStackNames(settings.config, project)) {
        // Any organization: the examples name them by <org>/<project>/<stack>.
        const other = stacks.find((s) => ref.endsWith(`/${project}/${s.stack}`));
        if (other) stackOutputs[ref] = outputsOf(other.stack);
    }
    return runProgram(program, {
        project,
        stack: settings.stack,
        config: settings.config,
        accountId: settings.accountId,
        region: settings.region,
        stackOutputs,
        ...(options.cloud ? { cloud: options.cloud } : {}),
        ...(options.preview ? { preview: true } : {}),
        ...(options.log ? { log: options.log } : {}),
    });
}

/** Fully qualified stack names a config refers to (values of the form org/project/stack, at any depth). */
export function referencedStackNames(config: Record<string, unknown>, project: string): string[] {
    const pattern = new RegExp(`^[\\w.-]+/${project.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/[\\w.-]+$`);
    const found: string[] = [];
    const visit = (value: unknown): void => {
        if (typeof value === "string" && pattern.test(value)) found.push(value);
        else if (Array.isArray(value)) value.forEach(visit);
        else if (value !== null && typeof value === "object") Object.values(value).forEach(visit);
    };
    visit(config);
    return [...new Set(found)];
}
