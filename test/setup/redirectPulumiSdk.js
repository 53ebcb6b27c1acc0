// Preloaded (`node -r`) by `npm run test:sdk-latest`: every `require("@pulumi/pulumi…")` in the
// process, ours and @pulumi/aws's alike, resolves to the SDK installed in PULUMI_SDK_DIR (the newest
// 3.x, which needs Node.js 22) instead of the lockfile's, so one SDK instance serves the whole run.
"use strict";
const Module = require("node:module");
const path = require("node:path");

const dir = process.env.PULUMI_SDK_DIR;
if (dir) {
    const original = Module._resolveFilename;
    Module._resolveFilename = function (request, parent, isMain, options) {
        if (request === "@pulumi/pulumi" || request.startsWith("@pulumi/pulumi/")) {
            return original.call(this, request, parent, isMain, { paths: [path.join(dir, "node_modules")] });
        }
        return original.call(this, request, parent, isMain, options);
    };
}
