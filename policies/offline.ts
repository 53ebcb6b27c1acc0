// The policy verdict without the Pulumi CLI or cloud credentials.
//
// `npm start` runs a stack program under `pulumi.runtime.setMocks`, records what it registers and
// passes it here: every resource policy runs on every resource (custom and component alike) and
// every stack policy on the whole stack, with the same args, config handling and enforcement
// levels as `pulumi preview --policy-pack policies` (see analyzer.ts and packConfig.ts).
// This module never imports index.ts, so it starts no server.

import { EnforcementLevel, Policy, Severity } from "@pulumi/policy";
import { PlannedResource, analyzeResource, analyzeStack } from "./analyzer";
import { policyPackName, policyPackVersion } from "./pack";
import { PolicyConfigError, reconcilePolicyPackConfig } from "./packConfig";
import { allPolicies } from "./rules";

export { PlannedResource, PolicyConfigError };

export interface OfflineViolation {
    policyName: string;
    /** As the CLI reports it: "mandatory" blocks, "advisory" warns ("remediate" reports as "mandatory"). */
    enforcementLevel: EnforcementLevel;
    /** What is wrong and what to set instead; or the SDK's "can't run ... during preview" text. */
    message: string;
    /** The rule's description; the CLI prints it above the message. */
    description: string;
    severity?: Severity;
    /** The offending resource; absent when a stack policy reports against the whole stack. */
    urn?: string;
    resourceName?: string;
    resourceType?: string;
    /** True for the advisory a policy yields when a value it needs is unknown until the update runs. */
    unknownDuringPreview: boolean;
}

export interface EvaluateOptions {
    /** Same shape as the JSON file given to `--policy-pack-config`. */
    config?: Record<string, unknown>;
    /** Stack tags, as `args.stackTags` shows them. */
    stackTags?: Record<string, string>;
    /** The rules to run; defaults to the whole pack. */
    policies?: readonly Policy[];
    /** Called for each rule that declared itself not applicable (`args.notApplicable()`). */
    onNotApplicable?: (policyName: string, reason: string | undefined) => void;
}

/**
 * Runs the pack over planned resources and returns every violation, resource policies first
 * (in resource order, then rule order), then stack policies.
 * Throws PolicyConfigError when the config is one the engine would refuse.
 */
export async function evaluatePolicies(
    resources: readonly PlannedResource[],
    options: EvaluateOptions = {},
): Promise<OfflineViolation[]> {
    const policies = options.policies ?? allPolicies;
    const byUrn = new Map<string, PlannedResource>();
    for (const resource of resources) {
        if (byUrn.has(resource.urn)) {
            throw new Error(`resource ${resource.urn} is planned twice`);
        }
        byUrn.set(resource.urn, resource);
    }
    const context = {
        packName: policyPackName,
        packVersion: policyPackVersion,
        stackTags: new Map(Object.entries(options.stackTags ?? {})) as ReadonlyMap<string, string>,
        config: reconcilePolicyPackConfig(policies, options.config),
        onNotApplicable: options.onNotApplicable,
    };

    const diagnostics = [];
    for (const resource of resources) {
        diagnostics.push(...(await analyzeResource(policies, resource, byUrn, context)));
    }
    diagnostics.push(...(await analyzeStack(policies, resources, context)));

    return diagnostics.map((diagnostic) => {
        const resource = diagnostic.urn ? byUrn.get(diagnostic.urn) : undefined;
        const violation: OfflineViolation = { ...diagnostic };
        if (resource) {
            violation.resourceName = resource.name;
            violation.resourceType = resource.type;
        }
        return violation;
    });
}
