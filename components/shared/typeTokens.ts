import * as pulumi from "@pulumi/pulumi";

/**
 * The Pulumi package name, as Pulumi's component provider derives it from package.json's name
 * (`@firefly/private-connectivity`: namespace `firefly`, package `private-connectivity`). Types
 * in a source-based component package are `<package>:index:<ClassName>`.
 */
export const packageName = "private-connectivity";

/** `private-connectivity:index:<Name>`: the only form the component provider constructs. */
export function componentType(className: string): string {
    return `${packageName}:index:${className}`;
}

/**
 * Options for `super()` that keep stacks deployed with 0.1.x: those registered the component as
 * `firefly:<module>:<Name>`. The alias (same name and parent, old type) lets the engine find that
 * state, and the engine carries it down to every child, so nothing is replaced or recreated.
 */
export function withLegacyType(opts: pulumi.ComponentResourceOptions | undefined, legacyType: string): pulumi.ComponentResourceOptions {
    return { ...opts, aliases: [...(opts?.aliases ?? []), { type: legacyType }] };
}
