import * as assert from "node:assert/strict";
import { checkInputLimits, type LimitCheck } from "../../offline/awsLimits";
import { AwsRuleError } from "../../offline/awsRuleError";
import * as aws from "@pulumi/aws";
import { deploy } from "../helpers/pulumi";

// The single-value limits of the offline cloud (offline/awsLimits.ts), edge by edge; the fixture
// stacks (test/fixtures/aws-rules, awsRules.test.ts) show each refusal through npm start.
const lb = "aws:lb/loadBalancer:LoadBalancer";
const tg = "aws:lb/targetGroup:TargetGroup";
const role = "aws:iam/role:Role";
const logGroup = "aws:cloudwatch/logGroup:LogGroup";
const sg = "aws:ec2/securityGroup:SecurityGroup";
const ingress = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

/** A resource being created: Pulumi would name it `<name>-abcdef1`. */
function creating(type: string, name: string, inputs: Record<string, unknown> = {}): LimitCheck {
    return { type, name, inputs, autoName: `${name}-abcdef1` };
}

function refusal(check: LimitCheck): AwsRuleError {
    try {
        checkInputLimits(check);
    } catch (err) {
        if (err instanceof AwsRuleError) return err;
        throw err;
    }
    assert.fail(`accepted ${check.type} "${check.name}" ${JSON.stringify(check.inputs)}`);
}

describe("offline cloud: limits on single values", () => {
    describe("load-balancer-name (NLBs and target groups)", () => {
        it("accepts a logical name of 24 characters (32 with Pulumi's suffix), refuses 25", () => {
            checkInputLimits(creating(lb, "a".repeat(24)));
            checkInputLimits(creating(tg, "b".repeat(24)));
            const e = refusal(creating(lb, "a".repeat(25)));
            assert.equal(e.rule, "load-balancer-name");
            assert.match(e.awsError, /^could not make instance of 'aws:lb\/loadBalancer:LoadBalancer': name 'a{25}-' plus 7 random chars is longer than maximum length 32$/);
        });
        it("refuses a generated name with a character other than a letter, digit or hyphen", () => {
            assert.match(refusal(creating(tg, "acme_tg")).awsError, /^only alphanumeric characters and hyphens allowed in "name"$/);
            assert.match(refusal(creating(lb, "acme.nlb")).awsError, /^only alphanumeric characters and hyphens allowed in "name": "acme\.nlb-abcdef1"$/);
        });
        it("checks a given name always, a generated one only for a resource being created", () => {
            checkInputLimits({ type: lb, name: "x".repeat(40), inputs: {} });
            assert.match(refusal({ type: lb, name: "short", inputs: { name: "n".repeat(33) } }).awsError, /^"name" cannot be longer than 32 characters: "n{33}"$/);
            assert.match(refusal({ type: tg, name: "short", inputs: { name: "-tg" } }).awsError, /^"name" cannot begin with a hyphen$/);
            assert.match(refusal({ type: tg, name: "short", inputs: { name: "tg-" } }).awsError, /^"name" cannot end with a hyphen$/);
            checkInputLimits(creating(tg, "x".repeat(40), { name: "n".repeat(32) }));
        });
        it("takes a namePrefix of up to 6 characters, instead of the logical name", () => {
            checkInputLimits(creating(tg, "x".repeat(40), { namePrefix: "acme-t" }));
            assert.match(refusal(creating(tg, "tg", { namePrefix: "acme-tg" })).awsError, /^"name_prefix" cannot be longer than 6 characters$/);
        });
    });

    describe("health-check-threshold-range", () => {
        it("accepts 2 to 10 healthy and unhealthy checks, refuses 1 and 11", () => {
            checkInputLimits({ type: tg, name: "tg", inputs: { healthCheck: { healthyThreshold: 2, unhealthyThreshold: 10 } } });
            checkInputLimits({ type: tg, name: "tg", inputs: {} });
            assert.match(refusal({ type: tg, name: "tg", inputs: { healthCheck: { healthyThreshold: 1 } } }).awsError, /^expected health_check\.0\.healthy_threshold to be in the range \(2 - 10\), got 1$/);
            assert.match(refusal({ type: tg, name: "tg", inputs: { healthCheck: { unhealthyThreshold: 11 } } }).awsError, /^expected health_check\.0\.unhealthy_threshold to be in the range \(2 - 10\), got 11$/);
        });
    });

    describe("iam-role-name", () => {
        it("accepts a logical name of 56 characters (64 with Pulumi's suffix), refuses 57", () => {
            checkInputLimits(creating(role, "r".repeat(56)));
            assert.match(refusal(creating(role, "r".repeat(57))).awsError, /name 'r{57}-' plus 7 random chars is longer than maximum length 64$/);
        });
        it("refuses a given name over 64 characters", () => {
            checkInputLimits({ type: role, name: "role", inputs: { name: "r".repeat(64) } });
            assert.match(refusal({ type: role, name: "role", inputs: { name: "r".repeat(65) } }).awsError, /^expected length of name to be in the range \(1 - 64\), got r{65}$/);
        });
    });

    describe("iam-role-name-characters", () => {
        it("accepts every character of [\\w+=,.@-] in a given name, refuses a space, a slash or a colon", () => {
            checkInputLimits({ type: role, name: "role", inputs: { name: "Acme_role+=,.@-9" } });
            checkInputLimits({ type: role, name: "role", inputs: { namePrefix: "acme.probe@" } });
            for (const bad of ["acme role", "acme/role", "acme:role", "akmé"]) {
                const e = refusal({ type: role, name: "role", inputs: { name: bad } });
                assert.equal(e.rule, "iam-role-name-characters");
                assert.equal(e.awsError, "invalid value for name (must match [\\w+=,.@-])");
            }
            assert.equal(refusal({ type: role, name: "role", inputs: { namePrefix: "acme role-" } }).awsError, "invalid value for name_prefix (must match [\\w+=,.@-])");
        });
        it("checks a name Pulumi generates from the logical name, for a role being created", () => {
            checkInputLimits(creating(role, "acme.probe@role"));
            const e = refusal(creating(role, "acme probe role"));
            assert.equal(e.rule, "iam-role-name-characters");
            assert.match(e.fix, /leave out " " from the role's logical name/);
            checkInputLimits({ type: role, name: "acme probe role", inputs: {} });
            checkInputLimits(creating(role, "acme probe role", { name: "acme-probe-role" }));
        });
    });

    describe("lambda-function-name and s3-bucket-name", () => {
        const fn = "aws:lambda/function:Function";
        const bucket = "aws:s3/bucket:Bucket";
        it("refuses a function name over 64 characters, given or generated, with AWS's message", () => {
            checkInputLimits(creating(fn, "f".repeat(56)));
            assert.match(refusal(creating(fn, "f".repeat(57))).awsError, /^InvalidParameterValueException: 1 validation error detected: Value 'f{57}-abcdef1' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64$/);
            assert.equal(refusal({ type: fn, name: "probe", inputs: { name: "f".repeat(65) } }).rule, "lambda-function-name");
            checkInputLimits({ type: fn, name: "f".repeat(70), inputs: {} });
        });
        it("lambda-function-name-characters: a plain name of letters, digits, hyphens and underscores", () => {
            checkInputLimits({ type: fn, name: "probe", inputs: { name: "Acme_probe-9" } });
            checkInputLimits({ type: fn, name: "probe", inputs: { name: "arn:aws:lambda:us-east-1:111111111111:function:acme-probe" } });
            for (const bad of ["acme.probe", "acme probe", "acme/probe", "akmé"]) {
                const e = refusal({ type: fn, name: "probe", inputs: { name: bad } });
                assert.equal(e.rule, "lambda-function-name-characters");
                assert.equal(e.awsError, "invalid value for function_name (must be valid function name or function ARN)");
            }
            assert.equal(refusal(creating(fn, "acme.probe")).rule, "lambda-function-name-characters");
            checkInputLimits({ type: fn, name: "acme.probe", inputs: {} });
        });
        it("refuses a bucket Pulumi would name over 63 characters, or with a character S3 refuses", () => {
            checkInputLimits(creating(bucket, "B".repeat(55)));
            assert.match(refusal(creating(bucket, "b".repeat(56))).awsError, /name 'b{56}-' plus 7 random chars is longer than maximum length 63$/);
            assert.match(refusal(creating(bucket, "acme_tunnel-bundle")).awsError, /^InvalidBucketName: The specified bucket is not valid\.$/);
            checkInputLimits(creating(bucket, "x".repeat(70), { bucket: "acme-bundle" }));
        });
    });

    describe("resource-tags", () => {
        const fiftyTags = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`tag${i}`, "v"]));
        it("accepts 50 tags, keys of 1 to 128 characters and values of 0 to 256", () => {
            checkInputLimits({ type: sg, name: "sg", inputs: { description: "ok", tags: fiftyTags } });
            checkInputLimits({ type: logGroup, name: "logs", inputs: { tags: { ["k".repeat(128)]: "v".repeat(256), empty: "" } } });
            checkInputLimits({ type: "aws:autoscaling/group:Group", name: "hosts", inputs: { tags: [{ key: "Name", value: "relay", propagateAtLaunch: true }] } });
        });
        it("refuses a 51st tag, a key of 129 characters or an empty one, a value of 257", () => {
            const e = refusal({ type: lb, name: "nlb", inputs: { tags: { ...fiftyTags, extra: "v" } } });
            assert.equal(e.rule, "resource-tags");
            assert.match(e.awsError, /^51 tags: AWS allows at most 50 user tags per resource$/);
            assert.match(refusal({ type: role, name: "role", inputs: { tags: { ["k".repeat(129)]: "v" } } }).awsError, /has 129 characters: AWS takes tag keys of 1 to 128 characters$/);
            assert.match(refusal({ type: role, name: "role", inputs: { tags: { "": "v" } } }).awsError, /^a tag key is empty/);
            assert.match(refusal({ type: logGroup, name: "logs", inputs: { tags: { owner: "o".repeat(257) } } }).fix, /256 characters \(it has 257\)/);
            assert.equal(refusal({ type: "aws:autoscaling/group:Group", name: "hosts", inputs: { tags: Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: "v" })) } }).rule, "resource-tags");
        });
        it("refuses keys starting with aws: in any case, with EC2's words for EC2 resources", () => {
            assert.equal(refusal({ type: sg, name: "sg", inputs: { tags: { "aws:cloudformation:stack-name": "x" } } }).awsError, "InvalidParameterValue: Tag keys starting with 'aws:' are reserved for internal use");
            assert.equal(refusal({ type: ingress, name: "in", inputs: { tags: { "AWS:owner": "x" } } }).rule, "resource-tags");
            assert.match(refusal({ type: role, name: "role", inputs: { tags: { "Aws:owner": "x" } } }).awsError, /starts with "aws:", which AWS reserves/);
            checkInputLimits({ type: role, name: "role", inputs: { tags: { "awsome:owner": "x", "team:aws": "y" } } });
        });
        it("counts the provider's defaultTags with the resource's own, once for a key in both", () => {
            const defaults = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`default${i}`, "d"]));
            const own = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`own${i}`, "o"]));
            checkInputLimits({ type: sg, name: "sg", inputs: { tags: own(40) }, defaultTags: defaults });
            checkInputLimits({ type: sg, name: "sg", inputs: { tags: { ...own(40), default0: "mine" } }, defaultTags: defaults });
            const e = refusal({ type: sg, name: "sg", inputs: { tags: own(41) }, defaultTags: defaults });
            assert.equal(e.awsError, "51 tags (10 of them the provider's defaultTags): AWS allows at most 50 user tags per resource");
            assert.match(e.fix, /at most 40 tags of its own \(it has 41\), or fewer defaultTags on its provider/);
            assert.equal(refusal({ type: sg, name: "sg", inputs: { tags: {} }, defaultTags: { "aws:owner": "x" } }).rule, "resource-tags");
        });
        it("takes the default tags from aws:defaultTags, or from the explicit provider a resource names", async () => {
            const tags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`own${i}`, "o"]));
            const config = { "aws:defaultTags": { tags: { team: "platform", costCenter: "cc-42" } } };
            const run = await deploy(() => {
                new aws.cloudwatch.LogGroup("logs", { tags: tags(48) });
            }, { config });
            assert.equal(Object.keys(run.resources.find((r) => r.type === "aws:cloudwatch/logGroup:LogGroup")?.outputs.tagsAll as object).length, 50);
            await assert.rejects(deploy(() => {
                new aws.cloudwatch.LogGroup("logs", { tags: tags(49) });
            }, { config }), /51 tags \(2 of them the provider's defaultTags\)/);
            await assert.rejects(deploy(() => {
                const provider = new aws.Provider("tagged", { region: "us-east-1", defaultTags: { tags: { team: "platform" } } });
                new aws.cloudwatch.LogGroup("logs", { tags: tags(50) }, { provider });
            }), /51 tags \(1 of them the provider's defaultTags\)/);
            await deploy(() => {
                const provider = new aws.Provider("untagged", { region: "us-east-1" });
                new aws.cloudwatch.LogGroup("logs", { tags: tags(50) }, { provider });
            }, { config });
        });
        it("leaves alone what is not an AWS resource", () => {
            checkInputLimits({ type: "tls:index/privateKey:PrivateKey", name: "key", inputs: { tags: { "aws:x": "y" } } });
        });
    });

    describe("elb-port-range and deregistration-delay-range", () => {
        const listener = "aws:lb/listener:Listener";
        it("accepts listener and target group ports 1 and 65535, refuses 0 and 65536", () => {
            for (const port of [1, 65535]) {
                checkInputLimits({ type: listener, name: "l", inputs: { port } });
                checkInputLimits({ type: tg, name: "tg", inputs: { port } });
            }
            checkInputLimits({ type: tg, name: "tg", inputs: { targetType: "lambda" } });
            assert.equal(refusal({ type: listener, name: "l", inputs: { port: 0 } }).awsError, 'expected "port" to be a valid port number, got: 0');
            assert.equal(refusal({ type: listener, name: "l", inputs: { port: 65536 } }).rule, "elb-port-range");
            assert.equal(refusal({ type: tg, name: "tg", inputs: { port: 0 } }).awsError, "expected port to be in the range (1 - 65535), got 0");
            assert.equal(refusal({ type: tg, name: "tg", inputs: { port: 65536 } }).rule, "elb-port-range");
        });
        it("accepts a deregistration delay of 0 and 3600 seconds, refuses -1 and 3601", () => {
            for (const deregistrationDelay of [0, 3600, "300"]) checkInputLimits({ type: tg, name: "tg", inputs: { deregistrationDelay } });
            assert.equal(refusal({ type: tg, name: "tg", inputs: { deregistrationDelay: 3601 } }).awsError, "expected deregistration_delay to be at between (0) and (3600), got 3601");
            assert.equal(refusal({ type: tg, name: "tg", inputs: { deregistrationDelay: -1 } }).rule, "deregistration-delay-range");
            assert.equal(refusal({ type: tg, name: "tg", inputs: { deregistrationDelay: "7200" } }).rule, "deregistration-delay-range");
        });
    });

    describe("route53-record-name", () => {
        const record = "aws:route53/record:Record";
        const zone = "privatelink.firefly.internal";
        it("accepts a label of 63 characters and a name of 253, with or without the final dot", () => {
            checkInputLimits({ type: record, name: "r", inputs: { name: `${"a".repeat(63)}.${zone}` } });
            const name253 = `${["a".repeat(63), "b".repeat(63), "c".repeat(63)].join(".")}.${"d".repeat(253 - 3 * 64)}`;
            assert.equal(name253.length, 253);
            checkInputLimits({ type: record, name: "r", inputs: { name: name253 } });
            checkInputLimits({ type: record, name: "r", inputs: { name: `${name253}.` } });
        });
        it("refuses a label of 64 characters with Route 53's words, a name of 254 with ours", () => {
            const e = refusal({ type: record, name: "r", inputs: { name: `${"a".repeat(64)}.${zone}` } });
            assert.equal(e.rule, "route53-record-name");
            assert.equal(e.awsError, `InvalidChangeBatch: FATAL problem: DomainLabelTooLong (Domain label is too long) encountered with '${"a".repeat(64)}'`);
            const name254 = `${["a".repeat(63), "b".repeat(63), "c".repeat(63)].join(".")}.${"d".repeat(254 - 3 * 64)}`;
            assert.match(refusal({ type: record, name: "r", inputs: { name: name254 } }).awsError, /254 characters, over the 253 a domain name may have/);
        });
    });

    describe("log-retention-days", () => {
        it("accepts the periods CloudWatch Logs knows and 0, refuses others, naming the nearest", () => {
            for (const days of [0, 1, 30, 365, 2557, 3653]) checkInputLimits({ type: logGroup, name: "logs", inputs: { retentionInDays: days } });
            checkInputLimits({ type: logGroup, name: "logs", inputs: {} });
            const e = refusal({ type: logGroup, name: "logs", inputs: { retentionInDays: 2555 } });
            assert.match(e.awsError, /, got 2555$/);
            assert.match(e.fix, /nearest is 2557 days/);
            refusal({ type: logGroup, name: "logs", inputs: { retentionInDays: 10 } });
        });
    });

    describe("security-group-description and security-group-rule-description", () => {
        it("accepts every character of AWS's set, and 255 of them", () => {
            checkInputLimits({ type: sg, name: "sg", inputs: { description: "Aa0 ._-:/()#,@[]+=&;{}!$*" } });
            checkInputLimits({ type: sg, name: "sg", inputs: { description: "d".repeat(255) } });
            checkInputLimits({ type: ingress, name: "in", inputs: { description: "Route target 10.0.0.5/32 (HTTPS)" } });
        });
        it("refuses an apostrophe, a quote, a character beyond ASCII, or 256 characters", () => {
            assert.equal(refusal({ type: sg, name: "sg", inputs: { description: "the NLB's group" } }).rule, "security-group-description");
            assert.match(refusal({ type: sg, name: "sg", inputs: { description: "Gruppe für Kunden" } }).awsError, /^InvalidParameterValue: Value \(Gruppe für Kunden\) for parameter GroupDescription is invalid\. Character sets beyond ASCII are not supported\.$/);
            assert.match(refusal({ type: sg, name: "sg", inputs: { description: "d".repeat(256) } }).fix, /255 characters \(it has 256\)/);
            assert.equal(refusal({ type: ingress, name: "in", inputs: { description: 'port "443"' } }).rule, "security-group-rule-description");
            assert.equal(refusal({ type: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", name: "out", inputs: { description: "a -> b" } }).rule, "security-group-rule-description");
        });
        it("checks the descriptions of rules given inline on the group", () => {
            const e = refusal({ type: sg, name: "sg", inputs: { description: "ok", ingress: [{ description: "the partner's office" }] } });
            assert.equal(e.rule, "security-group-rule-description");
        });
    });
});
