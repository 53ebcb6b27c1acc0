import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ConnectivityCheck, PrivateLinkEndpoint } from "../components";
import { subnetsInOfferedZones } from "../components/privatelink/privateLinkEndpoint";
import { endpointServiceRegion } from "../components/privatelink/regions";
import { customerHostname, FireflyConfig, PlatformCustomerConfig, relayCustomers, StackConfigError } from "./config";
import { fromConfig } from "./configKeys";
import { deployEndpointHealth } from "./endpointHealth";
import { deployPrivateApi } from "./privateApi";
import { checkOneSubnetPerZone, describeSubnets, type SubnetZone } from "./subnets";
import { deployTunnelRelay } from "./tunnel";

/**
 * The platform's (Firefly's) stack, one for every customer of a platform VPC. Shared once: the
 * private hosted zone, the workers' private API (its execute-api endpoint), the SSH relay, the
 * endpoint health check. Per customer, keyed by its name (never by its position in the list):
 * an interface endpoint to its endpoint service in the subnets whose AZ IDs the service offers
 * (every subnet when the service is in another region), its own security group, flow logs, alias record, connectivity check and "not available" alarm.
 */
export async function fireflyProgram(config: FireflyConfig, project: string): Promise<Record<string, unknown>> {
    // Read and check everything first: a bad entry fails the update before anything is created.
    // Every interface endpoint of this stack (the customers' and the workers' execute-api one) goes in them.
    const subnets = await describeSubnets(config.subnetIds);
    checkOneSubnetPerZone(subnets, `${project}:subnetIds`, "an interface endpoint");
    // The relay's internet-facing NLB. (Its hosts may share an AZ in tunnel.subnetIds; the internal
    // NLB that goes there too only when a customer listens beyond loopback meets AWS's rule in the plan.)
    if (config.tunnel?.enabled) checkOneSubnetPerZone(await describeSubnets(config.tunnel.publicSubnetIds), `${project}:tunnel.publicSubnetIds`, "a load balancer");
    const { region } = await aws.getRegion();
    const customers = await Promise.all(config.customers.map((customer, index) => resolveCustomer(customer, index, config, project, subnets, region)));

    const zoneId = config.privateZoneId ?? sharedPrivateZone(config).zoneId;

    const perCustomer: Record<string, Record<string, unknown>> = {};
    const endpointIds: Record<string, pulumi.Output<string[]>> = {};
    const endpoints: Array<{ name: string; endpointId: pulumi.Output<string> }> = [];
    for (const [index, customer] of customers.entries()) {
        const { entry } = customer;
        const at = `customers[${index}]`;
        const keys = {
            vpcId: "vpcId",
            name: `${at}.name`,
            subnetIds: "subnetIds",
            ...(entry.endpointServiceName !== undefined ? { serviceName: `${at}.endpointServiceName` } : {}),
            serviceRegion: `${at}.serviceRegion`,
            ...(entry.ports !== undefined ? { ports: `${at}.ports` } : {}),
            sourceSecurityGroupIds: "sourceSecurityGroupIds",
            "dns.zoneName": "privateZoneName",
            ...(config.privateZoneId !== undefined ? { "dns.zoneId": "privateZoneId" } : {}),
            privateDns: `${at}.enablePrivateDns`,
            "flowLogs.retentionInDays": "flowLogRetentionDays",
        };
        const endpoint = fromConfig(keys, () => new PrivateLinkEndpoint(entry.name, {
            vpcId: config.vpcId,
            subnetIds: customer.subnetIds,
            serviceName: customer.serviceName,
            serviceRegion: entry.serviceRegion,
            ports: customer.ports,
            sourceSecurityGroupIds: config.sourceSecurityGroupIds,
            dns: { zoneName: config.privateZoneName, recordName: customer.recordName, zoneId },
            privateDns: entry.enablePrivateDns,
            flowLogs: { retentionInDays: config.flowLogRetentionDays },
        }));
        endpointIds[entry.name] = pulumi.all([endpoint.endpointId]);
        endpoints.push({ name: entry.name, endpointId: endpoint.endpointId });
        perCustomer[entry.name] = {
            hostname: endpoint.hostname,
            endpointId: endpoint.endpointId,
            endpointDnsName: endpoint.dnsName,
            endpointSecurityGroupId: endpoint.securityGroupId,
            flowLogGroupName: endpoint.flowLogGroupName,
            subnetIds: customer.subnetIds,
            // pendingAcceptance until the customer stack accepts, then available (or rejected/failed).
            endpointState: endpoint.state,
            connectivityCheck: connectivityCheck(customer, endpoint, config),
        };
    }

    // One scheduled check for every customer's endpoint state, one alarm per customer.
    const health = deployEndpointHealth(
        "endpoint-health",
        endpoints.map((e) => ({ ...e, alarmActions: config.customers.find((c) => c.name === e.name)!.alarmActions ?? config.alarmActions })),
    );
    for (const [name, alarm] of Object.entries(health.alarmNames)) perCustomer[name]!.notAvailableAlarm = alarm;

    const outputs: Record<string, unknown> = {
        // Keyed by customer name: each customer stack accepts only its own entry.
        endpointIds,
        customers: perCustomer,
        privateZoneId: zoneId,
        endpointHealthFunction: health.functionName,
    };

    // Optional: a private API for the platform's own workers, in the same VPC and subnets.
    Object.assign(
        outputs,
        deployPrivateApi(config.privateApi, {
            name: `${config.migratedFrom?.customerName ?? "platform"}-workers-api`,
            vpcId: config.vpcId,
            subnetIds: config.subnetIds,
            callerSecurityGroupIds: config.sourceSecurityGroupIds,
            callerSecurityGroupIdsKey: "sourceSecurityGroupIds",
        }),
    );
    // Optional: the SSH relay the customers' tunnel connectors dial out to, one fleet for all.
    const relay = config.tunnel;
    Object.assign(
        outputs,
        // Platform services reach each customer's forwarded ports as <customer>.tunnel.<privateZoneName>.
        deployTunnelRelay(relay ? { ...relay, customers: relayCustomers(config).map(({ key: _key, ...customer }) => customer) } : undefined, {
            vpcId: config.vpcId,
            subnetIds: config.subnetIds,
            platformSecurityGroupIds: config.sourceSecurityGroupIds,
            dns: { zoneId, zoneName: config.privateZoneName },
            customerKeys: relayCustomers(config).map(({ key }) => key),
        }),
    );
    return outputs;
}

interface ResolvedCustomer {
    entry: PlatformCustomerConfig;
    /** Where the service name came from, for messages. */
    source: string;
    serviceName: pulumi.Input<string>;
    ports: number[];
    accepted: string[];
    recordName: string;
    subnetIds: string[];
}

async function resolveCustomer(
    entry: PlatformCustomerConfig,
    index: number,
    config: FireflyConfig,
    project: string,
    subnets: SubnetZone[],
    /** This stack's region: where the endpoint and its subnets are. */
    region: string,
): Promise<ResolvedCustomer> {
    const key = `${project}:customers[${index}]`;
    // A read, not a managed resource: its new name (it was "customer") re-reads, and changes nothing.
    const reference = entry.stack === undefined ? undefined : new pulumi.StackReference(`customer-${entry.name}`, { name: entry.stack });

    let serviceName: pulumi.Input<string>;
    if (reference && entry.endpointServiceName !== undefined) {
        const exported: unknown = await reference.getOutputValue("endpointServiceName");
        if (exported !== undefined && exported !== entry.endpointServiceName) {
            throw new StackConfigError([
                `${key}.endpointServiceName: "${entry.endpointServiceName}" disagrees with ${entry.stack}'s endpointServiceName "${String(exported)}"; remove endpointServiceName to follow the customer stack, or correct it`,
            ]);
        }
        serviceName = entry.endpointServiceName;
    } else {
        // Follows the customer stack: a recreated endpoint service exports a new name, and the next
        // `pulumi up` here replaces the endpoint (its hostname stays).
        serviceName = reference ? (reference.requireOutput("endpointServiceName") as pulumi.Output<string>) : entry.endpointServiceName!;
    }
    const ports = entry.ports ?? (reference ? await servicePorts(reference, entry.stack!, `${key}.ports`) : [443]);
    const accepted = reference ? await stringList(reference, "acceptedEndpointIds") : [];
    if (entry.enablePrivateDns && reference && accepted.length === 0) {
        throw new StackConfigError([
            `${key}.enablePrivateDns needs an accepted endpoint, and ${entry.stack} has accepted none yet; deploy the customer stack first (or set enablePrivateDns false)`,
        ]);
    }

    // The service lives in the region its name says; AWS looks it up in serviceRegion (default: this
    // stack's region) and finds nothing anywhere else. Said here, with the key to set, rather than
    // as AWS's "The Vpc Endpoint Service … does not exist".
    const serviceRegion = entry.serviceRegion ?? region;
    const knownName: unknown = entry.endpointServiceName ?? (reference ? await reference.getOutputValue("endpointServiceName") : undefined);
    const nameRegion = typeof knownName === "string" ? endpointServiceRegion(knownName) : undefined;
    if (nameRegion !== undefined && nameRegion !== serviceRegion) {
        throw new StackConfigError([
            entry.serviceRegion === undefined
                ? `${key}.serviceRegion: the endpoint service of "${entry.name}" (${knownName as string}) is in ${nameRegion}, and this stack in ${region}; set ${key}.serviceRegion to ${nameRegion} for a cross-region endpoint (the customer stack must list ${region} in privateLink.supportedRegions)`
                : `${key}.serviceRegion: the endpoint service of "${entry.name}" (${knownName as string}) is in ${nameRegion}, not ${entry.serviceRegion}; set ${key}.serviceRegion to ${nameRegion}${nameRegion === region ? " or remove it" : ""}`,
        ]);
    }

    // Across regions AWS serves the endpoint only from a region the service supports; the customer
    // stack exports them (endpointRegions: its own and privateLink.supportedRegions). Refused here,
    // naming the key to change there, instead of as AWS's "The Vpc Endpoint Service … does not
    // exist". A customer stack of an older version exports none: AWS judges then.
    if (reference && serviceRegion !== region) {
        const offeredRegions: unknown = await reference.getOutputValue("endpointRegions");
        if (Array.isArray(offeredRegions) && offeredRegions.every((r) => typeof r === "string") && !offeredRegions.includes(region)) {
            throw new StackConfigError([
                `${key}: the endpoint service of "${entry.name}" is offered to endpoints in ${offeredRegions.join(", ")} only, and this stack is in ${region}; add ${region} to privateLink.supportedRegions in ${entry.stack}'s config and run \`pulumi up\` there first`,
            ]);
        }
    }

    // AZ names differ per account: place the endpoint by AZ ID, only where the service is offered.
    // That rule compares AZs of one region. A cross-region endpoint's subnets are in this region, the
    // service's AZs in its own: they never match and AWS does not ask them to (what it asks is that
    // the service lists this region in its supported regions), so every subnet is used.
    const crossRegion = serviceRegion !== region;
    const offered = crossRegion ? [] : (entry.availabilityZoneIds ?? (reference ? await stringList(reference, "serviceAvailabilityZoneIds") : []));
    let subnetIds = subnets.map((s) => s.id);
    if (offered.length > 0) {
        const placement = subnetsInOfferedZones(subnets, offered);
        if (placement.subnetIds.length === 0) {
            throw new StackConfigError([
                `${key}: none of ${project}:subnetIds is in an AZ the endpoint service of "${entry.name}" offers (it offers ${offered.join(", ")}; the subnets are in ${subnets.map((s) => `${s.id} ${s.availabilityZoneId}`).join(", ")}); add a platform subnet in one of those AZ IDs, or ask the customer to add its NLB to one of yours`,
            ]);
        }
        if (placement.skipped.length > 0) {
            pulumi.log.warn(
                `customer ${entry.name}: endpoint not placed in ${placement.skipped.map((s) => `${s.id} (${s.availabilityZoneId})`).join(", ")}: its endpoint service offers only ${offered.join(", ")}`,
            );
        }
        subnetIds = placement.subnetIds;
    }
    const hostname = customerHostname(entry, config.privateZoneName);
    return {
        entry,
        source: entry.stack ?? "the customer",
        serviceName,
        ports,
        accepted,
        recordName: hostname.slice(0, -config.privateZoneName.length - 1),
        subnetIds,
    };
}

/** The shared private zone; a migrated stack keeps the zone its one customer's endpoint created. */
function sharedPrivateZone(config: FireflyConfig): aws.route53.Zone {
    const legacy = config.migratedFrom?.customerName;
    return new aws.route53.Zone(
        "private-zone",
        {
            name: config.privateZoneName,
            // The comment the single-customer endpoint wrote: migrating changes nothing in Route 53.
            comment: `Private names for PrivateLink endpoints (${legacy ?? "platform"})`,
            vpcs: [{ vpcId: config.vpcId }],
            tags: {},
        },
        legacy
            ? {
                  aliases: [
                      `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::firefly:privatelink:PrivateLinkEndpoint$aws:route53/zone:Zone::${legacy}-zone`,
                  ],
              }
            : undefined,
    );
}

function connectivityCheck(customer: ResolvedCustomer, endpoint: PrivateLinkEndpoint, config: FireflyConfig): pulumi.Output<unknown> | string {
    const { entry } = customer;
    const check = entry.connectivityCheck;
    if (check.runFrom === "off") return "off";
    // Until the customer stack has accepted this endpoint the path cannot work; the check records
    // a skip and runs for real on the first `pulumi up` after acceptance.
    const ready = entry.stack ? endpoint.endpointId.apply((id) => customer.accepted.includes(id)) : true;
    const probe = new ConnectivityCheck(`${entry.name}-check`, {
        hostname: endpoint.hostname,
        port: check.port ?? customer.ports[0],
        // The endpoint serves exactly these: a check on another port could never pass.
        targetPorts: customer.ports,
        servername: check.servername,
        // Stack config keeps httpHeadPath: false; the component takes httpHead: false for no request.
        ...(check.httpHeadPath === false ? { httpHead: false } : { httpHeadPath: check.httpHeadPath }),
        rejectUnauthorized: check.rejectUnauthorized,
        ready,
        notReadyReason: pulumi.interpolate`endpoint ${endpoint.endpointId} is not accepted by ${customer.source} yet: run \`pulumi up\` on the customer stack, then here again`,
        triggers: [endpoint.endpointId],
        runFrom: check.runFrom,
        ...(check.runFrom === "lambda" ? { vpcId: config.vpcId, subnetIds: customer.subnetIds, targetSecurityGroupId: endpoint.securityGroupId } : {}),
    });
    return probe.result;
}

async function servicePorts(customer: pulumi.StackReference, name: string, key: string): Promise<number[]> {
    const ports: unknown = await customer.getOutputValue("servicePorts");
    if (!Array.isArray(ports) || ports.length === 0 || !ports.every((p) => Number.isInteger(p))) {
        throw new Error(`stack ${name} output servicePorts must be a list of ports (got ${JSON.stringify(ports)}); set ${key} to choose them here`);
    }
    return ports as number[];
}

async function stringList(customer: pulumi.StackReference, output: string): Promise<string[]> {
    const values: unknown = await customer.getOutputValue(output);
    return Array.isArray(values) ? values.filter((v): v is string => typeof v === "string") : [];
}
