// Walks a JSON Schema (as zod's toJSONSchema writes it) for the docs-coverage tests: every
// property at any depth, with the path a reader would write (`relays[].hostKeys`).

export interface JsonSchemaNode {
    properties?: Record<string, JsonSchemaNode>;
    items?: JsonSchemaNode;
    anyOf?: JsonSchemaNode[];
    oneOf?: JsonSchemaNode[];
    allOf?: JsonSchemaNode[];
    additionalProperties?: JsonSchemaNode | boolean;
}

export interface SchemaField {
    /** `a.b[].c`; a record's values are `a.<key>`. */
    path: string;
    /** The property's own name (the last segment of its path). */
    name: string;
    /** True when it has fields of its own (an object, a list of objects, or a union with an object form). */
    hasFields: boolean;
    /** True when it takes several forms (anyOf/oneOf). */
    isUnion: boolean;
    /** The nearest enclosing union's path, for the fields of a union's object form. */
    union?: string;
}

const alternativesOf = (node: JsonSchemaNode): JsonSchemaNode[] => [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])];

/** Every property of `schema`, parents before their fields, each path once. */
export function schemaFields(schema: unknown): SchemaField[] {
    const fields = new Map<string, SchemaField>();
    const walk = (node: JsonSchemaNode | undefined, at: string, union: string | undefined): void => {
        if (!node || typeof node !== "object") return;
        for (const [name, child] of Object.entries(node.properties ?? {})) {
            const path = at ? `${at}.${name}` : name;
            const isUnion = Boolean(child.anyOf ?? child.oneOf);
            const hasFields = Boolean(child.properties || child.items?.properties || alternativesOf(child).some((a) => a.properties));
            if (!fields.has(path)) fields.set(path, { path, name, hasFields, isUnion, ...(union ? { union } : {}) });
            walk(child, path, isUnion ? path : union);
        }
        if (node.items) walk(node.items, `${at}[]`, union);
        if (typeof node.additionalProperties === "object") walk(node.additionalProperties, `${at}.<key>`, union);
        for (const alternative of alternativesOf(node)) walk(alternative, at, union);
    };
    walk(schema as JsonSchemaNode, "", undefined);
    return [...fields.values()];
}
