import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ArgChecker } from "../../../components/shared/validation";

/** The value an Output resolves to, or the error its apply threw. */
const settle = <T>(value: pulumi.Input<T>): Promise<T> =>
    new Promise((resolve, reject) => {
        pulumi.output(value).apply((v) => resolve(v as T));
        // An apply that throws rejects the Output's promise; surface it to the test.
        (pulumi.output(value) as unknown as { promise(): Promise<T> }).promise().catch(reject);
    });

describe("shared argument checks for Inputs (validation.ts)", () => {
    const checker = () => new ArgChecker("private-connectivity:index:Test", "t");

    it("subnetIdList takes an awsx-style Output<string[]> and checks it when it resolves, naming the element", async () => {
        const c = checker();
        const fix = "give the private subnets";
        assert.deepEqual(await settle(c.subnetIdList("subnetIds", pulumi.output(["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]), fix)), [
            "subnet-0123456789abcdef0",
            "subnet-0123456789abcdef1",
        ]);
        await assert.rejects(settle(c.subnetIdList("subnetIds", pulumi.output(["subnet-0123456789abcdef0", "sg-0123456789abcdef0"]), fix)), /subnetIds\[1\] must be a subnet ID like subnet-0123456789abcdef0 \(got "sg-0123456789abcdef0"\)/);
        await assert.rejects(settle(c.subnetIdList("subnetIds", pulumi.output([] as string[]), fix)), /subnetIds must list at least one entry; give the private subnets/);
        await assert.rejects(settle(c.subnetIdList("subnetIds", pulumi.output(["subnet-0123456789abcdef0", "subnet-0123456789abcdef0"]), fix)), /subnetIds\[1\] repeats "subnet-0123456789abcdef0"/);
        // Plain lists fail at once, elements that are Outputs when they resolve.
        assert.throws(() => c.subnetIdList("subnetIds", ["vpc-0123456789abcdef0"], fix), /subnetIds\[0\] must be a subnet ID/);
        assert.throws(() => c.subnetIdList("subnetIds", [], fix), /subnetIds must list at least one entry/);
        // A plain value that is not a list is refused now; an absent required list too.
        assert.throws(() => c.subnetIdList("subnetIds", "subnet-0123456789abcdef0" as unknown as string[], fix), /subnetIds must be a list \(got "subnet-0123456789abcdef0"\); give the private subnets/);
        assert.throws(() => c.subnetIdList("subnetIds", undefined, fix), /subnetIds must be a list \(got nothing\); give the private subnets/);
        assert.deepEqual(c.securityGroupIdList("securityGroupIds", undefined, "pass a list"), [], "an optional absent list is empty");
        await assert.rejects(settle(c.subnetIdList("subnetIds", pulumi.output(undefined as unknown as string[]), fix)), /subnetIds must be a list \(got nothing\)/);
        const mixed = c.subnetIdList("subnetIds", ["subnet-0123456789abcdef0", pulumi.output("nope")], fix) as pulumi.Input<string>[];
        await assert.rejects(settle(mixed[1]!), /subnetIds\[1\] must be a subnet ID like subnet-0123456789abcdef0 \(got "nope"\)/);
    });
});
