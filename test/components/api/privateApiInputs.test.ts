// PrivateApi as Pulumi's component provider sees it (a schema inferred from its TypeScript types) and
// calls it (every argument that depends on another resource arrives as one Output of the whole value),
// and as an awsx user calls it (`vpc.privateSubnetIds` is an Output<string[]>).
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { PrivateApi, PrivateApiArgs } from "../../../components/api/privateApi";
import { customerAccount, deploy, platformAccount, ProgramRun } from "../../helpers/pulumi";
import { ofType, types } from "../../helpers/resources";
import { inferredSchema, PackageSchema, undocumented } from "../../helpers/schema";

const vpcId = "vpc-0a1b2c3d4e5f60718";
const subnets = ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60719"];
const callerSg = "sg-0a1b2c3d4e5f60718";
const existingEndpoint = "vpce-0fedcba9876543210";
const functionArn = `arn:aws:lambda:us-east-1:${customerAccount}:function:orders`;
const authorizerArn = `arn:aws:lambda:us-east-1:${customerAccount}:function:token-check`;
const userPoolArn = `arn:aws:cognito-idp:us-east-1:${customerAccount}:userpool/us-east-1_AbCdEf123`;
const certificateArn = `arn:aws:acm:us-east-1:${customerAccount}:certificate/0d3f1c2e-4b5a-4c6d-8e7f-9a0b1c2d3e4f`;
const kmsKeyArn = `arn:aws:kms:us-east-1:${customerAccount}:key/0d3f1c2e-4b5a-4c6d-8e7f-9a0b1c2d3e4f`;

/** Arguments that use every feature (but allowedPrincipals, which needs IAM-only routes). */
function fullArgs(): PrivateApiArgs {
    return {
        endpoint: {
            vpcId,
            subnetIds: subnets,
            allowedSourceSecurityGroupIds: [callerSg],
            allowedSourceCidrs: ["10.20.0.0/16"],
            privateDnsEnabled: true,
            flowLogs: { trafficType: "REJECT", retentionInDays: 90, maxAggregationIntervalSeconds: 600, kmsKeyArn },
        },
        vpcEndpointIds: [existingEndpoint],
        authorizers: {
            tokens: { type: "TOKEN", functionArn: authorizerArn, identityValidationExpression: "^Bearer .+$", resultTtlSeconds: 60 },
            jwt: { type: "COGNITO_USER_POOLS", userPoolArns: [userPoolArn] },
        },
        routes: [
            { path: "/health", method: "GET", integration: { type: "MOCK", statusCode: 204, responseBody: "{}" }, authorization: "NONE" },
            { path: "/orders/{id}", method: "PUT", integration: { type: "AWS_PROXY", functionArn, timeoutMilliseconds: 10000 }, requestSchema: { type: "object" } },
            { path: "/{proxy+}", method: "ANY", integration: { type: "HTTP_PROXY", uri: "https://orders.internal.example.com/{proxy}" }, authorizer: "tokens" },
            { path: "/reports", method: "GET", integration: { type: "MOCK" }, authorizer: "jwt", authorizationScopes: ["reports/read"] },
        ],
        stageName: "v2",
        throttling: { rateLimit: 25, burstLimit: 50 },
        accessLogRetentionInDays: 90,
        accessLogKmsKeyArn: kmsKeyArn,
        executionLogLevel: "INFO",
        securityPolicy: "SecurityPolicy_TLS13_1_3_2025_09",
        endpointAccessMode: "BASIC",
        customDomain: { domainName: "orders.internal.example.com", certificateArn, basePath: "orders", privateZoneId: "Z0123456789ABCDEFGHIJ" },
        manageAccountCloudWatchRole: true,
        description: "Orders",
        tags: { team: "orders" },
    };
}

/** Every top-level argument wrapped in an Output, as the component provider passes them. */
function asOutputs(args: PrivateApiArgs): PrivateApiArgs {
    return Object.fromEntries(Object.entries(args).map(([key, value]) => [key, pulumi.output(value)])) as unknown as PrivateApiArgs;
}

async function deployApi(args: PrivateApiArgs): Promise<ProgramRun> {
    const run = await deploy(() => {
        const api = new PrivateApi("acme", args);
        return { api: pulumi.output({ invokeUrl: api.invokeUrl, vpcEndpointIds: api.vpcEndpointIds, exampleCurl: api.exampleCurl, customDomainUrl: api.customDomainUrl }) };
    });
    return { ...run, outputs: run.outputs.api as Record<string, unknown> };
}

/** What the engine would compare: every resource's URN and inputs, in URN order. */
function registered(run: ProgramRun): Array<{ urn: string; inputs: unknown }> {
    return run.resources.map((r) => ({ urn: r.urn, inputs: JSON.parse(JSON.stringify(r.inputs)) as unknown })).sort((a, b) => a.urn.localeCompare(b.urn));
}

function typeOf(schema: PackageSchema, name: string) {
    const type = schema.types?.[`private-connectivity:index:${name}`];
    assert.ok(type, `${name} in the schema`);
    return type;
}

describe("PrivateApi through the component provider", () => {
    describe("inferred schema", function () {
        this.timeout(120_000);
        let schema: PackageSchema;
        before(async () => {
            schema = await inferredSchema();
        });

        it("maps every argument and output, each with a description", () => {
            assert.ok(schema.resources["private-connectivity:index:PrivateApi"]?.isComponent);
            assert.deepEqual(undocumented(schema, "PrivateApi"), []);
        });

        it("has routes as a list of one route type, whose integration is one type with an enum discriminator", () => {
            const inputs = schema.resources["private-connectivity:index:PrivateApi"]!.inputProperties!;
            assert.equal(inputs.routes?.type, "array");
            assert.equal(inputs.routes?.items?.$ref, "#/types/private-connectivity:index:PrivateApiRoute");
            assert.equal(typeOf(schema, "PrivateApiRoute").properties?.integration?.$ref, "#/types/private-connectivity:index:PrivateApiIntegration");
            const integration = typeOf(schema, "PrivateApiIntegration");
            assert.equal(integration.properties?.type?.$ref, "#/types/private-connectivity:index:PrivateApiIntegrationType");
            assert.deepEqual(integration.required, ["type"]);
            assert.deepEqual(typeOf(schema, "PrivateApiIntegrationType").enum?.map((e) => e.value), ["AWS_PROXY", "HTTP_PROXY", "MOCK"]);
            assert.deepEqual(typeOf(schema, "PrivateApiMethod").enum?.map((e) => e.value), ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"]);
            assert.deepEqual(typeOf(schema, "PrivateApiAuthorization").enum?.map((e) => e.value), ["AWS_IAM", "NONE"]);
        });

        it("has authorizers as a map of one authorizer type, and flow logs as an object with an enabled switch", () => {
            const inputs = schema.resources["private-connectivity:index:PrivateApi"]!.inputProperties!;
            assert.equal(inputs.authorizers?.type, "object");
            assert.equal(inputs.authorizers?.additionalProperties?.$ref, "#/types/private-connectivity:index:PrivateApiAuthorizer");
            assert.deepEqual(typeOf(schema, "PrivateApiAuthorizerType").enum?.map((e) => e.value), ["TOKEN", "REQUEST", "COGNITO_USER_POOLS"]);
            const endpoint = typeOf(schema, "PrivateApiEndpointArgs");
            assert.equal(endpoint.properties?.subnetIds?.type, "array");
            assert.equal(endpoint.properties?.subnetIds?.items?.type, "string");
            assert.equal(endpoint.properties?.flowLogs?.$ref, "#/types/private-connectivity:index:PrivateApiFlowLogs");
            assert.equal(typeOf(schema, "PrivateApiFlowLogs").properties?.enabled?.type, "boolean");
            assert.deepEqual(typeOf(schema, "FlowLogTrafficType").enum?.map((e) => e.value), ["ALL", "ACCEPT", "REJECT"]);
        });
    });

    describe("subnets as one Output (awsx's vpc.privateSubnetIds)", () => {
        const endpointWith = (subnetIds: pulumi.Input<pulumi.Input<string>[]>): PrivateApiArgs => ({
            endpoint: { vpcId, subnetIds, allowedSourceSecurityGroupIds: [callerSg] },
            routes: [{ path: "/health", method: "GET", integration: { type: "MOCK" } }],
        });

        it("registers the same resources as with the plain list: the endpoint in those subnets, one flow log each", async () => {
            const plain = await deployApi(endpointWith(subnets));
            const output = await deployApi(endpointWith(pulumi.output(subnets)));
            assert.deepEqual(registered(output), registered(plain));
            assert.deepEqual(ofType(output, types.flowLog).map((f) => f.inputs.subnetId).sort(), subnets);
        });

        it("refuses a bad subnet ID inside the Output with the same message, naming the field", async () => {
            await assert.rejects(deployApi(endpointWith(pulumi.output(["subnet-1"]))), /endpoint\.subnetIds\[0\] must be a subnet ID like subnet-0123456789abcdef0 \(got "subnet-1"\)/);
            await assert.rejects(deployApi(endpointWith(pulumi.output([]))), /endpoint\.subnetIds must list at least one entry/);
        });
    });

    describe("every argument an Output", () => {
        it("registers the same resources, with the same inputs, as with plain arguments", async () => {
            const plain = await deployApi(fullArgs());
            const output = await deployApi(asOutputs(fullArgs()));
            assert.deepEqual(registered(output), registered(plain));
            assert.deepEqual(output.outputs, plain.outputs);
            assert.ok(ofType(plain, types.apiAuthorizer).length === 2 && ofType(plain, types.flowLog).length === 2 && ofType(plain, types.apiDomainNameAccessAssociation).length === 2);
        });

        it("does so with allowedPrincipals too (IAM-only routes)", async () => {
            const args = (): PrivateApiArgs => ({
                endpoint: { vpcId, subnetIds: subnets, allowedSourceSecurityGroupIds: [callerSg], flowLogs: { enabled: false } },
                routes: [{ path: "/orders", method: "POST", integration: { type: "AWS_PROXY", functionArn } }],
                allowedPrincipals: [platformAccount],
            });
            const plain = await deployApi(args());
            assert.deepEqual(registered(await deployApi(asOutputs(args()))), registered(plain));
            assert.equal(ofType(plain, types.flowLog).length, 0);
        });

        const refusals: Array<[string, (args: PrivateApiArgs) => PrivateApiArgs, RegExp]> = [
            ["a bad function ARN in a route", (a) => ({ ...a, routes: [{ path: "/x", method: "GET", integration: { type: "AWS_PROXY", functionArn: "orders" } }] }), /routes\[0\]\.integration\.functionArn must be a Lambda function ARN/],
            ["a field of another integration type", (a) => ({ ...a, routes: [{ path: "/x", method: "GET", integration: { type: "MOCK", uri: "https://a.example.com/" } }] }), /routes\[0\]\.integration\.uri applies only to HTTP_PROXY \(this one is MOCK\); remove it/],
            ["an authorizer the route names but nobody defined", (a) => ({ ...a, routes: [{ path: "/x", method: "GET", integration: { type: "MOCK" }, authorizer: "nope" }] }), /routes\[0\]\.authorizer names no authorizer \(got "nope"; known: tokens, jwt\)/],
            ["a world-open CIDR", (a) => ({ ...a, endpoint: { vpcId, subnetIds: subnets, allowedSourceCidrs: ["0.0.0.0/0"] } }), /endpoint\.allowedSourceCidrs\[0\] must not be 0\.0\.0\.0\/0/],
            ["an endpoint nobody may reach", (a) => ({ ...a, endpoint: { vpcId, subnetIds: subnets } }), /endpoint\.allowedSourceSecurityGroupIds or allowedSourceCidrs must name who may reach the endpoint/],
            ["a flow-log retention CloudWatch does not offer", (a) => ({ ...a, endpoint: { vpcId, subnetIds: subnets, allowedSourceSecurityGroupIds: [callerSg], flowLogs: { retentionInDays: 10 } } }), /endpoint\.flowLogs\.retentionInDays must be a retention CloudWatch Logs accepts/],
            ["a zero throttling rate", (a) => ({ ...a, throttling: { rateLimit: 0 } }), /throttling\.rateLimit must be a positive number of requests per second \(got 0\)/],
            ["an upper-case domain name", (a) => ({ ...a, customDomain: { domainName: "API.example.com", certificateArn } }), /customDomain\.domainName must be a lower-case DNS name/],
            ["a TLS 1.0 security policy", (a) => ({ ...a, securityPolicy: "TLS_1_0", endpointAccessMode: undefined }), /securityPolicy must allow only TLS 1\.2 or newer/],
            ["a malformed endpoint ID", (a) => ({ ...a, vpcEndpointIds: ["endpoint-1"] }), /vpcEndpointIds\[0\] must be an execute-api VPC endpoint ID/],
        ];
        for (const [what, change, expected] of refusals) {
            it(`refuses ${what} inside an Output with the message it gives for a plain value`, async () => {
                assert.throws(() => new PrivateApi("acme", change(fullArgs())), expected, "plain: at construction");
                await assert.rejects(deployApi(asOutputs(change(fullArgs()))), expected);
            });
        }
    });

    describe("the reshaped API refuses the 0.1 forms JavaScript callers may still pass", () => {
        const base = (): PrivateApiArgs => ({ vpcEndpointIds: [existingEndpoint], routes: [{ path: "/x", method: "GET", integration: { type: "MOCK" } }] });
        const cases: Array<[string, (args: PrivateApiArgs) => PrivateApiArgs, RegExp]> = [
            ["flowLogs: false", (a) => ({ ...a, endpoint: { vpcId, subnetIds: subnets, allowedSourceSecurityGroupIds: [callerSg], flowLogs: false as unknown as { enabled: false } } }), /endpoint\.flowLogs must be an object of flow-log settings; false is no longer accepted: give \{ enabled: false \}/],
            ["authorization: { authorizer }", (a) => ({ ...a, routes: [{ path: "/x", method: "GET", integration: { type: "MOCK" }, authorization: { authorizer: "t" } as unknown as "NONE" }] }), /routes\[0\]\.authorization must be "AWS_IAM" or "NONE"; the object form .* name the authorizer in routes\[0\]\.authorizer and its scopes in routes\[0\]\.authorizationScopes/],
            ["a REQUEST authorizer with a token expression", (a) => ({ ...a, authorizers: { req: { type: "REQUEST", functionArn: authorizerArn, identitySource: "method.request.header.X", identityValidationExpression: ".*" } } }), /authorizers\.req\.identityValidationExpression applies only to TOKEN \(this one is REQUEST\)/],
            ["both authorization and authorizer", (a) => ({ ...a, authorizers: { t: { type: "TOKEN", functionArn: authorizerArn } }, routes: [{ path: "/x", method: "GET", integration: { type: "MOCK" }, authorization: "AWS_IAM", authorizer: "t" }] }), /routes\[0\]\.authorization and authorizer exclude each other/],
            ["flow-log settings with flow logs off", (a) => ({ ...a, endpoint: { vpcId, subnetIds: subnets, allowedSourceSecurityGroupIds: [callerSg], flowLogs: { enabled: false, retentionInDays: 30 } } }), /endpoint\.flowLogs\.retentionInDays applies only when flow logs are enabled/],
        ];
        for (const [what, change, expected] of cases) {
            it(`refuses ${what}, naming the field and the new form`, () => {
                assert.throws(() => new PrivateApi("acme", change(base())), expected);
            });
        }
    });
});
