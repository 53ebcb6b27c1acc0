import * as path from "node:path";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental/provider";

/** The package root: PulumiPlugin.yaml, package.json and the analyzer's entry point (index.ts). */
export const packageRoot = path.resolve(__dirname, "..", "..");

export interface SchemaProperty {
    type?: string;
    $ref?: string;
    description?: string;
    items?: SchemaProperty;
    additionalProperties?: SchemaProperty;
    plain?: boolean;
}
export interface SchemaObject {
    type?: string;
    description?: string;
    properties?: Record<string, SchemaProperty>;
    required?: string[];
    inputProperties?: Record<string, SchemaProperty>;
    requiredInputs?: string[];
    isComponent?: boolean;
    enum?: Array<{ name?: string; value: string | number; description?: string }>;
}
export interface PackageSchema {
    name: string;
    version: string;
    resources: Record<string, SchemaObject>;
    types?: Record<string, SchemaObject>;
}

/**
 * The schema Pulumi's component provider infers from the TypeScript sources, as `pulumi package
 * get-schema` would serve it: the provider is built the way `pulumi-language-nodejs`'s run-plugin
 * builds it (components from the package's main module, name and namespace from package.json).
 * Inferred once per test process (the analyzer type-checks the whole project) and shared.
 */
export function inferredSchema(): Promise<PackageSchema> {
    schemaOnce ??= (async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const components = getPulumiComponents(require(path.join(packageRoot, "components")));
        const provider = new ComponentProvider({ name: "private-connectivity", namespace: "firefly", dirname: packageRoot, components });
        return JSON.parse(await provider.getSchema()) as PackageSchema;
    })();
    return schemaOnce;
}
let schemaOnce: Promise<PackageSchema> | undefined;

/** Every input and output of the component, and every property of the types they use, has a description. */
export function undocumented(schema: PackageSchema, component: string): string[] {
    const missing: string[] = [];
    const resource = schema.resources[`private-connectivity:index:${component}`];
    if (!resource) return [`${component}: not in the schema`];
    const seen = new Set<string>();
    const visit = (where: string, property: SchemaProperty): void => {
        const ref = property.$ref ?? property.items?.$ref ?? property.additionalProperties?.$ref;
        const token = ref?.startsWith("#/types/") ? ref.slice("#/types/".length) : undefined;
        if (token === undefined || seen.has(token)) return;
        seen.add(token);
        const type = schema.types?.[token];
        if (!type) {
            missing.push(`${where}: refers to ${token}, which is not in the schema`);
            return;
        }
        for (const [name, p] of Object.entries(type.properties ?? {})) {
            if (!p.description) missing.push(`${token}.${name}`);
            visit(`${token}.${name}`, p);
        }
    };
    for (const [kind, properties] of [["input", resource.inputProperties], ["output", resource.properties]] as const) {
        for (const [name, p] of Object.entries(properties ?? {})) {
            if (!p.description) missing.push(`${component} ${kind} ${name}`);
            visit(`${component} ${kind} ${name}`, p);
        }
    }
    return missing;
}
