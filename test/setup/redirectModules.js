// Preloaded (`node -r`) by the test runs that swap a dependency for another install of it: every
// `require` of a redirected package, ours and our dependencies' alike, resolves to the copy in
// the directory its environment variable names, so one instance serves the whole process.
// - PULUMI_SDK_DIR (`npm run test:sdk-latest`): @pulumi/pulumi, the newest 3.x, which needs Node 22.
// - SSH2_NODE22_DIR (`npm run test:node22`, connector suites): ssh2 with its native crypto binding
//   built for Node 22; the same version, which connector/ssh2/internals.ts checks.
"use strict";
const Module = require("node:module");
const path = require("node:path");

const redirects = [
    { name: "@pulumi/pulumi", dir: process.env.PULUMI_SDK_DIR },
    { name: "ssh2", dir: process.env.SSH2_NODE22_DIR },
].filter((r) => r.dir);

if (redirects.length > 0) {
    const original = Module._resolveFilename;
    Module._resolveFilename = function (request, parent, isMain, options) {
        for (const { name, dir } of redirects) {
            if (request === name || request.startsWith(`${name}/`)) {
                return original.call(this, request, parent, isMain, { paths: [path.join(dir, "node_modules")] });
            }
        }
        return original.call(this, request, parent, isMain, options);
    };
}
