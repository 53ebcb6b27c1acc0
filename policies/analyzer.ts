// The engine side of a policy run, rebuilt without the Pulumi CLI.
//
// `@pulumi/policy`'s analyzer server (server.js in 1.21) turns each gRPC request into
// `ResourceValidationArgs` / `StackValidationArgs` and runs the policies. This module does the
// same from plain data, so the offline evaluator and the unit tests see rules behave exactly as
// `pulumi preview --policy-pack` does:
//   - props are the wire values with secrets unwrapped, wrapped in the SDK's own
//     `unknownCheckingProxy`: reading an unknown value throws `UnknownValueError`, which becomes
//     the SDK's advisory "can't run policy ... during preview" instead of a verdict;
//   - `notApplicable()` skips the policy for that resource; `validateResourceOfType` /
//     `validateStackResourcesOfType` functions are filtered by their `__pulumiType` first;
//   - `getConfig()` returns the reconciled policy config without `enforcementLevel`;
//   - stack resources get `parent`, `dependencies` and `propertyDependencies` resolved to the
//     other `PolicyResource` objects (URNs not in the stack are dropped), and `provider`;
//   - any other exception fails the whole run, as it fails the preview.
// test/policies/engine.test.ts runs the real analyzer server on the same inputs and compares.

import * as pulumi from "@pulumi/pulumi";
import {
    EnforcementLevel,
    Policy,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { ReconciledPolicyConfig } from "./packConfig";
import { isUnknownValueError, unknownCheckingProxy } from "./sdkInternals";

/** One resource as the engine knows it when it asks analyzers: what `pulumi.runtime.setMocks` records. */
export interface PlannedResource {
    urn: string;
    /** Type token, e.g. "aws:ec2/vpcEndpointService:VpcEndpointService". */
    type: string;
    name: string;
    /**
     * Resource inputs as the engine sends them to `validateResource`: JSON values, unknown values as
     * the SDK sentinel strings (`pulumi.runtime.unknownValue`), secrets either plain or in their wire
     * form (`{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value}`).
     */
    props: Record<string, unknown>;
    /**
     * The resource's outputs (state) as `validateStack` receives them. Defaults to `props`, which is
     * what a preview knows of a resource it has not created yet.
     */
    outputs?: Record<string, unknown>;
    parent?: string;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    /** Provider reference ("<provider urn>::<id>") or provider URN. */
    provider?: string;
    /** false for component resources; the engine analyzes both kinds. */
    custom: boolean;
    /** Resource options; engine defaults (not protected, no aliases, ...) where absent. */
    opts?: Partial<PolicyResourceOptions>;
}

/** One diagnostic, as the analyzer server reports it (before the CLI adds the pack name). */
export interface PolicyDiagnostic {
    policyName: string;
    description: string;
    /** The level the violation is reported at: "remediate" reports as "mandatory", unknowns as "advisory". */
    enforcementLevel: EnforcementLevel;
    severity?: Severity;
    /** What the rule reported (one sentence), or the SDK's "can't run ... during preview" text. */
    message: string;
    /** The resource the diagnostic is about; absent for a stack-level violation. */
    urn?: string;
    /** True when the policy could not decide because a value is unknown until the update runs. */
    unknownDuringPreview: boolean;
}

/** What every policy run needs besides the resources. */
export interface AnalyzerContext {
    packName: string;
    packVersion: string;
    stackTags: ReadonlyMap<string, string>;
    /** Reconciled config per policy name (see packConfig.ts). */
    config: ReadonlyMap<string, ReconciledPolicyConfig>;
    /** Told of every `args.notApplicable()`, which the engine lists apart from diagnostics. */
    onNotApplicable?: (policyName: string, reason: string | undefined) => void;
}

/** Thrown by `args.notApplicable()`; caught here and reported to `onNotApplicable`, not as a diagnostic. */
class NotApplicableError extends Error {
    constructor(readonly reason?: string) {
        super(reason ?? "Policy does not apply");
    }
}

function throwNotApplicable(reason?: string): never {
    throw new NotApplicableError(reason);
}

/** The `__pulumiType` that generated resource classes and the `...OfType` helpers carry. */
function pulumiTypeOf(value: unknown): string | undefined {
    if ((typeof value !== "function" && typeof value !== "object") || value === null) {
        return undefined;
    }
    const token: unknown = (value as { __pulumiType?: unknown }).__pulumiType;
    return typeof token === "string" && token.length > 0 ? token : undefined;
}

type ResourceClass = { new (...rest: never[]): pulumi.Resource; isInstance?: (obj: unknown) => boolean };

function isTypeOf(type: string, resourceClass: ResourceClass): boolean {
    const token = pulumiTypeOf(resourceClass);
    if (token) {
        return type === token;
    }
    const isInstance = resourceClass.isInstance;
    return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

const sig = {
    key: pulumi.runtime.specialSigKey,
    secret: pulumi.runtime.specialSecretSig,
    asset: pulumi.runtime.specialAssetSig,
    archive: pulumi.runtime.specialArchiveSig,
};

/**
 * Wire values to what policies see, as the SDK's deserializeProperty does with secrets not
 * proxied: secrets unwrapped, assets and archives as `pulumi.asset` objects, undefined members
 * dropped (the wire format cannot carry them).
 */
function deserialize(value: unknown): unknown {
    if (value === null || typeof value !== "object") {
        return value;
    }
    if (Array.isArray(value)) {
        return value.map((element) => (element === undefined ? null : deserialize(element)));
    }
    const record = value as Record<string, unknown>;
    switch (record[sig.key]) {
        case undefined:
            break;
        case sig.secret:
            return deserialize(record.value);
        case sig.asset:
            if (typeof record.path === "string") return new pulumi.asset.FileAsset(record.path);
            if (typeof record.text === "string") return new pulumi.asset.StringAsset(record.text);
            if (typeof record.uri === "string") return new pulumi.asset.RemoteAsset(record.uri);
            throw new Error("Invalid asset encountered when unmarshaling resource property");
        case sig.archive:
            if (typeof record.path === "string") return new pulumi.asset.FileArchive(record.path);
            if (typeof record.uri === "string") return new pulumi.asset.RemoteArchive(record.uri);
            // An AssetArchive's members are opaque to our rules; keep them as plain data.
            break;
        default:
            throw new Error(`Unrecognized signature '${String(record[sig.key])}' when unmarshaling resource property`);
    }
    const result: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(record)) {
        if (member !== undefined) {
            result[key] = deserialize(member);
        }
    }
    return result;
}

/** Props as a policy sees them: deserialized, then behind the SDK's unknown-checking proxy. */
export function policyProps(wire: Record<string, unknown>): Record<string, unknown> {
    return unknownCheckingProxy(deserialize(wire) as Record<string, unknown>);
}

function resourceOptions(resource: PlannedResource): PolicyResourceOptions {
    const opts = resource.opts ?? {};
    const result: PolicyResourceOptions = {
        protect: opts.protect ?? false,
        ignoreChanges: opts.ignoreChanges ?? [],
        aliases: opts.aliases ?? [],
        customTimeouts: opts.customTimeouts ?? { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: opts.additionalSecretOutputs ?? [],
    };
    if (opts.deleteBeforeReplace !== undefined) {
        result.deleteBeforeReplace = opts.deleteBeforeReplace;
    }
    const parent = opts.parent ?? resource.parent;
    if (parent) {
        result.parent = parent;
    }
    return result;
}

/** `urn:pulumi:stack::project::parent$type::name` -> its type token and name. */
function parseUrn(urn: string): { type: string; name: string } {
    const parts = urn.split("::");
    const qualifiedType = parts[2] ?? "";
    return { type: qualifiedType.split("$").pop() ?? "", name: parts.slice(3).join("::") };
}

/** A provider reference is "<urn>::<id>"; the URN itself has "::" separators too. */
function providerResource(
    reference: string | undefined,
    byUrn: ReadonlyMap<string, PlannedResource>,
): PolicyProviderResource | undefined {
    if (!reference) {
        return undefined;
    }
    const urn = byUrn.has(reference) ? reference : reference.slice(0, Math.max(0, reference.lastIndexOf("::")));
    const known = byUrn.get(urn) ?? byUrn.get(reference);
    const { type, name } = known ?? parseUrn(urn || reference);
    return {
        type,
        name,
        urn: known?.urn ?? (urn || reference),
        props: policyProps(known?.props ?? {}),
    };
}

interface RunState {
    diagnostics: PolicyDiagnostic[];
}

function effectiveLevel(policy: Policy, context: AnalyzerContext): EnforcementLevel {
    return context.config.get(policy.name)?.enforcementLevel ?? policy.enforcementLevel ?? "advisory";
}

function getConfigFor(policy: Policy, context: AnalyzerContext): <T extends object>() => T {
    return <T extends object>(): T => ({ ...(context.config.get(policy.name)?.properties ?? {}) }) as T;
}

function reporter(
    policy: Policy,
    level: EnforcementLevel,
    state: RunState,
    defaultUrn: string | undefined,
): ReportViolation {
    return (message: string, urn?: string) => {
        state.diagnostics.push({
            policyName: policy.name,
            description: policy.description,
            enforcementLevel: level,
            severity: policy.severity,
            message,
            // Resource policies always report against the resource being validated.
            urn: defaultUrn ?? urn,
            unknownDuringPreview: false,
        });
    };
}

/** Handles what a validation threw the way the analyzer server does. */
function settle(error: unknown, policy: Policy, context: AnalyzerContext, state: RunState, urn: string | undefined, what: string): void {
    if (error instanceof NotApplicableError) {
        context.onNotApplicable?.(policy.name, error.reason);
        return;
    }
    const policyFrom = `policy '${policy.name}' from policy pack '${context.packName}@v${context.packVersion}'`;
    if (isUnknownValueError(error)) {
        state.diagnostics.push({
            policyName: policy.name,
            description: policy.description,
            enforcementLevel: "advisory",
            severity: policy.severity,
            message: `can't run ${policyFrom} during preview: ${error.message}`,
            urn,
            unknownDuringPreview: true,
        });
        return;
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Error validating ${what} with ${policyFrom}: ${reason}`, { cause: error });
}

function isResourcePolicy(policy: Policy): policy is ResourceValidationPolicy {
    const candidate = policy as ResourceValidationPolicy;
    const validate = candidate.validateResource;
    if (typeof validate === "function") return true;
    if (Array.isArray(validate)) return validate.every((v) => typeof v === "function");
    return typeof candidate.remediateResource === "function";
}

function isStackPolicy(policy: Policy): policy is StackValidationPolicy {
    return typeof (policy as StackValidationPolicy).validateStack === "function";
}

/** Runs every resource policy on one resource, as the engine's Analyze call does. */
export async function analyzeResource(
    policies: readonly Policy[],
    resource: PlannedResource,
    stack: ReadonlyMap<string, PlannedResource>,
    context: AnalyzerContext,
): Promise<PolicyDiagnostic[]> {
    const state: RunState = { diagnostics: [] };
    for (const policy of policies) {
        let level = effectiveLevel(policy, context);
        if (level === "disabled" || !isResourcePolicy(policy) || !policy.validateResource) {
            continue;
        }
        if (level === "remediate") {
            level = "mandatory";
        }
        const validations: ResourceValidation[] = Array.isArray(policy.validateResource)
            ? policy.validateResource
            : [policy.validateResource];
        if (validations.length === 1) {
            const token = pulumiTypeOf(validations[0]);
            if (token && token !== resource.type) {
                continue;
            }
        }
        const report = reporter(policy, level, state, resource.urn);
        for (const validation of validations) {
            try {
                const props = policyProps(resource.props);
                const args: ResourceValidationArgs = {
                    type: resource.type,
                    props,
                    urn: resource.urn,
                    name: resource.name,
                    opts: resourceOptions(resource),
                    stackTags: context.stackTags,
                    isType: (resourceClass) => isTypeOf(resource.type, resourceClass as ResourceClass),
                    asType: ((resourceClass: ResourceClass) =>
                        isTypeOf(resource.type, resourceClass) ? props : undefined) as ResourceValidationArgs["asType"],
                    getConfig: getConfigFor(policy, context),
                    notApplicable: throwNotApplicable,
                };
                const provider = providerResource(resource.provider, stack);
                if (provider) {
                    args.provider = provider;
                }
                await validation(args, report);
            } catch (error) {
                settle(error, policy, context, state, resource.urn, `resource ${resource.urn}`);
            }
        }
    }
    return state.diagnostics;
}

/** The stack as `validateStack` sees it: one `PolicyResource` per resource, linked to each other. */
export function policyResources(resources: readonly PlannedResource[]): PolicyResource[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r] as const));
    const built = new Map<string, PolicyResource>();
    for (const planned of resources) {
        const props = policyProps(planned.outputs ?? planned.props);
        const resource: PolicyResource = {
            type: planned.type,
            props,
            urn: planned.urn,
            name: planned.name,
            opts: resourceOptions(planned),
            dependencies: [],
            propertyDependencies: {},
            isType: (resourceClass) => isTypeOf(planned.type, resourceClass as ResourceClass),
            asType: ((resourceClass: ResourceClass) =>
                isTypeOf(planned.type, resourceClass) ? props : undefined) as PolicyResource["asType"],
        };
        const provider = providerResource(planned.provider, byUrn);
        if (provider) {
            resource.provider = provider;
        }
        built.set(planned.urn, resource);
    }
    const resolve = (urns: readonly string[]): PolicyResource[] =>
        urns.map((urn) => built.get(urn)).filter((r): r is PolicyResource => r !== undefined);
    for (const planned of resources) {
        const resource = built.get(planned.urn) as PolicyResource;
        const parent = planned.parent ? built.get(planned.parent) : undefined;
        if (parent) {
            resource.parent = parent;
        }
        resource.dependencies = resolve(planned.dependencies);
        for (const [property, urns] of Object.entries(planned.propertyDependencies)) {
            resource.propertyDependencies[property] = resolve(urns);
        }
    }
    return [...built.values()];
}

/** Runs every stack policy once over all resources, as the engine's AnalyzeStack call does. */
export async function analyzeStack(
    policies: readonly Policy[],
    resources: readonly PlannedResource[],
    context: AnalyzerContext,
): Promise<PolicyDiagnostic[]> {
    const state: RunState = { diagnostics: [] };
    for (const policy of policies) {
        let level = effectiveLevel(policy, context);
        if (level === "disabled" || !isStackPolicy(policy)) {
            continue;
        }
        if (level === "remediate") {
            level = "mandatory";
        }
        const token = pulumiTypeOf(policy.validateStack);
        if (token && !resources.some((r) => r.type === token)) {
            continue;
        }
        try {
            const args: StackValidationArgs = {
                resources: policyResources(resources),
                getConfig: getConfigFor(policy, context),
                stackTags: context.stackTags,
                notApplicable: throwNotApplicable,
            };
            await policy.validateStack(args, reporter(policy, level, state, undefined));
        } catch (error) {
            settle(error, policy, context, state, undefined, "stack");
        }
    }
    return state.diagnostics;
}
