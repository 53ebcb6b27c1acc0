// The test command runs most suites twice: on the machine's Node (20) and again on Node 22
// (test/setup/node22.js, which sets FIREFLY_TEST_PASS=node22). A test whose work runs entirely in
// a subprocess started on the machine's own Node (`node` from PATH, node_modules/.bin/tsc, npm)
// does exactly the same thing in both passes; the second pass skips it (reported as pending) to
// keep the suite inside its time budget.

/** True in the Node 22 pass of test/setup/node22.js. */
export const secondNodePass = process.env.FIREFLY_TEST_PASS === "node22";

/** Skips the current test in the Node 22 pass: its work runs on the machine's Node whichever Node runs mocha. */
export function skipInSecondNodePass(test: Mocha.Context): void {
    if (secondNodePass) test.skip();
}
