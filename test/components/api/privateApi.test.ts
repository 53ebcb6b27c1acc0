import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as pkg from "../../../components";
import { EndpointFlowLogs } from "../../../components/privatelink/endpointFlowLogs";
import { PolicyDocument } from "../../../components/shared/iamPolicy";
import { PrivateApi, PrivateApiArgs } from "../../../components/api/privateApi";
import { privateApiSecurityPolicies } from "../../../components/api/privateApiChecks";
import Ajv from "ajv";
import { exampleBody, PrivateApiRoute } from "../../../components/api/privateApiRoutes";
import { itRefuses } from "../../helpers/argumentErrors";
import { customerAccount, deploy, platformAccount, ProgramRun } from "../../helpers/pulumi";
import { named, ofType, single, types } from "../../helpers/resources";

const vpcId = "vpc-0a1b2c3d4e5f60718";
const subnets = ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60719"];
const callerSg = "sg-0a1b2c3d4e5f60718";
const existingEndpoint = "vpce-0fedcba9876543210";
const functionArn = `arn:aws:lambda:us-east-1:${customerAccount}:function:orders`;
const authorizerArn = `arn:aws:lambda:us-east-1:${customerAccount}:function:token-check`;
const certificateArn = `arn:aws:acm:us-east-1:${customerAccount}:certificate/0d3f1c2e-4b5a-4c6d-8e7f-9a0b1c2d3e4f`;
const health: PrivateApiRoute = { path: "/health", method: "GET", integration: { type: "MOCK" } };

function baseArgs(overrides: Partial<PrivateApiArgs> = {}): PrivateApiArgs {
    return {
        endpoint: { vpcId, subnetIds: subnets, allowedSourceSecurityGroupIds: [callerSg] },
        routes: [health],
        ...overrides,
    };
}

/** Deploys one PrivateApi; its outputs are in `outputs` (nested, so that undefined ones stay quiet). */
async function deployApi(args: PrivateApiArgs): Promise<ProgramRun> {
    const run = await deploy(() => {
        const api = new PrivateApi("acme", args);
        return {
            api: pulumi.output({
                restApiId: api.restApiId,
                invokeUrl: api.invokeUrl,
                vpcEndpointIds: api.vpcEndpointIds,
                exampleCurl: api.exampleCurl,
                customDomainUrl: api.customDomainUrl,
                endpointSecurityGroupId: api.endpointSecurityGroupId,
            }),
        };
    });
    return { ...run, outputs: run.outputs.api as Record<string, unknown> };
}

function json(value: unknown): PolicyDocument {
    return JSON.parse(String(value)) as PolicyDocument;
}

function statement(policy: PolicyDocument, sid: string) {
    const found = policy.Statement.find((s) => s.Sid === sid);
    assert.ok(found, `statement ${sid} in ${JSON.stringify(policy)}`);
    return found;
}

describe("PrivateApi", () => {
    it("is part of the package's public API, with the flow-log component it uses", () => {
        assert.equal(pkg.PrivateApi, PrivateApi);
        assert.equal(pkg.EndpointFlowLogs, EndpointFlowLogs);
    });

    describe("execute-api endpoint", () => {
        it("creates an execute-api interface endpoint with private DNS in the given subnets, behind its own security group", async () => {
            const run = await deployApi(baseArgs());
            const endpoint = single(run, types.vpcEndpoint);
            const sg = single(run, types.securityGroup);
            assert.equal(endpoint.inputs.serviceName, "com.amazonaws.us-east-1.execute-api");
            assert.equal(endpoint.inputs.vpcEndpointType, "Interface");
            assert.equal(endpoint.inputs.privateDnsEnabled, true);
            assert.equal(endpoint.inputs.vpcId, vpcId);
            assert.deepEqual(endpoint.inputs.subnetIds, subnets);
            assert.deepEqual(endpoint.inputs.securityGroupIds, [sg.id]);
            assert.equal(sg.inputs.vpcId, vpcId);
            assert.equal(endpoint.parent?.endsWith(`${types.privateApi}::acme`), true);
            assert.equal(run.outputs.endpointSecurityGroupId, sg.id);
        });

        it("lets only the callers' security groups and CIDRs reach the endpoint, on 443 only, with no egress", async () => {
            const run = await deployApi(
                baseArgs({ endpoint: { vpcId, subnetIds: subnets, allowedSourceSecurityGroupIds: [callerSg], allowedSourceCidrs: ["10.20.0.0/16"] } }),
            );
            const sg = single(run, types.securityGroup);
            assert.equal(sg.inputs.ingress, undefined, "no inline rules");
            assert.equal(sg.inputs.egress, undefined, "no inline rules");
            assert.equal(ofType(run, types.securityGroupEgressRule).length, 0);
            const rules = ofType(run, types.securityGroupIngressRule);
            assert.deepEqual(rules.map((r) => r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4).sort(), ["10.20.0.0/16", callerSg]);
            for (const rule of rules) {
                assert.equal(rule.inputs.securityGroupId, sg.id);
                assert.equal(rule.inputs.ipProtocol, "tcp");
                assert.equal(rule.inputs.fromPort, 443);
                assert.equal(rule.inputs.toPort, 443);
            }
        });

        it("limits the endpoint to invoking this account's APIs", async () => {
            const run = await deployApi(baseArgs());
            const policy = json(single(run, types.vpcEndpoint).inputs.policy);
            assert.equal(policy.Statement.length, 1);
            assert.equal(policy.Statement[0]!.Effect, "Allow");
            assert.equal(policy.Statement[0]!.Action, "execute-api:Invoke");
            assert.equal(policy.Statement[0]!.Resource, `arn:aws:execute-api:us-east-1:${customerAccount}:*`);
        });

        it("logs every endpoint subnet to a log group with retention, delivered by a role only this account's flow logs can assume", async () => {
            const run = await deployApi(baseArgs());
            const logGroup = named(run, "acme-endpoint-flow-logs-log-group", types.logGroup);
            assert.equal(logGroup.inputs.retentionInDays, 365);
            const role = single(run, types.iamRole);
            const flowLogs = ofType(run, types.flowLog);
            assert.deepEqual(flowLogs.map((f) => f.inputs.subnetId).sort(), subnets);
            for (const flowLog of flowLogs) {
                assert.equal(flowLog.inputs.trafficType, "ALL");
                assert.equal(flowLog.inputs.logDestinationType, "cloud-watch-logs");
                assert.equal(flowLog.inputs.logDestination, logGroup.outputs.arn);
                assert.equal(flowLog.inputs.iamRoleArn, role.outputs.arn);
                assert.equal(flowLog.inputs.maxAggregationInterval, 60);
            }
            const trust = json(role.inputs.assumeRolePolicy).Statement[0]!;
            assert.deepEqual(trust.Principal, { Service: ["vpc-flow-logs.amazonaws.com"] });
            assert.deepEqual(trust.Condition, {
                StringEquals: { "aws:SourceAccount": customerAccount },
                ArnLike: { "aws:SourceArn": `arn:aws:ec2:us-east-1:${customerAccount}:vpc-flow-log/*` },
            });
            const delivery = json(single(run, types.iamRolePolicy).inputs.policy);
            assert.deepEqual(statement(delivery, "WriteThisLogGroupOnly").Resource, [logGroup.outputs.arn, `${logGroup.outputs.arn}:*`]);
        });

        it("creates no flow logs when explicitly opted out", async () => {
            const run = await deployApi(baseArgs({ endpoint: { vpcId, subnetIds: subnets, allowedSourceSecurityGroupIds: [callerSg], flowLogs: { enabled: false } } }));
            assert.equal(ofType(run, types.flowLog).length, 0);
            assert.equal(ofType(run, types.endpointFlowLogs).length, 0);
        });

        it("uses existing endpoints without creating one", async () => {
            const run = await deployApi({ vpcEndpointIds: [existingEndpoint], routes: [health] });
            for (const type of [types.vpcEndpoint, types.securityGroup, types.securityGroupIngressRule, types.flowLog]) assert.equal(ofType(run, type).length, 0, type);
            assert.deepEqual((single(run, types.restApi).inputs.endpointConfiguration as Record<string, unknown>).vpcEndpointIds, [existingEndpoint]);
            assert.deepEqual(run.outputs.vpcEndpointIds, [existingEndpoint]);
            assert.equal(run.outputs.endpointSecurityGroupId, undefined);
        });
    });

    describe("REST API and resource policy", () => {
        it("creates a PRIVATE REST API bound to the created and the existing endpoints, with TLS 1.2", async () => {
            const run = await deployApi(baseArgs({ vpcEndpointIds: [existingEndpoint] }));
            const api = single(run, types.restApi);
            const created = single(run, types.vpcEndpoint);
            assert.deepEqual(api.inputs.endpointConfiguration, { types: "PRIVATE", vpcEndpointIds: [created.id, existingEndpoint] });
            assert.equal(api.inputs.securityPolicy, "TLS_1_2");
            assert.equal(api.inputs.endpointAccessMode, undefined);
            assert.deepEqual(run.outputs.vpcEndpointIds, [created.id, existingEndpoint]);
        });

        it("attaches a resource policy that allows invoking only through the endpoints and denies every other way", async () => {
            const run = await deployApi(baseArgs({ vpcEndpointIds: [existingEndpoint] }));
            const api = single(run, types.restApi);
            const attached = single(run, types.restApiPolicy);
            assert.equal(attached.inputs.restApiId, api.id);
            const policy = json(attached.inputs.policy);
            const endpointIds = [single(run, types.vpcEndpoint).id, existingEndpoint];
            const allow = statement(policy, "InvokeThroughVpcEndpointsOnly");
            assert.equal(allow.Effect, "Allow");
            assert.equal(allow.Action, "execute-api:Invoke");
            assert.equal(allow.Resource, "execute-api:/*");
            assert.deepEqual(allow.Condition, { StringEquals: { "aws:SourceVpce": endpointIds } });
            const deny = statement(policy, "DenyOutsideVpcEndpoints");
            assert.equal(deny.Effect, "Deny");
            assert.equal(deny.Principal, "*");
            assert.equal(deny.Action, "execute-api:Invoke");
            assert.equal(deny.Resource, "execute-api:/*");
            assert.deepEqual(deny.Condition, { StringNotEquals: { "aws:SourceVpce": endpointIds } });
            assert.ok(policy.Statement.every((s) => s.Effect === "Deny" || s.Condition !== undefined), "no unconditional Allow");
        });

        it("lets IAM decide by default: the API's own account is the only principal, others are explicitly denied", async () => {
            const policy = json(single(await deployApi(baseArgs()), types.restApiPolicy).inputs.policy);
            assert.deepEqual(statement(policy, "InvokeThroughVpcEndpointsOnly").Principal, { AWS: [`arn:aws:iam::${customerAccount}:root`] });
            assert.deepEqual(statement(policy, "DenyOtherPrincipals").Condition, { StringNotEquals: { "aws:PrincipalAccount": [customerAccount] } });
        });

        it("names the given principals and denies everyone else", async () => {
            const role = `arn:aws:iam::${customerAccount}:role/workers`;
            const policy = json(single(await deployApi(baseArgs({ allowedPrincipals: [platformAccount, role] })), types.restApiPolicy).inputs.policy);
            assert.deepEqual(statement(policy, "InvokeThroughVpcEndpointsOnly").Principal, { AWS: [`arn:aws:iam::${platformAccount}:root`, role] });
            assert.deepEqual(statement(policy, "DenyOtherPrincipals").Condition, {
                StringNotEquals: { "aws:PrincipalAccount": [platformAccount] },
                ArnNotEquals: { "aws:PrincipalArn": [role] },
            });
        });

        it("allows any caller through the endpoints when a route is authorized by an authorizer, since its requests carry no IAM principal", async () => {
            const run = await deployApi(
                baseArgs({
                    authorizers: { tokens: { type: "TOKEN", functionArn: authorizerArn } },
                    routes: [{ ...health, authorizer: "tokens" }],
                }),
            );
            const policy = json(single(run, types.restApiPolicy).inputs.policy);
            assert.equal(statement(policy, "InvokeThroughVpcEndpointsOnly").Principal, "*");
            assert.equal(policy.Statement.some((s) => s.Sid === "DenyOtherPrincipals"), false);
            assert.ok(statement(policy, "DenyOutsideVpcEndpoints"), "the endpoint restriction stays");
        });
    });

    describe("routes", () => {
        it("authorizes every route with AWS_IAM unless told otherwise", async () => {
            const run = await deployApi(baseArgs({ routes: [health, { path: "/ping", method: "GET", integration: { type: "MOCK" }, authorization: "NONE" }] }));
            assert.equal(named(run, "acme-method-GET-/health", types.apiMethod).inputs.authorization, "AWS_IAM");
            assert.equal(named(run, "acme-method-GET-/ping", types.apiMethod).inputs.authorization, "NONE");
        });

        it("creates one API resource per path prefix, shared by the routes below it", async () => {
            const run = await deployApi(
                baseArgs({
                    routes: [
                        { path: "/orders", method: "GET", integration: { type: "MOCK" } },
                        { path: "/orders/{id}", method: "GET", integration: { type: "MOCK" } },
                        { path: "/orders/{id}", method: "DELETE", integration: { type: "MOCK" } },
                        { path: "/", method: "GET", integration: { type: "MOCK" } },
                    ],
                }),
            );
            const api = single(run, types.restApi);
            const resources = ofType(run, types.apiResource);
            assert.deepEqual(resources.map((r) => r.name).sort(), ["acme-resource-/orders", "acme-resource-/orders/{id}"]);
            const orders = named(run, "acme-resource-/orders", types.apiResource);
            const order = named(run, "acme-resource-/orders/{id}", types.apiResource);
            assert.equal(orders.inputs.parentId, api.outputs.rootResourceId);
            assert.equal(orders.inputs.pathPart, "orders");
            assert.equal(order.inputs.parentId, orders.id);
            assert.equal(order.inputs.pathPart, "{id}");
            assert.equal(named(run, "acme-method-GET-/", types.apiMethod).inputs.resourceId, api.outputs.rootResourceId);
            assert.equal(named(run, "acme-method-DELETE-/orders/{id}", types.apiMethod).inputs.resourceId, order.id);
        });

        it("proxies to Lambda with POST and lets API Gateway invoke the function from that route only", async () => {
            const run = await deployApi(baseArgs({ routes: [{ path: "/orders/{id}", method: "GET", integration: { type: "AWS_PROXY", functionArn } }] }));
            const api = single(run, types.restApi);
            const integration = single(run, types.apiIntegration);
            assert.equal(integration.inputs.type, "AWS_PROXY");
            assert.equal(integration.inputs.integrationHttpMethod, "POST");
            assert.equal(integration.inputs.httpMethod, "GET");
            assert.equal(integration.inputs.uri, `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${functionArn}/invocations`);
            assert.equal(integration.inputs.timeoutMilliseconds, 29000);
            const permission = single(run, types.lambdaPermission);
            assert.equal(permission.inputs.function, functionArn);
            assert.equal(permission.inputs.principal, "apigateway.amazonaws.com");
            assert.equal(permission.inputs.action, "lambda:InvokeFunction");
            assert.equal(permission.inputs.sourceArn, `${api.outputs.executionArn}/*/GET/orders/*`);
            assert.match(String(permission.inputs.statementId), /^[A-Za-z0-9_.-]{1,100}$/);
        });

        it("proxies HTTP to an https backend and passes the path parameters through", async () => {
            const run = await deployApi(
                baseArgs({ routes: [{ path: "/{proxy+}", method: "ANY", integration: { type: "HTTP_PROXY", uri: "https://orders.internal.example.com/{proxy}" } }] }),
            );
            const method = single(run, types.apiMethod);
            assert.equal(method.inputs.httpMethod, "ANY");
            assert.deepEqual(method.inputs.requestParameters, { "method.request.path.proxy": true });
            const integration = single(run, types.apiIntegration);
            assert.equal(integration.inputs.type, "HTTP_PROXY");
            assert.equal(integration.inputs.integrationHttpMethod, "ANY");
            assert.equal(integration.inputs.connectionType, "INTERNET");
            assert.deepEqual(integration.inputs.requestParameters, { "integration.request.path.proxy": "method.request.path.proxy" });
        });

        it("reaches a backend in a VPC through a VPC link, where plain http stays on AWS's network", async () => {
            const run = await deployApi(
                baseArgs({ routes: [{ path: "/orders/{id}", method: "GET", integration: { type: "HTTP_PROXY", uri: "http://orders.internal:8080/orders", vpcLinkId: "abc123" } }] }),
            );
            const integration = single(run, types.apiIntegration);
            assert.equal(integration.inputs.connectionType, "VPC_LINK");
            assert.equal(integration.inputs.connectionId, "abc123");
            assert.equal(integration.inputs.requestParameters, undefined, "the backend URL uses no path parameter, so none is mapped");
        });

        it("answers mock routes with the configured status and body", async () => {
            const run = await deployApi(baseArgs({ routes: [{ path: "/health", method: "GET", integration: { type: "MOCK", statusCode: 204, responseBody: "{}" } }] }));
            const integration = single(run, types.apiIntegration);
            assert.equal(integration.inputs.type, "MOCK");
            assert.deepEqual(integration.inputs.requestTemplates, { "application/json": '{"statusCode":204}' });
            assert.equal(single(run, types.apiMethodResponse).inputs.statusCode, "204");
            const response = single(run, types.apiIntegrationResponse);
            assert.equal(response.inputs.statusCode, "204");
            assert.deepEqual(response.inputs.responseTemplates, { "application/json": "{}" });
        });

        it("validates request bodies against the given JSON schema before the integration runs", async () => {
            const schema = { type: "object", required: ["sku"], properties: { sku: { type: "string" } } };
            const run = await deployApi(baseArgs({ routes: [health, { path: "/orders/{id}", method: "PUT", integration: { type: "MOCK" }, requestSchema: schema }] }));
            const model = single(run, types.apiModel);
            assert.equal(model.inputs.name, "PutOrdersIdRequest");
            assert.equal(model.inputs.contentType, "application/json");
            assert.deepEqual(JSON.parse(String(model.inputs.schema)), { $schema: "http://json-schema.org/draft-04/schema#", ...schema });
            const validator = single(run, types.apiRequestValidator);
            assert.equal(validator.inputs.validateRequestBody, true);
            const put = named(run, "acme-method-PUT-/orders/{id}", types.apiMethod);
            assert.deepEqual(put.inputs.requestModels, { "application/json": "PutOrdersIdRequest" });
            assert.equal(put.inputs.requestValidatorId, validator.id);
            assert.equal(named(run, "acme-method-GET-/health", types.apiMethod).inputs.requestValidatorId, undefined, "routes without a schema are not validated");
        });

        it("authorizes with a Lambda TOKEN authorizer that only API Gateway, for this API, may invoke", async () => {
            const run = await deployApi(
                baseArgs({
                    authorizers: { tokens: { type: "TOKEN", functionArn: authorizerArn, resultTtlSeconds: 60 } },
                    routes: [{ ...health, authorizer: "tokens" }],
                }),
            );
            const api = single(run, types.restApi);
            const authorizer = single(run, types.apiAuthorizer);
            assert.equal(authorizer.inputs.type, "TOKEN");
            assert.equal(authorizer.inputs.name, "tokens");
            assert.equal(authorizer.inputs.identitySource, "method.request.header.Authorization");
            assert.equal(authorizer.inputs.authorizerResultTtlInSeconds, 60);
            assert.equal(authorizer.inputs.authorizerUri, `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${authorizerArn}/invocations`);
            const method = single(run, types.apiMethod);
            assert.equal(method.inputs.authorization, "CUSTOM");
            assert.equal(method.inputs.authorizerId, authorizer.id);
            const permission = single(run, types.lambdaPermission);
            assert.equal(permission.inputs.function, authorizerArn);
            assert.equal(permission.inputs.sourceArn, `${api.outputs.executionArn}/authorizers/${authorizer.id}`);
        });

        it("accepts Cognito-issued JWTs with the route's OAuth scopes", async () => {
            const userPoolArn = `arn:aws:cognito-idp:us-east-1:${customerAccount}:userpool/us-east-1_AbCdEf123`;
            const run = await deployApi(
                baseArgs({
                    authorizers: { jwt: { type: "COGNITO_USER_POOLS", userPoolArns: [userPoolArn] } },
                    routes: [{ ...health, authorizer: "jwt", authorizationScopes: ["orders/read"] }],
                }),
            );
            const authorizer = single(run, types.apiAuthorizer);
            assert.equal(authorizer.inputs.type, "COGNITO_USER_POOLS");
            assert.deepEqual(authorizer.inputs.providerArns, [userPoolArn]);
            const method = single(run, types.apiMethod);
            assert.equal(method.inputs.authorization, "COGNITO_USER_POOLS");
            assert.deepEqual(method.inputs.authorizationScopes, ["orders/read"]);
            assert.equal(ofType(run, types.lambdaPermission).length, 0, "Cognito needs no Lambda permission");
        });
    });

    describe("deployment", () => {
        const triggersOf = async (args: PrivateApiArgs) => single(await deployApi(args), types.apiDeployment).inputs.triggers as Record<string, string>;

        it("redeploys when only the resource policy changes, since a policy takes effect only with a new deployment", async () => {
            const before = await triggersOf(baseArgs());
            const after = await triggersOf(baseArgs({ allowedPrincipals: [`arn:aws:iam::${customerAccount}:role/workers`] }));
            assert.match(before.resourcePolicy!, /^[0-9a-f]{64}$/);
            assert.notEqual(after.resourcePolicy, before.resourcePolicy);
            assert.equal(after.definition, before.definition, "the routes did not change");
        });

        it("redeploys when a route changes, and keeps the same triggers when nothing does", async () => {
            const first = await triggersOf(baseArgs());
            const again = await triggersOf(baseArgs());
            assert.deepEqual(again, first);
            const changed = await triggersOf(baseArgs({ routes: [{ ...health, integration: { type: "MOCK", responseBody: '{"ok":false}' } }] }));
            assert.notEqual(changed.definition, first.definition);
            assert.equal(changed.resourcePolicy, first.resourcePolicy);
        });

        it("is created after every method, integration and the resource policy, and the stage serves it", async () => {
            const run = await deployApi(baseArgs({ routes: [health, { path: "/orders", method: "POST", integration: { type: "AWS_PROXY", functionArn } }] }));
            const deployment = single(run, types.apiDeployment);
            const waitsFor = [...ofType(run, types.apiMethod), ...ofType(run, types.apiIntegration), ...ofType(run, types.apiIntegrationResponse), single(run, types.restApiPolicy)];
            for (const resource of waitsFor) assert.ok(deployment.dependencies.includes(resource.urn), `deployment waits for ${resource.name}`);
            assert.equal(single(run, types.apiStage).inputs.deployment, deployment.id);
        });
    });

    describe("stage", () => {
        it("writes JSON access logs to a log group with retention and traces requests with X-Ray", async () => {
            const run = await deployApi(baseArgs());
            const stage = single(run, types.apiStage);
            const logGroup = named(run, "acme-access-logs", types.logGroup);
            assert.equal(logGroup.inputs.retentionInDays, 365);
            assert.equal(stage.inputs.stageName, "v1");
            assert.equal(stage.inputs.xrayTracingEnabled, true);
            const settings = stage.inputs.accessLogSettings as { destinationArn: string; format: string };
            assert.equal(settings.destinationArn, logGroup.outputs.arn);
            const format = JSON.parse(settings.format) as Record<string, string>;
            assert.equal(format.requestId, "$context.requestId");
            assert.equal(format.vpceId, "$context.identity.vpceId");
            assert.equal(format.userArn, "$context.identity.userArn");
            assert.equal(format.status, "$context.status");
            assert.equal(format.tlsVersion, "$context.tlsVersion");
        });

        it("turns on metrics, throttles with the given rate and burst, and never logs request bodies", async () => {
            const run = await deployApi(baseArgs({ throttling: { rateLimit: 25, burstLimit: 50 }, accessLogRetentionInDays: 90 }));
            const settings = single(run, types.apiMethodSettings);
            assert.equal(settings.inputs.methodPath, "*/*");
            assert.equal(settings.inputs.stageName, "v1");
            assert.deepEqual(settings.inputs.settings, {
                metricsEnabled: true,
                loggingLevel: "ERROR",
                dataTraceEnabled: false,
                throttlingRateLimit: 25,
                throttlingBurstLimit: 50,
            });
            assert.equal(named(run, "acme-access-logs", types.logGroup).inputs.retentionInDays, 90);
        });

        it("leaves the account-wide CloudWatch role alone unless asked to manage it", async () => {
            assert.equal(ofType(await deployApi(baseArgs()), types.apiGatewayAccount).length, 0);
            const run = await deployApi(baseArgs({ manageAccountCloudWatchRole: true }));
            const account = single(run, types.apiGatewayAccount);
            const role = named(run, "acme-apigateway-cloudwatch-role", types.iamRole);
            assert.equal(account.inputs.cloudwatchRoleArn, role.outputs.arn);
            assert.deepEqual(json(role.inputs.assumeRolePolicy).Statement[0]!.Principal, { Service: ["apigateway.amazonaws.com"] });
            const attachment = single(run, types.iamRolePolicyAttachment);
            assert.equal(attachment.inputs.policyArn, "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs");
            assert.ok(single(run, types.apiStage).dependencies.includes(account.urn), "logging is enabled only once the role is set");
        });
    });

    describe("private custom domain", () => {
        const customDomain = { domainName: "orders.internal.example.com", certificateArn, basePath: "orders", privateZoneId: "Z0123456789ABCDEFGHIJ" };

        it("creates a PRIVATE domain name with TLS 1.2, open only to the endpoints, mapped to the stage and resolvable in the VPC", async () => {
            const run = await deployApi(baseArgs({ vpcEndpointIds: [existingEndpoint], customDomain }));
            const domain = single(run, types.apiDomainName);
            assert.equal(domain.inputs.domainName, "orders.internal.example.com");
            assert.deepEqual(domain.inputs.endpointConfiguration, { types: "PRIVATE" });
            assert.equal(domain.inputs.securityPolicy, "TLS_1_2");
            assert.equal(domain.inputs.certificateArn, certificateArn);
            const endpoint = single(run, types.vpcEndpoint);
            const policy = json(domain.inputs.policy);
            assert.deepEqual(statement(policy, "DenyOutsideVpcEndpoints").Condition, { StringNotEquals: { "aws:SourceVpce": [endpoint.id, existingEndpoint] } });
            assert.equal(statement(policy, "DenyOutsideVpcEndpoints").Resource, "execute-api:/*");

            const mapping = single(run, types.apiBasePathMapping);
            assert.equal(mapping.inputs.domainName, "orders.internal.example.com");
            assert.equal(mapping.inputs.domainNameId, domain.outputs.domainNameId);
            assert.equal(mapping.inputs.restApi, single(run, types.restApi).id);
            assert.equal(mapping.inputs.stageName, "v1");
            assert.equal(mapping.inputs.basePath, "orders");

            const associations = ofType(run, types.apiDomainNameAccessAssociation);
            assert.deepEqual(associations.map((a) => a.inputs.accessAssociationSource).sort(), [endpoint.id, existingEndpoint].sort());
            for (const association of associations) {
                assert.equal(association.inputs.accessAssociationSourceType, "VPCE");
                assert.equal(association.inputs.domainNameArn, domain.outputs.arn);
            }
            const record = single(run, types.route53Record);
            assert.equal(record.inputs.name, "orders.internal.example.com");
            assert.equal(record.inputs.type, "A");
            const dns = (endpoint.outputs.dnsEntries as Array<{ dnsName: string; hostedZoneId: string }>)[0]!;
            assert.deepEqual(record.inputs.aliases, [{ name: dns.dnsName, zoneId: dns.hostedZoneId, evaluateTargetHealth: false }]);
            assert.equal(run.outputs.customDomainUrl, "https://orders.internal.example.com/orders");
        });

        it("accepts an enhanced TLS 1.3 security policy, with STRICT endpoint access, on the domain and the API", async () => {
            const run = await deployApi(baseArgs({ customDomain, securityPolicy: "SecurityPolicy_TLS13_1_3_2025_09" }));
            for (const resource of [single(run, types.apiDomainName), single(run, types.restApi)]) {
                assert.equal(resource.inputs.securityPolicy, "SecurityPolicy_TLS13_1_3_2025_09");
                assert.equal(resource.inputs.endpointAccessMode, "STRICT");
            }
        });
    });

    describe("outputs", () => {
        it("gives the API ID, the invoke URL seen from the VPC, the endpoint IDs and a SigV4-signed curl", async () => {
            const run = await deployApi(baseArgs({ routes: [{ path: "/orders/{id}", method: "GET", integration: { type: "MOCK" } }] }));
            const api = single(run, types.restApi);
            assert.equal(run.outputs.restApiId, api.id);
            assert.equal(run.outputs.invokeUrl, `https://${api.id}.execute-api.us-east-1.amazonaws.com/v1`);
            assert.deepEqual(run.outputs.vpcEndpointIds, [single(run, types.vpcEndpoint).id]);
            const curl = String(run.outputs.exampleCurl);
            assert.match(curl, /^eval "\$\(aws configure export-credentials --format env\)" && curl /);
            assert.ok(curl.includes('--aws-sigv4 "aws:amz:us-east-1:execute-api"'), curl);
            assert.ok(curl.includes('-H "x-amz-security-token: $AWS_SESSION_TOKEN"'), curl);
            assert.ok(curl.endsWith(`"https://${api.id}.execute-api.us-east-1.amazonaws.com/v1/orders/example"`), curl);
        });

        it("uses the endpoint's Route 53 alias when private DNS is not available, and a token header for authorizer routes", async () => {
            const run = await deployApi({
                vpcEndpointIds: [existingEndpoint],
                authorizers: { tokens: { type: "TOKEN", functionArn: authorizerArn } },
                routes: [{ path: "/orders", method: "POST", integration: { type: "MOCK" }, authorizer: "tokens" }],
            });
            const api = single(run, types.restApi);
            assert.equal(run.outputs.invokeUrl, `https://${api.id}-${existingEndpoint}.execute-api.us-east-1.amazonaws.com/v1`);
            assert.equal(
                run.outputs.exampleCurl,
                `curl -sS --fail-with-body -X POST -H 'content-type: application/json' -d '{}' -H "Authorization: $TOKEN" "https://${api.id}-${existingEndpoint}.execute-api.us-east-1.amazonaws.com/v1/orders"`,
            );
        });

        it("sends a body that satisfies the first route's request schema, which the stage validates", async () => {
            const requestSchema = {
                type: "object",
                required: ["sku", "quantity", "gift", "tags", "shipping", "priority", "note"],
                properties: {
                    sku: { type: "string" },
                    quantity: { type: "integer" },
                    gift: { type: "boolean" },
                    tags: { type: "array", items: { type: "string" } },
                    shipping: { type: "object", required: ["country", "express"], properties: { country: { type: "string", enum: ["DE", "FR"] }, express: { type: "boolean" }, floor: { type: "number" } } },
                    priority: { enum: ["high", "low"] },
                    note: { type: "string" },
                    comment: { type: "string" },
                },
            };
            const run = await deployApi(baseArgs({ routes: [{ path: "/orders", method: "POST", integration: { type: "MOCK" }, requestSchema }] }));
            const curl = String(run.outputs.exampleCurl);
            const body = /-d '([^']*)'/.exec(curl)?.[1];
            assert.ok(body, curl);
            assert.deepEqual(JSON.parse(body), {
                sku: "example",
                quantity: 0,
                gift: false,
                tags: [],
                shipping: { country: "DE", express: false },
                priority: "high",
                note: "example",
            });
            // The README's Quick start route: {"sku":"example"} instead of the {} API Gateway answers 400 to.
            const quick = await deployApi(
                baseArgs({ routes: [{ path: "/orders", method: "POST", integration: { type: "MOCK" }, requestSchema: { type: "object", required: ["sku"], properties: { sku: { type: "string" } } } }] }),
            );
            assert.ok(String(quick.outputs.exampleCurl).includes(`-X POST -H 'content-type: application/json' -d '{"sku":"example"}' --aws-sigv4`), String(quick.outputs.exampleCurl));
        });

        it("builds example bodies from draft-4 schemas: placeholders by type, first enum value, required properties only", () => {
            assert.deepEqual(exampleBody(undefined), {});
            assert.deepEqual(exampleBody({ type: "object" }), {});
            assert.deepEqual(exampleBody({ type: "object", properties: { a: { type: "string" } } }), {});
            assert.deepEqual(exampleBody({ required: ["a", "b"], properties: { a: { type: ["number", "null"] } } }), { a: 0, b: {} });
            assert.deepEqual(exampleBody({ type: "object", required: ["o"], properties: { o: { type: "object", required: ["p"], properties: { p: { type: "object" } } } } }), { o: { p: {} } });
            assert.deepEqual(exampleBody({ type: "array" }), []);
            assert.equal(exampleBody({ type: "string", enum: ["it's"] }), "it's");
        });

        it("follows what a model schema constrains: defaults, formats, lengths, bounds, items, $ref and allOf (each example validated by ajv)", () => {
            // Formats are checked below by hand (ajv's format package is not a dependency).
            const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
            const schemas: Array<[string, Record<string, unknown>]> = [
                ["default", { type: "string", enum: ["a", "b"], default: "b" }],
                ["format and length", { type: "object", required: ["email", "id", "at", "code"], properties: { email: { type: "string", format: "email" }, id: { type: "string", format: "uuid" }, at: { type: "string", format: "date-time" }, code: { type: "string", minLength: 12, maxLength: 12 } } }],
                ["short maximum", { type: "string", maxLength: 3 }],
                ["bounds", { type: "object", required: ["qty", "price", "neg", "step"], properties: { qty: { type: "integer", minimum: 1 }, price: { type: "number", exclusiveMinimum: 0 }, neg: { type: "integer", maximum: -5 }, step: { type: "integer", minimum: 7, multipleOf: 5 } } }],
                ["items", { type: "object", required: ["lines"], properties: { lines: { type: "array", minItems: 2, items: { type: "object", required: ["sku"], properties: { sku: { type: "string", minLength: 10 } } } } } }],
                ["$ref", { type: "object", required: ["address"], properties: { address: { $ref: "#/definitions/address" } }, definitions: { address: { type: "object", required: ["country"], properties: { country: { type: "string", enum: ["DE", "FR"] } } } } }],
                ["allOf", { allOf: [{ $ref: "#/definitions/base" }, { type: "object", required: ["extra"], properties: { extra: { type: "boolean" } } }], definitions: { base: { type: "object", required: ["id"], properties: { id: { type: "integer", minimum: 100 } } } } }],
                ["oneOf", { oneOf: [{ type: "object", required: ["card"], properties: { card: { type: "string", minLength: 16 } } }, { type: "object", required: ["iban"] }] }],
            ];
            for (const [what, schema] of schemas) {
                const example = exampleBody(schema);
                const validate = ajv.compile(schema);
                assert.ok(validate(example), `${what}: ${JSON.stringify(example)} is refused: ${ajv.errorsText(validate.errors)}`);
            }
            assert.equal(exampleBody({ type: "string", enum: ["a", "b"], default: "b" }), "b");
            const formats = exampleBody(schemas[1]![1]) as Record<string, string>;
            assert.match(formats.email!, /^[^@\s]+@[^@\s]+\.[a-z]+$/);
            assert.match(formats.id!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
            assert.ok(!Number.isNaN(Date.parse(formats.at!)));
            assert.deepEqual(exampleBody(schemas[3]![1]), { qty: 1, price: 1, neg: -5, step: 10 });
            // Draft 4's boolean exclusive bounds, as API Gateway's models write them.
            assert.equal(exampleBody({ type: "integer", minimum: 0, exclusiveMinimum: true }), 1);
            assert.equal(exampleBody({ type: "number", maximum: -1, exclusiveMaximum: true }), -2);
            // A reference to another model (not local) is untyped: an object.
            assert.deepEqual(exampleBody({ $ref: "https://apigateway.amazonaws.com/restapis/a1/models/Order" }), {});
        });

        it("quotes a body with a single quote for the shell", async () => {
            const run = await deployApi(
                baseArgs({ routes: [{ path: "/orders", method: "PUT", integration: { type: "MOCK" }, requestSchema: { type: "object", required: ["s"], properties: { s: { enum: ["it's"] } } } }] }),
            );
            assert.ok(String(run.outputs.exampleCurl).includes(`-X PUT -H 'content-type: application/json' -d '{"s":"it'\\''s"}'`), String(run.outputs.exampleCurl));
        });

        it("shows in the README the exampleCurl its Quick start produces", async () => {
            const readme = readFileSync(join(__dirname, "../../../components/api/README.md"), "utf8");
            const sample = /The `exampleCurl` output is a command for the first route[\s\S]*?```sh\n([\s\S]*?)\n```/.exec(readme)?.[1];
            assert.ok(sample, "the sample in components/api/README.md");
            const quickStart = /## Quick start\n\n```ts\n([\s\S]*?)```/.exec(readme)![1]!;
            assert.ok(quickStart.includes('{ path: "/health", method: "GET", integration: { type: "MOCK" } },'), "the Quick start's first route");
            const run = await deployApi(baseArgs({ routes: [health] }));
            const api = single(run, types.restApi);
            // The sample is wrapped for reading (one shell command all the same); its API ID and region stand for a deployed API's.
            const unwrapped = sample.replace(/ *\\\n */g, " ").replace(/&&\n/g, "&& ");
            assert.equal(unwrapped, String(run.outputs.exampleCurl).replaceAll(String(api.id), "a1b2c3d4e5").replaceAll("us-east-1", "eu-west-1"));
        });

        it("puts the token in the header a REQUEST authorizer reads, and sends unauthenticated routes plain", async () => {
            const run = await deployApi(
                baseArgs({
                    authorizers: { tenants: { type: "REQUEST", functionArn: authorizerArn, identitySource: "method.request.querystring.tenant,method.request.header.X-Token" } },
                    routes: [{ ...health, authorizer: "tenants" }],
                }),
            );
            assert.match(String(run.outputs.exampleCurl), /^curl -sS --fail-with-body -H "X-Token: \$TOKEN" "https:\/\/[a-z0-9]+\.execute-api\.us-east-1\.amazonaws\.com\/v1\/health"$/);
            const open = await deployApi(baseArgs({ routes: [{ ...health, authorization: "NONE" }] }));
            assert.match(String(open.outputs.exampleCurl), /^curl -sS --fail-with-body "https:\/\/[^"]+\/v1\/health"$/);
        });
    });

    describe("argument validation", () => {
        const endpoint = { vpcId, subnetIds: subnets, allowedSourceSecurityGroupIds: [callerSg] };
        const lambda = (overrides: Record<string, unknown> = {}) => ({ type: "AWS_PROXY" as const, functionArn, ...overrides });
        const route = (overrides: Partial<PrivateApiRoute>): PrivateApiRoute => ({ ...health, ...overrides });
        itRefuses<PrivateApiArgs>(`${types.privateApi} "acme"`, (overrides) => new PrivateApi("acme", baseArgs(overrides)), [
            ["no endpoint and no endpoint IDs", { endpoint: undefined }, /endpoint is required when vpcEndpointIds lists no existing execute-api endpoint/],
            ["an endpoint without subnets", { endpoint: { ...endpoint, subnetIds: [] } }, /endpoint\.subnetIds must list at least one entry/],
            ["a malformed subnet", { endpoint: { ...endpoint, subnetIds: ["subnet-1"] } }, /endpoint\.subnetIds\[0\] must be a subnet ID/],
            ["an endpoint nobody may reach", { endpoint: { vpcId, subnetIds: subnets } }, /endpoint\.allowedSourceSecurityGroupIds or allowedSourceCidrs must name who may reach the endpoint/],
            ["a world-open CIDR", { endpoint: { ...endpoint, allowedSourceCidrs: ["0.0.0.0/0"] } }, /allowedSourceCidrs\[0\] must not be 0\.0\.0\.0\/0/],
            ["a malformed CIDR", { endpoint: { ...endpoint, allowedSourceCidrs: ["10.0.0.300/8"] } }, /allowedSourceCidrs\[0\] must be an IPv4 CIDR/],
            ["a malformed security group", { endpoint: { ...endpoint, allowedSourceSecurityGroupIds: ["default"] } }, /allowedSourceSecurityGroupIds\[0\] must be a security group ID/],
            ["a flow-log retention CloudWatch does not offer", { endpoint: { ...endpoint, flowLogs: { retentionInDays: 10 } } }, /endpoint\.flowLogs\.retentionInDays must be a retention CloudWatch Logs accepts/],
            ["a malformed endpoint ID", { vpcEndpointIds: ["endpoint-1"] }, /vpcEndpointIds\[0\] must be an execute-api VPC endpoint ID/],
            ["no routes", { routes: [] }, /routes must list at least one entry/],
            ["an unknown integration type", { routes: [route({ integration: { type: "AWS" } as unknown as PrivateApiRoute["integration"] })] }, /routes\[0\]\.integration\.type must be one of "AWS_PROXY", "HTTP_PROXY", "MOCK" \(got "AWS"\)/],
            ["an unknown method", { routes: [route({ method: "FETCH" as "GET" })] }, /routes\[0\]\.method must be one of "GET"/],
            ["a path without a leading slash", { routes: [route({ path: "health" })] }, /routes\[0\]\.path must start with "\/"/],
            ["a path segment API Gateway refuses", { routes: [route({ path: "/orders/{id}/a b" })] }, /routes\[0\]\.path has segment "a b"/],
            ["a greedy parameter before the end", { routes: [route({ path: "/{proxy+}/items" })] }, /may use a greedy parameter \(\{proxy\+\}\) only as its last segment/],
            ["the same route twice", { routes: [health, health] }, /routes\[1\] repeats GET \/health/],
            ["two path variables at one level", { routes: [route({ path: "/orders/{id}" }), route({ path: "/orders/{orderId}/items" })] }, /routes\[1\]\.path has \{orderId\} where routes\[0\] has \{id\} below \/orders/],
            ["a Lambda integration without a function", { routes: [route({ integration: { type: "AWS_PROXY" } as PrivateApiRoute["integration"] })] }, /routes\[0\]\.integration\.functionArn is required/],
            ["a malformed function ARN", { routes: [route({ integration: lambda({ functionArn: "orders" }) })] }, /routes\[0\]\.integration\.functionArn must be a Lambda function ARN/],
            ["an integration timeout out of range", { routes: [route({ integration: lambda({ timeoutMilliseconds: 10 }) })] }, /timeoutMilliseconds must be an integer between 50 and 300000/],
            ["a plaintext HTTP backend over the network", { routes: [route({ integration: { type: "HTTP_PROXY", uri: "http://orders.example.com/" } })] }, /routes\[0\]\.integration\.uri must use https:\/\//],
            ["a backend URL placeholder the route does not have", { routes: [route({ path: "/orders/{id}", integration: { type: "HTTP_PROXY", uri: "https://orders.example.com/{orderId}" } })] }, /routes\[0\]\.integration\.uri uses \{orderId\}, which is not a parameter of the route's path \(\{id\}\)/],
            ["a backend that is not a URL", { routes: [route({ integration: { type: "HTTP_PROXY", uri: "orders" } })] }, /routes\[0\]\.integration\.uri must be an http\(s\) URL/],
            ["a zero throttling rate", { throttling: { rateLimit: 0 } }, /throttling\.rateLimit must be a positive number of requests per second \(got 0\)/],
            ["a negative throttling rate", { throttling: { rateLimit: -1 } }, /throttling\.rateLimit must be a positive number/],
            ["a fractional burst", { throttling: { burstLimit: 2.5 } }, /throttling\.burstLimit must be a whole number of requests, at least 1 \(got 2\.5\)/],
            ["a zero burst", { throttling: { burstLimit: 0 } }, /throttling\.burstLimit must be a whole number/],
            ["a TLS 1.0 security policy", { securityPolicy: "TLS_1_0" }, /securityPolicy must allow only TLS 1\.2 or newer \(got "TLS_1_0", which accepts TLS 1\.0\); choose one of "TLS_1_2", .*, or omit it for TLS_1_2$/],
            ["an edge-only TLS 1.2 policy", { securityPolicy: "SecurityPolicy_TLS12_2018_EDGE" }, /securityPolicy "SecurityPolicy_TLS12_2018_EDGE" is edge-only \(for EDGE endpoints\)/],
            ["an edge-only TLS 1.3 policy", { securityPolicy: "SecurityPolicy_TLS13_2025_EDGE" }, /securityPolicy "SecurityPolicy_TLS13_2025_EDGE" is edge-only \(for EDGE endpoints\), and this API and its custom domain are PRIVATE; choose one of "TLS_1_2", "SecurityPolicy_TLS13_1_3_2025_09"/],
            ["a policy name that only starts like a TLS 1.3 one", { securityPolicy: "SecurityPolicy_TLS13_1_3_NOPE" }, /securityPolicy must be an API Gateway security policy for PRIVATE APIs that allows only TLS 1\.2 or newer \(got "SecurityPolicy_TLS13_1_3_NOPE"\); choose one of/],
            ["a policy in the wrong case", { securityPolicy: "tls_1_2" }, /securityPolicy must be an API Gateway security policy for PRIVATE APIs .*\(got "tls_1_2"\)/],
            ["an endpoint access mode with a legacy policy", { endpointAccessMode: "STRICT" }, /endpointAccessMode applies only to the enhanced SecurityPolicy_\* policies/],
            ["a route naming an unknown authorizer", { routes: [route({ authorizer: "jwt" })] }, /routes\[0\]\.authorizer names no authorizer \(got "jwt"; known: none\)/],
            ["scopes on a Lambda authorizer", { authorizers: { tokens: { type: "TOKEN", functionArn: authorizerArn } }, routes: [route({ authorizer: "tokens", authorizationScopes: ["a"] })] }, /routes\[0\]\.authorizationScopes apply only to COGNITO_USER_POOLS authorizers/],
            ["a REQUEST authorizer without identity sources", { authorizers: { req: { type: "REQUEST", functionArn: authorizerArn } as unknown as { type: "REQUEST"; functionArn: string; identitySource: string } } }, /authorizers\.req\.identitySource is required for a REQUEST authorizer/],
            ["an authorizer cache beyond an hour", { authorizers: { tokens: { type: "TOKEN", functionArn: authorizerArn, resultTtlSeconds: 7200 } } }, /authorizers\.tokens\.resultTtlSeconds must be an integer between 0 and 3600/],
            ["principals with a route they could not call", { allowedPrincipals: [platformAccount], routes: [route({ authorization: "NONE" })] }, /allowedPrincipals needs every route to use AWS_IAM authorization, but routes\[0\] does not/],
            ["a wildcard principal", { allowedPrincipals: ["*"] }, /allowedPrincipals\[0\] must not contain "\*"/],
            ["an empty principal list", { allowedPrincipals: [] }, /allowedPrincipals must list at least one entry; or omit it/],
            ["a stage name with a slash", { stageName: "v1/beta" }, /stageName must be 1–128 letters, digits/],
            ["an access-log retention CloudWatch does not offer", { accessLogRetentionInDays: 400.5 }, /accessLogRetentionInDays must be a retention CloudWatch Logs accepts/],
            ["a body schema on a GET route", { routes: [route({ requestSchema: { type: "object" } })] }, /routes\[0\]\.requestSchema validates a request body, which GET requests do not have/],
            ["a DNS record without a created endpoint", { endpoint: undefined, vpcEndpointIds: [existingEndpoint], customDomain: { domainName: "api.example.com", certificateArn, privateZoneId: "Z0123456789ABCDEFGHIJ" } }, /customDomain\.privateZoneId needs the endpoint this component creates/],
            ["an upper-case domain name", { customDomain: { domainName: "API.example.com", certificateArn } }, /customDomain\.domainName must be a lower-case DNS name/],
            ["a base path with a leading slash", { customDomain: { domainName: "api.example.com", certificateArn, basePath: "/orders" } }, /customDomain\.basePath must be path segments without leading or trailing "\/"/],
        ]);

        it("says an edge-only policy is edge-only, not that it allows TLS older than 1.2", () => {
            assert.throws(
                () => new PrivateApi("acme", baseArgs({ securityPolicy: "SecurityPolicy_TLS13_2025_EDGE" })),
                (error: Error) => !/older|TLS 1\.0|allow only/.test(error.message) && /edge-only/.test(error.message),
            );
        });

        it("accepts exactly the security policies AWS documents for private APIs and domains, with TLS 1.2 or newer", async () => {
            for (const securityPolicy of privateApiSecurityPolicies) {
                const run = await deployApi(baseArgs({ securityPolicy }));
                assert.equal(single(run, types.restApi).inputs.securityPolicy, securityPolicy);
            }
        });

        const certificateIn = (region: string) => `arn:aws:acm:${region}:${customerAccount}:certificate/0d3f1c2e-4b5a-4c6d-8e7f-9a0b1c2d3e4f`;
        it("refuses a custom domain certificate from another region than the API's, naming the field and the fix", async () => {
            await assert.rejects(
                deployApi(baseArgs({ customDomain: { domainName: "orders.internal.example.com", certificateArn: certificateIn("eu-west-1") } })),
                /customDomain\.certificateArn is in eu-west-1, but the API is in us-east-1: a private custom domain needs an ACM certificate in the API's own region; request or import the certificate in ACM in us-east-1/,
            );
        });

        it("checks a certificate ARN that arrives as an Output against the API's region when it resolves", async () => {
            await assert.rejects(
                deployApi(baseArgs({ customDomain: { domainName: "orders.internal.example.com", certificateArn: pulumi.output(certificateIn("eu-central-1")) } })),
                /customDomain\.certificateArn is in eu-central-1, but the API is in us-east-1/,
            );
            const run = await deployApi(baseArgs({ customDomain: { domainName: "orders.internal.example.com", certificateArn: pulumi.output(certificateIn("us-east-1")) } }));
            assert.equal(single(run, types.apiDomainName).inputs.certificateArn, certificateIn("us-east-1"));
        });

        it("checks a function ARN that arrives as an Output when it resolves", async () => {
            await assert.rejects(
                deployApi(baseArgs({ routes: [route({ integration: lambda({ functionArn: pulumi.output("not-an-arn") }) })] })),
                /routes\[0\]\.integration\.functionArn must be a Lambda function ARN/,
            );
        });
    });
});

describe("EndpointFlowLogs", () => {
    it("can log a whole VPC with one flow log instead of per subnet", async () => {
        const run = await deploy(() => {
            new EndpointFlowLogs("vpc-logs", { vpcId, trafficType: "REJECT", maxAggregationIntervalSeconds: 600 });
        });
        const flowLog = single(run, types.flowLog);
        assert.equal(flowLog.inputs.vpcId, vpcId);
        assert.equal(flowLog.inputs.subnetId, undefined);
        assert.equal(flowLog.inputs.trafficType, "REJECT");
        assert.equal(flowLog.inputs.maxAggregationInterval, 600);
    });

    it("refuses subnets and a VPC at once, naming its own component", () => {
        assert.throws(
            () => new EndpointFlowLogs("logs", { vpcId, subnetIds: subnets }),
            /^ComponentArgumentError: private-connectivity:index:EndpointFlowLogs "logs": vpcId and subnetIds exclude each other/,
        );
    });
});
