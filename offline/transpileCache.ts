// Imported first by offline/cli.ts. `npm start` runs under ts-node (transpile-only), which
// transpiles every TypeScript file of the project again in every process: about half of a warm
// `npm start`. This keeps each file's output in node_modules/.cache/offline-plan, keyed by the
// file's name and text, the TypeScript version and tsconfig.json, so a second run transpiles only
// what changed. Without ts-node (compiled, or another loader) it does nothing.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

interface TsNodeService {
    compile(code: string, fileName: string, lineOffset?: number): string;
}

const service = (process as unknown as Record<symbol, TsNodeService | undefined>)[Symbol.for("ts-node.register.instance")];
if (service && process.env.FIREFLY_TRANSPILE_CACHE !== "off") {
    const root = path.resolve(__dirname, "..");
    const dir = path.join(root, "node_modules", ".cache", "offline-plan");
    const salt = [
        (require("typescript/package.json") as { version: string }).version,
        fs.existsSync(path.join(root, "tsconfig.json")) ? fs.readFileSync(path.join(root, "tsconfig.json"), "utf8") : "",
    ].join("\0");
    const compile = service.compile.bind(service);
    service.compile = (code, fileName, lineOffset = 0) => {
        const key = crypto.createHash("sha256").update(`${salt}\0${fileName}\0${lineOffset}\0${code}`).digest("hex");
        const file = path.join(dir, `${key}.js`);
        try {
            return fs.readFileSync(file, "utf8");
        } catch {
            const output = compile(code, fileName, lineOffset);
            try {
                fs.mkdirSync(dir, { recursive: true });
                // Write then rename: a concurrent run never reads half a file.
                fs.writeFileSync(`${file}.${process.pid}`, output);
                fs.renameSync(`${file}.${process.pid}`, file);
            } catch {
                // A read-only checkout runs uncached.
            }
            return output;
        }
    };
}
