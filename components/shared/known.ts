// How the components read arguments that may be Pulumi Inputs, in one place.
//
// A TypeScript caller passes plain values with some Outputs inside (an ARN, awsx's
// `vpc.privateSubnetIds`); Pulumi's component provider (and an awsx user) passes every argument
// that depends on another resource as ONE Output wrapping the whole value.
//
// STRUCTURAL arguments decide which resources exist or how they are named (listeners, ports,
// routes, targets, customers, CIDR lists, subnets named in resource names). A component builds
// from them NOW when they are plain (but where their keys let Inputs through), so a bad value fails
// the constructor and `pulumi preview` shows every resource; or LATER, once they resolve, when they
// are (or hold) Outputs, and the resources built from them are created then, inside an apply. The
// same function checks and builds in both cases, so names, parents, inputs and error messages do
// not depend on how an argument arrived. Resources built after resolution appear in a preview only
// when the value is known then (a new VPC's subnet IDs are not).
//
// Settings that are handed to one resource as they are (never structural) are checked now when
// plain, else when they resolve, and passed on as Inputs (Outputs keep dependencies and secretness).
import * as pulumi from "@pulumi/pulumi";
import { isPlain } from "./validation";

/** Keys whose values are not searched for Outputs, and keys whose values must be plain lists with elements that may be Outputs. */
export interface StructureKeys {
    /** Values handed on as they are (IDs, ARNs, host keys): they may be Inputs. */
    passThrough?: readonly string[];
    /**
     * Lists whose length decides resources but whose elements are handed on as they are (relay
     * CIDRs, prefix lists, security groups: one rule per element, named by index).
     */
    elementsPassThrough?: readonly string[];
}

/**
 * True when the value's structure is known now: no Output or Promise anywhere inside (arrays and
 * plain objects are searched, resources are not), but under the keys in `keys`.
 */
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

/** The value as it is once it resolved, or as given when it was ready: no Output or Promise on top. */
export type Ready<T> = Exclude<T, pulumi.OutputInstance<unknown> | Promise<unknown>>;

/** Tells whether an argument can be used as given (its structure is known at construction). */
export type ReadyCheck<T> = (value: T) => boolean;

/** Ready checks for the common shapes of arguments (for `Known.fromArgs`). */
export const readyWhen = {
    /** A scalar (or absent) argument given plainly. */
    plain: <T>(value: T): boolean => isPlain(value as pulumi.Input<unknown>),
    /** Plain all the way down, but under `keys` (see isStructurePlain). */
    structurePlain:
        (keys: StructureKeys = {}) =>
        <T>(value: T): boolean =>
            isStructurePlain(value, keys),
    /** An absent argument or a plain array (its elements may be Outputs: they are passed on as they are). */
    plainArray: <T>(value: T): boolean => value === undefined || Array.isArray(value),
};

/**
 * A value available now (computed at construction from plain arguments), or an Output of it once
 * the arguments it is computed from resolve. What is built from it is built the same way: now, or
 * inside an apply.
 */
export class Known<T> {
    private constructor(
        private readonly nowValue: { value: T } | undefined,
        private readonly laterValue: pulumi.Output<T> | undefined,
    ) {}

    static now<T>(value: T): Known<T> {
        return new Known<T>({ value }, undefined);
    }

    static later<T>(value: pulumi.Output<T>): Known<T> {
        return new Known<T>(undefined, value);
    }

    /**
     * A scalar or object argument: known now when it is not an Output (nor a Promise), else once it
     * resolves, with every Output inside it resolved too.
     */
    static of<T>(value: pulumi.Input<T>): Known<T> {
        if (isPlain(value)) return Known.now(value as T);
        return Known.later(pulumi.output(value as pulumi.Input<T>) as unknown as pulumi.Output<T>);
    }

    /**
     * Builds from one structural argument: now when its structure is plain (see isStructurePlain:
     * `build` runs synchronously, and what it throws is thrown here), else once it resolves, all the
     * way down. `S` is the value as `build` sees it: plain, but where `keys` let Inputs through.
     * Arguments come from JavaScript and other languages too: `build` checks what it reads.
     */
    static from<S, T>(value: unknown, keys: StructureKeys, build: (structure: S) => T): Known<T> {
        if (isStructurePlain(value, keys)) return Known.now(build(value as S));
        return Known.later((pulumi.output(value as pulumi.Input<unknown>) as unknown as pulumi.Output<unknown>).apply((resolved) => build(resolved as S)) as unknown as pulumi.Output<T>);
    }

    /**
     * Builds from several structural arguments, each with its own `ready` check: `use` runs now when
     * every argument passes its check, else once the arguments that do not have resolved (those are
     * then plain all the way down). A ready argument is used exactly as given, Output leaves
     * included (e.g. a plain list of targets whose elements are Outputs keeps them as Outputs, and the
     * resources named after them keep the names they had). `use` throws for bad values (a
     * ComponentArgumentError naming the field), at construction or when the values resolve.
     */
    static fromArgs<A extends object, R>(args: A, ready: { [K in keyof A]-?: ReadyCheck<A[K]> }, use: (resolved: { [K in keyof A]: Ready<A[K]> }) => R): Known<R> {
        const keys = Object.keys(ready) as Array<keyof A>;
        const waiting = keys.filter((key) => !ready[key](args[key]));
        if (waiting.length === 0) return Known.now(use(args as { [K in keyof A]: Ready<A[K]> }));
        const values = waiting.map((key) => args[key] as pulumi.Input<unknown>);
        return Known.later(
            pulumi.all(values).apply((resolved) => {
                const merged: Record<keyof A, unknown> = { ...args };
                waiting.forEach((key, index) => {
                    merged[key] = resolved[index];
                });
                return use(merged as { [K in keyof A]: Ready<A[K]> });
            }) as unknown as pulumi.Output<R>,
        );
    }

    /**
     * Lists whose length decides resources (one per element): `build` runs now when every list is a
     * plain array (elements may be Outputs, and keep naming their resources by index), else once the
     * lists that are Outputs resolve, one after the other. An absent list is empty. Unlike `from`
     * and `fromArgs`, the Outputs INSIDE a list that resolves are not resolved (e.g. the ID of an
     * endpoint the component creates), so they keep naming their resources by index.
     */
    static fromLists<E, R>(lists: ReadonlyArray<pulumi.Input<pulumi.Input<E>[]> | undefined>, build: (lists: pulumi.Input<E>[][]) => R): Known<R> {
        const step = (current: ReadonlyArray<pulumi.Input<pulumi.Input<E>[]> | undefined>): R | pulumi.Output<R> => {
            const pending = current.findIndex((list) => list !== undefined && !Array.isArray(list));
            if (pending < 0) return build(current.map((list) => (list ?? []) as pulumi.Input<E>[]));
            // An Output's own `apply`, not `pulumi.output(...)`: that would also resolve the Outputs inside.
            const list = current[pending]!;
            const resolvedList = pulumi.Output.isInstance(list) ? list : pulumi.output(list);
            return (resolvedList as pulumi.Output<pulumi.Input<E>[] | undefined>).apply((resolved) => {
                const next = [...current];
                next[pending] = resolved ?? [];
                return step(next);
            }) as unknown as pulumi.Output<R>;
        };
        const pending = lists.some((list) => list !== undefined && !Array.isArray(list));
        return pending ? Known.later(step(lists) as pulumi.Output<R>) : Known.now(step(lists) as R);
    }

    /** Whether the value is available now (every resource built from it is created synchronously). */
    get isNow(): boolean {
        return this.nowValue !== undefined;
    }

    /** `f` of the value as it is: now, or once it is known (resources `f` creates are created then). */
    map<R>(f: (value: T) => R): Known<R> {
        if (this.nowValue) return Known.now(f(this.nowValue.value));
        return Known.later(this.laterValue!.apply((value) => f(value)) as unknown as pulumi.Output<R>);
    }

    /**
     * Like `map`, but when the value comes later `f` runs once every Output INSIDE it has resolved
     * too (a value known now is handed to `f` as it is, Outputs inside included).
     */
    mapResolved<R>(f: (value: T) => R): Known<R> {
        if (this.nowValue) return Known.now(f(this.nowValue.value));
        return Known.later((pulumi.output(this.laterValue!) as unknown as pulumi.Output<T>).apply((value) => f(value)) as unknown as pulumi.Output<R>);
    }

    /**
     * Like `output`, but when the value comes later `f` runs once every Output INSIDE it has
     * resolved too (as `mapResolved`); `f`'s result is lifted, not searched.
     */
    outputResolved<R>(f: (value: T) => pulumi.Input<R>): pulumi.Output<R> {
        if (this.nowValue) return pulumi.output(f(this.nowValue.value)) as unknown as pulumi.Output<R>;
        return (pulumi.output(this.laterValue!) as unknown as pulumi.Output<T>).apply((value) => f(value)) as unknown as pulumi.Output<R>;
    }

    /** The value to hand on as an input: itself when known now, else its Output (unchanged). */
    asInput(): T | pulumi.Output<T> {
        return this.nowValue ? this.nowValue.value : this.laterValue!;
    }

    /**
     * An input derived from the value: `f`'s result as it is when the value is known now (so plain
     * values reach resources exactly as before), else an Output of it, Outputs inside resolved.
     */
    input<R>(f: (value: T) => pulumi.Input<R>): pulumi.Input<R> {
        if (this.nowValue) return f(this.nowValue.value);
        return this.laterValue!.apply((value) => pulumi.output(f(value))) as unknown as pulumi.Output<R>;
    }

    /** An Output derived from the value, e.g. a resource's attribute for a component output (Outputs inside `f`'s result resolved). */
    output<R>(f: (value: T) => pulumi.Input<R>): pulumi.Output<R> {
        return pulumi.output(this.input(f)) as unknown as pulumi.Output<R>;
    }
}

/**
 * A value that `Known.from` (or `fromArgs`) guarantees is plain here, as its type still says it may
 * be an Input: asserts it (an Output reaching here is a programming error).
 */
export function plainHere<T>(value: pulumi.Input<T> | undefined): T | undefined {
    if (!isPlain(value)) throw new Error("internal error: an Output reached code that needs the resolved value");
    return value;
}

/**
 * An optional setting handed to one resource as it is (never structural): `fallback` when absent,
 * and `check` run, now when it is plain, or when it resolves. Absent is `undefined`; with
 * `nullIsAbsent`, `null` too.
 */
export function settingWithDefault<T>(
    value: pulumi.Input<T | undefined> | undefined,
    fallback: T,
    check: (resolved: T) => void,
    options: { nullIsAbsent?: boolean } = {},
): pulumi.Input<T> {
    const withDefault = (given: unknown): T => {
        const absent = given === undefined || (options.nullIsAbsent === true && given === null);
        const setting = (absent ? fallback : given) as T;
        check(setting);
        return setting;
    };
    if (isPlain(value)) return withDefault(value);
    return pulumi.output(value).apply((resolved) => withDefault(resolved)) as pulumi.Input<T>;
}

/** Field `key` of an object argument that may be an Output: the field itself, or an Output of it. */
export function fieldOf<T extends object, K extends keyof T>(value: pulumi.Input<T> | undefined, key: K): T[K] | pulumi.Output<pulumi.Unwrap<T[K]>> | undefined {
    if (value === undefined || value === null) return undefined;
    if (isPlain(value)) return (value as T)[key];
    return pulumi.output(value as pulumi.Input<T>).apply((resolved) => (resolved as unknown as T | undefined)?.[key]) as pulumi.Output<pulumi.Unwrap<T[K]>>;
}

/**
 * Tags merged with extra tags: a plain object when the tags are plain (as before), else an Output
 * once they resolve.
 */
export function mergeTags(
    tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    extra: Record<string, pulumi.Input<string>> = {},
): pulumi.Input<Record<string, pulumi.Input<string>>> {
    if (tags === undefined || isPlain(tags)) return { ...(tags as Record<string, pulumi.Input<string>> | undefined), ...extra };
    return pulumi.output(tags).apply((resolved) => pulumi.output({ ...resolved, ...extra }));
}
