// How PrivateApi reads arguments that may be Inputs: a TypeScript caller passes plain values with
// some Outputs inside (an ARN, `vpc.privateSubnetIds`), Pulumi's component provider passes every
// argument that depends on another resource as one Output wrapping the whole value. Plain values are
// used (and checked) at construction, as before; Outputs once they resolve, with the same checks.
// (Helpers that could move to shared/validation.ts; kept here while that file is shared work.)
import * as pulumi from "@pulumi/pulumi";
import { ArgChecker, isDeeplyPlain, isPlain } from "../shared/validation";

/** A value known at construction, or an Output of it (once arguments it depends on resolve). */
export type Later<T> = T | pulumi.Output<T>;

/**
 * `f(value)` now when `value` is not an Output (nor a Promise), else once it resolves. Unlike
 * `pulumi.output(...).apply`, a plain result stays plain, so resources and checks of plain
 * arguments happen at construction exactly as before.
 */
export function whenReady<T, R>(value: Later<T> | Promise<T>, f: (resolved: T) => R): Later<R> {
    if (isPlain(value)) return f(value as T);
    return pulumi.output(value as pulumi.Input<T>).apply((resolved) => f(resolved as T)) as pulumi.Output<R>;
}

/** Like `whenReady`, for a result that is (or holds) an Output: always one flat Output. */
export function outputWhenReady<T, R>(value: Later<T> | Promise<T>, f: (resolved: T) => pulumi.Input<R>): pulumi.Output<R> {
    if (isPlain(value)) return pulumi.output(f(value as T)) as pulumi.Output<R>;
    return pulumi.output(value as pulumi.Input<T>).apply((resolved) => f(resolved as T)) as pulumi.Output<R>;
}

/**
 * A structural argument (one that decides which resources exist or how they are named): `build`
 * runs now when the value is plain all the way down (but under `passThrough` keys, values handed to
 * AWS as they are, such as ARNs), else once every Output in it has resolved. Like `whenKnown` of
 * shared/validation.ts, but the result is not flattened (it may hold resources and Outputs).
 */
export function whenKnownDeep<T, R>(value: T, build: (resolved: T) => R, passThrough: readonly string[] = []): Later<R> {
    if (isDeeplyPlain(value, passThrough)) return build(value);
    return pulumi.output(value).apply((resolved) => build(resolved as T)) as pulumi.Output<R>;
}

/**
 * Lists whose length decides resources (one per element): `build` runs now when every list is a
 * plain array (elements may be Outputs, and keep naming their resources by index as before), else
 * once the lists that are Outputs resolve. An absent list is empty.
 */
export function whenListsKnown<T, R>(lists: ReadonlyArray<pulumi.Input<pulumi.Input<T>[]> | undefined>, build: (lists: pulumi.Input<T>[][]) => R): Later<R> {
    const pending = lists.findIndex((list) => list !== undefined && !Array.isArray(list));
    if (pending < 0) return build(lists.map((list) => (list ?? []) as pulumi.Input<T>[]));
    // An Output's own `apply`, not `pulumi.output(...)`: that would also resolve Outputs inside the
    // list (e.g. the ID of an endpoint this component creates), which name their resources by index.
    const list = lists[pending]!;
    const resolvedList = pulumi.Output.isInstance(list) ? list : pulumi.output(list);
    return (resolvedList as pulumi.Output<pulumi.Input<T>[] | undefined>).apply((resolved) => {
        const next = [...lists];
        next[pending] = resolved ?? [];
        return whenListsKnown(next, build);
    }) as pulumi.Output<R>;
}

/** Field `key` of an object argument that may be an Output: the field itself, or an Output of it. */
export function fieldOf<T extends object, K extends keyof T>(value: pulumi.Input<T> | undefined, key: K): T[K] | pulumi.Output<pulumi.Unwrap<T[K]>> | undefined {
    if (value === undefined || value === null) return undefined;
    if (isPlain(value)) return (value as T)[key];
    return pulumi.output(value as pulumi.Input<T>).apply((resolved) => (resolved as unknown as T | undefined)?.[key]) as pulumi.Output<pulumi.Unwrap<T[K]>>;
}

/** A scalar argument with its default, checked now or when it resolves; returns what to hand on. */
export function checkedValue<T>(value: pulumi.Input<T | undefined> | undefined, fallback: T, check: (resolved: T) => void): pulumi.Input<T> {
    return whenReady(value as Later<T | undefined>, (resolved) => {
        const withDefault = resolved ?? fallback;
        check(withDefault);
        return withDefault;
    }) as pulumi.Input<T>;
}

/**
 * A list argument (`Input<Input<T>[]>`): like `ArgChecker.list`, but a plain value that is not a list
 * (a string, an object) is refused now instead of when it "resolves".
 */
export function checkedList<T>(
    c: ArgChecker,
    field: string,
    value: pulumi.Input<pulumi.Input<T>[]> | undefined,
    options: { required?: boolean; fix: string; each?: (element: pulumi.Unwrap<T>, field: string) => void },
): pulumi.Input<pulumi.Input<T>[]> {
    if (value !== undefined && isPlain(value) && !Array.isArray(value)) c.fail(field, `must be a list (got ${JSON.stringify(value)}); ${options.fix}`);
    return c.list(field, value, options);
}

/** A value that `whenKnownDeep` guarantees is plain here: asserts it (a programming error otherwise). */
export function known<T>(value: pulumi.Input<T> | undefined): T | undefined {
    if (!isPlain(value)) throw new Error("internal error: an Output reached code that needs the resolved value");
    return value;
}
