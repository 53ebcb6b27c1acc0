// Public API of the package: what another Pulumi project imports.
//   import { PrivateLinkService } from "@firefly/private-connectivity";
export { PrivateLinkService } from "./privateLinkService";
export type {
    PrivateLinkServiceArgs,
    PrivateLinkListener,
    PrivateLinkHealthCheck,
    EndpointConnectionEvent,
    PrivateDnsVerificationRecord,
} from "./privateLinkService";
export { PrivateLinkEndpoint } from "./privateLinkEndpoint";
export type { PrivateLinkEndpointArgs, PrivateLinkEndpointDns } from "./privateLinkEndpoint";
export { EndpointFlowLogs, flowLogFormat } from "./endpointFlowLogs";
export type { EndpointFlowLogsArgs, FlowLogSettings } from "./endpointFlowLogs";
export { ConnectivityCheck } from "./connectivityCheck";
export type { ConnectivityCheckArgs } from "./connectivityCheck";
export { probeConnectivity, describeFailure } from "./probe/connectivityProbe";
export type { ProbeRequest, ProbeResult, ProbeOutcome, ProbeStage } from "./probe/connectivityProbe";
export { ComponentArgumentError } from "./validation";
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
export { TunnelConnector, connectorRoleTag, readinessMetric } from "./tunnelConnector";
export type {
    TunnelConnectorArgs,
    TunnelConnectorRelay,
    TunnelConnectorIdentity,
    TunnelConnectorAwsApiEgress,
    TunnelConnectorAgentSettings,
} from "./tunnelConnector";
export { TunnelRelay } from "./tunnelRelay";
export type { HostSettings } from "./hostGroup";
export type { TunnelRelayArgs } from "./tunnelRelay";
export { buildConnectorBundle } from "./connectorBundle";
export type { ConnectorBundle } from "./connectorBundle";
