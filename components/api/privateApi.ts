import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { FlowLogSettings } from "../privatelink/endpointFlowLogs";
import { withLegacyType } from "../shared/typeTokens";
import { checkArgs, componentType, legacyComponentType } from "./privateApiChecks";
import { createCustomDomain } from "./privateApiDomain";
import { createApiEndpoint, Environment } from "./privateApiEndpoint";
import { Known } from "../shared/known";
import { ArgChecker } from "../shared/validation";
import { invokerIdentityPolicy, privateApiInvokePolicy } from "./privateApiPolicy";
import { createRoutes } from "./privateApiRouteResources";
import { curlExample, PrivateApiAuthorizer, PrivateApiRoute } from "./privateApiRoutes";
import { createStage } from "./privateApiStage";

/**
 * Flow logs of the execute-api endpoint's subnets (an `EndpointFlowLogs` component): its settings,
 * plus whether to create them.
 */
export interface PrivateApiFlowLogs extends FlowLogSettings {
    /**
     * Default `true`. `false` is an explicit opt-out for VPCs whose flow logs are managed elsewhere;
     * the policy pack's flow-log rule then fails unless the same stack logs the VPC or these subnets.
     * The other settings apply only when enabled.
     */
    enabled?: pulumi.Input<boolean>;
}

/** The execute-api interface endpoint the component creates. */
export interface PrivateApiEndpointArgs {
    /** VPC of the callers. */
    vpcId: pulumi.Input<string>;
    /**
     * Private subnets for the endpoint's network interfaces, one per Availability Zone the callers run
     * in (e.g. awsx's `vpc.privateSubnetIds`). Each subnet also gets a flow log; when the list is an
     * Output, those are created once it resolves (named by subnet ID).
     */
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Security groups of the callers (e.g. the instances' group). The endpoint's own security group
     * allows HTTPS (443) from these and from `allowedSourceCidrs`, and nothing else.
     */
    allowedSourceSecurityGroupIds?: pulumi.Input<pulumi.Input<string>[]>;
    /** IPv4 CIDRs allowed on 443, e.g. a peered VPC. `/0` is refused. */
    allowedSourceCidrs?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Resolve `<api-id>.execute-api.<region>.amazonaws.com` to the endpoint inside the VPC. Default
     * `true`. Note that with private DNS on, the VPC can no longer reach *public* API Gateway APIs by
     * their default hostnames, and a VPC can have only one execute-api endpoint with private DNS: if
     * it already has one, pass its ID in `vpcEndpointIds` instead of creating another.
     */
    privateDnsEnabled?: pulumi.Input<boolean>;
    /**
     * Endpoint policy (JSON). Default: invoke APIs of this account only, so the endpoint cannot be
     * used to send data to other accounts' private APIs.
     */
    policy?: pulumi.Input<string>;
    /**
     * Flow logs for the endpoint's subnets (see `EndpointFlowLogs`). Default: on, all traffic, kept
     * 365 days. `{ enabled: false }` opts out explicitly.
     */
    flowLogs?: pulumi.Input<PrivateApiFlowLogs>;
}

/** A private custom domain name for the API (`https://<domainName>/<basePath>/…` inside the VPC). */
export interface PrivateApiCustomDomain {
    /** Lower-case DNS name, e.g. `orders.internal.example.com`. */
    domainName: pulumi.Input<string>;
    /** ACM certificate covering `domainName`, in the API's region (public or ACM Private CA); another region is refused. */
    certificateArn: pulumi.Input<string>;
    /** Path the stage is mapped under. Default: the root of the domain. */
    basePath?: pulumi.Input<string>;
    /**
     * Route 53 private hosted zone (associated with the endpoint's VPC) in which to create
     * `domainName` as an alias of the endpoint the component creates. Default: none; publish the
     * record yourself. Requires `endpoint`.
     */
    privateZoneId?: pulumi.Input<string>;
}

/** Stage-wide throttling (a token bucket). */
export interface PrivateApiThrottling {
    /** Steady-state requests per second for the whole stage. Default 100. */
    rateLimit?: pulumi.Input<number>;
    /** Requests that may arrive at once above the rate (token bucket size), an integer. Default 200. */
    burstLimit?: pulumi.Input<number>;
}

/** How much API Gateway logs of each request in its execution log. */
export const PrivateApiExecutionLogLevel = {
    /** No execution logging. */
    OFF: "OFF",
    /** Errors only (the default). */
    ERROR: "ERROR",
    /** Errors and information about each request (never the bodies). */
    INFO: "INFO",
} as const;
export type PrivateApiExecutionLogLevel = (typeof PrivateApiExecutionLogLevel)[keyof typeof PrivateApiExecutionLogLevel];

/** Endpoint access mode of the enhanced `SecurityPolicy_*` TLS policies. */
export const PrivateApiEndpointAccessMode = {
    /** Requests must match the endpoint type and the TLS server name (the default, as AWS recommends). */
    STRICT: "STRICT",
    /** No such matching. */
    BASIC: "BASIC",
} as const;
export type PrivateApiEndpointAccessMode = (typeof PrivateApiEndpointAccessMode)[keyof typeof PrivateApiEndpointAccessMode];

/** Arguments of a PrivateApi. */
export interface PrivateApiArgs {
    /**
     * Create an execute-api interface endpoint (with its own security group and flow logs) in the
     * callers' VPC. Required unless `vpcEndpointIds` lists existing endpoints.
     */
    endpoint?: pulumi.Input<PrivateApiEndpointArgs>;
    /**
     * IDs of existing execute-api interface endpoints (`vpce-…`) that may also reach the API, e.g.
     * one per VPC of other callers.
     */
    vpcEndpointIds?: pulumi.Input<pulumi.Input<string>[]>;
    /** The API: at least one route. */
    routes: pulumi.Input<pulumi.Input<PrivateApiRoute>[]>;
    /** Authorizers routes may refer to by name (letters, digits, `_`, `-`). Default: none. */
    authorizers?: pulumi.Input<Record<string, pulumi.Input<PrivateApiAuthorizer>>>;
    /**
     * Who may invoke, on top of coming through an allowed endpoint: AWS account IDs or IAM principal
     * ARNs; everyone else is explicitly denied. Default: this account, so IAM decides: a caller needs an
     * identity policy granting `execute-api:Invoke` (see the `invokerPolicy` output). Only with routes
     * that are all `AWS_IAM`: other requests carry no principal, so then anyone who comes through the
     * endpoints passes the resource policy and the authorizer decides.
     */
    allowedPrincipals?: pulumi.Input<pulumi.Input<string>[]>;
    /** Stage name, the first path segment of the invoke URL. Default `v1`. */
    stageName?: pulumi.Input<string>;
    /** Stage-wide throttling. Defaults: 100 requests/s, burst 200. */
    throttling?: pulumi.Input<PrivateApiThrottling>;
    /** Days the access log group keeps records. Default 365. */
    accessLogRetentionInDays?: pulumi.Input<number>;
    /** KMS key ARN for the access log group. Default: CloudWatch Logs' own encryption. */
    accessLogKmsKeyArn?: pulumi.Input<string>;
    /**
     * Execution logging of the stage (API Gateway's own log group). Default `ERROR`. `INFO` logs
     * more; request and response bodies are never logged (they may carry secrets).
     */
    executionLogLevel?: pulumi.Input<PrivateApiExecutionLogLevel>;
    /**
     * TLS security policy of the API and of its custom domain. Default `TLS_1_2`. The enhanced
     * policies AWS documents for REGIONAL/PRIVATE APIs (`SecurityPolicy_TLS13_1_3_2025_09`,
     * `SecurityPolicy_TLS13_1_2_2021_06`, …; `privateApiSecurityPolicies`) are accepted by exact name;
     * `TLS_1_0` and the edge-only `SecurityPolicy_*_EDGE` policies are refused.
     */
    securityPolicy?: pulumi.Input<string>;
    /**
     * Endpoint access mode, required by the enhanced `SecurityPolicy_*` policies and refused with
     * `TLS_1_2`. Default with an enhanced policy: `STRICT` (requests must match the endpoint type and
     * the TLS server name), as AWS recommends.
     */
    endpointAccessMode?: pulumi.Input<PrivateApiEndpointAccessMode>;
    /** A private custom domain name. Default: none. */
    customDomain?: pulumi.Input<PrivateApiCustomDomain>;
    /**
     * Also set the account's API Gateway CloudWatch Logs role (`aws.apigateway.Account`), which access
     * and execution logging need. Default `false`: it is one setting per account and region, so exactly
     * one stack should own it (two that both set it overwrite each other, and deleting it affects every
     * API of the region). Turn it on in that one stack.
     */
    manageAccountCloudWatchRole?: pulumi.Input<boolean>;
    /** Description of the REST API. */
    description?: pulumi.Input<string>;
    /** Tags for every resource the component creates that takes tags. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * A REST API that only exists inside VPCs: endpoint type PRIVATE, reachable only through the given
 * execute-api interface endpoints (resource policy on `aws:SourceVpce`), IAM-authorized by default,
 * with a stage that writes JSON access logs, traces with X-Ray and throttles, and an optional private
 * custom domain name with a TLS 1.2+ policy.
 */
export class PrivateApi extends pulumi.ComponentResource {
    /** ID of the REST API. */
    public readonly restApiId: pulumi.Output<string>;
    /** `arn:aws:execute-api:<region>:<account>:<api-id>`, for identity policies of callers. */
    public readonly executionArn: pulumi.Output<string>;
    /** Name of the stage callers reach (the first path segment of the invoke URL). */
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
    /** Name of the CloudWatch log group of the stage's access logs. */
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
        // Plain arguments are checked here, before anything is registered; Outputs when they resolve.
        const checked = checkArgs(name, args);
        const tags = new ArgChecker(componentType, name).tags("tags", args.tags);
        super(componentType, name, {}, withLegacyType(opts, legacyComponentType));
        const parent = { parent: this };

        const partitionInfo = aws.getPartitionOutput({}, parent);
        const env: Environment = {
            accountId: aws.getCallerIdentityOutput({}, parent).accountId,
            partition: partitionInfo.partition,
            region: aws.getRegionOutput({}, parent).region,
            dnsSuffix: partitionInfo.dnsSuffix,
            reverseDnsPrefix: partitionInfo.reverseDnsPrefix,
        };

        const created = checked.endpoint ? createApiEndpoint(this, name, checked.endpoint, tags, env) : undefined;
        // The created endpoint first, then the existing ones: a plain list (elements may be Outputs)
        // unless vpcEndpointIds is one Output, which the custom domain's associations then wait for.
        const endpointIds = Known.fromLists([checked.vpcEndpointIds], ([existing]) => [...(created ? [created.endpoint.id] : []), ...existing!]).asInput();
        const allEndpointIds = pulumi.output(endpointIds);

        const api = new aws.apigateway.RestApi(
            `${name}-api`,
            {
                description: Known.of(args.description as pulumi.Input<string | undefined>)
                    .map((d) => d ?? `Private API ${name}: reachable only through its VPC endpoints`)
                    .asInput(),
                endpointConfiguration: { types: "PRIVATE", vpcEndpointIds: endpointIds },
                securityPolicy: checked.securityPolicy,
                endpointAccessMode: checked.endpointAccessMode,
                tags,
            },
            parent,
        );

        // IAM-only routes: name who may call (default this account, so IAM decides). Otherwise the
        // requests carry no principal and the resource policy can only restrict the network path.
        const principals = pulumi
            .all([pulumi.output(checked.definition.mapResolved((d) => d.iamOnly).asInput()), pulumi.output(checked.allowedPrincipals ?? []), env.accountId])
            .apply(([iamOnly, given, accountId]) => (iamOnly ? (given.length > 0 ? given : [accountId]) : undefined));
        // `execute-api:/*` is API Gateway's name for this API in its own resource policy: unlike the
        // API's ARN it is known at `pulumi preview`, so the policy pack's mandatory rules can judge it.
        const resourcePolicy = pulumi
            .all([allEndpointIds, principals, env.partition])
            .apply(([vpcEndpointIds, invokers, part]) =>
                JSON.stringify(privateApiInvokePolicy({ resource: "execute-api:/*", vpcEndpointIds, principals: invokers, partition: part })),
            );
        const policy = new aws.apigateway.RestApiPolicy(`${name}-policy`, { restApiId: api.id, policy: resourcePolicy }, parent);

        // Routes and authorizers decide which resources exist and their names: built now from plain
        // arguments, or once they resolve (then a preview shows them only if they are known).
        const definition = checked.definition.mapResolved((d) => createRoutes(this, name, api, d, env));

        const { stage, accessLogs } = createStage(this, name, checked, { api, policy, resourcePolicy, definition, partition: env.partition, tags });

        const customDomainUrl =
            checked.customDomain === undefined
                ? pulumi.output<string | undefined>(undefined)
                : checked.customDomain.outputResolved((custom): pulumi.Input<string | undefined> =>
                      createCustomDomain(this, name, custom, checked, { api, stage, endpointIds, allEndpointIds, created, partition: env.partition, region: env.region, tags }),
                  );

        // Private DNS of the created endpoint resolves the API's own hostname inside the VPC. Otherwise
        // the Route 53 alias API Gateway publishes for each associated endpoint works everywhere.
        const aliasUrl = pulumi.interpolate`https://${api.id}-${allEndpointIds.apply((ids) => ids[0])}.execute-api.${env.region}.${env.dnsSuffix}/${stage.stageName}`;
        const invokeUrl =
            created && checked.endpoint ? Known.of(checked.endpoint.privateDnsEnabled as pulumi.Input<boolean>).outputResolved((dns) => (dns ? stage.invokeUrl : aliasUrl)) : aliasUrl;

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
        this.exampleCurl = checked.definition.outputResolved((d) =>
            pulumi.all([invokeUrl, env.region]).apply(([url, reg]) => curlExample(d.routes[0]!, d.authorizers, url, reg)),
        );
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
}
