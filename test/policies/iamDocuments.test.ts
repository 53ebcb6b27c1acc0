// What a private API's resource policy admits, judged by iamDocuments.ts and checked against an
// IAM policy simulator (@cloud-copilot/iam-simulate): every document the rule calls "restricted"
// must refuse every probe request that comes through an endpoint it does not name, and every
// document it calls "unrestricted" must let at least one such probe through.
import * as assert from "node:assert/strict";
import { runSimulation, Simulation } from "@cloud-copilot/iam-simulate";
import { coverageOf, globContains, invokeRestrictionOf } from "../../policies/iamDocuments";

const account = "111111111111";
const executionArn = `arn:aws:execute-api:us-east-1:${account}:abc123`;
const ourEndpoint = "vpce-0a1b2c3d4e5f60718";
const otherEndpoint = "vpce-0fedcba9876543210";
const otherVpc = "vpc-0fedcba9876543210";

type Document = { Version: string; Statement: Record<string, unknown>[] };
const doc = (...statements: Record<string, unknown>[]): Document => ({ Version: "2012-10-17", Statement: statements });

const allowAll = { Effect: "Allow", Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*" };
const denyOutside = (condition: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    Effect: "Deny",
    Principal: "*",
    Action: "execute-api:Invoke",
    Resource: "execute-api:/*",
    Condition: condition,
    ...extra,
});

/** The documented pattern: allow Invoke, deny it unless the request came through our endpoint. */
const documented = doc(allowAll, denyOutside({ StringNotEquals: { "aws:SourceVpce": ourEndpoint } }));

/** API Gateway expands `execute-api:/…` to the API's own ARN; the simulator needs it expanded. */
function expanded(document: Document): Document {
    return JSON.parse(JSON.stringify(document).split("execute-api:/").join(`${executionArn}/`)) as Document;
}

const probePaths = ["v1/GET/orders/1", "prod/POST/admin/users", "v1/GET/health"];
const role = `arn:aws:iam::${account}:role/workers`;
const everything = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };

/** Results for a same-account role whose own policy allows everything, and for an unsigned caller, from another endpoint. */
async function probesFromOtherEndpoint(document: Document): Promise<string[]> {
    const results: string[] = [];
    const callers: Array<{ principal: Simulation["request"]["principal"]; context: Record<string, string>; identity: boolean }> = [
        {
            principal: `arn:aws:sts::${account}:assumed-role/workers/i-0123`,
            context: { "aws:PrincipalArn": role, "aws:PrincipalAccount": account },
            identity: true,
        },
        { principal: { type: "Anonymous" } as Simulation["request"]["principal"], context: {}, identity: false },
    ];
    for (const path of probePaths) {
        for (const caller of callers) {
            const result = await runSimulation(
                {
                    request: {
                        principal: caller.principal,
                        action: "execute-api:Invoke",
                        resource: { resource: `${executionArn}/${path}`, accountId: account },
                        contextVariables: { ...caller.context, "aws:SourceVpce": otherEndpoint, "aws:SourceVpc": otherVpc },
                    },
                    identityPolicies: caller.identity ? [{ name: "everything", policy: everything }] : [],
                    serviceControlPolicies: [],
                    resourceControlPolicies: [],
                    resourcePolicy: expanded(document),
                },
                { simulationMode: "Strict" },
            );
            if (result.resultType === "error") assert.fail(`the simulator refused the simulation: ${JSON.stringify(result.errors)}`);
            results.push(`${result.overallResult} ${path}`);
        }
    }
    return results;
}

async function assertRestricted(document: Document): Promise<void> {
    assert.equal(invokeRestrictionOf(JSON.stringify(document), executionArn), "restricted");
    const admitted = (await probesFromOtherEndpoint(document)).filter((r) => r.startsWith("Allowed"));
    assert.deepEqual(admitted, [], "the simulator lets a request from another endpoint through");
}

async function assertUnrestricted(document: Document): Promise<void> {
    assert.equal(invokeRestrictionOf(JSON.stringify(document), executionArn), "unrestricted");
    const admitted = (await probesFromOtherEndpoint(document)).filter((r) => r.startsWith("Allowed"));
    assert.ok(admitted.length > 0, "the simulator refuses every probe, so the rule would be a false alarm");
}

describe("resource policy documents (iamDocuments), checked with an IAM policy simulator", function () {
    this.timeout(20_000);

    describe("restricted: a Deny for everyone that surely applies to other endpoints, on every path", () => {
        it("the documented pattern (Allow Invoke, Deny unless StringNotEquals aws:SourceVpce)", async () => {
            await assertRestricted(documented);
        });

        it("StringNotEqualsIfExists on aws:SourceVpce (always present on a private API)", async () => {
            await assertRestricted(doc(allowAll, denyOutside({ StringNotEqualsIfExists: { "aws:SourceVpce": [ourEndpoint] } })));
        });

        it("StringNotEquals on aws:SourceVpc, Principal { AWS: \"*\" }, Action execute-api:*", async () => {
            await assertRestricted(doc(allowAll, denyOutside({ StringNotEquals: { "aws:SourceVpc": "vpc-0a1b2c3d" } }, { Principal: { AWS: "*" }, Action: "execute-api:*" })));
        });

        it("StringNotLike with exact endpoint IDs, and keys in any case", async () => {
            await assertRestricted(doc(allowAll, denyOutside({ StringNotLike: { "AWS:SOURCEVPCE": [ourEndpoint] } })));
        });

        it("a Deny on the API's own execution ARN", async () => {
            await assertRestricted(doc(allowAll, denyOutside({ StringNotEquals: { "aws:SourceVpce": ourEndpoint } }, { Resource: `${executionArn}/*` })));
        });

        it("a Deny on Resource \"*\"", async () => {
            await assertRestricted(doc(allowAll, denyOutside({ StringNotEquals: { "aws:SourceVpce": ourEndpoint } }, { Resource: "*" })));
        });
    });

    describe("unrestricted: what a request from another endpoint can get through", () => {
        it("an Allow whose pattern matches every endpoint (StringLike vpce-*)", async () => {
            await assertUnrestricted(doc({ ...allowAll, Condition: { StringLike: { "aws:SourceVpce": "vpce-*" } } }));
        });

        it("an Allow for our endpoint only, without a Deny (a caller whose role allows Invoke walks in)", async () => {
            await assertUnrestricted(doc({ ...allowAll, Condition: { StringEquals: { "aws:SourceVpce": ourEndpoint } } }));
        });

        it("a Deny with StringNotLike on a pattern that matches every VPC (vpc-*)", async () => {
            await assertUnrestricted(doc(allowAll, denyOutside({ StringNotLike: { "aws:SourceVpc": "vpc-*" } })));
        });

        it("a Deny that covers one method and path (execute-api:/*/GET/health)", async () => {
            await assertUnrestricted(doc(allowAll, denyOutside({ StringNotEquals: { "aws:SourceVpce": ourEndpoint } }, { Resource: "execute-api:/*/GET/health" })));
        });

        it("a Deny that covers one stage", async () => {
            await assertUnrestricted(doc(allowAll, denyOutside({ StringNotEquals: { "aws:SourceVpce": ourEndpoint } }, { Resource: "execute-api:/v1/*" })));
        });

        it("a Deny on another API's ARN", async () => {
            const other = `arn:aws:execute-api:us-east-1:${account}:zzz999/*`;
            await assertUnrestricted(doc(allowAll, denyOutside({ StringNotEquals: { "aws:SourceVpce": ourEndpoint } }, { Resource: other })));
        });

        it("a Deny aimed at a single principal", async () => {
            await assertUnrestricted(doc(allowAll, denyOutside({ StringNotEquals: { "aws:SourceVpce": ourEndpoint } }, { Principal: { AWS: `arn:aws:iam::${account}:root` } })));
        });

        it("a Deny narrowed by a condition on another key", async () => {
            await assertUnrestricted(doc(allowAll, denyOutside({ StringNotEquals: { "aws:SourceVpce": ourEndpoint }, StringEquals: { "aws:PrincipalAccount": "999999999999" } })));
        });

        it("a Deny that names the other endpoint instead of excepting ours (StringEquals)", async () => {
            await assertUnrestricted(doc(allowAll, denyOutside({ StringEquals: { "aws:SourceVpce": "vpce-0badbadbadbadbad0" } })));
        });

        it("a Deny conditioned on aws:SourceVpce being absent (it never is)", async () => {
            await assertUnrestricted(doc(allowAll, denyOutside({ Null: { "aws:SourceVpce": "true" } })));
        });

        it("a Deny whose NotAction leaves Invoke out", async () => {
            const { Action: _, ...deny } = denyOutside({ StringNotEquals: { "aws:SourceVpce": ourEndpoint } });
            await assertUnrestricted(doc(allowAll, { ...deny, NotAction: "execute-api:Invoke" }));
        });

        it("no statement at all for Invoke", async () => {
            await assertUnrestricted(doc(allowAll));
        });
    });

    describe("rules the simulator cannot check", () => {
        it("a Deny with NotPrincipal does not count (it exempts principals)", () => {
            const deny = { ...denyOutside({ StringNotEquals: { "aws:SourceVpce": ourEndpoint } }), NotPrincipal: { AWS: role } };
            assert.equal(invokeRestrictionOf(doc(allowAll, deny), executionArn), "unrestricted");
        });

        it("needs the execution ARN when a Deny names an API by full ARN and it is unknown", () => {
            const document = doc(allowAll, denyOutside({ StringNotEquals: { "aws:SourceVpce": ourEndpoint } }, { Resource: `${executionArn}/*` }));
            assert.equal(invokeRestrictionOf(document, undefined), "needs-execution-arn");
            assert.equal(invokeRestrictionOf(document, "arn:aws:execute-api:us-east-1:111111111111:zzz999"), "unrestricted");
        });

        it("flags text that is not a policy document", () => {
            assert.equal(invokeRestrictionOf("{not json"), "invalid");
            assert.equal(invokeRestrictionOf("[]"), "invalid");
        });

        it("glob containment: a pattern covers another only when every string of the latter matches it", () => {
            assert.equal(globContains("*", "*/*/*"), true);
            assert.equal(globContains("*/*/*", "*/*/*"), true);
            assert.equal(globContains("*/GET/*", "*/*/*"), false);
            assert.equal(globContains("v?/*", "v1/GET/x"), true);
            assert.equal(coverageOf("arn:*:execute-api:*:*:*/*", undefined), "all");
            assert.equal(coverageOf("execute-api:/*/*", undefined), "all", "every request path has two slashes: stage/METHOD/path");
            assert.equal(coverageOf("execute-api:/*/GET/*", undefined), "partial");
        });
    });
});
