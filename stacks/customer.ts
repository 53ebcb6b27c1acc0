import * as pulumi from "@pulumi/pulumi";
import { PrivateLinkService } from "../components";
import type { CustomerConfig } from "./config";
import { deployPrivateApi } from "./privateApi";
import { deployTunnelConnector } from "./tunnel";

/**
 * The customer's stack: publishes the private service over PrivateLink to the platform's
 * account and accepts exactly the endpoints the platform's (firefly) stack reports; optionally
 * publishes a private API Gateway API to callers inside its VPC.
 */
export async function customerProgram(config: CustomerConfig): Promise<Record<string, unknown>> {
    const { privateLink } = config;
    const firefly = config.fireflyStack === undefined ? undefined : { stack: config.fireflyStack, reference: new pulumi.StackReference("firefly", { name: config.fireflyStack }) };
    const service = new PrivateLinkService(config.customerName, {
        vpcId: config.vpcId,
        subnetIds: config.subnetIds,
        listeners: privateLink.listeners,
        targetType: privateLink.targetType,
        targets: privateLink.targets,
        allowedPrincipals: config.platformAccountIds,
        acceptEndpointIds: endpointIdsToAccept(config, firefly?.reference),
        privateDnsName: privateLink.privateDnsName,
        verifyPrivateDns: privateLink.verifyPrivateDns,
        supportedRegions: privateLink.supportedRegions,
        notifications: privateLink.notificationTopicArn ? { topicArn: privateLink.notificationTopicArn } : undefined,
    });

    return {
        endpointServiceName: service.serviceName,
        endpointServiceId: service.serviceId,
        // The ports offered; the firefly stack opens exactly these unless told otherwise.
        servicePorts: privateLink.listeners.map((l) => l.port),
        loadBalancerDnsName: service.loadBalancerDnsName,
        acceptedEndpointIds: service.acceptedEndpointIds,
        notificationTopicArn: service.notificationTopicArn,
        // The TXT record to publish so AWS can verify the private DNS name.
        ...(privateLink.privateDnsName ? { privateDnsVerification: service.privateDnsVerification } : {}),
        // Optional: a private API Gateway API for callers inside this VPC.
        ...deployPrivateApi(config.privateApi, { name: `${config.customerName}-api`, vpcId: config.vpcId, subnetIds: config.subnetIds }),
        // Optional: the outbound-only tunnel connector, pinned to the firefly stack's relay.
        ...(await deployTunnelConnector(config.tunnel, { name: `${config.customerName}-tunnel`, vpcId: config.vpcId, subnetIds: config.subnetIds }, firefly)),
    };
}

/**
 * The endpoint IDs the firefly stack exports (`endpointIds`), read through a StackReference, or
 * the configured list when the firefly stack lives in another backend. Before the firefly stack's
 * first deployment there are none, and nothing is accepted.
 */
function endpointIdsToAccept(config: CustomerConfig, firefly: pulumi.StackReference | undefined): string[] | Promise<string[]> {
    if (firefly === undefined) return config.acceptEndpointIds ?? [];
    return firefly.getOutputValue("endpointIds").then((ids: unknown) => {
        if (ids === undefined || ids === null) return [];
        if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) {
            throw new Error(
                `stack ${config.fireflyStack} output endpointIds must be a list of endpoint IDs (got ${JSON.stringify(ids)}); is fireflyStack the platform's firefly stack?`,
            );
        }
        return [...new Set([...ids, ...(config.acceptEndpointIds ?? [])])];
    });
}
