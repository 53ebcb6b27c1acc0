import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PrivateLinkService } from "../components";
import type { CustomerConfig } from "./config";
import { fromConfig } from "./configKeys";
import { deployPrivateApi } from "./privateApi";
import { checkOneSubnetPerZone, describeSubnets } from "./subnets";
import { deployTunnelConnector } from "./tunnel";

/**
 * The customer's stack: publishes the private service over PrivateLink to the platform's
 * account and accepts exactly the endpoints the platform's (firefly) stack reports; optionally
 * publishes a private API Gateway API to callers inside its VPC.
 */
export async function customerProgram(config: CustomerConfig, project: string): Promise<Record<string, unknown>> {
    const { privateLink } = config;
    // Its NLB goes in them, and the private API's endpoint and the tunnel's NLB when enabled.
    const subnets = await describeSubnets(config.subnetIds);
    checkOneSubnetPerZone(subnets, `${project}:subnetIds`, "a load balancer (and an interface endpoint)");
    const firefly = config.fireflyStack === undefined ? undefined : { stack: config.fireflyStack, reference: new pulumi.StackReference("firefly", { name: config.fireflyStack }) };
    const keys = {
        // The NLB and target groups are named after the component: a long customerName is refused by name.
        name: "customerName",
        vpcId: "vpcId",
        subnetIds: "subnetIds",
        listeners: "privateLink.listeners",
        targetType: "privateLink.targetType",
        targets: "privateLink.targets",
        allowedPrincipals: "platformAccountIds",
        ...(config.fireflyStack === undefined ? { acceptEndpointIds: "acceptEndpointIds" } : {}),
        privateDnsName: "privateLink.privateDnsName",
        verifyPrivateDns: "privateLink.verifyPrivateDns",
        supportedRegions: "privateLink.supportedRegions",
        "notifications.topicArn": "privateLink.notificationTopicArn",
        privateLinkClientCidrs: "privateLink.clientCidrs",
    };
    const service = fromConfig(keys, () => new PrivateLinkService(config.customerName, {
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
        privateLinkClientCidrs: privateLink.clientCidrs,
    }));

    return {
        endpointServiceName: service.serviceName,
        endpointServiceId: service.serviceId,
        // The ports offered; the firefly stack opens exactly these unless told otherwise.
        servicePorts: privateLink.listeners.map((l) => l.port),
        // The AZ IDs the service is offered in (its NLB's subnets): the platform places its endpoint
        // only there. IDs, not names: us-east-1a is a different zone in the platform's account.
        serviceAvailabilityZoneIds: [...new Set(subnets.map((s) => s.availabilityZoneId))].sort(),
        // The regions an endpoint to the service may be in: its own (AWS always serves it) and
        // privateLink.supportedRegions. The platform refuses a cross-region entry whose region is not
        // listed, naming this stack's key, before AWS answers "… does not exist".
        endpointRegions: endpointRegions(privateLink.supportedRegions),
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
 * The endpoint IDs the firefly stack exports for this customer (`endpointIds.<customerName>`),
 * read through a StackReference, or the configured list when the firefly stack lives in another
 * backend. Another customer's entry is never read, so it can never be accepted. Before the
 * firefly stack's first deployment (or before it lists this customer) nothing is accepted.
 */
function endpointIdsToAccept(config: CustomerConfig, firefly: pulumi.StackReference | undefined): string[] | Promise<string[]> {
    if (firefly === undefined) return config.acceptEndpointIds ?? [];
    return firefly.getOutputValue("endpointIds").then((byCustomer: unknown) => {
        if (byCustomer === undefined || byCustomer === null) return [];
        if (typeof byCustomer !== "object" || Array.isArray(byCustomer)) {
            throw new Error(
                `stack ${config.fireflyStack} output endpointIds must map customer names to endpoint IDs (got ${JSON.stringify(byCustomer)}); is fireflyStack a platform stack with a customers list?`,
            );
        }
        const ids: unknown = (byCustomer as Record<string, unknown>)[config.customerName] ?? [];
        if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) {
            throw new Error(`stack ${config.fireflyStack} output endpointIds.${config.customerName} must be a list of endpoint IDs (got ${JSON.stringify(ids)})`);
        }
        return [...new Set([...ids, ...(config.acceptEndpointIds ?? [])])];
    });
}

function endpointRegions(supportedRegions: string[] | undefined): pulumi.Output<string[]> {
    return aws.getRegionOutput().region.apply((region) => [...new Set([region, ...(supportedRegions ?? [])])]);
}

