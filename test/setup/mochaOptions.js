// package.json's mocha options as command-line arguments, for the steps that run mocha with
// `--no-package` over their own suites (lane 2's step in passes.js, the Node 22 pass in node22.js):
// they take every option lane 1's mocha reads from package.json, so raising its timeout or adding a
// `--require` there reaches them too.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..", "..");

/**
 * package.json's mocha options, all but `spec` (which would add every suite again), with
 * `overrides` (same keys as the config) taking the place of the config's values.
 */
function mochaOptionsWithoutSpec(overrides = {}) {
    const config = { ...(JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).mocha ?? {}), ...overrides };
    return Object.entries(config).flatMap(([key, value]) => {
        if (key === "spec") return [];
        if (value === true) return [`--${key}`];
        if (value === false) return [`--no-${key}`];
        return (Array.isArray(value) ? value : [value]).flatMap((item) => [`--${key}`, String(item)]);
    });
}

module.exports = { mochaOptionsWithoutSpec };
