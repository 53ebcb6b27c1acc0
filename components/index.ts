// Public API of the package: everything another Pulumi project may import.
export { PrivateApi } from "./privateApi";
export type { PrivateApiArgs, PrivateApiCustomDomain, PrivateApiEndpointArgs, PrivateApiThrottling } from "./privateApi";
export type {
    CognitoJwtAuthorizer,
    HttpProxyIntegration,
    LambdaProxyIntegration,
    MockIntegration,
    PrivateApiAuthorization,
    PrivateApiAuthorizer,
    PrivateApiIntegration,
    PrivateApiMethod,
    PrivateApiRoute,
    RequestAuthorizer,
    TokenAuthorizer,
} from "./privateApiRoutes";
export { EndpointFlowLogs } from "./endpointFlowLogs";
export type { EndpointFlowLogsArgs, FlowLogSettings } from "./endpointFlowLogs";
