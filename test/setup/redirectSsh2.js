// Preloaded (`node -r`) by `npm run test:node22` for the connector's data-path suites: every
// `require("ssh2…")` in the process resolves to the copy in SSH2_NODE22_DIR, whose native crypto
// binding was built for Node.js 22 (test/setup/node22.js), instead of the lockfile's copy, built
// for the Node that ran `npm ci`. Same ssh2 version: connector/ssh2/internals.ts checks it.
"use strict";
const Module = require("node:module");
const path = require("node:path");

const dir = process.env.SSH2_NODE22_DIR;
if (dir) {
    const original = Module._resolveFilename;
    Module._resolveFilename = function (request, parent, isMain, options) {
        if (request === "ssh2" || request.startsWith("ssh2/")) {
            return original.call(this, request, parent, isMain, { paths: [path.join(dir, "node_modules")] });
        }
        return original.call(this, request, parent, isMain, options);
    };
}
