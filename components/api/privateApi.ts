import * as crypto from "node:crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { checkFlowLogSettings, EndpointFlowLogs, FlowLogSettings } from "../privatelink/endpointFlowLogs";
import { serviceTrustPolicy } from "../shared/iamPolicy";
import { executeApiEndpointPolicy, invokerIdentityPolicy, privateApiInvokePolicy } from "./privateApiPolicy";
import {
    ApiEnvironment,
    CheckedAuthorizer,
    checkAuthorizers,
    CheckedRoute,
    checkRoutes,
    curlExample,
    integrationArgsFor,
    lambdaInvocationUri,
    methodArgsFor,
    PrivateApiAuthorizer,
    PrivateApiRoute,
} from "./privateApiRoutes";
import {
    apiGatewayTls12PolicyPattern,
    ArgChecker,
    defaultApiGatewaySecurityPolicy,
    defaultLogRetentionDays,
    isIpv4Cidr,
    patterns,
} from "../shared/validation";

/** The execute-api interface endpoint the component creates. */
export interface PrivateApiEndpointArgs {
    /** VPC of the callers. */
    vpcId: pulumi.Input<string>;
    /**
     * Private subnets for the endpoint's network interfaces, one per Availability Zone the callers run
     * in. A plain list (elements may be Outputs): each subnet also gets a flow log.
     */
    subnetIds: pulumi.Input<string>[];
    /**
     * Security groups of the callers (e.g. the instances' group). The endpoint's own security group
     * allows HTTPS (443) from these and from `allowedSourceCidrs`, and nothing else. A plain list.
     */
    allowedSourceSecurityGroupIds?: pulumi.Input<string>[];
    /** IPv4 CIDRs allowed on 443, e.g. a peered VPC. `/0` is refused. A plain list. */
    allowedSourceCidrs?: pulumi.Input<string>[];
    /**
     * Resolve `<api-id>.execute-api.<region>.amazonaws.com` to the endpoint inside the VPC. Default
     * `true`. Note that with private DNS on, the VPC can no longer reach *public* API Gateway APIs by
     * their default hostnames, and a VPC can have only one execute-api endpoint with private DNS: if
     * it already has one, pass its ID in `vpcEndpointIds` instead of creating another.
     */
    privateDnsEnabled?: boolean;
    /**
     * Endpoint policy (JSON). Default: invoke APIs of this account only, so the endpoint cannot be
     * used to send data to other accounts' private APIs.
     */
    policy?: pulumi.Input<string>;
    /**
     * Flow logs for the endpoint's subnets (see `EndpointFlowLogs`). Default: on, all traffic, kept
     * 365 days. `false` is an explicit opt-out for VPCs whose flow logs are managed elsewhere; the
     * policy pack's flow-log rule then fails unless the same stack logs the VPC or these subnets.
     */
    flowLogs?: false | FlowLogSettings;
}

/** A private custom domain name for the API (`https://<domainName>/<basePath>/…` inside the VPC). */
export interface PrivateApiCustomDomain {
    /** Lower-case DNS name, e.g. `orders.internal.example.com`. */
    domainName: string;
    /** ACM certificate covering `domainName`, in the API's region (public or ACM Private CA). */
    certificateArn: pulumi.Input<string>;
    /** Path the stage is mapped under. Default: the root of the domain. */
    basePath?: string;
    /**
     * Route 53 private hosted zone (associated with the endpoint's VPC) in which to create
     * `domainName` as an alias of the endpoint the component creates. Default: none; publish the
     * record yourself. Requires `endpoint`.
     */
    privateZoneId?: pulumi.Input<string>;
}

export interface PrivateApiThrottling {
    /** Steady-state requests per second for the whole stage. Default 100. */
    rateLimit?: number;
    /** Requests that may arrive at once above the rate (token bucket size), an integer. Default 200. */
    burstLimit?: number;
}

export interface PrivateApiArgs {
    /**
     * Create an execute-api interface endpoint (with its own security group and flow logs) in the
     * callers' VPC. Required unless `vpcEndpointIds` lists existing endpoints.
     */
    endpoint?: PrivateApiEndpointArgs;
    /**
     * IDs of existing execute-api interface endpoints (`vpce-…`) that may also reach the API, e.g.
     * one per VPC of other callers. A plain list (elements may be Outputs).
     */
    vpcEndpointIds?: pulumi.Input<string>[];
    /** The API: at least one route. A plain list. */
    routes: PrivateApiRoute[];
    /** Authorizers routes may refer to by name (letters, digits, `_`, `-`). Default: none. */
    authorizers?: Record<string, PrivateApiAuthorizer>;
    /**
     * Who may invoke, on top of coming through an allowed endpoint: AWS account IDs or IAM principal
     * ARNs; everyone else is explicitly denied. Default: this account, so IAM decides: a caller needs an
     * identity policy granting `execute-api:Invoke` (see the `invokerPolicy` output). Only with routes
     * that are all `AWS_IAM`: other requests carry no principal, so then anyone who comes through the
     * endpoints passes the resource policy and the authorizer decides.
     */
    allowedPrincipals?: pulumi.Input<string>[];
    /** Stage name, the first path segment of the invoke URL. Default `v1`. */
    stageName?: string;
    /** Stage-wide throttling. Defaults: 100 requests/s, burst 200. */
    throttling?: PrivateApiThrottling;
    /** Days the access log group keeps records. Default 365. */
    accessLogRetentionInDays?: number;
    /** KMS key ARN for the access log group. Default: CloudWatch Logs' own encryption. */
    accessLogKmsKeyArn?: pulumi.Input<string>;
    /**
     * Execution logging of the stage (API Gateway's own log group). Default `ERROR`. `INFO` logs
     * more; request and response bodies are never logged (they may carry secrets).
     */
    executionLogLevel?: "OFF" | "ERROR" | "INFO";
    /**
     * TLS security policy of the API and of its custom domain. Default `TLS_1_2`. The enhanced
     * `SecurityPolicy_TLS13_1_2_*` and `SecurityPolicy_TLS13_1_3_*` policies are accepted; `TLS_1_0`
     * is refused.
     */
    securityPolicy?: string;
    /**
     * Endpoint access mode, required by the enhanced `SecurityPolicy_*` policies and refused with
     * `TLS_1_2`. Default with an enhanced policy: `STRICT` (requests must match the endpoint type and
     * the TLS server name), as AWS recommends.
     */
    endpointAccessMode?: "STRICT" | "BASIC";
    /** A private custom domain name. Default: none. */
    customDomain?: PrivateApiCustomDomain;
    /**
     * Also set the account's API Gateway CloudWatch Logs role (`aws.apigateway.Account`), which access
     * and execution logging need. Default `false`: it is one setting per account and region, so exactly
     * one stack should own it (two that both set it overwrite each other, and deleting it affects every
     * API of the region). Turn it on in that one stack.
     */
    manageAccountCloudWatchRole?: boolean;
    /** Description of the REST API. */
    description?: string;
    /** Tags for every resource the component creates that takes tags. */
    tags?: Record<string, pulumi.Input<string>>;
}

const componentType = "firefly:privateapi:PrivateApi";

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

/**
 * A REST API that only exists inside VPCs: endpoint type PRIVATE, reachable only through the given
 * execute-api interface endpoints (resource policy on `aws:SourceVpce`), IAM-authorized by default,
 * with a stage that writes JSON access logs, traces with X-Ray and throttles, and an optional private
 * custom domain name with a TLS 1.2+ policy.
 */
export class PrivateApi extends pulumi.ComponentResource {
    public readonly restApiId: pulumi.Output<string>;
    /** `arn:aws:execute-api:<region>:<account>:<api-id>`, for identity policies of callers. */
    public readonly executionArn: pulumi.Output<string>;
    public readonly stageName: pulumi.Output<string>;
    /**
     * Base URL of the stage as callers in the VPC use it: `https://<api-id>.execute-api.<region>.amazonaws.com/<stage>`
     * with the created endpoint's private DNS, otherwise the Route 53 alias of the first endpoint,
     * `https://<api-id>-<vpce-id>.execute-api.<region>.amazonaws.com/<stage>` (resolvable anywhere,
     * reachable only inside the VPC).
     */
    public readonly invokeUrl: pulumi.Output<string>;
    /** Every endpoint the API accepts requests through: the created one first, then `vpcEndpointIds`. */
    public readonly vpcEndpointIds: pulumi.Output<string[]>;
    /** The created endpoint's security group; undefined when only existing endpoints are used. */
    public readonly endpointSecurityGroupId: pulumi.Output<string | undefined>;
    public readonly accessLogGroupName: pulumi.Output<string>;
    /** The resource policy document (JSON) attached to the API. */
    public readonly resourcePolicy: pulumi.Output<string>;
    /** An identity policy (JSON) that lets a caller's role invoke every route of the stage. */
    public readonly invokerPolicy: pulumi.Output<string>;
    /** `https://<domainName>/<basePath>`; undefined without a custom domain. */
    public readonly customDomainUrl: pulumi.Output<string | undefined>;
    /** A shell command that calls the first route from an instance in the VPC (SigV4-signed for AWS_IAM). */
    public readonly exampleCurl: pulumi.Output<string>;

    constructor(name: string, args: PrivateApiArgs, opts?: pulumi.ComponentResourceOptions) {
        const checked = checkArgs(name, args);
        super(componentType, name, {}, opts);
        const parent = { parent: this };
        const tags = args.tags ?? {};

        const partitionInfo = aws.getPartitionOutput({}, parent);
        const env: Environment = {
            accountId: aws.getCallerIdentityOutput({}, parent).accountId,
            partition: partitionInfo.partition,
            region: aws.getRegionOutput({}, parent).region,
            dnsSuffix: partitionInfo.dnsSuffix,
            reverseDnsPrefix: partitionInfo.reverseDnsPrefix,
        };

        const created = checked.endpoint ? this.createEndpoint(name, checked.endpoint, tags, env) : undefined;
        const endpointIds: pulumi.Input<string>[] = [...(created ? [created.endpoint.id] : []), ...checked.vpcEndpointIds];
        const allEndpointIds = pulumi.all(endpointIds);

        const api = new aws.apigateway.RestApi(
            `${name}-api`,
            {
                description: args.description ?? `Private API ${name}: reachable only through its VPC endpoints`,
                endpointConfiguration: { types: "PRIVATE", vpcEndpointIds: endpointIds },
                securityPolicy: checked.securityPolicy,
                endpointAccessMode: checked.endpointAccessMode,
                tags,
            },
            parent,
        );

        // IAM-only routes: name who may call (default this account, so IAM decides). Otherwise the
        // requests carry no principal and the resource policy can only restrict the network path.
        const principals = checked.iamOnly
            ? pulumi.all(checked.allowedPrincipals.length > 0 ? checked.allowedPrincipals : [env.accountId])
            : pulumi.output<string[] | undefined>(undefined);
        const resourcePolicy = pulumi
            .all([api.executionArn, allEndpointIds, principals, env.partition])
            .apply(([executionArn, vpcEndpointIds, invokers, part]) =>
                JSON.stringify(
                    privateApiInvokePolicy({ resource: `${executionArn}/*`, vpcEndpointIds, principals: invokers, partition: part }),
                ),
            );
        const policy = new aws.apigateway.RestApiPolicy(`${name}-policy`, { restApiId: api.id, policy: resourcePolicy }, parent);

        const definition = this.createRoutes(name, api, checked, env);

        // A deployment is a snapshot: changes to routes *or to the resource policy* reach callers only
        // when a new one is created, so its triggers hash both.
        const deployment = new aws.apigateway.Deployment(
            `${name}-deployment`,
            {
                restApi: api.id,
                description: `Private API ${name}`,
                triggers: {
                    definition: pulumi.output(definition.spec).apply((spec) => sha256(canonicalJson(spec))),
                    resourcePolicy: resourcePolicy.apply(sha256),
                },
            },
            { parent: this, dependsOn: [policy, ...definition.resources] },
        );

        const account = checked.manageAccountCloudWatchRole ? this.createAccountLoggingRole(name, env.partition, tags) : undefined;
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
            { parent: this, dependsOn: account ? [account] : [] },
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

        let customDomainUrl: pulumi.Output<string | undefined> = pulumi.output(undefined);
        if (checked.customDomain) {
            customDomainUrl = this.createCustomDomain(name, checked, { api, stage, endpointIds, allEndpointIds, created, partition: env.partition, tags });
        }

        // Private DNS of the created endpoint resolves the API's own hostname inside the VPC. Otherwise
        // the Route 53 alias API Gateway publishes for each associated endpoint works everywhere.
        const invokeUrl =
            created && checked.endpoint?.privateDnsEnabled
                ? stage.invokeUrl
                : pulumi.interpolate`https://${api.id}-${allEndpointIds.apply((ids) => ids[0])}.execute-api.${env.region}.${env.dnsSuffix}/${stage.stageName}`;
        const firstRoute = checked.routes[0]!;

        this.restApiId = api.id;
        this.executionArn = api.executionArn;
        this.stageName = stage.stageName;
        this.invokeUrl = invokeUrl;
        this.vpcEndpointIds = allEndpointIds;
        this.endpointSecurityGroupId = created ? created.securityGroup.id.apply((id): string | undefined => id) : pulumi.output(undefined);
        this.accessLogGroupName = accessLogs.name;
        this.resourcePolicy = resourcePolicy;
        this.invokerPolicy = stage.executionArn.apply((arn) => JSON.stringify(invokerIdentityPolicy(arn)));
        this.customDomainUrl = customDomainUrl;
        this.exampleCurl = pulumi.all([invokeUrl, env.region]).apply(([url, reg]) => curlExample(firstRoute, checked.authorizers, url, reg));
        this.registerOutputs({
            restApiId: this.restApiId,
            executionArn: this.executionArn,
            stageName: this.stageName,
            invokeUrl: this.invokeUrl,
            vpcEndpointIds: this.vpcEndpointIds,
            endpointSecurityGroupId: this.endpointSecurityGroupId,
            accessLogGroupName: this.accessLogGroupName,
            resourcePolicy: this.resourcePolicy,
            invokerPolicy: this.invokerPolicy,
            customDomainUrl: this.customDomainUrl,
            exampleCurl: this.exampleCurl,
        });
    }

    /** The execute-api interface endpoint, its security group (443 from the callers only) and flow logs. */
    private createEndpoint(name: string, endpoint: CheckedEndpoint, tags: Record<string, pulumi.Input<string>>, env: Environment) {
        const parent = { parent: this };
        const securityGroup = new aws.ec2.SecurityGroup(
            `${name}-endpoint-sg`,
            {
                vpcId: endpoint.vpcId,
                description: `execute-api endpoint of private API ${name}: HTTPS from its callers only`,
                tags,
            },
            parent,
        );
        const sources = [
            ...endpoint.allowedSourceSecurityGroupIds.map((id, i) => ({ key: typeof id === "string" ? id : `sg-${i}`, rule: { referencedSecurityGroupId: id } })),
            ...endpoint.allowedSourceCidrs.map((cidr, i) => ({ key: typeof cidr === "string" ? cidr : `cidr-${i}`, rule: { cidrIpv4: cidr } })),
        ];
        for (const { key, rule } of sources) {
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-endpoint-https-from-${key}`,
                { securityGroupId: securityGroup.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, description: "HTTPS to the private API", ...rule, tags },
                parent,
            );
        }
        const vpce = new aws.ec2.VpcEndpoint(
            `${name}-endpoint`,
            {
                vpcId: endpoint.vpcId,
                serviceName: pulumi.interpolate`${env.reverseDnsPrefix}.${env.region}.execute-api`,
                vpcEndpointType: "Interface",
                privateDnsEnabled: endpoint.privateDnsEnabled,
                subnetIds: endpoint.subnetIds,
                securityGroupIds: [securityGroup.id],
                ipAddressType: "ipv4",
                policy:
                    endpoint.policy ??
                    pulumi.all([env.partition, env.region, env.accountId]).apply(([part, reg, account]) => JSON.stringify(executeApiEndpointPolicy(part, reg, account))),
                tags,
            },
            parent,
        );
        if (endpoint.flowLogs !== false) {
            new EndpointFlowLogs(`${name}-endpoint-flow-logs`, { ...endpoint.flowLogs, subnetIds: endpoint.subnetIds, tags }, parent);
        }
        return { endpoint: vpce, securityGroup };
    }

    /**
     * Resources, methods, integrations, authorizers and models. Returns the resources a deployment
     * must wait for, and `spec`: every argument they were created with except the IDs AWS assigns, so
     * that a hash of it changes exactly when the API definition does.
     */
    private createRoutes(name: string, api: aws.apigateway.RestApi, checked: CheckedArgs, env: ApiEnvironment) {
        const parent = { parent: this };
        const resources: pulumi.Resource[] = [];
        const spec: { authorizers: Record<string, unknown>; routes: Record<string, unknown> } = { authorizers: {}, routes: {} };

        const authorizerIds = new Map<string, pulumi.Output<string>>();
        for (const [authName, authorizer] of Object.entries(checked.authorizers)) {
            const authorizerArgs = {
                name: authName,
                type: authorizer.type,
                identitySource: authorizer.identitySource,
                identityValidationExpression: authorizer.identityValidationExpression,
                authorizerResultTtlInSeconds: authorizer.resultTtlSeconds,
                authorizerUri: authorizer.functionArn === undefined ? undefined : lambdaInvocationUri(env, authorizer.functionArn),
                providerArns: authorizer.userPoolArns,
            };
            spec.authorizers[authName] = authorizerArgs;
            const created = new aws.apigateway.Authorizer(`${name}-authorizer-${authName}`, { restApi: api.id, ...authorizerArgs }, parent);
            authorizerIds.set(authName, created.id);
            if (authorizer.functionArn !== undefined) {
                this.allowApiGatewayToInvoke(name, `authorizer-${authName}`, authorizer.functionArn, pulumi.interpolate`${api.executionArn}/authorizers/${created.id}`);
            }
        }

        const validator = checked.routes.some((r) => r.requestSchema !== undefined)
            ? new aws.apigateway.RequestValidator(`${name}-body-validator`, { restApi: api.id, name: "body", validateRequestBody: true, validateRequestParameters: false }, parent)
            : undefined;

        // One API Gateway resource per distinct path prefix, shared by the routes below it.
        const resourceIds = new Map<string, pulumi.Input<string>>([["/", api.rootResourceId]]);
        const resourceIdOf = (segments: readonly string[]): pulumi.Input<string> => {
            const path = `/${segments.join("/")}`;
            const known = resourceIds.get(path);
            if (known !== undefined) return known;
            const resource = new aws.apigateway.Resource(
                `${name}-resource-${path}`,
                { restApi: api.id, parentId: resourceIdOf(segments.slice(0, -1)), pathPart: segments[segments.length - 1]! },
                parent,
            );
            resourceIds.set(path, resource.id);
            return resource.id;
        };

        for (const route of checked.routes) {
            const resourceId = resourceIdOf(route.segments);
            const key = `${route.method}-${route.path}`;
            const auth = route.authorization;

            let model: aws.apigateway.Model | undefined;
            if (route.requestSchema !== undefined && route.modelName !== undefined) {
                model = new aws.apigateway.Model(
                    `${name}-model-${key}`,
                    { restApi: api.id, name: route.modelName, contentType: "application/json", schema: route.requestSchema },
                    parent,
                );
            }
            const methodArgs = methodArgsFor(route);
            const method = new aws.apigateway.Method(
                `${name}-method-${key}`,
                {
                    restApi: api.id,
                    resourceId,
                    ...methodArgs,
                    authorizerId: "authorizer" in auth ? authorizerIds.get(auth.authorizer) : undefined,
                    requestValidatorId: model ? validator?.id : undefined,
                },
                { parent: this, dependsOn: model ? [model] : [] },
            );

            const integrationArgs = integrationArgsFor(route, env);
            const integration = new aws.apigateway.Integration(
                `${name}-integration-${key}`,
                { restApi: api.id, resourceId, ...integrationArgs, httpMethod: method.httpMethod },
                parent,
            );
            resources.push(method, integration);

            let responseArgs: Record<string, unknown> | undefined;
            if (route.integration.type === "MOCK") {
                const statusCode = String(route.integration.statusCode);
                responseArgs = { statusCode, responseTemplates: { "application/json": route.integration.responseBody } };
                const methodResponse = new aws.apigateway.MethodResponse(
                    `${name}-method-response-${key}`,
                    { restApi: api.id, resourceId, httpMethod: method.httpMethod, statusCode, responseModels: { "application/json": "Empty" } },
                    parent,
                );
                const integrationResponse = new aws.apigateway.IntegrationResponse(
                    `${name}-integration-response-${key}`,
                    {
                        restApi: api.id,
                        resourceId,
                        httpMethod: method.httpMethod,
                        statusCode: methodResponse.statusCode,
                        responseTemplates: { "application/json": route.integration.responseBody },
                    },
                    { parent: this, dependsOn: [integration] },
                );
                resources.push(methodResponse, integrationResponse);
            } else if (route.integration.type === "AWS_PROXY") {
                // Any stage, this method and path only.
                const methodAndPath = `${route.method === "ANY" ? "*" : route.method}/${route.segments.map((s) => (s.startsWith("{") ? "*" : s)).join("/")}`;
                this.allowApiGatewayToInvoke(name, key, route.integration.functionArn, pulumi.interpolate`${api.executionArn}/*/${methodAndPath}`);
            }
            spec.routes[key] = {
                method: methodArgs,
                authorizer: "authorizer" in auth ? auth.authorizer : undefined,
                model: route.requestSchema === undefined ? undefined : { name: route.modelName, schema: route.requestSchema },
                integration: integrationArgs,
                response: responseArgs,
            };
        }
        return { resources, spec };
    }

    /** Lets API Gateway invoke a Lambda function, from `sourceArn` (a route or an authorizer of this API) only. */
    private allowApiGatewayToInvoke(name: string, key: string, functionArn: pulumi.Input<string>, sourceArn: pulumi.Input<string>): void {
        new aws.lambda.Permission(
            `${name}-invoke-${key}`,
            { action: "lambda:InvokeFunction", function: functionArn, principal: "apigateway.amazonaws.com", sourceArn, statementId: statementId(name, key) },
            { parent: this },
        );
    }

    /** The account's CloudWatch Logs role for API Gateway (a per-region singleton; see `manageAccountCloudWatchRole`). */
    private createAccountLoggingRole(name: string, partition: pulumi.Output<string>, tags: Record<string, pulumi.Input<string>>): aws.apigateway.Account {
        const parent = { parent: this };
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
        return new aws.apigateway.Account(`${name}-apigateway-account`, { cloudwatchRoleArn: role.arn }, { parent: this, dependsOn: [attachment] });
    }

    /** Private custom domain: DomainName (PRIVATE, TLS 1.2+, endpoint-restricted policy), mapping, access associations, DNS. */
    private createCustomDomain(
        name: string,
        checked: CheckedArgs,
        ctx: {
            api: aws.apigateway.RestApi;
            stage: aws.apigateway.Stage;
            endpointIds: pulumi.Input<string>[];
            allEndpointIds: pulumi.Output<string[]>;
            created?: { endpoint: aws.ec2.VpcEndpoint };
            partition: pulumi.Output<string>;
            tags: Record<string, pulumi.Input<string>>;
        },
    ): pulumi.Output<string | undefined> {
        const parent = { parent: this };
        const custom = checked.customDomain!;
        const domain = new aws.apigateway.DomainName(
            `${name}-domain`,
            {
                domainName: custom.domainName,
                certificateArn: custom.certificateArn,
                endpointConfiguration: { types: "PRIVATE" },
                securityPolicy: checked.securityPolicy,
                endpointAccessMode: checked.endpointAccessMode,
                // The domain's own ARN is not known before it exists, hence API Gateway's shorthand. Who
                // may call is decided by the API's resource policy, evaluated after this one.
                policy: pulumi
                    .all([ctx.allEndpointIds, ctx.partition])
                    .apply(([vpcEndpointIds, part]) => JSON.stringify(privateApiInvokePolicy({ resource: "execute-api:/*", vpcEndpointIds, partition: part }))),
                tags: ctx.tags,
            },
            parent,
        );
        new aws.apigateway.BasePathMapping(
            `${name}-domain-mapping`,
            { domainName: domain.domainName, domainNameId: domain.domainNameId, restApi: ctx.api.id, stageName: ctx.stage.stageName, basePath: custom.basePath },
            parent,
        );
        ctx.endpointIds.forEach((endpointId, index) => {
            new aws.apigateway.DomainNameAccessAssociation(
                `${name}-domain-access-${typeof endpointId === "string" ? endpointId : `endpoint-${index}`}`,
                { domainNameArn: domain.arn, accessAssociationSource: endpointId, accessAssociationSourceType: "VPCE", tags: ctx.tags },
                parent,
            );
        });
        if (custom.privateZoneId !== undefined && ctx.created) {
            const entry = ctx.created.endpoint.dnsEntries.apply((entries) => entries[0]!);
            new aws.route53.Record(
                `${name}-domain-record`,
                {
                    zoneId: custom.privateZoneId,
                    name: custom.domainName,
                    type: "A",
                    aliases: [{ name: entry.apply((e) => e.dnsName), zoneId: entry.apply((e) => e.hostedZoneId), evaluateTargetHealth: false }],
                },
                parent,
            );
        }
        return pulumi.output(`https://${custom.domainName}${custom.basePath ? `/${custom.basePath}` : ""}`);
    }
}

/** The account, partition and region the API is created in (from the provider). */
interface Environment extends ApiEnvironment {
    accountId: pulumi.Output<string>;
    dnsSuffix: pulumi.Output<string>;
    reverseDnsPrefix: pulumi.Output<string>;
}

interface CheckedEndpoint {
    vpcId: pulumi.Input<string>;
    subnetIds: pulumi.Input<string>[];
    allowedSourceSecurityGroupIds: pulumi.Input<string>[];
    allowedSourceCidrs: pulumi.Input<string>[];
    privateDnsEnabled: boolean;
    policy?: pulumi.Input<string>;
    flowLogs: false | FlowLogSettings;
}

interface CheckedArgs {
    endpoint?: CheckedEndpoint;
    vpcEndpointIds: pulumi.Input<string>[];
    routes: CheckedRoute[];
    authorizers: Record<string, CheckedAuthorizer>;
    /** Every route uses AWS_IAM, so requests carry a principal the resource policy can restrict. */
    iamOnly: boolean;
    allowedPrincipals: pulumi.Input<string>[];
    stageName: string;
    throttling: Required<PrivateApiThrottling>;
    accessLogRetentionInDays: number;
    accessLogKmsKeyArn?: pulumi.Input<string>;
    executionLogLevel: "OFF" | "ERROR" | "INFO";
    securityPolicy: string;
    endpointAccessMode?: "STRICT" | "BASIC";
    customDomain?: PrivateApiCustomDomain;
    manageAccountCloudWatchRole: boolean;
}

/** Validates everything that can be validated before any resource exists. */
function checkArgs(name: string, args: PrivateApiArgs): CheckedArgs {
    const c = new ArgChecker(componentType, name);
    if (!args) c.fail("args", "are required");

    const vpcEndpointIds = c.plainList("vpcEndpointIds", args.vpcEndpointIds, "pass a plain list of endpoint IDs (elements may be Outputs)");
    c.uniqueValues("vpcEndpointIds", vpcEndpointIds);
    const checkedEndpointIds = vpcEndpointIds.map((id, i) =>
        c.matches(`vpcEndpointIds[${i}]`, id, patterns.vpcEndpointId, "an execute-api VPC endpoint ID like vpce-0123456789abcdef0"),
    );
    if (args.endpoint === undefined && checkedEndpointIds.length === 0) {
        c.fail(
            "endpoint",
            "is required when vpcEndpointIds lists no existing execute-api endpoint: give { vpcId, subnetIds, allowedSourceSecurityGroupIds } to create one, or the IDs of existing endpoints",
        );
    }
    const endpoint = args.endpoint === undefined ? undefined : checkEndpoint(c, args.endpoint);

    const authorizers = checkAuthorizers(c, args.authorizers);
    const routes = checkRoutes(c, args.routes, authorizers);
    const iamOnly = routes.every((r) => r.authorization.type === "AWS_IAM");

    const allowedPrincipals = c.plainList("allowedPrincipals", args.allowedPrincipals, "pass a plain list of account IDs or principal ARNs");
    if (args.allowedPrincipals !== undefined) {
        c.nonEmptyArray("allowedPrincipals", allowedPrincipals, "or omit it to let IAM policies of this account decide");
        if (!iamOnly) {
            const other = routes.findIndex((r) => r.authorization.type !== "AWS_IAM");
            c.fail(
                "allowedPrincipals",
                `needs every route to use AWS_IAM authorization, but routes[${other}] does not: its requests carry no IAM principal and would all be denied; remove allowedPrincipals or use AWS_IAM on every route`,
            );
        }
    }

    const stageName = args.stageName ?? "v1";
    if (typeof stageName !== "string" || !/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) {
        c.fail("stageName", `must be 1–128 letters, digits, "_" or "-" (got ${JSON.stringify(stageName)})`);
    }

    const throttling = args.throttling ?? {};
    const rateLimit = throttling.rateLimit ?? 100;
    if (typeof rateLimit !== "number" || !Number.isFinite(rateLimit) || rateLimit <= 0) {
        c.fail("throttling.rateLimit", `must be a positive number of requests per second (got ${JSON.stringify(rateLimit)}); throttling cannot be turned off here`);
    }
    const burstLimit = throttling.burstLimit ?? 200;
    if (typeof burstLimit !== "number" || !Number.isInteger(burstLimit) || burstLimit < 1) {
        c.fail("throttling.burstLimit", `must be a whole number of requests, at least 1 (got ${JSON.stringify(burstLimit)})`);
    }

    const securityPolicy = args.securityPolicy ?? defaultApiGatewaySecurityPolicy;
    if (typeof securityPolicy !== "string" || !apiGatewayTls12PolicyPattern.test(securityPolicy)) {
        c.fail(
            "securityPolicy",
            `must allow only TLS 1.2 or newer: "TLS_1_2" or an enhanced "SecurityPolicy_TLS13_1_2_…"/"SecurityPolicy_TLS13_1_3_…" policy (got ${JSON.stringify(securityPolicy)}); omit it for ${defaultApiGatewaySecurityPolicy}`,
        );
    }
    const enhanced = securityPolicy.startsWith("SecurityPolicy_");
    if (!enhanced && args.endpointAccessMode !== undefined) {
        c.fail("endpointAccessMode", `applies only to the enhanced SecurityPolicy_* policies; remove it or choose such a securityPolicy (got securityPolicy ${JSON.stringify(securityPolicy)})`);
    }
    const endpointAccessMode = enhanced ? c.oneOf("endpointAccessMode", args.endpointAccessMode ?? "STRICT", ["STRICT", "BASIC"] as const) : undefined;

    const customDomain = args.customDomain === undefined ? undefined : checkCustomDomain(c, args.customDomain, endpoint !== undefined);

    const manageAccountCloudWatchRole = args.manageAccountCloudWatchRole ?? false;
    if (typeof manageAccountCloudWatchRole !== "boolean") c.fail("manageAccountCloudWatchRole", "must be true or false");

    return {
        endpoint,
        vpcEndpointIds: checkedEndpointIds,
        routes,
        authorizers,
        iamOnly,
        allowedPrincipals: allowedPrincipals.map((p, i) => c.input(p, (value) => void c.principal(`allowedPrincipals[${i}]`, value))),
        stageName,
        throttling: { rateLimit, burstLimit },
        accessLogRetentionInDays: c.logRetention("accessLogRetentionInDays", args.accessLogRetentionInDays ?? defaultLogRetentionDays),
        accessLogKmsKeyArn:
            args.accessLogKmsKeyArn === undefined
                ? undefined
                : c.matches("accessLogKmsKeyArn", args.accessLogKmsKeyArn, patterns.kmsKeyArn, "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"),
        executionLogLevel: c.oneOf("executionLogLevel", args.executionLogLevel ?? "ERROR", ["OFF", "ERROR", "INFO"] as const),
        securityPolicy,
        endpointAccessMode,
        customDomain,
        manageAccountCloudWatchRole,
    };
}

function checkEndpoint(c: ArgChecker, endpoint: PrivateApiEndpointArgs): CheckedEndpoint {
    const f = "endpoint";
    const vpcId = c.matches(`${f}.vpcId`, endpoint.vpcId, patterns.vpcId, "a VPC ID like vpc-0123456789abcdef0");
    const subnetIds = c.plainList(`${f}.subnetIds`, endpoint.subnetIds, "pass a plain list of subnet IDs (elements may be Outputs)");
    c.nonEmptyArray(`${f}.subnetIds`, subnetIds, "give the private subnets (one per Availability Zone of the callers) for the endpoint's network interfaces");
    c.uniqueValues(`${f}.subnetIds`, subnetIds);
    const groups = c.plainList(`${f}.allowedSourceSecurityGroupIds`, endpoint.allowedSourceSecurityGroupIds, "pass a plain list of security group IDs");
    const cidrs = c.plainList(`${f}.allowedSourceCidrs`, endpoint.allowedSourceCidrs, "pass a plain list of CIDRs");
    if (groups.length === 0 && cidrs.length === 0) {
        c.fail(
            `${f}.allowedSourceSecurityGroupIds`,
            "or allowedSourceCidrs must name who may reach the endpoint on 443: give the callers' security group IDs (or their private CIDRs); without them nobody could call the API",
        );
    }
    c.uniqueValues(`${f}.allowedSourceSecurityGroupIds`, groups);
    c.uniqueValues(`${f}.allowedSourceCidrs`, cidrs);
    const privateDnsEnabled = endpoint.privateDnsEnabled ?? true;
    if (typeof privateDnsEnabled !== "boolean") c.fail(`${f}.privateDnsEnabled`, "must be true or false");
    const flowLogs = endpoint.flowLogs ?? {};
    if (flowLogs !== false && (typeof flowLogs !== "object" || flowLogs === null)) {
        c.fail(`${f}.flowLogs`, "must be an object of flow-log settings, or false to opt out explicitly");
    }
    if (flowLogs !== false) checkFlowLogSettings(c, `${f}.flowLogs.`, flowLogs);
    return {
        vpcId,
        subnetIds: subnetIds.map((s, i) => c.matches(`${f}.subnetIds[${i}]`, s, patterns.subnetId, "a subnet ID like subnet-0123456789abcdef0")),
        allowedSourceSecurityGroupIds: groups.map((g, i) =>
            c.matches(`${f}.allowedSourceSecurityGroupIds[${i}]`, g, patterns.securityGroupId, "a security group ID like sg-0123456789abcdef0"),
        ),
        allowedSourceCidrs: cidrs.map((cidr, i) =>
            c.input(cidr, (value) => {
                const field = `${f}.allowedSourceCidrs[${i}]`;
                if (typeof value !== "string" || !isIpv4Cidr(value)) c.fail(field, `must be an IPv4 CIDR like 10.0.0.0/16 (got ${JSON.stringify(value)})`);
                if (value.endsWith("/0")) c.fail(field, `must not be ${value}: it opens the endpoint to every address; give the callers' private range`);
            }),
        ),
        privateDnsEnabled,
        policy:
            endpoint.policy === undefined
                ? undefined
                : c.input(endpoint.policy, (value) => {
                      try {
                          JSON.parse(value as string);
                      } catch {
                          c.fail(`${f}.policy`, "must be a JSON policy document; omit it for the default (invoke this account's APIs only)");
                      }
                  }),
        flowLogs,
    };
}

function checkCustomDomain(c: ArgChecker, custom: PrivateApiCustomDomain, createsEndpoint: boolean): PrivateApiCustomDomain {
    const f = "customDomain";
    if (typeof custom.domainName !== "string" || !patterns.dnsName.test(custom.domainName)) {
        c.fail(`${f}.domainName`, `must be a lower-case DNS name like orders.internal.example.com (got ${JSON.stringify(custom.domainName)})`);
    }
    if (custom.certificateArn === undefined) c.fail(`${f}.certificateArn`, "is required; give an ACM certificate covering the domain name, in the API's region");
    const basePath = custom.basePath;
    if (basePath !== undefined && (typeof basePath !== "string" || !/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(basePath))) {
        c.fail(`${f}.basePath`, `must be path segments without leading or trailing "/", like "orders" (got ${JSON.stringify(basePath)})`);
    }
    if (custom.privateZoneId !== undefined && !createsEndpoint) {
        c.fail(`${f}.privateZoneId`, "needs the endpoint this component creates (the record aliases it); create the record for your existing endpoint yourself, or set endpoint");
    }
    return {
        domainName: custom.domainName,
        certificateArn: c.matches(`${f}.certificateArn`, custom.certificateArn, patterns.acmCertificateArn, "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)"),
        basePath,
        privateZoneId:
            custom.privateZoneId === undefined ? undefined : c.matches(`${f}.privateZoneId`, custom.privateZoneId, patterns.route53ZoneId, "a Route 53 hosted zone ID like Z0123456789ABCDEFGHIJ"),
    };
}

/** A Lambda permission statement ID: unique per component and route, within Lambda's 100 characters. */
function statementId(name: string, key: string): string {
    const readable = `${name}-${key}`.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/-+/g, "-").slice(0, 90);
    return `${readable}-${sha256(`${name}/${key}`).slice(0, 8)}`;
}

function sha256(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}

/** JSON with object keys sorted and undefined members left out, so equal definitions hash equally. */
function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        const members = Object.keys(record)
            .sort()
            .filter((k) => record[k] !== undefined)
            .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
        return `{${members.join(",")}}`;
    }
    return JSON.stringify(value) ?? "null";
}
