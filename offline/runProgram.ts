import { format } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { FakeAws, FakeAwsOptions } from "./fakeAws";
import { wireUnknowns } from "./preview";

/**
 * One resource the program registered, as the engine would see it: its inputs (what
 * `pulumi preview` shows and what policy packs validate), its outputs from the fake cloud,
 * and the parent/dependency URNs that stack policies use to relate resources.
 */
export interface RecordedResource {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    id?: string;
    parent?: string;
    provider?: string;
    inputs: Record<string, unknown>;
    outputs: Record<string, unknown>;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    /** URNs this resource was known by before (its `aliases`): the engine moves their state to it. */
    aliases: string[];
}

export interface ProgramRun {
    resources: RecordedResource[];
    outputs: Record<string, unknown>;
}

export interface RunProgramOptions extends FakeAwsOptions {
    project: string;
    stack: string;
    /** Stack configuration as in Pulumi.<stack>.yaml: `project:key` or `provider:key` to value. */
    config?: Record<string, unknown>;
    /** Organization name, used by StackReferences written as `org/project/stack`. */
    organization?: string;
    /** Keep stack traces of errors raised during the run (slower: see runProgram). */
    keepStackTraces?: boolean;
    /**
     * Run as `pulumi preview` (dryRun) instead of `pulumi up`: resources the program creates get
     * unknown IDs and computed outputs (see offline/preview.ts); recorded inputs carry unknowns
     * in the wire form a policy pack receives.
     */
    preview?: boolean;
    /**
     * Receives what the program logs (pulumi.log.* and console output) instead of the console:
     * Pulumi's SDK writes its log to the console when no engine runs.
     */
    log?: ProgramLog;
}

export type LogSeverity = "debug" | "info" | "warning" | "error";
export type ProgramLog = (severity: LogSeverity, message: string) => void;

/**
 * Sends console output to `log` until the returned function is called. Without an engine the SDK
 * prints `<severity>: [runtime] <message>` through console.log (debug, info), console.warn and
 * console.error; anything else a program prints is info, as the engine shows it.
 */
function captureConsole(log: ProgramLog): () => void {
    const saved = { log: console.log, info: console.info, warn: console.warn, error: console.error };
    const to = (fallback: LogSeverity) => (...args: unknown[]) => {
        const text = format(...args);
        const sdk = /^(debug|info|warning|error): \[runtime\] ([\s\S]*)$/.exec(text);
        if (sdk) log(sdk[1] as LogSeverity, sdk[2]!);
        else log(fallback, text);
    };
    console.log = to("info");
    console.info = to("info");
    console.warn = to("warning");
    console.error = to("error");
    return () => Object.assign(console, saved);
}

/** The parts of RegisterResourceRequest (protobuf) the recorder reads. */
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getProvider(): string;
    getDependenciesList(): string[];
    getObject(): unknown;
    getPropertydependenciesMap(): { forEach(cb: (value: { getUrnsList(): string[] }, key: string) => void): void };
    getAliasesList(): AliasMessage[];
}
/** An alias as the SDK sends it: a URN, or a spec whose unset parts are the resource's own. */
interface AliasMessage {
    getUrn(): string;
    getSpec():
        | { getName(): string; getType(): string; getStack(): string; getProject(): string; getParenturn(): string; getNoparent(): boolean }
        | undefined;
}
/** The parts of ReadResourceRequest (protobuf) the recorder reads. */
interface ReadRequest {
    getType(): string;
    getName(): string;
    getId(): string;
    getParent(): string;
    getProvider(): string;
    getProperties(): unknown;
    getDependenciesList(): string[];
}
interface ReadResponse {
    getUrn(): string;
}
interface RegisterResponse {
    getUrn(): string;
    getId(): string;
}
type Callback = (err: unknown, response: unknown) => void;

/** Pulumi's mock monitor, plus a record of the graph facts the plain Mocks interface does not see. */
class RecordingMonitor extends MockMonitor {
    readonly recorded: RecordedResource[] = [];

    constructor(private readonly fake: FakeAws) {
        super(fake);
    }

    /** Reads (`StackReference`, `Resource.get`) are part of the graph too. */
    override async readResource(req: ReadRequest, callback: Callback): Promise<void> {
        const inputs = wireUnknowns(pulumi.runtime.deserializeProperties(
            req.getProperties() as Parameters<typeof pulumi.runtime.deserializeProperties>[0],
        ) as Record<string, unknown>);
        await super.readResource(req, (err: unknown, response: unknown) => {
            if (!err && response) {
                const urn = (response as ReadResponse).getUrn();
                this.recorded.push({
                    urn,
                    type: req.getType(),
                    name: req.getName(),
                    custom: true,
                    id: req.getId() || undefined,
                    parent: req.getParent() || undefined,
                    provider: req.getProvider() || undefined,
                    inputs,
                    outputs: (this.resources.get(urn)?.state ?? {}) as Record<string, unknown>,
                    dependencies: req.getDependenciesList(),
                    propertyDependencies: {},
                    aliases: [],
                });
            }
            callback(err, response);
        });
    }

    override async registerResource(req: RegisterRequest, callback: Callback): Promise<void> {
        const dependencies = req.getDependenciesList();
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((value, key) => {
            propertyDependencies[key] = value.getUrnsList();
        });
        // The inputs as the engine (and a policy pack) sees them, deserialized the way the mock does.
        const inputs = wireUnknowns(pulumi.runtime.deserializeProperties(
            req.getObject() as Parameters<typeof pulumi.runtime.deserializeProperties>[0],
        ) as Record<string, unknown>);
        const aliases = req.getAliasesList().map((alias) => aliasUrn(alias, req));
        // An alias to another name (a renamed or moved resource) carries that resource's state.
        const formerName = aliases.map((urn) => urn.split("::").slice(3).join("::")).find((name) => name !== req.getName());
        if (formerName !== undefined) this.fake.tookOverStateOf(req.getType(), req.getName(), formerName);
        await super.registerResource(req, (err: unknown, response: unknown) => {
            if (!err && response) {
                const res = response as RegisterResponse;
                const urn = res.getUrn();
                const stored = this.resources.get(urn);
                this.recorded.push({
                    urn,
                    type: req.getType(),
                    name: req.getName(),
                    custom: req.getCustom(),
                    id: res.getId() || undefined,
                    parent: req.getParent() || undefined,
                    provider: req.getProvider() || undefined,
                    inputs,
                    outputs: (stored?.state ?? {}) as Record<string, unknown>,
                    dependencies,
                    propertyDependencies,
                    aliases,
                });
            }
            callback(err, response);
        });
    }
}

/** The URN an alias names, built the way the mock monitor builds URNs (parent's type, then the type). */
function aliasUrn(alias: AliasMessage, req: RegisterRequest): string {
    const spec = alias.getSpec();
    if (alias.getUrn() || spec === undefined) return alias.getUrn();
    const parent = spec.getNoparent() ? "" : spec.getParenturn() || req.getParent();
    const type = parent ? `${parent.split("::")[2]!.split("$").pop()}$${spec.getType() || req.getType()}` : spec.getType() || req.getType();
    return `urn:pulumi:${spec.getStack() || pulumi.getStack()}::${spec.getProject() || pulumi.getProject()}::${type}::${spec.getName() || req.getName()}`;
}

/**
 * Runs a Pulumi program under the mock runtime against the fake cloud and returns every resource
 * it registered and the stack outputs. Used by `npm start` (the offline plan) and by the tests.
 * Runs are sequential: the Pulumi runtime is process-global.
 */
export async function runProgram(
    program: () => Promise<Record<string, unknown> | void> | Record<string, unknown> | void,
    options: RunProgramOptions,
): Promise<ProgramRun> {
    const preview = options.preview ?? false;
    // In a preview (dryRun) the fake cloud answers as the engine does: unknown IDs and outputs for what it would create.
    const fake = new FakeAws(options);
    await pulumi.runtime.setMocks(fake, options.project, options.stack, preview, options.organization);
    const monitor = new RecordingMonitor(fake);
    pulumi.runtime.setMockOptions(monitor, options.project, options.stack, preview, options.organization);

    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(options.config ?? {})) {
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    pulumi.runtime.setAllConfig(config);

    // The Pulumi language host fails a program on any unhandled rejection: that is how an error
    // thrown inside an apply (e.g. a component's check of a value that arrived as an Output)
    // surfaces. Do the same, and stop waiting, since the failed registration never completes.
    const previousListeners = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    let onUnhandled: (reason: unknown) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => {
        onUnhandled = reject;
    });
    failed.catch(() => undefined);
    process.on("unhandledRejection", onUnhandled);

    // Pulumi's SDK records `new Error().stack` on every promise it creates (for its leak report),
    // and under ts-node every stack is source-mapped: most of a run's time. Errors keep their
    // messages, which is what the plan reports; without a stack the capture costs nothing.
    const stackTraceLimit = Error.stackTraceLimit;
    if (!options.keepStackTraces) Error.stackTraceLimit = 0;

    let outputs: Record<string, unknown> | undefined;
    let completed = false;
    const restoreConsole = options.log ? captureConsole(options.log) : undefined;
    try {
        const run = pulumi.runtime.runInPulumiStack(async () => (await program()) ?? {});
        outputs = (await Promise.race([run, failed])) as Record<string, unknown> | undefined;
        // Wait for every outstanding registration so the record is complete, then detach.
        await Promise.race([pulumi.runtime.disconnect(), failed]);
        // Node reports unhandled rejections after the microtask queue drains: give a failure
        // that settled together with the last registration the chance to be seen.
        await Promise.race([new Promise((resolve) => setTimeout(resolve, 0)), failed]);
        completed = true;
    } finally {
        if (!completed) {
            // The failed run leaves registrations that will never finish; drop them with the
            // runtime state so the next run (and the exit-time leak report) starts clean.
            pulumi.runtime.resetOptions(options.project, options.stack, -1, "", "", preview, options.organization ?? "");
            // Other Outputs built on the failed value (a component's later-built resources, its
            // outputs) reject a few turns later: the same failure, not the next run's. Absorb them
            // for a moment instead of handing them to whichever run starts next.
            process.removeListener("unhandledRejection", onUnhandled);
            const absorb = (): void => undefined;
            process.on("unhandledRejection", absorb);
            await new Promise((resolve) => setTimeout(resolve, 50));
            process.removeListener("unhandledRejection", absorb);
        }
        restoreConsole?.();
        Error.stackTraceLimit = stackTraceLimit;
        process.removeListener("unhandledRejection", onUnhandled);
        for (const listener of previousListeners) process.on("unhandledRejection", listener);
    }
    if (pulumi.log.hasErrors()) {
        throw new Error("the program logged errors (see above); Pulumi would fail this deployment");
    }
    return { resources: monitor.recorded, outputs: wireUnknowns(outputs ?? {}) };
}
