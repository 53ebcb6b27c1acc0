import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { checkFlowLogSettings, FlowLogSettings } from "./endpointFlowLogs";
import { createInterfaceEndpoint, EndpointRule } from "../shared/interfaceEndpoint";
import { awsRegions, isAwsRegion } from "./regions";
import { ArgChecker, awsNameLimits, patterns } from "../shared/validation";
import { Known, readyWhen } from "../shared/known";
import { componentType as typeToken, withLegacyType } from "../shared/typeTokens";

/** Where the stable hostname lives. */
export interface PrivateLinkEndpointDns {
    /**
     * The private zone's domain, e.g. `privatelink.firefly.internal`. A new private hosted zone
     * is created for it in the VPC unless `zoneId` names an existing one.
     */
    zoneName: pulumi.Input<string>;
    /** ID of an existing private hosted zone for `zoneName` (shared by several endpoints). */
    zoneId?: pulumi.Input<string>;
    /** The label in front of the zone: `acme` gives `acme.privatelink.firefly.internal`. */
    recordName: pulumi.Input<string>;
}

export interface PrivateLinkEndpointArgs {
    /** VPC the platform services run in. */
    vpcId: pulumi.Input<string>;
    /**
     * Subnets for the endpoint's network interfaces, one per AZ, in AZs the service is offered
     * in. More AZs keep the path up when one AZ fails.
     */
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The endpoint service name, `com.amazonaws.vpce.<region>.vpce-svc-…` (from the customer stack). */
    serviceName: pulumi.Input<string>;
    /** Region of the endpoint service when it is not this region (cross-region PrivateLink). */
    serviceRegion?: pulumi.Input<string>;
    /** Ports the platform uses through the endpoint; the security group opens exactly these. */
    ports: pulumi.Input<pulumi.Input<number>[]>;
    /**
     * Security groups of the platform services (and probes) that may use the endpoint. Ingress
     * is allowed only from these groups, only on `ports`.
     */
    sourceSecurityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The stable hostname platform services use. */
    dns: pulumi.Input<PrivateLinkEndpointDns>;
    /**
     * Turn on the service's own private DNS name for this endpoint (`aws.vpc.EndpointPrivateDns`).
     * Only once the customer accepted the connection and verified the name; default `false`.
     */
    privateDns?: pulumi.Input<boolean>;
    /** Flow logs for the endpoint's subnets (always on; these are the settings). */
    flowLogs?: pulumi.Input<FlowLogSettings>;
    /** Tags for every resource the component creates. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

const componentType = typeToken("PrivateLinkEndpoint");
/** The type 0.1.x registered this component as; aliased so deployed stacks keep their state. */
const legacyComponentType = "firefly:privatelink:PrivateLinkEndpoint";

/**
 * Platform side of PrivateLink: an Interface VPC endpoint to the customer's endpoint service,
 * behind its own narrow security group, with flow logs and a stable private hostname that does
 * not change when the endpoint is recreated.
 */
export class PrivateLinkEndpoint extends pulumi.ComponentResource {
    /** The endpoint ID (`vpce-…`), which the customer stack accepts. */
    public readonly endpointId: pulumi.Output<string>;
    /** The stable name platform services use, e.g. `acme.privatelink.firefly.internal`. */
    public readonly hostname: pulumi.Output<string>;
    /** The endpoint's own security group (admits `sourceSecurityGroupIds` on `ports` only). */
    public readonly securityGroupId: pulumi.Output<string>;
    /** The endpoint's own regional DNS name (changes when the endpoint is recreated). */
    public readonly dnsName: pulumi.Output<string>;
    /** The private hosted zone holding the hostname (given or created). */
    public readonly zoneId: pulumi.Output<string>;
    /** `pendingAcceptance` until the customer accepts, then `available`. */
    public readonly state: pulumi.Output<string>;
    /** The CloudWatch log group receiving the flow logs of the endpoint's subnets. */
    public readonly flowLogGroupName: pulumi.Output<string>;

    constructor(name: string, args: PrivateLinkEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
        const checked = checkArgs(name, args);
        const tags = new ArgChecker(componentType, name).tags("tags", args.tags);
        super(componentType, name, {}, withLegacyType(opts, legacyComponentType));
        // Everything depends on the ports, sources, DNS names and flow-log settings: built now when
        // they are plain, or once they resolve (same names either way).
        const built = checked.structure.map((structure) => this.build(name, checked, structure, tags));

        this.endpointId = built.output((b) => b.endpoint.id);
        this.hostname = built.output((b) => b.hostname);
        this.securityGroupId = built.output((b) => b.securityGroup.id);
        this.dnsName = built.output((b) => b.regional.dnsName);
        this.zoneId = built.output((b) => b.zoneId);
        this.state = built.output((b) => b.endpoint.state);
        // Always created here (the endpoint passes flow-log settings, never false).
        this.flowLogGroupName = built.output((b) => b.flowLogs.output((logs) => logs!.logGroupName));
        this.registerOutputs({
            endpointId: this.endpointId,
            hostname: this.hostname,
            securityGroupId: this.securityGroupId,
            dnsName: this.dnsName,
            zoneId: this.zoneId,
            state: this.state,
            flowLogGroupName: this.flowLogGroupName,
        });
    }

    private build(name: string, checked: CheckedArgs, structure: CheckedStructure, tags: pulumi.Input<Record<string, pulumi.Input<string>>>) {
        const parent = { parent: this };
        const { securityGroup, endpoint, flowLogs } = createInterfaceEndpoint(this, {
            securityGroup: { name: `${name}-sg`, description: endpointGroupDescription(name, structure.ports) },
            rules: structure.sourceSecurityGroupIds.flatMap((source, s) =>
                structure.ports.flatMap((port): EndpointRule[] => [
                    {
                        name: `${name}-in-${port}-from-${s}`,
                        direction: "ingress",
                        port,
                        peer: { referencedSecurityGroupId: source },
                        description: `Platform service to the PrivateLink endpoint on ${port}`,
                    },
                    {
                        name: `${name}-out-${port}-to-${s}`,
                        direction: "egress",
                        port,
                        peer: { referencedSecurityGroupId: source },
                        description: `Replies on ${port} only; the endpoint never starts connections`,
                    },
                ]),
            ),
            endpoint: {
                name: `${name}-endpoint`,
                vpcId: checked.vpcId,
                serviceName: checked.serviceName,
                serviceRegion: checked.serviceRegion,
                subnetIds: checked.subnetIds,
                // Off until the customer accepted; then aws.vpc.EndpointPrivateDns (below) owns the setting
                // and it must be left unset here, or the two fight in every diff.
                privateDnsEnabled: structure.privateDns ? undefined : false,
            },
            flowLogs: { name: `${name}-flow-logs`, settings: structure.flowLogs },
            tags,
        });

        const zoneId: pulumi.Output<string> =
            structure.zoneId !== undefined
                ? pulumi.output(structure.zoneId)
                : new aws.route53.Zone(
                      `${name}-zone`,
                      {
                          name: structure.zoneName,
                          comment: `Private names for PrivateLink endpoints (${name})`,
                          vpcs: [{ vpcId: checked.vpcId }],
                          tags,
                      },
                      parent,
                  ).zoneId;

        const hostname = `${structure.recordName}.${structure.zoneName}`;
        // The regional entry (the first) answers from every AZ the endpoint is in.
        const regional = endpoint.dnsEntries.apply((entries) => {
            const first = entries?.[0];
            if (!first) throw new Error(`${componentType} "${name}": the endpoint reported no DNS entries`);
            return first;
        });
        new aws.route53.Record(
            `${name}-hostname`,
            {
                zoneId,
                name: hostname,
                type: "A",
                aliases: [{ name: regional.dnsName, zoneId: regional.hostedZoneId, evaluateTargetHealth: false }],
            },
            parent,
        );

        if (structure.privateDns) {
            new aws.vpc.EndpointPrivateDns(
                `${name}-private-dns`,
                { vpcEndpointId: endpoint.id, privateDnsEnabled: true },
                parent,
            );
        }
        return { securityGroup, endpoint, flowLogs, zoneId, hostname, regional };
    }
}

interface CheckedArgs {
    vpcId: pulumi.Input<string>;
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    serviceName: pulumi.Input<string>;
    serviceRegion?: pulumi.Input<string>;
    structure: Known<CheckedStructure>;
}

/** The checked structural arguments: what decides which resources exist and their names. */
interface CheckedStructure {
    ports: number[];
    sourceSecurityGroupIds: pulumi.Input<string>[];
    zoneName: string;
    recordName: string;
    zoneId?: pulumi.Input<string>;
    privateDns: boolean;
    flowLogs: FlowLogSettings;
}

function endpointGroupDescription(name: string, ports: readonly number[]): string {
    return `PrivateLink endpoint ${name}: ports ${ports.join(", ")} from platform services only`;
}

function checkArgs(name: string, args: PrivateLinkEndpointArgs): CheckedArgs {
    const c: ArgChecker = new ArgChecker(componentType, name);
    if (!args) c.fail("args", "are required");
    // Its flow logs' delivery role is named after it (`<name>-flow-logs-role`), checked here so the
    // limit is told in this component's name.
    c.autoNameFits(`${name}-flow-logs-role`, awsNameLimits.iamRole);
    const vpcId = c.vpcId("vpcId", args.vpcId);
    const subnetIds = c.subnetIdList("subnetIds", args.subnetIds, "give one private subnet per AZ for the endpoint's network interfaces");
    const serviceName = c.matches(
        "serviceName",
        args.serviceName,
        patterns.endpointServiceName,
        "an endpoint service name like com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0 (the customer stack's endpointServiceName output)",
    );
    const serviceRegion =
        args.serviceRegion === undefined
            ? undefined
            : c.input(args.serviceRegion, (value) => {
                  if (!isAwsRegion(value)) c.fail("serviceRegion", `must be an AWS region like eu-west-1 (got ${JSON.stringify(value)}); AWS has ${awsRegions.join(", ")}`);
              });
    if (!args.dns) c.fail("dns", "is required: give { zoneName, recordName } for the stable hostname");
    const structure = Known.fromArgs(
        { ports: args.ports, sourceSecurityGroupIds: args.sourceSecurityGroupIds, dns: args.dns, privateDns: args.privateDns, flowLogs: args.flowLogs },
        {
            ports: readyWhen.structurePlain(),
            // Rules are named by position, so the groups' IDs may stay Outputs.
            sourceSecurityGroupIds: readyWhen.plainArray,
            dns: readyWhen.structurePlain({ passThrough: ["zoneId"] }),
            privateDns: readyWhen.plain,
            // The settings themselves are handed on as they are (EndpointFlowLogs takes Inputs).
            flowLogs: readyWhen.plain,
        },
        (resolved): CheckedStructure => {
            const ports = c.nonEmptyArray("ports", resolved.ports, "give the ports the platform uses, e.g. [443]").map((p, i) => c.port(`ports[${i}]`, p));
            c.uniquePorts("ports", ports);
            // The endpoint's security group is described by its name and ports (see the constructor).
            c.securityGroupDescriptionFits(endpointGroupDescription(c.name, []));
            c.securityGroupDescriptionFits(endpointGroupDescription(c.name, ports), "ports", "list fewer ports, or use one endpoint per group of ports");
            const sourcesFix = "give the security groups of the platform services that use the endpoint (ingress is allowed from nowhere else)";
            const sourceSecurityGroupIds = c.securityGroupIds("sourceSecurityGroupIds", c.nonEmptyArray("sourceSecurityGroupIds", resolved.sourceSecurityGroupIds, sourcesFix), sourcesFix);
            const dns = resolved.dns;
            if (!dns || typeof dns !== "object") c.fail("dns", "is required: give { zoneName, recordName } for the stable hostname");
            const zoneName: unknown = dns.zoneName;
            if (typeof zoneName !== "string" || !patterns.dnsName.test(zoneName)) {
                c.fail("dns.zoneName", `must be a lower-case DNS name like privatelink.firefly.internal (got ${JSON.stringify(zoneName)})`);
            }
            const recordName: unknown = dns.recordName;
            if (typeof recordName !== "string" || !patterns.dnsLabel.test(recordName)) {
                c.fail("dns.recordName", `must be one lower-case DNS label like acme (got ${JSON.stringify(recordName)})`);
            }
            // The hostname is both together; each fits alone, the two may not.
            c.recordNameFits("dns.recordName", `${recordName}.${zoneName}`, "use a shorter recordName or zoneName");
            const zoneId = dns.zoneId === undefined ? undefined : c.matches("dns.zoneId", dns.zoneId, patterns.route53ZoneId, "a Route 53 hosted zone ID like Z0123456789ABCDEFGHIJ");
            const privateDns: unknown = resolved.privateDns ?? false;
            if (typeof privateDns !== "boolean") c.fail("privateDns", `must be true or false (got ${JSON.stringify(privateDns)})`);
            const flowLogs = resolved.flowLogs ?? {};
            if (typeof flowLogs !== "object" || flowLogs === null) c.fail("flowLogs", `must be an object of flow-log settings (got ${JSON.stringify(flowLogs)})`);
            return { ports, sourceSecurityGroupIds, zoneName, recordName, zoneId, privateDns, flowLogs: checkFlowLogSettings(c, "flowLogs.", flowLogs) };
        },
    );
    return { vpcId, subnetIds, serviceName, serviceRegion, structure };
}

/** Which subnets an interface endpoint may use: those in AZs its endpoint service offers. */
export interface SubnetPlacement {
    subnetIds: string[];
    /** Subnets left out, with their AZ ID (AWS would refuse them). */
    skipped: Array<{ id: string; availabilityZoneId: string }>;
}

/**
 * Keeps the subnets whose AZ ID (`use1-az1`, the same physical zone in every account) the
 * endpoint service offers. AZ *names* map to different zones in different accounts, so the
 * consumer's `us-east-1a` says nothing about the provider's; AWS refuses an endpoint in any other
 * subnet ("The VPC endpoint service … does not support the availability zone of the subnet").
 */
export function subnetsInOfferedZones(subnets: Array<{ id: string; availabilityZoneId: string }>, offeredZoneIds: string[]): SubnetPlacement {
    const offered = new Set(offeredZoneIds);
    return {
        subnetIds: subnets.filter((s) => offered.has(s.availabilityZoneId)).map((s) => s.id),
        skipped: subnets.filter((s) => !offered.has(s.availabilityZoneId)),
    };
}
