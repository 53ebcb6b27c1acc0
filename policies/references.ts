// Cross-resource references for stack policies.
//
// A reference such as an endpoint service's `networkLoadBalancerArns`, a RestApiPolicy's
// `restApiId` or a FlowLog's `vpcId` is an Output. Once known it is a plain ID or ARN that we
// match against the other resources' `id`/`arn` outputs; during a preview it is often still
// unknown, and then the engine's `propertyDependencies` say which resources it came from. A
// reference is therefore described by a set of keys, `value:<id or arn>` and `urn:<urn>`, and two
// references are the same when their keys meet.
//
// When a value is unknown and no dependency explains it, the policy cannot decide: the caller
// rethrows the SDK's own UnknownValueError, which the analyzer reports as the advisory
// "can't run ... during preview", the same as a resource policy reading an unknown value.

import { PolicyResource } from "@pulumi/policy";
import { isUnknownValueError } from "./sdkInternals";

export type Peeked<T> = { known: true; value: T } | { known: false; error: Error };

/** Reads through the unknown-checking proxy without letting an unknown value end the policy. */
export function peek<T>(read: () => T): Peeked<T> {
    try {
        return { known: true, value: read() };
    } catch (error) {
        if (isUnknownValueError(error)) {
            return { known: false, error };
        }
        throw error;
    }
}

/** A resource class as `PolicyResource.isType` takes it (e.g. `aws.ec2.Vpc`). */
type ResourceClass = Parameters<PolicyResource["isType"]>[0];

export interface Reference {
    /** Every key of every thing the reference points at. */
    keys: Set<string>;
    /** One key set per distinct thing the reference points at. */
    identities: Set<string>[];
    /** Set when part of the reference is unknown and no dependency on a target explains it. */
    unresolved?: Error;
}

/** The stack resources of any of these classes. */
export function resourcesOfType(resources: readonly PolicyResource[], ...classes: ResourceClass[]): PolicyResource[] {
    return resources.filter((resource) => classes.some((cls) => resource.isType(cls)));
}

/** The known string value of an output, or undefined when it is absent or still unknown. */
export function knownString(resource: PolicyResource, property: string): string | undefined {
    const value = peek(() => resource.props[property] as unknown);
    return value.known && typeof value.value === "string" ? value.value : undefined;
}

function keysOfTarget(target: PolicyResource): string[] {
    const keys = [`urn:${target.urn}`];
    for (const output of ["id", "arn"]) {
        const value = knownString(target, output);
        if (value) {
            keys.push(`value:${value}`);
        }
    }
    return keys;
}

/** Merges key sets that share a key, so each remaining set is one distinct thing. */
function mergeIdentities(sets: Set<string>[]): Set<string>[] {
    const merged: Set<string>[] = [];
    for (const set of sets) {
        const overlapping = merged.filter((existing) => [...set].some((key) => existing.has(key)));
        const union = new Set([...set, ...overlapping.flatMap((existing) => [...existing])]);
        for (const existing of overlapping) {
            merged.splice(merged.indexOf(existing), 1);
        }
        merged.push(union);
    }
    return merged;
}

/**
 * What `resource.props[property]` points at among `targets`. The property may hold one ID/ARN, a
 * list of them, or (with `pick`) one object or a list of objects each holding one or a list of them.
 */
export function referenceOf(
    resource: PolicyResource,
    property: string,
    targets: readonly PolicyResource[],
    pick?: (element: Record<string, unknown>) => unknown,
): Reference {
    const identities: Set<string>[] = [];
    const dependencies = (resource.propertyDependencies[property] ?? []).filter((d) => targets.includes(d));
    for (const dependency of dependencies) {
        identities.push(new Set(keysOfTarget(dependency)));
    }
    let unresolved: Error | undefined;
    const addValue = (peeked: Peeked<unknown>): void => {
        if (!peeked.known) {
            // An unknown value that flowed from a target is covered by that dependency.
            unresolved ??= dependencies.length > 0 ? undefined : peeked.error;
            return;
        }
        if (typeof peeked.value !== "string") {
            return;
        }
        const value = peeked.value;
        const matches = targets.filter((t) => knownString(t, "id") === value || knownString(t, "arn") === value);
        identities.push(new Set([`value:${value}`, ...matches.flatMap(keysOfTarget)]));
    };

    const whole = peek(() => resource.props[property] as unknown);
    if (!whole.known) {
        addValue(whole);
    } else if (Array.isArray(whole.value)) {
        const list = whole.value as unknown[];
        for (let index = 0; index < list.length; index++) {
            const element = peek(() => list[index]);
            if (pick && element.known && element.value !== null && typeof element.value === "object") {
                const record = element.value as Record<string, unknown>;
                const picked = peek(() => pick(record));
                if (picked.known && Array.isArray(picked.value)) {
                    // The element holds a list of IDs (a network interface's securityGroups).
                    const values = picked.value as unknown[];
                    for (let inner = 0; inner < values.length; inner++) {
                        addValue(peek(() => values[inner]));
                    }
                } else {
                    addValue(picked);
                }
            } else if (!pick || !element.known) {
                addValue(element);
            }
        }
    } else if (pick && whole.value !== null && typeof whole.value === "object") {
        // One nested object holding the ID/ARN (a CloudFront VPC origin's vpcOriginEndpointConfig).
        const record = whole.value as Record<string, unknown>;
        addValue(peek(() => pick(record)));
    } else if (whole.value !== undefined && whole.value !== null) {
        addValue(whole);
    }
    const merged = mergeIdentities(identities);
    return { keys: new Set(merged.flatMap((identity) => [...identity])), identities: merged, unresolved };
}

/** The targets a reference points at. */
export function referencedTargets(reference: Reference, targets: readonly PolicyResource[]): PolicyResource[] {
    return targets.filter((target) => reference.keys.has(`urn:${target.urn}`));
}

/** Whether two references name at least one common thing. */
export function sameTarget(a: Reference, b: Reference): boolean {
    for (const key of a.keys) {
        if (b.keys.has(key)) {
            return true;
        }
    }
    return false;
}
