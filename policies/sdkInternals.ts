// Two things `@pulumi/policy` exports at runtime (its index.js) whose declarations its published
// .d.ts strips as @internal. We need them to behave exactly like the analyzer server: the same
// unknown-checking proxy around props, and the same error class to recognise "unknown during
// preview". Typed here once so no `any` spreads from them.
import * as policySdk from "@pulumi/policy";

interface PolicySdkInternals {
    unknownCheckingProxy<T extends object>(target: T): T;
    UnknownValueError: new (...args: never[]) => Error;
}

const internals = policySdk as unknown as PolicySdkInternals;

/** The SDK's proxy: reading an unknown (preview) value through it throws `UnknownValueError`. */
export const unknownCheckingProxy: PolicySdkInternals["unknownCheckingProxy"] = internals.unknownCheckingProxy;

/** The error the proxy throws; the analyzer turns it into an advisory "can't run during preview". */
export const UnknownValueError: PolicySdkInternals["UnknownValueError"] = internals.UnknownValueError;

export function isUnknownValueError(error: unknown): error is Error {
    return error instanceof UnknownValueError;
}
