// Values the tunnel components compute from STRUCTURAL arguments (routes, relays, customers, CIDR
// lists, public subnets: what decides which resources exist and how they are named). When the
// arguments are plain, the value is computed now, so a bad argument fails the constructor and
// `pulumi preview` shows every resource; when they are (or hold) Outputs, as Pulumi's component
// provider passes anything that depends on another resource, it is computed once they resolve,
// and the resources built from it are created then, with the same names, parents and inputs.
//
// The shared `whenKnown` (components/shared/validation.ts) gives an Output in both cases; the tunnel
// components also need the value itself in the plain case (to create resources synchronously
// after `super()`), hence this small wrapper. It also knows lists whose ELEMENTS may stay Inputs
// (relay CIDRs, prefix lists, security groups: one rule per element, named by index), which
// `isDeeplyPlain`'s pass-through keys cannot express.
import * as pulumi from "@pulumi/pulumi";

/** Keys whose values are not searched for Outputs, and keys whose values must be plain lists with elements that may be Outputs. */
export interface StructureKeys {
    /** Values handed on as they are (IDs, ARNs, host keys): they may be Inputs. */
    passThrough?: readonly string[];
    /** Lists whose length decides resources but whose elements are handed on as they are. */
    elementsPassThrough?: readonly string[];
}

/** True when the value's structure is known now: no Output or Promise but under the keys in `keys`. */
export function isStructurePlain(value: unknown, keys: StructureKeys = {}): boolean {
    if (pulumi.Output.isInstance(value) || value instanceof Promise) return false;
    if (Array.isArray(value)) return value.every((v) => isStructurePlain(v, keys));
    if (value === null || typeof value !== "object" || pulumi.Resource.isInstance(value)) return true;
    return Object.entries(value).every(([key, v]) => {
        if (keys.passThrough?.includes(key)) return true;
        if (keys.elementsPassThrough?.includes(key)) return v === undefined || Array.isArray(v);
        return isStructurePlain(v, keys);
    });
}

/** A value available now, or an Output of it once the arguments it is computed from resolve. */
export class Known<T> {
    private constructor(
        private readonly nowValue: { value: T } | undefined,
        private readonly laterValue: pulumi.Output<T> | undefined,
    ) {}

    static now<T>(value: T): Known<T> {
        return new Known<T>({ value }, undefined);
    }

    /**
     * Builds from `value` now when its structure is plain (see isStructurePlain: `build` runs
     * synchronously, and what it throws is thrown here), else once it resolves, all the way down.
     * `S` is the value as `build` sees it: plain, but where `keys` let Inputs through. Arguments
     * come from JavaScript and other languages too: `build` checks what it reads.
     */
    static from<S, T>(value: unknown, keys: StructureKeys, build: (structure: S) => T): Known<T> {
        if (isStructurePlain(value, keys)) return Known.now(build(value as S));
        return new Known<T>(undefined, (pulumi.output(value as pulumi.Input<unknown>) as unknown as pulumi.Output<unknown>).apply((resolved) => build(resolved as S)) as unknown as pulumi.Output<T>);
    }

    /** Whether the value is available now (every resource built from it is created synchronously). */
    get isNow(): boolean {
        return this.nowValue !== undefined;
    }

    /** `f` of the value: now, or once it is known (resources `f` creates are created then). */
    map<R>(f: (value: T) => R): Known<R> {
        if (this.nowValue) return Known.now(f(this.nowValue.value));
        return new Known<R>(undefined, this.laterValue!.apply((value) => f(value)) as unknown as pulumi.Output<R>);
    }

    /**
     * An input derived from the value: `f`'s result as it is when the value is known now (so plain
     * values reach resources exactly as before), else an Output of it, Outputs inside resolved.
     */
    input<R>(f: (value: T) => pulumi.Input<R>): pulumi.Input<R> {
        if (this.nowValue) return f(this.nowValue.value);
        return this.laterValue!.apply((value) => pulumi.output(f(value))) as unknown as pulumi.Output<R>;
    }

    /** An Output derived from the value (Outputs inside `f`'s result resolved). */
    output<R>(f: (value: T) => pulumi.Input<R>): pulumi.Output<R> {
        return pulumi.output(this.input(f)) as unknown as pulumi.Output<R>;
    }
}

/**
 * Tags merged with extra tags: a plain object when the tags are plain (as before), else an Output
 * once they resolve.
 */
export function mergeTags(
    tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    extra: Record<string, pulumi.Input<string>> = {},
): pulumi.Input<Record<string, pulumi.Input<string>>> {
    if (tags === undefined || (!pulumi.Output.isInstance(tags) && !(tags instanceof Promise))) return { ...(tags as Record<string, pulumi.Input<string>> | undefined), ...extra };
    return pulumi.output(tags).apply((resolved) => pulumi.output({ ...resolved, ...extra }));
}
