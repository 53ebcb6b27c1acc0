import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { FlowLogSettings } from "../privatelink/endpointFlowLogs";
import { createInterfaceEndpoint, InterfaceEndpoint } from "../shared/interfaceEndpoint";
import { CheckedEndpoint, checkArgs, componentType, legacyComponentType } from "./privateApiChecks";
import { withLegacyType } from "../shared/typeTokens";
import { createCustomDomain } from "./privateApiDomain";
import { executeApiEndpointPolicy, invokerIdentityPolicy, privateApiInvokePolicy } from "./privateApiPolicy";
import { createRoutes } from "./privateApiRouteResources";
import { ApiEnvironment, curlExample, PrivateApiAuthorizer, PrivateApiRoute } from "./privateApiRoutes";
import { createStage } from "./privateApiStage";

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
        super(componentType, name, {}, withLegacyType(opts, legacyComponentType));
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

        const created = checked.endpoint ? createApiEndpoint(this, name, checked.endpoint, tags, env) : undefined;
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
        // `execute-api:/*` is API Gateway's name for this API in its own resource policy: unlike the
        // API's ARN it is known at `pulumi preview`, so the policy pack's mandatory rules can judge it.
        const resourcePolicy = pulumi
            .all([allEndpointIds, principals, env.partition])
            .apply(([vpcEndpointIds, invokers, part]) =>
                JSON.stringify(privateApiInvokePolicy({ resource: "execute-api:/*", vpcEndpointIds, principals: invokers, partition: part })),
            );
        const policy = new aws.apigateway.RestApiPolicy(`${name}-policy`, { restApiId: api.id, policy: resourcePolicy }, parent);

        const definition = createRoutes(this, name, api, checked, env);

        const { stage, accessLogs } = createStage(this, name, checked, { api, policy, resourcePolicy, definition, partition: env.partition, tags });

        const customDomainUrl = checked.customDomain
            ? createCustomDomain(this, name, checked.customDomain, checked, { api, stage, endpointIds, allEndpointIds, created, partition: env.partition, tags })
            : pulumi.output(undefined);

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
}

/** The account, partition and region the API is created in (from the provider). */
interface Environment extends ApiEnvironment {
    accountId: pulumi.Output<string>;
    dnsSuffix: pulumi.Output<string>;
    reverseDnsPrefix: pulumi.Output<string>;
}

/** The execute-api interface endpoint, its security group (443 from the callers only) and flow logs. */
function createApiEndpoint(
    component: pulumi.Resource,
    name: string,
    endpoint: CheckedEndpoint,
    tags: Record<string, pulumi.Input<string>>,
    env: Environment,
): InterfaceEndpoint {
    const sources = [
        ...endpoint.allowedSourceSecurityGroupIds.map((id, i) => ({ key: typeof id === "string" ? id : `sg-${i}`, peer: { referencedSecurityGroupId: id } })),
        ...endpoint.allowedSourceCidrs.map((cidr, i) => ({ key: typeof cidr === "string" ? cidr : `cidr-${i}`, peer: { cidrIpv4: cidr } })),
    ];
    return createInterfaceEndpoint(component, {
        securityGroup: { name: `${name}-endpoint-sg`, description: `execute-api endpoint of private API ${name}: HTTPS from its callers only` },
        rules: sources.map(({ key, peer }) => ({ name: `${name}-endpoint-https-from-${key}`, direction: "ingress", port: 443, peer, description: "HTTPS to the private API" })),
        endpoint: {
            name: `${name}-endpoint`,
            vpcId: endpoint.vpcId,
            serviceName: pulumi.interpolate`${env.reverseDnsPrefix}.${env.region}.execute-api`,
            subnetIds: endpoint.subnetIds,
            privateDnsEnabled: endpoint.privateDnsEnabled,
            policy:
                endpoint.policy ??
                pulumi.all([env.partition, env.region, env.accountId]).apply(([part, reg, account]) => JSON.stringify(executeApiEndpointPolicy(part, reg, account))),
        },
        flowLogs: endpoint.flowLogs === false ? false : { name: `${name}-endpoint-flow-logs`, settings: endpoint.flowLogs },
        tags,
    });
}
