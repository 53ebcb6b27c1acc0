import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { stackConfigJsonSchemas } from "../../stacks/config";
import { schemaFields } from "../helpers/jsonSchema";
import { markdownSection } from "../helpers/markdown";

// The README's "Configuration" (and the tunnel's "Configuration: `tunnel`") is what a user
// writes Pulumi.<stack>.yaml from; stacks/config.ts is what the program accepts. Every key the
// program accepts, at any depth, must be named there (in backticks: a table row, or the
// `{ field, … }` shape a row gives for an object), in the tables of TunnelConnector and
// TunnelRelay for the tunnel keys, which take those components' argument shapes, or, for the
// private API's routes, integrations and authorizers, in components/api/README.md, which the
// routes row points to.
const root = resolve(__dirname, "..", "..");
const readme = readFileSync(resolve(root, "README.md"), "utf8");
const docs = [
    markdownSection(readme, "## Configuration"),
    markdownSection(readme, "### Configuration: `tunnel`"),
    // The tunnel keys take the components' argument shapes, documented with the components.
    markdownSection(readme, "### TunnelConnector"),
    markdownSection(readme, "### TunnelRelay"),
    readFileSync(resolve(root, "components", "api", "README.md"), "utf8"),
];
/** Every word inside a backtick span of the docs. */
const named = new Set(docs.flatMap((text) => [...text.matchAll(/`([^`\n]+)`/g)].flatMap((m) => m[1]!.match(/[A-Za-z_][\w]*/g) ?? [])));

describe("README's stack configuration reference", () => {
    const schemas = stackConfigJsonSchemas();

    for (const role of ["customer", "firefly"] as const) {
        it(`names every key a ${role} stack accepts`, () => {
            const fields = schemaFields(schemas[role]);
            const paths = fields.map((f) => f.path);
            // A check on the walk itself: it reaches nested and listed keys.
            for (const path of role === "customer" ? ["privateLink.listeners[].healthCheck.intervalSeconds", "tunnel.identity"] : ["customers[].connectivityCheck.runFrom", "tunnel.customers[].listen"]) {
                assert.ok(paths.includes(path), `${path} in ${paths.join(", ")}`);
            }
            const missing = fields.filter((f) => !named.has(f.name)).map((f) => f.path);
            assert.deepEqual(missing, [], `keys a ${role} stack accepts that the README does not name`);
        });
    }
});
