// Reading a rule's config. The engine fills in each property's schema `default` before the pack
// sees it; reading through the schema again keeps a rule correct when it runs without that step
// (an older CLI that sends no config, or a caller that skips packConfig.ts). Also the schema
// pieces that several rules' configs share.
import { PolicyConfigSchema } from "@pulumi/policy";

export function configOf<T extends object>(schema: PolicyConfigSchema, args: { getConfig<U extends object>(): U }): T {
    const given = args.getConfig<Record<string, unknown>>();
    const result: Record<string, unknown> = {};
    for (const [key, property] of Object.entries(schema.properties)) {
        result[key] = given[key] !== undefined ? given[key] : property.default;
    }
    return result as T;
}

/** Schema for one TCP/UDP port a listener or security group rule can serve: 1–65535, since port 0 is never one. */
export function portNumber(): PolicyConfigSchema["properties"][string] {
    return { type: "integer", minimum: 1, maximum: 65535 };
}

/** Schema for a set of ports (each as {@link portNumber}) that a rule lets through. */
export function portList(defaults: number[], description: string): PolicyConfigSchema["properties"][string] {
    return { type: "array", items: portNumber(), uniqueItems: true, default: defaults, description };
}

/** Schema for a list of Pulumi resource names that a rule lets through. */
export function resourceNameList(description: string): PolicyConfigSchema["properties"][string] {
    return { type: "array", items: { type: "string", minLength: 1 }, uniqueItems: true, default: [], description };
}

/** A rule whose one config key lists the Pulumi resource names it lets through (its deliberate exceptions). */
export interface NameExceptions {
    readonly schema: PolicyConfigSchema;
    /** The names the policy config lists (none by default). */
    listed(args: { getConfig<U extends object>(): U }): readonly string[];
}

/** The schema of a rule's exception list under `key`, and the reading of it. */
export function nameExceptions(key: string, description: string): NameExceptions {
    const schema: PolicyConfigSchema = { properties: { [key]: resourceNameList(description) } };
    return { schema, listed: (args) => configOf<Record<string, string[]>>(schema, args)[key]! };
}
