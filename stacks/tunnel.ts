import * as pulumi from "@pulumi/pulumi";
import { TunnelConnector, TunnelRelay } from "../components";
import type { TunnelConnectorConfig, TunnelRelayConfig } from "./config";
import { fromConfig } from "./configKeys";

/**
 * What the firefly stack exports about its relay (output `tunnelRelay`). The customer stack's
 * connector pins host, port and host public keys, and its security group may reach the fixed
 * addresses. Platform services connect to `platformEndpoints`.
 */
export interface TunnelRelayOutput {
    host: string;
    port: number;
    hostPublicKeys: string[];
    hostKeyFingerprints: string[];
    addresses: string[];
    /** The internal platform NLB's DNS name; absent when every listen address is loopback. */
    platformHost?: string;
    /**
     * Per customer, the `host:port` platform services connect to (through the internal NLB, which
     * forwards only to relay hosts holding the listener). Loopback-only customers are absent.
     */
    platformEndpoints: Record<string, string[]>;
}

/** The firefly side: the SSH relay. Returns the stack outputs it adds (none when switched off). */
export function deployTunnelRelay(
    config: TunnelRelayConfig | undefined,
    defaults: {
        vpcId: string;
        subnetIds: string[];
        platformSecurityGroupIds: string[];
        dns?: { zoneId: pulumi.Input<string>; zoneName: string };
        /** The config key of each of `config.customers`, in order (they come from two places). */
        customerKeys?: readonly string[];
    },
): Record<string, unknown> {
    if (!config?.enabled) return {};
    const keys: Record<string, string> = { vpcId: "vpcId", subnetIds: config.subnetIds ? "tunnel.subnetIds" : "subnetIds" };
    for (const field of ["name", "publicSubnetIds", "count", "instanceType", "amiId", "userCaPublicKey", "revokedKeys", "gatewayPorts", "hairpinTargetCidrs", "awsApiEgressCidrs", "loginUser"] as const) {
        if (config[field] !== undefined) keys[field] = `tunnel.${field}`;
    }
    if (config.platformSecurityGroupIds !== undefined) keys.platformSecurityGroupIds = "tunnel.platformSecurityGroupIds";
    (defaults.customerKeys ?? []).forEach((key, index) => (keys[`customers[${index}]`] = key));
    const relay = fromConfig(keys, () => new TunnelRelay(config.name, {
        vpcId: defaults.vpcId,
        publicSubnetIds: config.publicSubnetIds,
        subnetIds: config.subnetIds ?? defaults.subnetIds,
        count: config.count,
        instanceType: config.instanceType,
        amiId: config.amiId,
        userCaPublicKey: config.userCaPublicKey,
        customers: config.customers,
        revokedKeys: config.revokedKeys,
        platformSecurityGroupIds: config.platformSecurityGroupIds ?? defaults.platformSecurityGroupIds,
        gatewayPorts: config.gatewayPorts,
        hairpinTargetCidrs: config.hairpinTargetCidrs,
        awsApiEgressCidrs: config.awsApiEgressCidrs,
        loginUser: config.loginUser,
        dns: defaults.dns,
    }));
    const tunnelRelay: pulumi.Output<TunnelRelayOutput> = pulumi
        .all([relay.hostName, relay.port, relay.hostPublicKeys, relay.hostKeyFingerprints, relay.addresses, relay.platformHostName, relay.platformEndpoints])
        .apply(([host, port, hostPublicKeys, hostKeyFingerprints, addresses, platformHost, platformEndpoints]) => ({
            host,
            port,
            hostPublicKeys,
            hostKeyFingerprints,
            addresses,
            ...(platformHost === undefined ? {} : { platformHost }),
            platformEndpoints,
        }));
    return { tunnelRelay, tunnelRelaySecurityGroupId: relay.securityGroupId };
}

/**
 * The customer side: the tunnel connector, pinned to the relays in config or to the firefly
 * stack's `tunnelRelay` output. Before the firefly stack has a relay there is nothing to connect
 * to, and the connector waits for the next `pulumi up` (like the endpoint acceptance).
 */
export async function deployTunnelConnector(
    config: TunnelConnectorConfig | undefined,
    defaults: { name: string; vpcId: string; subnetIds: string[] },
    firefly: { stack: string; reference: pulumi.StackReference } | undefined,
): Promise<Record<string, unknown>> {
    if (!config?.enabled) return {};
    const relays = config.relays ?? (firefly ? await relayFromStack(firefly) : undefined);
    if (relays === undefined) {
        pulumi.log.info(`tunnel: ${firefly?.stack} has no tunnelRelay output yet; the connector is created on the first pulumi up after the relay exists`);
        return { tunnelConnector: `waiting for the relay of ${firefly?.stack}` };
    }
    const identity = config.identity;
    const keys: Record<string, string> = { vpcId: "vpcId", subnetIds: config.subnetIds ? "tunnel.subnetIds" : "subnetIds" };
    for (const field of ["name", "count", "instanceType", "amiId", "user", "routes", "dynamic", "targetCidrs", "dnsResolverCidrs", "proxy", "proxyCidrs", "awsApiEgress", "identity", "logRetentionInDays"] as const) {
        if (config[field] !== undefined) keys[field] = `tunnel.${field}`;
    }
    if (config.relays !== undefined) keys.relays = "tunnel.relays";
    if (config.alarmTopicArn !== undefined) keys.alarmActions = "tunnel.alarmTopicArn";
    const connector = fromConfig(keys, () => new TunnelConnector(config.name ?? defaults.name, {
        vpcId: defaults.vpcId,
        subnetIds: config.subnetIds ?? defaults.subnetIds,
        count: config.count,
        instanceType: config.instanceType,
        amiId: config.amiId,
        user: config.user,
        relays,
        routes: config.routes,
        dynamic: config.dynamic,
        targetCidrs: config.targetCidrs,
        dnsResolverCidrs: config.dnsResolverCidrs,
        proxy: config.proxy,
        proxyCidrs: config.proxyCidrs,
        awsApiEgress: config.awsApiEgress,
        identity:
            "privateKey" in identity
                ? { privateKey: pulumi.secret(identity.privateKey), certificate: identity.certificate, kmsKeyArn: identity.kmsKeyArn }
                : identity,
        logRetentionInDays: config.logRetentionInDays,
        alarmActions: config.alarmTopicArn ? [config.alarmTopicArn] : undefined,
    }));
    return {
        tunnelConnector: connector.autoScalingGroupName,
        tunnelConnectorSecurityGroupId: connector.securityGroupId,
        tunnelAgentConfig: connector.agentConfig,
        tunnelBundleKey: connector.bundleKey,
        tunnelLogGroup: connector.logGroupName,
        tunnelNotReadyAlarm: connector.notReadyAlarmName,
        tunnelCertificateAlarm: connector.certificateExpiringAlarmName,
    };
}

async function relayFromStack(firefly: { stack: string; reference: pulumi.StackReference }) {
    const relay: unknown = await firefly.reference.getOutputValue("tunnelRelay");
    if (relay === undefined || relay === null) return undefined;
    const r = relay as Partial<TunnelRelayOutput>;
    if (typeof r.host !== "string" || typeof r.port !== "number" || !Array.isArray(r.hostPublicKeys) || !Array.isArray(r.addresses)) {
        throw new Error(`stack ${firefly.stack} output tunnelRelay must be { host, port, hostPublicKeys, addresses } (got ${JSON.stringify(relay)}); is fireflyStack the platform's firefly stack?`);
    }
    return [{ host: r.host, port: r.port, hostKeys: r.hostPublicKeys, cidrs: r.addresses.map((ip) => `${ip}/32`) }];
}
