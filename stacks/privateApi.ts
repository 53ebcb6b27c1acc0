import { PrivateApi } from "../components";
import type { PrivateApiConfig } from "./config";
import { fromConfig } from "./configKeys";

/** What a stack brings to its private API when the config leaves it out. */
export interface PrivateApiDefaults {
    name: string;
    vpcId: string;
    subnetIds: string[];
    /** Callers allowed on the endpoint when `callerSecurityGroupIds` is not set. */
    callerSecurityGroupIds?: string[];
    /** The config key `callerSecurityGroupIds` comes from, when the stack takes it from its config. */
    callerSecurityGroupIdsKey?: string;
    tags?: Record<string, string>;
}

/**
 * The third path in either stack: a PRIVATE REST API reached through an execute-api interface
 * endpoint in the stack's VPC. Returns the stack outputs it adds (none when switched off).
 */
export function deployPrivateApi(config: PrivateApiConfig | undefined, defaults: PrivateApiDefaults): Record<string, unknown> {
    if (!config?.enabled) return {};
    const own = (field: keyof PrivateApiConfig, fallback?: string) => (config[field] !== undefined ? `privateApi.${field}` : fallback);
    const keys = Object.fromEntries(
        Object.entries({
            "endpoint.vpcId": own("vpcId", "vpcId"),
            "endpoint.subnetIds": own("subnetIds", "subnetIds"),
            "endpoint.allowedSourceSecurityGroupIds": own("callerSecurityGroupIds", defaults.callerSecurityGroupIdsKey),
            "endpoint.allowedSourceCidrs": own("callerCidrs"),
            "endpoint.privateDnsEnabled": own("privateDnsEnabled"),
            vpcEndpointIds: own("existingEndpointIds"),
            routes: own("routes"),
            authorizers: own("authorizers"),
            allowedPrincipals: own("allowedPrincipals"),
            stageName: own("stageName"),
            throttling: own("throttling"),
            accessLogRetentionInDays: own("accessLogRetentionInDays"),
            executionLogLevel: own("executionLogLevel"),
            securityPolicy: own("securityPolicy"),
            endpointAccessMode: own("endpointAccessMode"),
            customDomain: own("customDomain"),
            manageAccountCloudWatchRole: own("manageAccountCloudWatchRole"),
            description: own("description"),
        }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    const api = fromConfig(keys, () => new PrivateApi(config.name ?? defaults.name, {
        endpoint: config.createEndpoint
            ? {
                  vpcId: config.vpcId ?? defaults.vpcId,
                  subnetIds: config.subnetIds ?? defaults.subnetIds,
                  allowedSourceSecurityGroupIds: config.callerSecurityGroupIds ?? defaults.callerSecurityGroupIds,
                  allowedSourceCidrs: config.callerCidrs,
                  privateDnsEnabled: config.privateDnsEnabled,
              }
            : undefined,
        vpcEndpointIds: config.existingEndpointIds,
        // The config keeps `authorization: { authorizer, scopes }`; the component takes them as fields of the route.
        routes: config.routes.map(({ authorization, ...route }) =>
            typeof authorization === "object" ? { ...route, authorizer: authorization.authorizer, authorizationScopes: authorization.scopes } : { ...route, authorization },
        ),
        authorizers: config.authorizers,
        allowedPrincipals: config.allowedPrincipals,
        stageName: config.stageName,
        throttling: config.throttling,
        accessLogRetentionInDays: config.accessLogRetentionInDays,
        executionLogLevel: config.executionLogLevel,
        securityPolicy: config.securityPolicy,
        endpointAccessMode: config.endpointAccessMode,
        customDomain: config.customDomain,
        manageAccountCloudWatchRole: config.manageAccountCloudWatchRole,
        description: config.description,
        tags: defaults.tags,
    }));
    return {
        privateApiId: api.restApiId,
        privateApiInvokeUrl: api.invokeUrl,
        privateApiEndpointIds: api.vpcEndpointIds,
        privateApiEndpointSecurityGroupId: api.endpointSecurityGroupId,
        privateApiAccessLogGroup: api.accessLogGroupName,
        // Attach to the callers' role: IAM decides who may invoke (AWS_IAM routes).
        privateApiInvokerPolicy: api.invokerPolicy,
        // Paste on an instance in the VPC (SigV4-signed when IAM auth is on).
        privateApiExampleCurl: api.exampleCurl,
        ...(config.customDomain ? { privateApiCustomDomainUrl: api.customDomainUrl } : {}),
    };
}
