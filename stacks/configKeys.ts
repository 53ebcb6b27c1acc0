// A component refuses a bad argument naming its own field ("PrivateLinkService \"globex\":
// allowedPrincipals[0] ..."); the stack's user wrote a config key (platformAccountIds). The stack
// programs build their components through `fromConfig`, which turns such an error about a value
// that came from this stack's config into a StackConfigError naming the key, with the component's
// field kept in brackets for whoever reads the component's docs.
import * as pulumi from "@pulumi/pulumi";
import { ComponentArgumentError } from "../components/shared/validation";
import { StackConfigError } from "./config";

/**
 * Component argument paths (a field and everything under it) to the config keys they come from,
 * without the project prefix: `{ allowedPrincipals: "platformAccountIds", "endpoint.allowedSourceCidrs": "privateApi.callerCidrs" }`.
 * An argument not from config (a default the program computes) is left out.
 */
export type ConfigKeys = Readonly<Record<string, string>>;

/** The config key (and the rest of the path) for a component field, or undefined when it does not come from config. */
export function configKeyOf(field: string, keys: ConfigKeys): string | undefined {
    const match = Object.keys(keys)
        .filter((arg) => field === arg || field.startsWith(`${arg}[`) || field.startsWith(`${arg}.`))
        .sort((a, b) => b.length - a.length)[0];
    return match === undefined ? undefined : `${keys[match]}${field.slice(match.length)}`;
}

/** Builds a component; its argument error about a value from config names the config key instead. */
export function fromConfig<T>(keys: ConfigKeys, build: () => T, project: string = pulumi.getProject()): T {
    try {
        return build();
    } catch (err) {
        if (err instanceof ComponentArgumentError) {
            const key = configKeyOf(err.field, keys);
            if (key !== undefined) throw new StackConfigError([`${project}:${key} ${err.problem} (${err.component} checks it as ${err.field})`]);
        }
        throw err;
    }
}
