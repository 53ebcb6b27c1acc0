import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { fieldOf, isStructurePlain, Known, mergeTags, plainHere, readyWhen, settingWithDefault } from "../../../components/shared/known";
import { ArgChecker, ComponentArgumentError } from "../../../components/shared/validation";

/** The value an Output resolves to, or the error its apply threw. */
const settle = <T>(value: pulumi.Input<T>): Promise<T> =>
    new Promise((resolve, reject) => {
        pulumi.output(value).apply((v) => resolve(v as T));
        (pulumi.output(value) as unknown as { promise(): Promise<T> }).promise().catch(reject);
    });

const checker = () => new ArgChecker("private-connectivity:index:Test", "t");
const portsMessage = /private-connectivity:index:Test "t": ports must not contain 0/;

describe("shared now-or-later values for Inputs (known.ts)", () => {
    it("isStructurePlain finds Outputs and Promises at any depth, but not under passThrough keys", () => {
        assert.equal(isStructurePlain([{ port: 443, certificateArn: "arn" }]), true);
        assert.equal(isStructurePlain([{ port: pulumi.output(443) }]), false);
        assert.equal(isStructurePlain({ a: [Promise.resolve(1)] }), false);
        assert.equal(isStructurePlain(pulumi.output(1)), false);
        assert.equal(isStructurePlain([{ port: 443, certificateArn: pulumi.output("arn") }], { passThrough: ["certificateArn"] }), true);
    });

    it("isStructurePlain wants elementsPassThrough keys to be plain lists (or absent) whose elements may be Outputs", () => {
        const keys = { elementsPassThrough: ["cidrs"] };
        assert.equal(isStructurePlain({ cidrs: [pulumi.output("10.0.0.0/16"), "10.1.0.0/16"] }, keys), true);
        assert.equal(isStructurePlain({ cidrs: undefined }, keys), true);
        assert.equal(isStructurePlain({ cidrs: pulumi.output(["10.0.0.0/16"]) }, keys), false);
        assert.equal(isStructurePlain({ cidrs: [pulumi.output("10.0.0.0/16")] }), false, "without the key the elements are searched");
    });

    it("from builds now from plain values (errors at construction) and after resolution from Outputs, with the same message", async () => {
        const calls: number[][] = [];
        const build = (ports: number[]) => {
            if (ports.includes(0)) checker().fail("ports", "must not contain 0");
            calls.push(ports);
            return ports.length;
        };
        const now = Known.from<number[], number>([1, 2], {}, build);
        assert.equal(now.isNow, true);
        assert.deepEqual(calls, [[1, 2]], "built synchronously");
        assert.equal(await settle(now.output((n) => n)), 2);
        assert.throws(() => Known.from<number[], number>([0], {}, build), portsMessage);

        const later = Known.from<number[], number>(pulumi.output([3]), {}, build);
        assert.equal(later.isNow, false);
        assert.equal(await settle(later.output((n) => n)), 1);
        assert.deepEqual(calls[1], [3]);
        await assert.rejects(settle(Known.from<number[], number>(pulumi.output([0]), {}, build).output((n) => n)), (e: unknown) => e instanceof ComponentArgumentError && portsMessage.test(e.message));
    });

    it("from hands passThrough and elementsPassThrough values to build as they are", () => {
        const arn = pulumi.output("arn:aws:acm:eu-west-1:123456789012:certificate/x");
        const cidr = pulumi.output("10.0.0.0/16");
        const built = Known.from<{ arn: unknown; cidrs: unknown[] }, { arn: unknown; cidrs: unknown[] }>({ arn, cidrs: [cidr] }, { passThrough: ["arn"], elementsPassThrough: ["cidrs"] }, (s) => s);
        assert.equal(built.isNow, true);
        const value = built.asInput() as { arn: unknown; cidrs: unknown[] };
        assert.equal(value.arn, arn);
        assert.equal(value.cidrs[0], cidr);
    });

    it("map and input keep plain results plain; a later value gives Outputs", async () => {
        const now = Known.now(2).map((n) => n * 10);
        assert.equal(now.asInput(), 20);
        assert.equal(now.input((n) => [n]).toString(), "20", "input of a value known now is f's result as it is");
        const later = Known.of(pulumi.output(2)).map((n) => n * 10);
        assert.ok(pulumi.Output.isInstance(later.asInput()));
        assert.equal(await settle(later.input((n) => n + 1)), 21);
        assert.equal(await settle(later.output((n) => pulumi.output(n + 2))), 22);
    });

    it("mapResolved resolves the Outputs inside a later value before f runs; map does not", async () => {
        const later = Known.of(pulumi.output(1)).map((n) => ({ inner: pulumi.output(n + 1) }));
        const seenByMap = await settle(later.map((v) => pulumi.Output.isInstance(v.inner)).asInput());
        const seenByMapResolved = await settle(later.mapResolved((v) => v.inner as unknown as number).asInput());
        assert.equal(seenByMap, true);
        assert.equal(seenByMapResolved, 2);
    });

    it("outputResolved gives an Output either way, f seeing the Outputs inside a later value resolved", async () => {
        assert.equal(await settle(Known.now({ n: 1 }).outputResolved((v) => v.n + 1)), 2);
        const later = Known.of(pulumi.output(1)).map((n) => ({ inner: pulumi.output(n + 1) }));
        assert.equal(await settle(later.outputResolved((v) => (v.inner as unknown as number) + 1)), 3);
    });

    it("fromArgs builds now when every argument is ready, else resolves only the arguments that are not", async () => {
        const target = pulumi.output("10.0.0.5");
        const ready = { targets: readyWhen.plainArray, ports: readyWhen.structurePlain(), name: readyWhen.plain };
        const seen: unknown[] = [];
        const now = Known.fromArgs({ targets: [target], ports: [443], name: "a" }, ready, (args) => {
            seen.push(args);
            return args.ports.length;
        });
        assert.equal(now.isNow, true);
        assert.equal(now.asInput(), 1);
        assert.equal((seen[0] as { targets: unknown[] }).targets[0], target, "ready arguments are used as given");

        const later = Known.fromArgs({ targets: [target], ports: pulumi.output([443, 8443]) as pulumi.Input<number[]>, name: "b" }, ready, (args) => {
            seen.push(args);
            return args.ports.length;
        });
        assert.equal(later.isNow, false);
        assert.equal(await settle(later.output((n) => n)), 2);
        const resolved = seen[1] as { targets: unknown[]; ports: number[]; name: string };
        assert.deepEqual(resolved.ports, [443, 8443]);
        assert.equal(resolved.targets[0], target, "a ready argument keeps its Output elements while others resolve");
        assert.equal(resolved.name, "b");
    });

    it("fromArgs throws the same message now and later", async () => {
        const use = ({ port }: { port: number }) => checker().port("port", port);
        assert.throws(() => Known.fromArgs({ port: 0 }, { port: readyWhen.plain }, use), /port must be an integer port between 1 and 65535 \(got 0\)/);
        await assert.rejects(settle(Known.fromArgs({ port: pulumi.output(0) as pulumi.Input<number> }, { port: readyWhen.plain }, (a) => use({ port: a.port as number })).output((p) => p)), /port must be an integer port between 1 and 65535 \(got 0\)/);
    });

    it("fromLists builds now from plain lists (absent is empty) and keeps the elements of a resolved Output list as they are", async () => {
        const element = pulumi.output("vpce-0123456789abcdef0");
        const now = Known.fromLists<string, number>([["a", element], undefined], ([a, b]) => a!.length + b!.length);
        assert.equal(now.asInput(), 2);
        const later = Known.fromLists<string, boolean>([["a"], pulumi.output(1).apply(() => [element]) as unknown as pulumi.Input<pulumi.Input<string>[]>], ([, b]) => pulumi.Output.isInstance(b![0]));
        assert.equal(later.isNow, false);
        assert.equal(await settle(later.asInput()), true);
    });

    it("settingWithDefault applies the default and checks now or when it resolves, with the same message", async () => {
        const check = (value: number) => void checker().integerInRange("count", value, 1, 5);
        assert.equal(settingWithDefault<number>(undefined, 2, check), 2);
        assert.equal(settingWithDefault<number>(3, 2, check), 3);
        assert.throws(() => settingWithDefault<number>(9, 2, check), /count must be an integer between 1 and 5 \(got 9\)/);
        assert.equal(await settle(settingWithDefault<number>(pulumi.output<number | undefined>(undefined), 2, check)), 2);
        await assert.rejects(settle(settingWithDefault<number>(pulumi.output(9), 2, check)), /count must be an integer between 1 and 5 \(got 9\)/);
        assert.throws(() => settingWithDefault<number>(null as unknown as number, 2, check), /got null/, "null is a value unless nullIsAbsent");
        assert.equal(settingWithDefault<number>(null as unknown as number, 2, check, { nullIsAbsent: true }), 2);
    });

    it("fieldOf, mergeTags and plainHere", async () => {
        assert.equal(fieldOf<{ a?: number }, "a">({ a: 1 }, "a"), 1);
        assert.equal(fieldOf<{ a?: number }, "a">(undefined, "a"), undefined);
        assert.equal(await settle(fieldOf<{ a?: number }, "a">(pulumi.output({ a: 4 }), "a") as pulumi.Output<number>), 4);
        assert.deepEqual(mergeTags({ team: "x" }, { Name: "n" }), { team: "x", Name: "n" });
        assert.deepEqual(mergeTags(undefined), {});
        assert.deepEqual(await settle(mergeTags(pulumi.output({ team: "x" }), { Name: "n" })), { team: "x", Name: "n" });
        assert.equal(plainHere("v"), "v");
        assert.throws(() => plainHere(pulumi.output("v")), /internal error/);
    });
});
