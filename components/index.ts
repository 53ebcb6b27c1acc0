// Public API of the package: what another Pulumi project imports.
//   import { PrivateLinkService } from "@firefly/private-connectivity";
export { PrivateLinkService, ListenerProtocol, HealthCheckProtocol, PrivateLinkTargetType, EndpointConnectionEvent } from "./privatelink/privateLinkService";
export type {
    PrivateLinkServiceArgs,
    PrivateLinkListener,
    PrivateLinkHealthCheck,
    PrivateLinkNotifications,
    PrivateDnsVerificationRecord,
    TargetIngressRule,
} from "./privatelink/privateLinkService";
export { PrivateLinkEndpoint } from "./privatelink/privateLinkEndpoint";
export type { PrivateLinkEndpointArgs, PrivateLinkEndpointDns } from "./privatelink/privateLinkEndpoint";
export { EndpointFlowLogs, flowLogFormat, FlowLogTrafficType, FlowLogAggregationInterval } from "./privatelink/endpointFlowLogs";
export type { EndpointFlowLogsArgs, FlowLogSettings } from "./privatelink/endpointFlowLogs";
export { ConnectivityCheck, ConnectivityCheckRunFrom } from "./privatelink/connectivityCheck";
export type {
    ConnectivityCheckArgs,
    ConnectivityCheckResult,
    ConnectivityCheckFailure,
    ConnectivityCheckHttp,
    ConnectivityCheckTimings,
    ConnectivityCheckTls,
} from "./privatelink/connectivityCheck";
export { probeConnectivity, describeFailure } from "./privatelink/probe/connectivityProbe";
export type { ProbeRequest, ProbeResult, ProbeOutcome, ProbeStage } from "./privatelink/probe/connectivityProbe";
export { ComponentArgumentError } from "./shared/validation";
export { PrivateApi, PrivateApiEndpointAccessMode, PrivateApiExecutionLogLevel } from "./api/privateApi";
export type { PrivateApiArgs, PrivateApiCustomDomain, PrivateApiEndpointArgs, PrivateApiFlowLogs, PrivateApiThrottling } from "./api/privateApi";
export { PrivateApiAuthorization, PrivateApiAuthorizerType, PrivateApiIntegrationType, PrivateApiMethod } from "./api/privateApiRoutes";
export type {
    CognitoJwtAuthorizer,
    HttpProxyIntegration,
    LambdaProxyIntegration,
    MockIntegration,
    PrivateApiAuthorizer,
    PrivateApiIntegration,
    PrivateApiRoute,
    RequestAuthorizer,
    TokenAuthorizer,
} from "./api/privateApiRoutes";
export { TunnelConnector, TunnelNodeMajor, TunnelRouteVia, connectorRoleTag, readinessMetric } from "./tunnel/tunnelConnector";
export type {
    TunnelAgentKeepalive,
    TunnelAgentReconnect,
    TunnelAgentShutdown,
    TunnelConnectorArgs,
    TunnelConnectorRelay,
    TunnelConnectorIdentity,
    TunnelConnectorAwsApiEgress,
    TunnelConnectorAgentSettings,
    TunnelDynamicRoute,
    TunnelRoute,
} from "./tunnel/tunnelConnector";
export { TunnelRelay, TunnelRelayGatewayPorts } from "./tunnel/tunnelRelay";
export type { HostSettings } from "./tunnel/hostGroup";
export type { TunnelRelayArgs, TunnelRelayCustomer, TunnelRelayDns, TunnelRelaySshdFiles } from "./tunnel/tunnelRelay";
export { buildConnectorBundle } from "./tunnel/bundle";
export type { ConnectorBundle } from "./tunnel/bundle";
