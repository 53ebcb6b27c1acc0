// The test command runs suites more than once: on the machine's Node (20), then again on Node 22
// (test/setup/node22.js) and on Node 22 with the newest Pulumi SDK (test/setup/sdkLatest.js); the
// repeat passes set FIREFLY_TEST_PASS. A test whose work runs entirely in a subprocess on the
// machine's own Node (`node` from PATH, node_modules/.bin/tsc, npm) does exactly the same thing
// in every pass; the repeat passes skip it (reported as pending) to keep the suite inside its time
// budget.

/** True in a repeat pass (FIREFLY_TEST_PASS names it: node22 or sdk-latest). */
export const repeatPass = process.env.FIREFLY_TEST_PASS !== undefined;

/** Skips the current test in a repeat pass: its work runs on the machine's Node whichever Node runs mocha. */
export function skipInRepeatPass(test: Mocha.Context): void {
    if (repeatPass) test.skip();
}
