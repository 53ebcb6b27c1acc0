import * as assert from "node:assert/strict";

/** One way a component's arguments can be wrong: what, the change to valid args, the expected message. */
export type ArgumentCase<Args> = [what: string, overrides: Partial<Args>, expected: RegExp];

/**
 * Declares one test per case: building the component with the changed args throws a
 * ComponentArgumentError that starts with the component and resource name and says `expected`.
 */
export function itRefuses<Args>(label: string, build: (overrides: Partial<Args>) => unknown, cases: ArgumentCase<Args>[]): void {
    for (const [what, overrides, expected] of cases) {
        it(`refuses ${what}`, () => {
            assert.throws(() => build(overrides), (err: Error) => {
                assert.equal(err.name, "ComponentArgumentError");
                assert.ok(err.message.startsWith(`${label}: `), `message starts with ${label}: ${err.message}`);
                assert.match(err.message, expected);
                return true;
            });
        });
    }
}
