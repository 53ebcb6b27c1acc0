import * as pulumi from "@pulumi/pulumi";
import { OfflineViolation, evaluatePolicies } from "../policies/offline";
import { allPolicies } from "../policies/rules";
import type { StackProgram } from "./project";
import { ProgramRun, RecordedResource, type ProgramLog } from "./runProgram";
import { SimulatedDeployment, StackSettings, runStackNamed } from "./simulate";
import { StackVerdict, Verdict, judgeStack, renderStackVerdicts, toPlannedResource } from "./verdict";

/**
 * The preview pass of the offline plan: each stack program run again under Pulumi's mock runtime
 * with `preview = true`, the way `pulumi preview` (and so the policy pack on a pull request) sees it.
 *
 * Modelled state: **a preview from empty state** — every resource the program registers is new,
 * so, as in the engine, its ID and every output the provider computes (ARNs, DNS names, endpoint
 * IDs, Lambda results…) are unknown, and only its inputs are known. Invokes (getCallerIdentity,
 * getRegion, getParameter…) and reads (`StackReference`, `Resource.get`) still answer, because the
 * engine runs them during a preview; StackReferences read the other stacks' outputs as the update
 * passes left them (those stacks are deployed). Why empty state and not the state of a previous
 * pass: it is the preview with the most unknowns, the one every newly added resource of a pull
 * request is in, and the verdict after deployment (every value known) is the other bound; a
 * preview from a state in between knows a subset of the deployed values, so a rule that decides a
 * resource the same way at both bounds is expected to decide it so there too (not proven per rule).
 */

/** The SDK's wire form of an unknown value, which policy packs receive (`pulumi.runtime.unknownValue`). */
export const UNKNOWN = pulumi.runtime.unknownValue as string;

/**
 * Values as the engine hands them to a policy pack: the SDK deserializes the wire's unknown
 * sentinel into `pulumi.Unknown` objects during a preview; turn them back into the sentinel.
 */
export function wireUnknowns<T>(value: T): T {
    if (pulumi.isUnknown(value)) return UNKNOWN as T;
    if (Array.isArray(value)) return value.map((v: unknown) => wireUnknowns(v)) as T;
    if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
        const result: Record<string, unknown> = {};
        for (const [key, v] of Object.entries(value as Record<string, unknown>)) result[key] = wireUnknowns(v);
        return result as T;
    }
    return value;
}

/** True when the value is or contains an unknown (in wire form). */
export function containsUnknown(value: unknown): boolean {
    if (value === UNKNOWN) return true;
    if (Array.isArray(value)) return value.some(containsUnknown);
    if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
    return false;
}

/**
 * Runs every stack once more as a preview from empty state (see above), its StackReferences
 * reading the outputs the update passes converged to. Same order and settings as the deployment.
 */
export async function previewDeployment(
    stacks: StackSettings[],
    deployment: SimulatedDeployment,
    options: { program: StackProgram; project: string; log?: (stack: string, run: string) => ProgramLog },
): Promise<Map<string, ProgramRun>> {
    const { program, project } = options;
    const previews = new Map<string, ProgramRun>();
    for (const settings of stacks) {
        const log = options.log?.(settings.stack, "preview");
        const run = await runStackNamed(settings, stacks, (stack) => deployment.final.get(stack)?.outputs ?? {}, { program, project, preview: true, ...(log ? { log } : {}) }, "preview");
        previews.set(settings.stack, run);
    }
    return previews;
}

/** A violation of the preview verdict; an unknown-at-preview advisory says what would decide it. */
export interface PreviewViolation extends OfflineViolation {
    /** For an unknown-at-preview advisory: the property path the rule could not read (e.g. `.policy`). */
    unknownProperty?: string;
    /** For an unknown-at-preview advisory: what would make the resource judgeable at preview. */
    toJudgeAtPreview?: string;
}

/** What explainUnknowns compares the preview with: the same stack after deployment. */
export interface Deployed {
    run: ProgramRun;
    verdict: StackVerdict;
    /** Policy config and stack tags the verdicts were given with. */
    config?: Record<string, unknown>;
    stackTags?: Record<string, string>;
}

/**
 * Adds to each unknown-at-preview advisory of a preview verdict what would make it judgeable:
 * the property and the resource holding it, which resources of the update it comes from (its
 * propertyDependencies), and what the rule says once the values are known (the verdict after
 * deployment). Nothing is dropped: the advisory stays an advisory, never a pass.
 */
export async function explainUnknowns(preview: StackVerdict, run: ProgramRun, deployed?: Deployed): Promise<StackVerdict> {
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    const violations: PreviewViolation[] = [];
    for (const v of preview.violations) {
        if (!v.unknownDuringPreview) {
            violations.push(v);
            continue;
        }
        const property = /value at (\S+) can't be known during preview/.exec(v.message)?.[1];
        const key = property?.replace(/^\./, "").split(/[.[]/)[0];
        const resource = v.urn ? byUrn.get(v.urn) : undefined;
        // A stack policy reports against the stack: find the resources whose unknown property keeps it from deciding.
        const holders = resource ? [resource] : key ? await undecidedBy(v, key, run, deployed) : [];
        const hint = judgeableWhen(property, key, holders, !resource, byUrn, v, deployed?.verdict);
        violations.push({ ...v, ...(property ? { unknownProperty: property } : {}), toJudgeAtPreview: hint, message: `${v.message}\n${hint}` });
    }
    return { ...preview, violations };
}

/**
 * The resources whose unknown `key` keeps a stack policy from deciding at preview: the preview's
 * resources with that property unknown, made known (their deployed value) one after another until
 * the policy's unknown advisory goes; each one whose value changed the outcome is named. When
 * nothing can be tried (no deployed run), every resource with the property unknown is named.
 */
async function undecidedBy(violation: OfflineViolation, key: string, run: ProgramRun, deployed: Deployed | undefined): Promise<RecordedResource[]> {
    // Stack policies read outputs (at preview: the inputs, computed values unknown), resource policies inputs.
    const candidates = run.resources.filter((r) => r.custom && (containsUnknown(r.inputs[key]) || containsUnknown(r.outputs[key])));
    const policy = allPolicies.find((p) => p.name === violation.policyName);
    if (!deployed || !policy) return candidates;
    const deployedByUrn = new Map(deployed.run.resources.map((r) => [r.urn, r]));
    const options = { policies: [policy], config: deployed.config, stackTags: deployed.stackTags };
    // The same advisory (same unknown property); once it is known the rule may need another value, which is not this one.
    const unknowns = async (resources: RecordedResource[]) =>
        (await evaluatePolicies(resources.map(toPlannedResource), options)).filter((d) => d.unknownDuringPreview && d.message === violation.message).length;
    let resources = run.resources;
    let remaining = await unknowns(resources);
    const culprits: RecordedResource[] = [];
    for (const candidate of candidates) {
        const after = deployedByUrn.get(candidate.urn);
        if (!after || containsUnknown(after.inputs[key]) || containsUnknown(after.outputs[key])) continue;
        const known = (values: Record<string, unknown>, from: Record<string, unknown>) => ({ ...values, [key]: from[key] });
        resources = resources.map((r) => (r.urn === candidate.urn ? { ...r, inputs: known(r.inputs, after.inputs), outputs: known(r.outputs, after.outputs) } : r));
        const now = await unknowns(resources);
        if (now < remaining) culprits.push(candidate);
        remaining = now;
        if (remaining === 0) break;
    }
    return culprits.length > 0 ? culprits : candidates;
}

function judgeableWhen(
    property: string | undefined,
    key: string | undefined,
    holders: RecordedResource[],
    nameHolders: boolean,
    byUrn: ReadonlyMap<string, RecordedResource>,
    violation: OfflineViolation,
    deployed: StackVerdict | undefined,
): string {
    const what = property ? `\`${property}\`` : "a value it reads";
    const sources = new Set(key ? holders.flatMap((r) => r.propertyDependencies[key] ?? []) : []);
    const named = [...sources]
        .map((urn) => byUrn.get(urn))
        .filter((r): r is RecordedResource => r !== undefined && r.custom)
        .map((r) => `${r.type} ${r.name}`);
    const of = nameHolders && holders.length > 0 ? ` of ${holders.map((r) => `${r.type} ${r.name}`).join(", ")}` : "";
    const from = named.length > 0
        ? `${what}${of} is computed from ${named.join(", ")}, created in the same update, whose outputs exist only after it is deployed`
        : `${what}${of} is unknown until the update runs`;
    const after = deployed?.violations.filter((d) => d.policyName === violation.policyName && d.urn === violation.urn && !d.unknownDuringPreview) ?? [];
    const later = deployed === undefined
        ? ""
        : after.length === 0
          ? " After deployment, with every value known, the rule passes it; a pull request gets no verdict on it."
          : ` After deployment the rule reports it [${after.map((d) => d.enforcementLevel).join(", ")}].`;
    return `To judge it at preview: ${from}; write ${what} from values known at preview (literals, config, inputs, or a wildcard such as \`execute-api:/*\` instead of the full ARN).${later}`;
}

/** The pack's verdict on a stack's preview run, each unknown-at-preview advisory explained (see explainUnknowns). */
export async function judgePreview(
    stack: string,
    run: ProgramRun,
    deployed: { run: ProgramRun; verdict: StackVerdict } | undefined,
    options: { project: string; config?: Record<string, unknown>; policyConfigFile?: string },
): Promise<StackVerdict> {
    const verdict = await judgeStack(stack, run, options);
    const stackTags = { "pulumi:project": options.project, "pulumi:runtime": "nodejs" };
    return explainUnknowns(verdict, run, deployed && { ...deployed, config: options.config, stackTags });
}

/** The two verdicts as the CLI prints them: the preview one gates a pull request; either with a mandatory violation fails. */
export function renderVerdicts(preview: Verdict, deployed: Verdict): string {
    const lines = [
        `Preview verdict (${preview.pack}), what \`pulumi preview --policy-pack policies\` reports on a pull request (new resources: computed outputs unknown):`,
        ...renderStackVerdicts(preview),
        `Verdict after deployment (${deployed.pack}), every value known:`,
        ...renderStackVerdicts(deployed),
    ];
    const passed = preview.passed && deployed.passed;
    lines.push(
        passed
            ? "Result: passed; pulumi preview --policy-pack policies would not block these stacks."
            : `Result: FAILED; a mandatory violation ${preview.passed ? "after deployment" : "at preview"} blocks pulumi ${preview.passed ? "up" : "preview"} --policy-pack policies. Fix the resources above, or list a deliberate exception in the policy config.`,
    );
    return lines.join("\n");
}
