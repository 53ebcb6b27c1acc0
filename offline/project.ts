import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

/**
 * A Pulumi project on disk, read the way the CLI reads it: `Pulumi.yaml` gives the name, the
 * program (`main`, default the project directory) and where the stack settings files live
 * (`stackConfigDir`, default the project directory).
 */
export interface PulumiProject {
    name: string;
    dir: string;
    /** The program's entry: a file or a directory Node resolves (its index / package.json main). */
    main: string;
    stackConfigDir: string;
}

/** This repository's project: Pulumi.yaml at the repository root. */
export const repositoryRoot = path.resolve(__dirname, "..");

export function readProject(dir: string = repositoryRoot): PulumiProject {
    const file = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
    if (!file) throw new ProjectError(`${dir} has no Pulumi.yaml: give the directory of a Pulumi project`);
    const doc = (parseYaml(fs.readFileSync(file, "utf8")) ?? {}) as Record<string, unknown>;
    const name = doc.name;
    if (typeof name !== "string" || name.length === 0) throw new ProjectError(`${file}: "name" is missing; every Pulumi project names itself`);
    const runtime = typeof doc.runtime === "string" ? doc.runtime : (doc.runtime as { name?: unknown } | undefined)?.name;
    if (runtime !== "nodejs") {
        throw new ProjectError(`${file}: runtime is ${JSON.stringify(runtime)}; the offline plan runs Node.js programs only (runtime: nodejs)`);
    }
    const main = typeof doc.main === "string" ? doc.main : ".";
    const stackConfigDir = typeof doc.stackConfigDir === "string" ? doc.stackConfigDir : ".";
    return { name, dir, main: path.resolve(dir, main), stackConfigDir: path.resolve(dir, stackConfigDir) };
}

/**
 * The offline plan runs a program under this checkout's `@pulumi/pulumi`: its mock runtime is
 * process-wide state of that one copy. A project must therefore resolve the very same copy (and
 * the providers next to it): one inside this checkout does, through the checkout's node_modules;
 * one elsewhere finds none, or its own copy, whose resources would never reach the mocks.
 * Refuses such a project up front, saying why and what to do.
 */
export function checkSharedPulumiPackages(project: PulumiProject, packages = ["@pulumi/pulumi", "@pulumi/aws"]): void {
    for (const name of packages) {
        const ours = require.resolve(name);
        let theirs: string | undefined;
        try {
            // Resolved as the program's entry resolves it (its `main` may live elsewhere than Pulumi.yaml).
            const from = fs.existsSync(project.main) && fs.statSync(project.main).isDirectory() ? project.main : path.dirname(project.main);
            theirs = require.resolve(name, { paths: [from] });
        } catch {
            theirs = undefined;
        }
        if (theirs === ours) continue;
        const where = path.relative(repositoryRoot, project.main).startsWith("..") ? `${project.dir} is outside this checkout (${repositoryRoot}), so` : "";
        throw new ProjectError(
            `${where} its program cannot use this checkout's ${name} (${theirs === undefined ? "Node finds no copy from there" : `Node finds another copy, ${theirs}`}); the offline plan's mock runtime lives in this checkout's @pulumi/pulumi and sees only resources created through it. Place the project inside this checkout (e.g. ${path.join(repositoryRoot, "projects", path.basename(project.dir))}) without its own node_modules, then run npm start -- --project <that directory>`.trim(),
        );
    }
}

export type StackProgram = () => Promise<Record<string, unknown>>;

export interface LoadProgramOptions {
    /**
     * Start each run from a fresh module cache for the project's own files (default `true`), so
     * that top-level code runs again, as it does in every `pulumi up`: a program written as
     * top-level statements registers its resources on every run, and no module state carries over.
     * `false` keeps the modules loaded after the first run: only for a program that exports a
     * function and keeps no module state, where it saves re-transpiling the project (about 0.5 s
     * per run of this repository's stacks under ts-node).
     */
    reloadModules?: boolean;
}

/**
 * The program as the Node.js language host runs it: require the entry; if it exports a function,
 * call it and await the result; the result (or else the module's exports) are the stack outputs.
 */
export function loadProgram(project: PulumiProject, options: LoadProgramOptions = {}): StackProgram {
    const reloadModules = options.reloadModules ?? true;
    return async () => {
        if (reloadModules) {
            for (const cached of Object.keys(require.cache)) {
                if (cached.startsWith(project.dir + path.sep) && !cached.includes(`${path.sep}node_modules${path.sep}`)) {
                    delete require.cache[cached];
                }
            }
        }
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const loaded: unknown = require(project.main);
        const entry = (loaded as { default?: unknown } | undefined)?.default ?? loaded;
        const result: unknown = typeof entry === "function" ? await (entry as () => unknown)() : entry;
        return isRecord(result) ? { ...result } : {};
    };
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

export class ProjectError extends Error {}
