/**
 * How the Pulumi engine finds the state a resource had in an earlier deployment: by its URN, then by
 * its aliases, then by the aliases it inherits from a parent that was itself found by an alias
 * (pkg/resource/deploy/step_generator.go, `generateAliases` and `getOldResource`). Used to prove that
 * a change of type tokens or names replaces nothing: every earlier URN must be taken over by exactly
 * one resource of the new run.
 *
 * URNs are in the form the mock runtime builds (a child's type is prefixed with its parent's own type
 * only, where the engine uses the parent's whole type chain), so they compare with recorded runs.
 */
export interface AliasedResource {
    urn: string;
    type: string;
    name: string;
    parent?: string;
    /** The URNs of the resource's own `aliases`, as the SDK sends them (specs resolved). */
    aliases?: string[];
}

export interface OldStateMatch {
    /** New URN to the earlier URN whose state it takes over (the same URN when unchanged). */
    matched: Map<string, string>;
    /** New resources that found no earlier state: creates. */
    creates: string[];
    /** Earlier URNs no resource took over: deletes. */
    deletes: string[];
    /** Two resources claiming the same earlier state (the engine refuses the update). */
    conflicts: string[];
}

const qualifiedType = (urn: string): string => urn.split("::")[2] ?? "";
const urnName = (urn: string): string => urn.split("::").slice(3).join("::");

/** The alias a child inherits from its parent's alias (step_generator.go, `inheritedChildAlias`). */
function inheritedChildAlias(childType: string, childName: string, parentName: string, parentAlias: string): string {
    // A child named "<parent>-suffix" is renamed with its parent, so its old name used the old parent name.
    const name = childName.startsWith(parentName) ? urnName(parentAlias) + childName.slice(parentName.length) : childName;
    const [, stackAndProject] = /^urn:pulumi:([^:]*::[^:]*)::/.exec(parentAlias) ?? [];
    const parentType = qualifiedType(parentAlias).split("$").pop();
    return `urn:pulumi:${stackAndProject}::${parentType}$${childType}::${name}`;
}

/** Matches a run's resources (in registration order) to the URNs of an earlier deployment. */
export function matchOldState(resources: readonly AliasedResource[], olds: ReadonlySet<string>): OldStateMatch {
    const matched = new Map<string, string>();
    const claimedBy = new Map<string, string>();
    const creates: string[] = [];
    const conflicts: string[] = [];
    const registered = new Set(resources.map((r) => r.urn));
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    for (const resource of resources) {
        const candidates = [resource.urn, ...(resource.aliases ?? [])];
        const parentOld = resource.parent === undefined ? undefined : matched.get(resource.parent);
        const parent = resource.parent === undefined ? undefined : byUrn.get(resource.parent);
        if (parent && parentOld !== undefined && parentOld !== parent.urn) {
            candidates.push(inheritedChildAlias(resource.type, resource.name, parent.name, parentOld));
            for (const alias of resource.aliases ?? []) {
                candidates.push(inheritedChildAlias(qualifiedType(alias).split("$").pop()!, urnName(alias), parent.name, parentOld));
            }
        }
        const old = candidates.find((urn) => olds.has(urn));
        if (old === undefined) {
            creates.push(resource.urn);
            continue;
        }
        const earlier = claimedBy.get(old);
        if (earlier !== undefined || (old !== resource.urn && registered.has(old))) {
            conflicts.push(`${resource.urn} claims ${old}, already ${earlier ?? "registered"}`);
        }
        claimedBy.set(old, resource.urn);
        matched.set(resource.urn, old);
    }
    const deletes = [...olds].filter((urn) => !claimedBy.has(urn));
    return { matched, creates, deletes, conflicts };
}
