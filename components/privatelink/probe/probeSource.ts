import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The probe module as one CommonJS file, ready to ship as a Lambda's `index.js` or to pipe into
 * `node -` on the deploy runner. From the built package the compiled file is read; when the
 * program runs from TypeScript sources (`pulumi up` in this repository) it is transpiled the same
 * way. The module only imports Node built-ins, so the one file is the whole program.
 */
export function probeModuleSource(): string {
    const compiled = path.join(__dirname, "connectivityProbe.js");
    if (fs.existsSync(compiled)) return withoutSourceMap(fs.readFileSync(compiled, "utf8"));

    const source = fs.readFileSync(path.join(__dirname, "connectivityProbe.ts"), "utf8");
    // Only reachable from sources, where TypeScript is installed (ts-node runs the program).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts = require("typescript") as typeof import("typescript");
    const output = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
        fileName: "connectivityProbe.ts",
    });
    return withoutSourceMap(output.outputText);
}

/** A script for `node -` that runs one probe event (from FIREFLY_PROBE_EVENT) and prints the outcome. */
export function probeRunnerScript(): string {
    return `${probeModuleSource()}
;(function run() {
    const event = JSON.parse(process.env.FIREFLY_PROBE_EVENT || "{}");
    module.exports.handler(event).then(
        (outcome) => { process.stdout.write(JSON.stringify(outcome) + "\\n"); },
        (err) => { process.stderr.write(String(err && err.message || err) + "\\n"); process.exitCode = 1; },
    );
})();
`;
}

function withoutSourceMap(code: string): string {
    return code.replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
}
