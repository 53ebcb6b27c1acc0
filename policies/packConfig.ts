// Policy pack configuration, reconciled the way the Pulumi engine does it before it calls the
// analyzer's Configure (pkg/resource/analyzer/config.go: ReconcilePolicyPackConfig):
//   1. every policy starts at its own enforcement level (or the pack's) with the `default` of each
//      top-level property in its configSchema;
//   2. an "all" entry's enforcementLevel applies to every policy;
//   3. each policy's entry overrides the level and shallowly merges its properties;
//   4. each policy with a configSchema is validated as {type: "object", properties, required}
//      (the engine uses a draft-7 JSON Schema validator; so does this, via ajv).
// Entries for policy names the pack does not have are ignored, as the engine ignores them.
// The input is what `--policy-pack-config <file>` holds: `{ "<policy>": "<level>" | { enforcementLevel?, ...props } }`.

import Ajv, { ValidateFunction } from "ajv";
import { EnforcementLevel, Policy } from "@pulumi/policy";

export interface ReconciledPolicyConfig {
    enforcementLevel: EnforcementLevel;
    /** What `args.getConfig()` returns: every property except enforcementLevel. */
    properties: Record<string, unknown>;
}

/** The config cannot be used: a bad enforcement level, or properties a policy's configSchema rejects. */
export class PolicyConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`invalid policy pack config:\n  ${problems.join("\n  ")}`);
        this.name = "PolicyConfigError";
    }
}

const enforcementLevels: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

function isEnforcementLevel(value: unknown): value is EnforcementLevel {
    return typeof value === "string" && (enforcementLevels as readonly string[]).includes(value);
}

interface ParsedEntry {
    enforcementLevel?: EnforcementLevel;
    properties: Record<string, unknown>;
}

function parseEntries(input: Record<string, unknown>, problems: string[]): Map<string, ParsedEntry> {
    const entries = new Map<string, ParsedEntry>();
    for (const [policyName, value] of Object.entries(input)) {
        if (typeof value === "string") {
            if (isEnforcementLevel(value)) {
                entries.set(policyName, { enforcementLevel: value, properties: {} });
            } else {
                problems.push(`policy "${policyName}": "${value}" is not a valid enforcement level (${enforcementLevels.join(", ")})`);
            }
            continue;
        }
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
            problems.push(`policy "${policyName}": must be an enforcement level or an object, not ${JSON.stringify(value)}`);
            continue;
        }
        const { enforcementLevel, ...properties } = value as Record<string, unknown>;
        if (enforcementLevel !== undefined && !isEnforcementLevel(enforcementLevel)) {
            problems.push(
                `policy "${policyName}", field "enforcementLevel": ${JSON.stringify(enforcementLevel)} is not a valid enforcement level (${enforcementLevels.join(", ")})`,
            );
            continue;
        }
        entries.set(policyName, { enforcementLevel, properties });
    }
    return entries;
}

const ajv = new Ajv({ allErrors: true, strict: false, logger: false });
const compiledSchemas = new WeakMap<Policy, ValidateFunction>();

function validatorFor(policy: Policy, schema: NonNullable<Policy["configSchema"]>): ValidateFunction {
    let validate = compiledSchemas.get(policy);
    if (!validate) {
        const { properties, required } = schema;
        validate = ajv.compile({
            type: "object",
            ...(Object.keys(properties).length > 0 ? { properties } : {}),
            ...(required && required.length > 0 ? { required } : {}),
        });
        compiledSchemas.set(policy, validate);
    }
    return validate;
}

function schemaDefaults(policy: Policy): Record<string, unknown> {
    const defaults: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
        if (schema.default !== undefined) {
            defaults[key] = structuredClone(schema.default);
        }
    }
    return defaults;
}

/**
 * Config per policy name, as the analyzer receives it. Throws PolicyConfigError naming the policy
 * and field for anything the engine would refuse.
 */
export function reconcilePolicyPackConfig(
    policies: readonly Policy[],
    input: Record<string, unknown> = {},
    packEnforcementLevel: EnforcementLevel = "advisory",
): Map<string, ReconciledPolicyConfig> {
    const problems: string[] = [];
    const entries = parseEntries(input, problems);
    const allLevel = entries.get("all")?.enforcementLevel;

    const result = new Map<string, ReconciledPolicyConfig>();
    for (const policy of policies) {
        const entry = entries.get(policy.name);
        const enforcementLevel = entry?.enforcementLevel ?? allLevel ?? policy.enforcementLevel ?? packEnforcementLevel;
        const properties = { ...schemaDefaults(policy), ...(entry?.properties ?? {}) };
        if (policy.configSchema) {
            const validate = validatorFor(policy, policy.configSchema);
            if (!validate(properties)) {
                for (const error of validate.errors ?? []) {
                    const field = error.instancePath.replace(/^\//, "").replace(/\//g, ".");
                    problems.push(`policy "${policy.name}"${field ? `, field "${field}"` : ""}: ${error.message ?? error.keyword}`);
                }
            }
        }
        result.set(policy.name, { enforcementLevel, properties });
    }
    if (problems.length > 0) {
        throw new PolicyConfigError(problems);
    }
    return result;
}
