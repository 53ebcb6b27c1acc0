// What callers reach: the deployment (a snapshot of routes and resource policy), the stage with its
// access logs, tracing and throttling, and the account-wide CloudWatch Logs role when this stack owns it.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { serviceTrustPolicy } from "../shared/iamPolicy";
import { canonicalJson, sha256 } from "./definitionHash";
import type { CheckedArgs } from "./privateApiChecks";
import { Known } from "../shared/known";
import type { createRoutes } from "./privateApiRouteResources";

/**
 * The access log line: one JSON object per request, with who called (principal, VPC endpoint), what,
 * the outcome and where time went, and the TLS version negotiated.
 */
const accessLogFormat = JSON.stringify({
    requestId: "$context.requestId",
    extendedRequestId: "$context.extendedRequestId",
    requestTime: "$context.requestTime",
    httpMethod: "$context.httpMethod",
    resourcePath: "$context.resourcePath",
    path: "$context.path",
    status: "$context.status",
    protocol: "$context.protocol",
    responseLength: "$context.responseLength",
    responseLatency: "$context.responseLatency",
    integrationStatus: "$context.integration.status",
    integrationLatency: "$context.integration.latency",
    sourceIp: "$context.identity.sourceIp",
    vpcId: "$context.identity.vpcId",
    vpceId: "$context.identity.vpceId",
    callerAccountId: "$context.identity.accountId",
    userArn: "$context.identity.userArn",
    principalId: "$context.authorizer.principalId",
    errorMessage: "$context.error.message",
    errorType: "$context.error.responseType",
    authorizerError: "$context.authorizer.error",
    tlsVersion: "$context.tlsVersion",
    domainName: "$context.domainName",
    xrayTraceId: "$context.xrayTraceId",
});

export interface StageArgs {
    api: aws.apigateway.RestApi;
    /** The resource policy attached to the API, and its document. */
    policy: aws.apigateway.RestApiPolicy;
    resourcePolicy: pulumi.Output<string>;
    /** The routes' resources and their definition (later when the routes are Outputs). */
    definition: Known<ReturnType<typeof createRoutes>>;
    partition: pulumi.Output<string>;
    tags: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The deployment, its stage and the stage's logging and throttling settings. */
export function createStage(component: pulumi.Resource, name: string, checked: CheckedArgs, args: StageArgs) {
    const parent = { parent: component };
    const { api, definition, resourcePolicy, tags } = args;
    // A deployment is a snapshot: changes to routes *or to the resource policy* reach callers only
    // when a new one is created, so its triggers hash both.
    const deployment = new aws.apigateway.Deployment(
        `${name}-deployment`,
        {
            restApi: api.id,
            description: `Private API ${name}`,
            triggers: {
                definition: pulumi.output(definition.asInput()).apply((d) => sha256(canonicalJson(d.spec))),
                resourcePolicy: resourcePolicy.apply(sha256),
            },
        },
        { parent: component, dependsOn: definition.mapResolved((d) => [args.policy, ...d.resources]).asInput() },
    );

    // One setting per account and region, created when `manageAccountCloudWatchRole` is known to be true.
    const account = checked.manageAccountCloudWatchRole.mapResolved((manage) => (manage ? createAccountLoggingRole(component, name, args.partition, tags) : undefined));
    const accessLogs = new aws.cloudwatch.LogGroup(
        `${name}-access-logs`,
        { retentionInDays: checked.accessLogRetentionInDays, kmsKeyId: checked.accessLogKmsKeyArn, tags },
        parent,
    );
    const stage = new aws.apigateway.Stage(
        `${name}-stage`,
        {
            restApi: api.id,
            deployment: deployment.id,
            stageName: checked.stageName,
            xrayTracingEnabled: true,
            accessLogSettings: { destinationArn: accessLogs.arn, format: accessLogFormat },
            tags,
        },
        { parent: component, dependsOn: account.mapResolved((a) => (a ? [a] : [])).asInput() },
    );
    new aws.apigateway.MethodSettings(
        `${name}-method-settings`,
        {
            restApi: api.id,
            stageName: stage.stageName,
            methodPath: "*/*",
            settings: {
                metricsEnabled: true,
                loggingLevel: checked.executionLogLevel,
                dataTraceEnabled: false,
                throttlingRateLimit: checked.throttling.rateLimit,
                throttlingBurstLimit: checked.throttling.burstLimit,
            },
        },
        parent,
    );
    return { stage, accessLogs };
}

/** The account's CloudWatch Logs role for API Gateway (a per-region singleton; see `manageAccountCloudWatchRole`). */
function createAccountLoggingRole(
    component: pulumi.Resource,
    name: string,
    partition: pulumi.Output<string>,
    tags: pulumi.Input<Record<string, pulumi.Input<string>>>,
): aws.apigateway.Account {
    const parent = { parent: component };
    const role = new aws.iam.Role(
        `${name}-apigateway-cloudwatch-role`,
        {
            description: "Lets API Gateway write access and execution logs of this account and region to CloudWatch Logs",
            assumeRolePolicy: JSON.stringify(serviceTrustPolicy("apigateway.amazonaws.com", "ApiGatewayWritesLogs")),
            tags,
        },
        parent,
    );
    const attachment = new aws.iam.RolePolicyAttachment(
        `${name}-apigateway-cloudwatch`,
        { role: role.name, policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs` },
        parent,
    );
    return new aws.apigateway.Account(`${name}-apigateway-account`, { cloudwatchRoleArn: role.arn }, { parent: component, dependsOn: [attachment] });
}
