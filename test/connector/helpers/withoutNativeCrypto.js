// Preload (`node -r`) that makes ssh2's native crypto binding fail to load, as on a host where it
// was never built: ssh2 then runs its fallback through Node's crypto. Plain JavaScript because it
// runs before anything else is loaded.
"use strict";
const Module = require("node:module");
const load = Module._load;
Module._load = function (request, parent, isMain) {
    if (typeof request === "string" && request.endsWith("sshcrypto.node")) {
        throw new Error("ssh2's native crypto binding is hidden by test/connector/helpers/withoutNativeCrypto.js");
    }
    return load.call(this, request, parent, isMain);
};
