import * as fs from "node:fs";
import { OfflineViolation, PlannedResource, PolicyConfigError, evaluatePolicies } from "../policies/offline";
import { policyPackName, policyPackVersion } from "../policies/pack";
import type { ProgramRun, RecordedResource } from "./runProgram";

export { PolicyConfigError };

/** A policy config file that cannot be read or is not a JSON object (the pack checks the values). */
export class PolicyConfigFileError extends Error {}

/** The policy pack's verdict on one stack, as `pulumi preview --policy-pack policies` would give it. */
export interface StackVerdict {
    stack: string;
    /** The `--policy-pack-config` file applied, if any. */
    policyConfigFile?: string;
    violations: OfflineViolation[];
    /** Violations that fail `pulumi preview` (enforcement level mandatory). */
    mandatory: number;
    advisory: number;
}

export interface Verdict {
    pack: string;
    stacks: StackVerdict[];
    /** False when any stack has a mandatory violation: `pulumi preview` would fail. */
    passed: boolean;
}

/** A recorded resource as the engine hands it to the analyzer: inputs as props, state as outputs. */
export function toPlannedResource(r: RecordedResource): PlannedResource {
    return {
        urn: r.urn,
        type: r.type,
        name: r.name,
        props: r.inputs,
        outputs: r.outputs,
        ...(r.parent ? { parent: r.parent } : {}),
        ...(r.provider ? { provider: r.provider } : {}),
        dependencies: r.dependencies,
        propertyDependencies: r.propertyDependencies,
        custom: r.custom,
    };
}

/**
 * Reads a policy config file in the format of `pulumi preview --policy-pack-config`: a JSON
 * object from rule name (or "all") to an enforcement level or an object of the rule's properties.
 * Errors name the file and say what to fix; the values themselves are checked by the pack.
 */
export function readPolicyConfig(file: string): Record<string, unknown> {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new PolicyConfigFileError(`cannot read policy config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (err) {
        throw new PolicyConfigFileError(`policy config ${file} is not JSON (${(err as Error).message}); use the --policy-pack-config format: {"<rule>": "<level>" | {...}}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new PolicyConfigFileError(`policy config ${file} must be a JSON object from rule name to level or settings, e.g. {"load-balancer-internal": {"allowedPublicLoadBalancers": ["relay-nlb"]}}`);
    }
    return parsed as Record<string, unknown>;
}

/** Runs the pack over one stack's final resources, with the stack tags the CLI sets. */
export async function judgeStack(
    stack: string,
    run: ProgramRun,
    options: { project: string; config?: Record<string, unknown>; policyConfigFile?: string },
): Promise<StackVerdict> {
    const violations = await evaluatePolicies(run.resources.map(toPlannedResource), {
        config: options.config,
        stackTags: { "pulumi:project": options.project, "pulumi:runtime": "nodejs" },
    });
    const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").length;
    return {
        stack,
        ...(options.policyConfigFile ? { policyConfigFile: options.policyConfigFile } : {}),
        violations,
        mandatory,
        advisory: violations.length - mandatory,
    };
}

export function verdictOf(stacks: StackVerdict[]): Verdict {
    return { pack: `${policyPackName}@${policyPackVersion}`, stacks, passed: stacks.every((s) => s.mandatory === 0) };
}

/** The verdict as the CLI prints a policy report: per stack, each violation with rule, level and resource. */
export function renderVerdict(verdict: Verdict): string {
    const lines = [`Policy verdict (${verdict.pack}):`, ...renderStackVerdicts(verdict)];
    lines.push(
        verdict.passed
            ? "Result: passed; pulumi preview --policy-pack policies would not block these stacks."
            : "Result: FAILED; a mandatory violation blocks pulumi preview --policy-pack policies. Fix the resources above, or list a deliberate exception in the policy config.",
    );
    return lines.join("\n");
}

/** Each stack's line of a verdict, then its violations with rule, level, resource and message. */
export function renderStackVerdicts(verdict: Verdict): string[] {
    const lines: string[] = [];
    for (const stack of verdict.stacks) {
        const config = stack.policyConfigFile ? `, config ${stack.policyConfigFile}` : ", no policy config (every rule at its defaults)";
        if (stack.violations.length === 0) {
            lines.push(`  ${stack.stack}: passed, no violations${config}`);
            continue;
        }
        lines.push(`  ${stack.stack}: ${stack.mandatory === 0 ? "passed" : "FAILED"}, ${stack.mandatory} mandatory, ${stack.advisory} advisory${config}`);
        for (const v of stack.violations) {
            const where = v.resourceName ? `${v.resourceType}  ${v.resourceName}` : "(stack)";
            lines.push(`    [${v.enforcementLevel}] ${v.policyName}  ${where}`);
            for (const line of v.message.split("\n").filter((l) => l.trim().length > 0)) lines.push(`        ${line.trim()}`);
        }
    }
    return lines;
}
