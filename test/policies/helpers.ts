// One way to run a rule in tests: through the offline evaluator, which builds
// ResourceValidationArgs / StackValidationArgs exactly as the engine's analyzer does (SDK proxy
// around props so unknowns throw, notApplicable, stackTags, reconciled getConfig).
// engine.test.ts checks that claim against the real analyzer server.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Policy } from "@pulumi/policy";
import { EvaluateOptions, OfflineViolation, PlannedResource, evaluatePolicies } from "../../policies/offline";
import { typeTokenOf } from "../helpers/resources";

/** What the engine sends for a value that is unknown during preview. */
export const UNKNOWN = pulumi.runtime.unknownValue;

type ResourceClass = { new (name: string, args: never, ...rest: never[]): pulumi.Resource };

/** The inputs a resource class takes, with Outputs unwrapped: what a policy sees. */
export type PropsOf<C> = C extends new (name: string, args: infer A, ...rest: never[]) => pulumi.Resource
    ? pulumi.Unwrap<NonNullable<A>>
    : never;

export function urnOf(type: string, name: string): string {
    return `urn:pulumi:test::private-connectivity::${type}::${name}`;
}

export interface PlanOptions {
    outputs?: Record<string, unknown>;
    parent?: string;
    propertyDependencies?: Record<string, string[]>;
    dependencies?: string[];
    provider?: string;
}

/** A planned resource of `cls` with these inputs (and, for stack policies, outputs). */
export function plan(cls: ResourceClass, name: string, props: Record<string, unknown>, options: PlanOptions = {}): PlannedResource {
    const type = typeTokenOf(cls);
    const propertyDependencies = options.propertyDependencies ?? {};
    return {
        urn: urnOf(type, name),
        type,
        name,
        props,
        outputs: options.outputs,
        parent: options.parent,
        dependencies: options.dependencies ?? [...new Set(Object.values(propertyDependencies).flat())],
        propertyDependencies,
        provider: options.provider,
        custom: true,
    };
}

/** A component resource, as the mock runtime records one (custom: false). */
export function component(type: string, name: string, props: Record<string, unknown> = {}): PlannedResource {
    return { urn: urnOf(type, name), type, name, props, dependencies: [], propertyDependencies: {}, custom: false };
}

export type RunOptions = Omit<EvaluateOptions, "policies" | "onNotApplicable">;

export async function violationsOf(
    policy: Policy,
    resources: PlannedResource | PlannedResource[],
    options: RunOptions = {},
): Promise<OfflineViolation[]> {
    return evaluatePolicies(Array.isArray(resources) ? resources : [resources], { ...options, policies: [policy] });
}

function show(violations: readonly OfflineViolation[]): string {
    return violations.map((v) => `  [${v.enforcementLevel}] ${v.policyName} ${v.resourceName ?? "(stack)"}: ${v.message}`).join("\n") || "  (none)";
}

/** Exactly one violation of `policy`, whose message contains `expected`; returns it. */
export async function assertViolation(
    policy: Policy,
    resources: PlannedResource | PlannedResource[],
    expected: string,
    options: RunOptions = {},
): Promise<OfflineViolation> {
    const violations = await violationsOf(policy, resources, options);
    assert.equal(violations.length, 1, `expected one violation containing ${JSON.stringify(expected)}, got:\n${show(violations)}`);
    const [violation] = violations;
    assert.equal(violation.policyName, policy.name);
    assert.equal(violation.unknownDuringPreview, false, `expected a verdict, got:\n${show(violations)}`);
    assert.ok(violation.message.includes(expected), `expected a message containing ${JSON.stringify(expected)}, got:\n${show(violations)}`);
    return violation;
}

export async function assertNoViolations(
    policy: Policy,
    resources: PlannedResource | PlannedResource[],
    options: RunOptions = {},
): Promise<void> {
    const violations = await violationsOf(policy, resources, options);
    assert.deepEqual(violations, [], `expected no violations, got:\n${show(violations)}`);
}

/** The policy called `args.notApplicable()` (as the engine lists it) and reported nothing. */
export async function assertNotApplicable(
    policy: Policy,
    resources: PlannedResource | PlannedResource[],
    options: RunOptions = {},
): Promise<void> {
    const notApplicable: string[] = [];
    const violations = await evaluatePolicies(Array.isArray(resources) ? resources : [resources], {
        ...options,
        policies: [policy],
        onNotApplicable: (name) => notApplicable.push(name),
    });
    assert.deepEqual(violations, [], `expected no violations, got:\n${show(violations)}`);
    assert.ok(notApplicable.includes(policy.name), `${policy.name} did not declare itself not applicable`);
}

/** The SDK's advisory for a policy that needs a value unknown during preview, and nothing else. */
export async function assertCannotRunDuringPreview(
    policy: Policy,
    resources: PlannedResource | PlannedResource[],
    unknownPath: string,
    options: RunOptions = {},
): Promise<void> {
    const violations = await violationsOf(policy, resources, options);
    assert.equal(violations.length, 1, `expected one advisory, got:\n${show(violations)}`);
    const [advisory] = violations;
    assert.equal(advisory.enforcementLevel, "advisory");
    assert.equal(advisory.unknownDuringPreview, true);
    assert.match(advisory.message, new RegExp(`^can't run policy '${policy.name}' from policy pack 'private-connectivity@v[^']+' during preview: `));
    assert.ok(advisory.message.includes(`at ${unknownPath} can't be known during preview`), advisory.message);
}
