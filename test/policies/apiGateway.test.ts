import * as assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import { methodAuthorization, privateApiResourcePolicy, privateDomainResourcePolicy, restApiPrivate, stageAccessLogs, stageXrayTracing } from "../../policies/apiGateway";
import {
    PropsOf,
    UNKNOWN,
    assertCannotRunDuringPreview,
    assertNoViolations,
    assertNotApplicable,
    assertViolation,
    plan,
    violationsOf,
} from "./helpers";

const vpce = "vpce-0a1b2c3d4e5f";

/** The resource policy AWS documents for private APIs: allow Invoke, deny it from anywhere but the endpoint. */
const restrictedPolicy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
        { Effect: "Allow", Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*" },
        {
            Effect: "Deny",
            Principal: "*",
            Action: "execute-api:Invoke",
            Resource: "execute-api:/*",
            Condition: { StringNotEquals: { "aws:SourceVpce": vpce } },
        },
    ],
});

const openPolicy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*" }],
});

const privateApi = {
    name: "firefly-private",
    endpointConfiguration: { types: "PRIVATE", vpcEndpointIds: [vpce] },
    policy: restrictedPolicy,
} satisfies PropsOf<typeof aws.apigateway.RestApi>;

const apiId = "a1b2c3d4e5";

describe("apigateway-rest-api-private", () => {
    const policy = restApiPrivate;
    const api = (props: Record<string, unknown>) => plan(aws.apigateway.RestApi, "api", props);

    it("passes a PRIVATE API (types as a string, @pulumi/aws v7)", async () => {
        await assertNoViolations(policy, api(privateApi));
    });

    it("passes a PRIVATE API (types as a list, as older providers wrote it)", async () => {
        await assertNoViolations(policy, api({ ...privateApi, endpointConfiguration: { types: ["PRIVATE"] } }));
    });

    it("refuses a REGIONAL API", async () => {
        await assertViolation(
            policy,
            api({ ...privateApi, endpointConfiguration: { types: "REGIONAL" } }),
            "REST API 'api' has a REGIONAL endpoint reachable from the internet; set endpointConfiguration.types to \"PRIVATE\"",
        );
    });

    it("refuses a REGIONAL API given as a list", async () => {
        await assertViolation(policy, api({ ...privateApi, endpointConfiguration: { types: ["REGIONAL"] } }), "has a REGIONAL endpoint");
    });

    it("refuses an API without endpointConfiguration (AWS makes it EDGE)", async () => {
        const { endpointConfiguration: _, ...props } = privateApi;
        await assertViolation(policy, api(props), "has a EDGE endpoint");
    });

    it("passes a public API listed in allowedPublicApis", async () => {
        await assertNoViolations(policy, api({ ...privateApi, endpointConfiguration: { types: "REGIONAL" } }), {
            config: { [policy.name]: { allowedPublicApis: ["api"] } },
        });
    });

    it("cannot decide during preview when the endpoint type is unknown", async () => {
        await assertCannotRunDuringPreview(policy, api({ ...privateApi, endpointConfiguration: { types: UNKNOWN } }), ".endpointConfiguration.types");
    });
});

describe("apigateway-private-api-resource-policy", () => {
    const policy = privateApiResourcePolicy;
    const api = (props: Record<string, unknown>, id: unknown = apiId) =>
        plan(aws.apigateway.RestApi, "api", props, { outputs: { ...props, id } });
    const attached = (document: unknown, restApiId: unknown, propertyDependencies: Record<string, string[]> = {}) =>
        plan(aws.apigateway.RestApiPolicy, "api-policy", { restApiId, policy: document }, { propertyDependencies });
    const { policy: _, ...withoutInlinePolicy } = privateApi;

    it("is not applicable to a stack without a REST API or REST API policy", async () => {
        await assertNotApplicable(policy, plan(aws.apigateway.DomainName, "domain", { domainName: "api.example.com", securityPolicy: "TLS_1_2" }));
    });

    it("passes a private API whose inline policy denies Invoke outside the endpoint", async () => {
        await assertNoViolations(policy, api(privateApi));
    });

    it("passes a private API restricted by an aws.apigateway.RestApiPolicy matched by restApiId", async () => {
        await assertNoViolations(policy, [api(withoutInlinePolicy), attached(restrictedPolicy, apiId)]);
    });

    it("during preview, matches the RestApiPolicy through propertyDependencies when restApiId is unknown", async () => {
        const theApi = api(withoutInlinePolicy, UNKNOWN);
        await assertNoViolations(policy, [theApi, attached(restrictedPolicy, UNKNOWN, { restApiId: [theApi.urn] })]);
    });

    it("refuses a private API without any resource policy", async () => {
        const violation = await assertViolation(policy, api(withoutInlinePolicy), "Private REST API 'api' has no resource policy");
        assert.equal(violation.resourceName, "api");
    });

    it("refuses a private API whose policy allows Invoke from anywhere", async () => {
        await assertViolation(policy, api({ ...privateApi, policy: openPolicy }), "lets execute-api:Invoke through from VPC endpoints it does not name");
    });

    it("refuses a private API whose RestApiPolicy does not restrict Invoke", async () => {
        await assertViolation(policy, [api(withoutInlinePolicy), attached(openPolicy, apiId)], "lets execute-api:Invoke through");
    });

    it("does not count a RestApiPolicy attached to another API", async () => {
        await assertViolation(policy, [api(withoutInlinePolicy), attached(restrictedPolicy, "zzzzzzzzzz")], "has no resource policy");
    });

    it("refuses a policy that is not valid JSON", async () => {
        await assertViolation(policy, api({ ...privateApi, policy: "{not json" }), "lets execute-api:Invoke through");
    });

    it("does not judge public APIs (apigateway-rest-api-private does)", async () => {
        await assertNoViolations(policy, api({ ...withoutInlinePolicy, endpointConfiguration: { types: "REGIONAL" } }));
    });

    it("cannot decide during preview when the only policy is unknown", async () => {
        await assertCannotRunDuringPreview(policy, api({ ...privateApi, policy: UNKNOWN }), ".policy");
    });

    it("cannot decide during preview when the inline policy is unknown, even beside a restricting RestApiPolicy (either may be in force)", async () => {
        await assertCannotRunDuringPreview(policy, [api({ ...privateApi, policy: UNKNOWN }), attached(restrictedPolicy, apiId)], ".policy");
    });

    it("refuses a private API whose inline policy restricts but whose RestApiPolicy does not", async () => {
        await assertViolation(policy, [api(privateApi), attached(openPolicy, apiId)], "lets execute-api:Invoke through from VPC endpoints it does not name");
    });

    it("refuses a policy whose Deny covers only some methods (execute-api:/*/GET/health)", async () => {
        const partial = JSON.stringify({
            Statement: [
                { Effect: "Allow", Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*" },
                { Effect: "Deny", Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*/GET/health", Condition: { StringNotEquals: { "aws:SourceVpce": vpce } } },
            ],
        });
        await assertViolation(policy, api({ ...privateApi, policy: partial }), "lets execute-api:Invoke through");
    });

    it("cannot decide during preview when a Deny names the API by full ARN and executionArn is unknown", async () => {
        const byArn = JSON.stringify({
            Statement: [
                { Effect: "Deny", Principal: "*", Action: "execute-api:Invoke", Resource: "arn:aws:execute-api:us-east-1:111111111111:a1b2c3d4e5/*", Condition: { StringNotEquals: { "aws:SourceVpce": vpce } } },
            ],
        });
        const theApi = plan(aws.apigateway.RestApi, "api", { ...privateApi, policy: byArn }, { outputs: { ...privateApi, policy: byArn, id: apiId, executionArn: UNKNOWN } });
        await assertCannotRunDuringPreview(policy, theApi, ".executionArn");
        const known = plan(aws.apigateway.RestApi, "api", { ...privateApi, policy: byArn }, {
            outputs: { ...privateApi, policy: byArn, id: apiId, executionArn: "arn:aws:execute-api:us-east-1:111111111111:a1b2c3d4e5" },
        });
        await assertNoViolations(policy, known);
    });

    it("cannot decide during preview when a RestApiPolicy's restApiId is unknown and no dependency explains it", async () => {
        await assertCannotRunDuringPreview(policy, [api(withoutInlinePolicy), attached(restrictedPolicy, UNKNOWN)], ".restApiId");
    });

    describe("a RestApiPut, whose OpenAPI body's x-amazon-apigateway-policy replaces the API's policy", () => {
        const put = (body: unknown, restApiId: unknown = apiId, name = "api-put") => plan(aws.apigateway.RestApiPut, name, { restApiId, body });
        const openApi = (document?: string) =>
            JSON.stringify({ openapi: "3.0.1", info: { title: "firefly-private", version: "1" }, paths: {}, ...(document ? { "x-amazon-apigateway-policy": JSON.parse(document) as unknown } : {}) });

        it("refuses a private API whose restricting inline policy a RestApiPut replaces with one open to every endpoint", async () => {
            await assertViolation(policy, [api(privateApi), put(openApi(openPolicy))], "Private REST API 'api' has a resource policy that lets execute-api:Invoke through");
        });

        it("passes a RestApiPut whose body restricts as the inline policy does, or sets no policy", async () => {
            await assertNoViolations(policy, [api(privateApi), put(openApi(restrictedPolicy), apiId, "restricting"), put(openApi(), apiId, "no-policy")]);
        });

        it("refuses a body that is not JSON but sets the policy (YAML is not read), naming the fix", async () => {
            const yaml = "openapi: 3.0.1\nx-amazon-apigateway-policy:\n  Version: '2012-10-17'\n";
            await assertViolation(policy, [api(privateApi), put(yaml)], "lets execute-api:Invoke through");
        });
    });

    describe("a RestApiPolicy or RestApiPut on a REST API of another stack", () => {
        const external = "zzzzzzzzzz";
        const put = (document: string, restApiId: unknown = external) =>
            plan(aws.apigateway.RestApiPut, "other-put", { restApiId, body: JSON.stringify({ swagger: "2.0", info: { title: "t", version: "1" }, paths: {}, "x-amazon-apigateway-policy": JSON.parse(document) as unknown }) });

        it("refuses a RestApiPolicy that opens an API outside the stack (that stack never sees it), naming the API and the fix", async () => {
            const violation = await assertViolation(
                policy,
                attached(openPolicy, external),
                `RestApiPolicy 'api-policy' replaces the resource policy of REST API ${external}, which is not in this stack and may be private`,
            );
            assert.ok(violation.message.includes("allowedExternalApiPolicies"), violation.message);
            assert.equal(violation.resourceName, "api-policy");
        });

        it("refuses a RestApiPut that does the same through its body", async () => {
            await assertViolation(policy, put(openPolicy), "RestApiPut 'other-put' (the x-amazon-apigateway-policy of its OpenAPI body) replaces the resource policy of REST API zzzzzzzzzz");
        });

        it("passes one that restricts with execute-api:/*, and refuses a Deny by full ARN, which cannot be matched to an API outside the stack", async () => {
            await assertNoViolations(policy, [attached(restrictedPolicy, external), put(restrictedPolicy)]);
            const byArn = JSON.stringify({
                Statement: [{ Effect: "Deny", Principal: "*", Action: "execute-api:Invoke", Resource: `arn:aws:execute-api:us-east-1:111111111111:${external}/*`, Condition: { StringNotEquals: { "aws:SourceVpce": vpce } } }],
            });
            await assertViolation(policy, attached(byArn, external), "cannot be matched to an API outside the stack");
        });

        it("passes one listed in allowedExternalApiPolicies (a public API of another stack)", async () => {
            const config = { "apigateway-private-api-resource-policy": { allowedExternalApiPolicies: ["api-policy"] } };
            await assertNoViolations(policy, attached(openPolicy, external), { config });
        });

        it("cannot decide during preview when its restApiId is unknown and no dependency explains it", async () => {
            await assertCannotRunDuringPreview(policy, attached(openPolicy, UNKNOWN), ".restApiId");
        });
    });
});

describe("apigateway-stage-access-logs", () => {
    const policy = stageAccessLogs;
    const compliantStage = {
        restApi: apiId,
        deployment: "dep123",
        stageName: "v1",
        accessLogSettings: { destinationArn: "arn:aws:logs:eu-west-1:1:log-group:api-access", format: "{\"requestId\":\"$context.requestId\"}" },
        xrayTracingEnabled: true,
    } satisfies PropsOf<typeof aws.apigateway.Stage>;
    const stage = (props: Record<string, unknown>) => plan(aws.apigateway.Stage, "api-v1", props);

    it("passes a stage with access logs", async () => {
        await assertNoViolations(policy, stage(compliantStage));
    });

    it("refuses a stage without accessLogSettings", async () => {
        const { accessLogSettings: _, ...props } = compliantStage;
        await assertViolation(policy, stage(props), "API Gateway stage 'api-v1' writes no access logs");
    });

    it("refuses a stage whose access log destination is empty", async () => {
        await assertViolation(policy, stage({ ...compliantStage, accessLogSettings: { destinationArn: "", format: "x" } }), "writes no access logs");
    });

    it("passes during preview when the log group ARN is computed: it is set, and any ARN passes", async () => {
        await assertNoViolations(policy, stage({ ...compliantStage, accessLogSettings: { destinationArn: UNKNOWN, format: "x" } }));
    });

    it("cannot decide during preview when the access log settings as a whole are unknown (they may be absent)", async () => {
        await assertCannotRunDuringPreview(policy, stage({ ...compliantStage, accessLogSettings: UNKNOWN }), ".accessLogSettings");
    });

    it("still refuses during preview a stage without access logs whose other values are unknown", async () => {
        const { accessLogSettings: _, ...props } = compliantStage;
        await assertViolation(policy, stage({ ...props, deployment: UNKNOWN }), "writes no access logs");
    });

    describe("apigateway-stage-xray-tracing", () => {
        it("passes a stage with X-Ray tracing", async () => {
            await assertNoViolations(stageXrayTracing, stage(compliantStage));
        });

        it("refuses a stage with tracing off", async () => {
            await assertViolation(stageXrayTracing, stage({ ...compliantStage, xrayTracingEnabled: false }), "has X-Ray tracing off; set xrayTracingEnabled: true");
        });

        it("refuses a stage that leaves tracing unset", async () => {
            const { xrayTracingEnabled: _, ...props } = compliantStage;
            await assertViolation(stageXrayTracing, stage(props), "has X-Ray tracing off");
        });

        it("reports both stage rules independently", async () => {
            const { accessLogSettings: _a, xrayTracingEnabled: _x, ...props } = compliantStage;
            const logs = await violationsOf(stageAccessLogs, stage(props));
            const xray = await violationsOf(stageXrayTracing, stage(props));
            assert.equal(logs.length + xray.length, 2);
            assert.deepEqual([logs.length, xray.length], [1, 1], "one violation from each rule");
        });
    });
});

describe("apigateway-method-authorization", () => {
    const policy = methodAuthorization;
    const iamMethod = { restApi: apiId, resourceId: "res123", httpMethod: "GET", authorization: "AWS_IAM" } satisfies PropsOf<typeof aws.apigateway.Method>;
    const method = (props: Record<string, unknown>) => plan(aws.apigateway.Method, "get-orders", props);

    it("passes AWS_IAM, CUSTOM and COGNITO_USER_POOLS methods", async () => {
        await assertNoViolations(policy, [
            method(iamMethod),
            plan(aws.apigateway.Method, "custom", { ...iamMethod, authorization: "CUSTOM", authorizerId: "auth123" }),
            plan(aws.apigateway.Method, "cognito", { ...iamMethod, authorization: "COGNITO_USER_POOLS", authorizerId: "auth123" }),
        ]);
    });

    it("reports an unauthenticated method as advisory by default", async () => {
        const [violation] = await violationsOf(policy, method({ ...iamMethod, authorization: "NONE" }));
        assert.equal(violation?.enforcementLevel, "advisory");
        assert.ok(violation?.message.includes("API Gateway method 'get-orders' (GET) has authorization NONE, so any caller that reaches the API invokes it"));
    });

    it("blocks it when the config makes the rule mandatory", async () => {
        const violation = await assertViolation(policy, method({ ...iamMethod, authorization: "none" }), "has authorization NONE", {
            config: { [policy.name]: "mandatory" },
        });
        assert.equal(violation.enforcementLevel, "mandatory");
    });

    it("cannot decide during preview when the authorization is unknown", async () => {
        await assertCannotRunDuringPreview(policy, method({ ...iamMethod, authorization: UNKNOWN }), ".authorization");
    });
});

describe("apigateway-private-domain-resource-policy", () => {
    const policy = privateDomainResourcePolicy;
    const privateDomain = {
        domainName: "api.internal.example.com",
        certificateArn: "arn:aws:acm:eu-west-1:1:certificate/1",
        endpointConfiguration: { types: "PRIVATE" },
        securityPolicy: "TLS_1_2",
        policy: restrictedPolicy,
    } satisfies PropsOf<typeof aws.apigateway.DomainName>;
    const domain = (props: Record<string, unknown>) => plan(aws.apigateway.DomainName, "api-domain", props);

    it("passes a private domain whose policy denies Invoke outside the endpoint", async () => {
        await assertNoViolations(policy, domain(privateDomain));
    });

    it("refuses a private domain without a policy", async () => {
        const { policy: _, ...props } = privateDomain;
        await assertViolation(policy, domain(props), "Private custom domain 'api-domain' has no policy");
    });

    it("refuses a private domain whose policy admits every endpoint (Allow with StringLike vpce-*)", async () => {
        const wildcard = JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*", Condition: { StringLike: { "aws:SourceVpce": "vpce-*" } } }] });
        await assertViolation(policy, domain({ ...privateDomain, policy: wildcard }), "lets execute-api:Invoke through from VPC endpoints it does not name");
    });

    it("does not judge regional domains (they have no policy)", async () => {
        const { policy: _, ...props } = privateDomain;
        await assertNoViolations(policy, domain({ ...props, endpointConfiguration: { types: "REGIONAL" } }));
    });

    it("cannot decide during preview when the policy is unknown", async () => {
        await assertCannotRunDuringPreview(policy, domain({ ...privateDomain, policy: UNKNOWN }), ".policy");
    });
});
