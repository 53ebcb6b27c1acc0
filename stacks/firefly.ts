import * as pulumi from "@pulumi/pulumi";
import { ConnectivityCheck, PrivateLinkEndpoint } from "../components";
import { FireflyConfig, StackConfigError } from "./config";
import { deployPrivateApi } from "./privateApi";
import { deployTunnelRelay } from "./tunnel";

/**
 * The platform's (Firefly's) stack: an interface endpoint to the customer's endpoint service,
 * a stable private hostname for it, a deploy-time check that the path works, and optionally a
 * private API Gateway API for the platform's workers.
 */
export async function fireflyProgram(config: FireflyConfig, project: string): Promise<Record<string, unknown>> {
    const customer = config.customerStack ? new pulumi.StackReference("customer", { name: config.customerStack }) : undefined;

    // Follows the customer stack: a recreated endpoint service exports a new name, and the next
    // `pulumi up` here replaces the endpoint (its hostname stays).
    const serviceName: pulumi.Input<string> = customer
        ? (customer.requireOutput("endpointServiceName") as pulumi.Output<string>)
        : config.endpointServiceName!;
    const ports = config.endpointPorts ?? (customer ? await servicePorts(customer, config.customerStack!) : [443]);
    const accepted = customer ? await acceptedEndpointIds(customer) : [];

    if (config.enablePrivateDns && customer && accepted.length === 0) {
        throw new StackConfigError([
            `${project}:enablePrivateDns needs an accepted endpoint, and ${config.customerStack} has accepted none yet; deploy the customer stack first (or set enablePrivateDns false)`,
        ]);
    }

    const endpoint = new PrivateLinkEndpoint(config.customerName, {
        vpcId: config.vpcId,
        subnetIds: config.subnetIds,
        serviceName,
        serviceRegion: config.serviceRegion,
        ports,
        sourceSecurityGroupIds: config.sourceSecurityGroupIds,
        dns: { zoneName: config.privateZoneName, recordName: config.customerName, zoneId: config.privateZoneId },
        privateDns: config.enablePrivateDns,
        flowLogs: { retentionInDays: config.flowLogRetentionDays },
    });

    const outputs: Record<string, unknown> = {
        endpointIds: pulumi.all([endpoint.endpointId]),
        hostname: endpoint.hostname,
        endpointDnsName: endpoint.dnsName,
        endpointSecurityGroupId: endpoint.securityGroupId,
        privateZoneId: endpoint.zoneId,
        flowLogGroupName: endpoint.flowLogGroupName,
    };

    const check = config.connectivityCheck;
    if (check.runFrom !== "off") {
        // Until the customer stack has accepted this endpoint the path cannot work; the check
        // records a skip and runs for real on the first `pulumi up` after acceptance.
        const ready = customer ? endpoint.endpointId.apply((id) => accepted.includes(id)) : true;
        const probe = new ConnectivityCheck(`${config.customerName}-check`, {
            hostname: endpoint.hostname,
            port: check.port ?? ports[0],
            servername: check.servername,
            httpHeadPath: check.httpHeadPath,
            rejectUnauthorized: check.rejectUnauthorized,
            ready,
            notReadyReason: pulumi.interpolate`endpoint ${endpoint.endpointId} is not accepted by ${config.customerStack ?? "the customer"} yet: run \`pulumi up\` on the customer stack, then here again`,
            triggers: [endpoint.endpointId],
            runFrom: check.runFrom,
            ...(check.runFrom === "lambda"
                ? { vpcId: config.vpcId, subnetIds: config.subnetIds, targetSecurityGroupId: endpoint.securityGroupId }
                : {}),
        });
        outputs.connectivityCheck = probe.result;
    }

    // Optional: a private API for the platform's own workers, in the same VPC and subnets.
    Object.assign(
        outputs,
        deployPrivateApi(config.privateApi, {
            name: `${config.customerName}-workers-api`,
            vpcId: config.vpcId,
            subnetIds: config.subnetIds,
            callerSecurityGroupIds: config.sourceSecurityGroupIds,
        }),
    );
    // Optional: the SSH relay the customers' tunnel connectors dial out to.
    Object.assign(
        outputs,
        // Platform services reach each customer's forwarded ports as <customer>.tunnel.<privateZoneName>.
        deployTunnelRelay(config.tunnel, {
            vpcId: config.vpcId,
            subnetIds: config.subnetIds,
            platformSecurityGroupIds: config.sourceSecurityGroupIds,
            dns: { zoneId: endpoint.zoneId, zoneName: config.privateZoneName },
        }),
    );
    return outputs;
}

async function servicePorts(customer: pulumi.StackReference, name: string): Promise<number[]> {
    const ports: unknown = await customer.getOutputValue("servicePorts");
    if (!Array.isArray(ports) || ports.length === 0 || !ports.every((p) => Number.isInteger(p))) {
        throw new Error(`stack ${name} output servicePorts must be a list of ports (got ${JSON.stringify(ports)}); set endpointPorts to choose them here`);
    }
    return ports as number[];
}

async function acceptedEndpointIds(customer: pulumi.StackReference): Promise<string[]> {
    const ids: unknown = await customer.getOutputValue("acceptedEndpointIds");
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
}
