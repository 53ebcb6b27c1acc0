// Structural arguments of the PrivateLink components: the ones that decide which resources exist
// or what they are named (listeners, ports, targets, subnets named in resource names, ...). Pulumi's
// component provider (and an awsx user) passes any argument that depends on another resource as one
// Output wrapping the whole value, so a component builds from these arguments now when they are
// plain (a bad value fails at construction and `pulumi preview` shows every resource), or once they
// resolve. The same function checks and builds in both cases, so names, parents, inputs and error
// messages do not depend on how an argument arrived.
//
// Unlike `whenKnown` in ../shared/validation.ts, which takes one value, this takes several arguments
// and resolves only those that are not ready: a ready argument is used exactly as given, Output
// leaves included (e.g. a plain list of targets whose elements are Outputs keeps them as Outputs, and
// the resources named after them keep the names they had).
import * as pulumi from "@pulumi/pulumi";
import { isDeeplyPlain, isPlain } from "../shared/validation";

/** The value as it is once it resolved, or as given when it was ready: no Output or Promise on top. */
export type Ready<T> = Exclude<T, pulumi.OutputInstance<unknown> | Promise<unknown>>;

/**
 * A value built from structural arguments: now (they were ready at construction) or once they
 * resolve (an Output). `then` builds the next step the same way, `output` derives a component output.
 */
export class Built<T> {
    private constructor(
        private readonly now: { value: T } | undefined,
        private readonly later: pulumi.Output<T> | undefined,
    ) {}

    static now<T>(value: T): Built<T> {
        return new Built<T>({ value }, undefined);
    }

    static later<T>(value: pulumi.Output<T>): Built<T> {
        return new Built<T>(undefined, value);
    }

    /** True when the value was built at construction. */
    get isNow(): boolean {
        return this.now !== undefined;
    }

    /** Runs `next` on the value now, or inside an apply once it resolves (creating resources there). */
    then<R>(next: (value: T) => R): Built<R> {
        if (this.now) return Built.now(next(this.now.value));
        return Built.later(this.later!.apply((value) => next(value)));
    }

    /** An Output derived from the value, e.g. a resource's attribute for a component output. */
    output<R>(derive: (value: T) => pulumi.Input<R>): pulumi.Output<R> {
        if (this.now) return pulumi.output(derive(this.now.value)) as pulumi.Output<R>;
        return this.later!.apply((value) => pulumi.output(derive(value))) as pulumi.Output<R>;
    }
}

/** Tells whether an argument can be used as given (its structure is known at construction). */
export type ReadyCheck<T> = (value: T) => boolean;

/**
 * Checks and builds from structural arguments: `use` runs now when each argument passes its
 * `ready` check, else once the arguments that do not have resolved (those are then plain all the way
 * down; the ready ones are passed as given). `use` throws for bad values (a ComponentArgumentError
 * naming the field), at construction or when the values resolve.
 */
export function whenReady<T extends object, R>(
    args: T,
    ready: { [K in keyof T]-?: ReadyCheck<T[K]> },
    use: (resolved: { [K in keyof T]: Ready<T[K]> }) => R,
): Built<R> {
    const keys = Object.keys(ready) as Array<keyof T>;
    const waiting = keys.filter((key) => !ready[key](args[key]));
    if (waiting.length === 0) return Built.now(use(args as { [K in keyof T]: Ready<T[K]> }));
    const values = waiting.map((key) => args[key] as pulumi.Input<unknown>);
    return Built.later(
        pulumi.all(values).apply((resolved) => {
            const merged: Record<keyof T, unknown> = { ...args };
            waiting.forEach((key, index) => {
                merged[key] = resolved[index];
            });
            return use(merged as { [K in keyof T]: Ready<T[K]> });
        }),
    );
}

/** Ready checks for the common shapes. */
export const readyWhen = {
    /** A scalar (or absent) argument given plainly. */
    plain: <T>(value: T): boolean => isPlain(value as pulumi.Input<unknown>),
    /** Plain all the way down, but for the values under `passThrough` keys. */
    deeplyPlain:
        (...passThrough: string[]) =>
        <T>(value: T): boolean =>
            isDeeplyPlain(value, passThrough),
    /** An absent argument or a plain array (its elements may be Outputs: they are passed on as they are). */
    plainArray: <T>(value: T): boolean => value === undefined || Array.isArray(value),
};

/**
 * An optional setting handed to one resource as it is (never structural): its default applied and
 * `check` run now when it is plain, or when it resolves.
 */
export function settingWithDefault<T>(value: pulumi.Input<T> | undefined, fallback: T, check: (resolved: unknown) => void): pulumi.Input<T> {
    if (value === undefined || isPlain(value)) {
        const plain = value === undefined ? fallback : value;
        check(plain);
        return plain;
    }
    return pulumi.output(value).apply((resolved) => {
        const withDefault = resolved === undefined ? fallback : resolved;
        check(withDefault);
        return withDefault;
    }) as pulumi.Input<T>;
}
