import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "../shared/iamPolicy";
import { awsRegions, isAwsRegion } from "./regions";
import { ArgChecker, awsNameLimits, defaultListenerSslPolicy, ipv4InCidr, isIpv4Cidr, isPlain, patterns, principalArn, tls12ListenerPolicyPattern } from "../shared/validation";
import { isStructurePlain, Known, Ready, readyWhen } from "../shared/known";
import { componentType as typeToken, withLegacyType } from "../shared/typeTokens";

/** Protocol of a health check the NLB runs against its targets. */
export const HealthCheckProtocol = {
    /** A TCP connect (the default). */
    TCP: "TCP",
    /** An HTTP request to `path`; any 2xx–3xx answer is healthy. */
    HTTP: "HTTP",
    /** An HTTPS request to `path`; any 2xx–3xx answer is healthy. */
    HTTPS: "HTTPS",
} as const;
/** Protocol of a health check the NLB runs against its targets. */
export type HealthCheckProtocol = (typeof HealthCheckProtocol)[keyof typeof HealthCheckProtocol];

/** Protocol of an NLB listener, or from the NLB to its targets. */
export const ListenerProtocol = {
    /** Bytes pass through untouched (TLS, if any, ends at the target). */
    TCP: "TCP",
    /** TLS, ended (or, to the targets, started) by the NLB. */
    TLS: "TLS",
} as const;
/** Protocol of an NLB listener, or from the NLB to its targets. */
export type ListenerProtocol = (typeof ListenerProtocol)[keyof typeof ListenerProtocol];

/** What the NLB's targets are. */
export const PrivateLinkTargetType = {
    /** EC2 instance IDs (`i-…`). */
    instance: "instance",
    /** Private IPv4 addresses (in the VPC, a peered VPC or on premises). */
    ip: "ip",
} as const;
/** What the NLB's targets are. */
export type PrivateLinkTargetType = (typeof PrivateLinkTargetType)[keyof typeof PrivateLinkTargetType];

/** Events that AWS reports on an endpoint service's connections. */
export const EndpointConnectionEvent = {
    /** A connection request was accepted. */
    Accept: "Accept",
    /** An endpoint requested a connection. */
    Connect: "Connect",
    /** An endpoint connection was deleted. */
    Delete: "Delete",
    /** A connection request was rejected. */
    Reject: "Reject",
} as const;
/** Events that AWS reports on an endpoint service's connections. */
export type EndpointConnectionEvent = (typeof EndpointConnectionEvent)[keyof typeof EndpointConnectionEvent];

/** A health check the NLB runs against each target of one listener's target group. */
export interface PrivateLinkHealthCheck {
    /** Default `TCP` (a connect). Use `HTTP`/`HTTPS` with `path` to check the application itself. */
    protocol?: pulumi.Input<HealthCheckProtocol>;
    /** Port probed on the target. Default: the target port. */
    port?: pulumi.Input<number>;
    /** Request path for HTTP/HTTPS checks. Default `/`. */
    path?: pulumi.Input<string>;
    /** Seconds between checks, 5–300 (what an NLB accepts). Default 10, so a dead target leaves fast. */
    intervalSeconds?: pulumi.Input<number>;
    /** Consecutive successes before a target is healthy, 2–10. Default 3. */
    healthyThreshold?: pulumi.Input<number>;
    /** Consecutive failures before a target is unhealthy, 2–10. Default 3. */
    unhealthyThreshold?: pulumi.Input<number>;
}

/** One port the endpoint service offers: an NLB listener with its own target group. */
export interface PrivateLinkListener {
    /** Port the NLB listens on; the platform connects to this port through its endpoint. */
    port: pulumi.Input<number>;
    /**
     * `TCP` (default): bytes pass through untouched, so TLS ends at the target and the platform
     * sees the target's own certificate. `TLS`: the NLB terminates TLS with `certificateArn`.
     */
    protocol?: pulumi.Input<ListenerProtocol>;
    /** Port on the targets. Default: `port`. */
    targetPort?: pulumi.Input<number>;
    /**
     * Protocol from the NLB to the targets. Default: `TCP` for TCP listeners, `TLS` for TLS
     * listeners (re-encrypted, so traffic is never plaintext inside the VPC either).
     */
    targetProtocol?: pulumi.Input<ListenerProtocol>;
    /** ACM certificate for a TLS listener (required for TLS, refused for TCP). */
    certificateArn?: pulumi.Input<string>;
    /**
     * ELB security policy for a TLS listener. Default `ELBSecurityPolicy-TLS13-1-2-2021-06`.
     * Only TLS 1.2+ policies are accepted; the provider's own default (2016-08) allows TLS 1.0.
     */
    sslPolicy?: pulumi.Input<string>;
    /** The health check of this listener's target group. Default: a TCP connect every 10 seconds. */
    healthCheck?: pulumi.Input<PrivateLinkHealthCheck>;
    /** Targets for this listener only. Default: the component's `targets`. */
    targets?: pulumi.Input<pulumi.Input<string>[]>;
}

/** Where the endpoint service's connection events and the NLB's health alarms go. */
export interface PrivateLinkNotifications {
    /**
     * Default `true`. `false`: no connection notifications and no alarm actions (the alarms still
     * exist). Replaces 0.1's `notifications: false`.
     */
    enabled?: pulumi.Input<boolean>;
    /**
     * Your own SNS topic. Default: a new topic. Its policy must let `vpce.amazonaws.com` and
     * CloudWatch publish.
     */
    topicArn?: pulumi.Input<string>;
    /** The connection events to notify. Default: all of them. */
    events?: pulumi.Input<pulumi.Input<EndpointConnectionEvent>[]>;
}

export interface PrivateLinkServiceArgs {
    /** VPC of the targets (target groups live in it). */
    vpcId: pulumi.Input<string>;
    /**
     * Private subnets for the internal NLB, one per Availability Zone the service is offered in.
     * The platform can only create endpoints in AZs listed here.
     */
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The ports offered, one listener and target group each. Ports must be distinct. */
    listeners: pulumi.Input<pulumi.Input<PrivateLinkListener>[]>;
    /** `instance` (default): targets are EC2 instance IDs. `ip`: targets are private IPv4 addresses. */
    targetType?: pulumi.Input<PrivateLinkTargetType>;
    /** The private service behind the NLB: instance IDs or IPs, per `targetType`. */
    targets: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Who may create endpoints to this service: the platform's AWS account IDs (12 digits) or
     * IAM principal ARNs. `*` is refused: it would let any AWS account request a connection.
     */
    allowedPrincipals: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Whether each endpoint connection must be accepted before traffic flows. Default `true`;
     * with `acceptEndpointIds` only the listed endpoints are ever accepted.
     */
    acceptanceRequired?: pulumi.Input<boolean>;
    /**
     * Endpoint IDs (`vpce-…`) to accept: exactly these, and no others. A plain list, or a value
     * read from the platform's stack (`stackReference.getOutput("endpointIds")` or the Promise from
     * `getOutputValue`): one accepter per ID (named after it) is created once the list is known.
     */
    acceptEndpointIds?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Private DNS name for the service (e.g. `api.customer.example.com`), so consumers can use
     * your name. You must prove domain ownership: publish `privateDnsVerification` as a TXT record.
     */
    privateDnsName?: pulumi.Input<string>;
    /**
     * Ask AWS to verify the private DNS name now (`EndpointServicePrivateDnsVerification`). Turn
     * on once the TXT record is published. Default `false`. Requires `privateDnsName`.
     */
    verifyPrivateDns?: pulumi.Input<boolean>;
    /** Other regions that may connect (cross-region PrivateLink), e.g. `["eu-west-1"]`. */
    supportedRegions?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Connection notifications and alarm actions. Default: a new SNS topic receiving every
     * connection event. Give `topicArn` to use your own topic (its policy must let
     * `vpce.amazonaws.com` and CloudWatch publish), or `enabled: false` for none.
     */
    notifications?: pulumi.Input<PrivateLinkNotifications>;
    /**
     * Security group of the targets. The component adds the rule the targets need to it: TCP on each
     * target port and health-check port from the NLB's own security group (traffic and health checks
     * both come from the NLB). Default: for instance targets, a group created for them
     * (`targetSecurityGroupId` output) that you attach to the instances; for IP targets, none: the
     * NLB sends to the target addresses, and you add the rule `targetIngress` describes.
     */
    targetSecurityGroupId?: pulumi.Input<string>;
    /**
     * Where the platform's clients are: the IPv4 CIDR blocks of the consumer VPC (for Firefly, the
     * platform VPC). The NLB evaluates its security group on PrivateLink traffic too
     * (`enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: "on"`), and AWS judges that traffic
     * by the client's private address, so the NLB's group admits exactly these blocks on the
     * listener ports. Default: none, and no PrivateLink traffic gets in until they are given (the
     * component warns). Adding or changing them later changes rules only, never the NLB.
     */
    privateLinkClientCidrs?: pulumi.Input<pulumi.Input<string>[]>;
    /** Spread each AZ's traffic over targets in every AZ. Default `true`. */
    crossZoneLoadBalancing?: pulumi.Input<boolean>;
    /** Protect the NLB from deletion. Default `false` (so `pulumi destroy` works). */
    deletionProtection?: pulumi.Input<boolean>;
    /** Tags for every resource the component creates. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** A rule for the targets' security group: TCP on `ports` from `sourceSecurityGroupId`. */
export interface TargetIngressRule {
    /** The NLB's security group, which traffic and health checks come from. */
    sourceSecurityGroupId: string;
    /** Always `tcp`. */
    protocol: string;
    /** The target ports and health-check ports. */
    ports: number[];
}

/** The TXT record that proves ownership of `privateDnsName`. */
export interface PrivateDnsVerificationRecord {
    /** The record's name (in the zone of `privateDnsName`). */
    name: string;
    /** The record type, `TXT`. */
    type: string;
    /** The record's value (`vpce:…`). */
    value: string;
    /** AWS's verification state: `pendingVerification`, `verified` or `failed`. */
    state: string;
}

const allEvents: EndpointConnectionEvent[] = ["Accept", "Connect", "Delete", "Reject"];
const componentType = typeToken("PrivateLinkService");
/** The type 0.1.x registered this component as; aliased so deployed stacks keep their state. */
const legacyComponentType = "firefly:privatelink:PrivateLinkService";

type Tags = pulumi.Input<Record<string, pulumi.Input<string>>>;

/**
 * Customer side of PrivateLink: an internal NLB in front of a private service, published as a
 * VPC endpoint service that only the platform's account may connect to, with acceptance
 * required and only the platform's endpoint IDs accepted.
 */
export class PrivateLinkService extends pulumi.ComponentResource {
    /** The name the platform uses to create its endpoint (`com.amazonaws.vpce.<region>.vpce-svc-…`). */
    public readonly serviceName: pulumi.Output<string>;
    /** The endpoint service ID (`vpce-svc-…`). */
    public readonly serviceId: pulumi.Output<string>;
    /** ARN of the internal network load balancer. */
    public readonly loadBalancerArn: pulumi.Output<string>;
    /** DNS name of the internal network load balancer (reachable inside the VPC only). */
    public readonly loadBalancerDnsName: pulumi.Output<string>;
    /** TXT record to publish for `privateDnsName`; undefined without a private DNS name. */
    public readonly privateDnsVerification: pulumi.Output<PrivateDnsVerificationRecord | undefined>;
    /** The SNS topic receiving connection events and alarms; undefined with notifications disabled. */
    public readonly notificationTopicArn: pulumi.Output<string | undefined>;
    /** The endpoint IDs this service accepted. */
    public readonly acceptedEndpointIds: pulumi.Output<string[]>;
    /** The targets' security group the component admits the NLB in (given or created); undefined for IP targets without one. */
    public readonly targetSecurityGroupId: pulumi.Output<string | undefined>;
    /** The NLB's own security group (created with the NLB: AWS cannot add one later). */
    public readonly loadBalancerSecurityGroupId: pulumi.Output<string>;
    /**
     * The rule the targets' security group needs: TCP on `ports` from `sourceSecurityGroupId` (the
     * NLB's group). Created by the component when `targetSecurityGroupId` is given.
     */
    public readonly targetIngress: pulumi.Output<TargetIngressRule>;

    constructor(name: string, args: PrivateLinkServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        const checked = checkArgs(name, args);
        const tags: Tags = new ArgChecker(componentType, name).tags("tags", args.tags);
        super(componentType, name, {}, withLegacyType(opts, legacyComponentType));
        const parent = { parent: this };

        // Traffic and health checks leave the NLB from this group, so targets can admit exactly it.
        // Its only ingress is the platform's client blocks on the listener ports (below): with
        // inbound rules enforced on PrivateLink traffic, AWS judges that traffic by the client's
        // private address, so acceptance and the group both have to let a caller in.
        const lbSecurityGroup = new aws.ec2.SecurityGroup(
            `${name}-nlb-sg`,
            { vpcId: checked.vpcId, description: `PrivateLink NLB ${name}: PrivateLink traffic in, the ports of its targets out`, tags },
            parent,
        );

        const lb = new aws.lb.LoadBalancer(
            `${name}-nlb`,
            {
                loadBalancerType: "network",
                internal: true,
                subnets: checked.subnetIds,
                // Only at creation: AWS cannot add security groups to an NLB created without any.
                securityGroups: [lbSecurityGroup.id],
                // "on": the group filters PrivateLink traffic as well (by client address), so neither a
                // wrongly accepted endpoint nor a client outside privateLinkClientCidrs gets through.
                enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: "on",
                enableCrossZoneLoadBalancing: args.crossZoneLoadBalancing ?? true,
                enableDeletionProtection: args.deletionProtection ?? false,
                ipAddressType: "ipv4",
                tags,
            },
            // An NLB deployed before it had a security group keeps none rather than being replaced
            // (which would give the endpoint service a new name); see README "Deploying for real".
            { parent: this, ignoreChanges: ["securityGroups", "enforceSecurityGroupInboundRulesOnPrivateLinkTraffic"] },
        );

        const partition = aws.getPartitionOutput({}, parent).partition;
        const allowedPrincipals = pulumi
            .all([partition, pulumi.output(checked.allowedPrincipals)])
            .apply(([part, principals]) => principals.map((p) => principalArn(part, p)));

        const service = new aws.ec2.VpcEndpointService(
            `${name}-service`,
            {
                acceptanceRequired: checked.acceptanceRequired,
                networkLoadBalancerArns: [lb.arn],
                allowedPrincipals,
                privateDnsName: checked.privateDnsName,
                supportedRegions: checked.supportedRegions,
                supportedIpAddressTypes: ["ipv4"],
                tags,
            },
            parent,
        );

        // What depends on the listeners, targets, client blocks and notifications: built now when
        // they are plain, or once they resolve (same names either way).
        const built = checked.structure.map((structure) =>
            this.buildStructure(name, structure, { vpcId: checked.vpcId, targetSecurityGroupId: checked.targetSecurityGroupId, lbSecurityGroup, lb, service, tags }),
        );

        // One accepter per endpoint ID, named after it: created once the list is known (a
        // StackReference output is an Output or a Promise), at once for a plain list.
        const accepted = checked.acceptEndpointIds.map((ids) => {
            for (const endpointId of ids) {
                new aws.ec2.VpcEndpointConnectionAccepter(
                    `${name}-accept-${endpointId}`,
                    { vpcEndpointServiceId: service.id, vpcEndpointId: endpointId },
                    parent,
                );
            }
            return ids;
        });

        this.serviceName = service.serviceName;
        this.serviceId = service.id;
        this.loadBalancerArn = lb.arn;
        this.loadBalancerDnsName = lb.dnsName;
        this.privateDnsVerification = service.privateDnsNameConfigurations.apply((configs) => {
            const first = configs?.[0];
            return first ? { name: first.name, type: first.type, value: first.value, state: first.state } : undefined;
        });
        this.notificationTopicArn = built.output((b) => b.topicArn);
        this.acceptedEndpointIds = accepted.output((ids) => ids);
        this.loadBalancerSecurityGroupId = lbSecurityGroup.id;
        this.targetSecurityGroupId = built.output((b): pulumi.Input<string | undefined> => b.targetGroupId);
        this.targetIngress = built.output((b) =>
            lbSecurityGroup.id.apply((sourceSecurityGroupId): TargetIngressRule => ({ sourceSecurityGroupId, protocol: "tcp", ports: b.targetPorts })),
        );
        this.registerOutputs({
            serviceName: this.serviceName,
            serviceId: this.serviceId,
            loadBalancerArn: this.loadBalancerArn,
            loadBalancerDnsName: this.loadBalancerDnsName,
            privateDnsVerification: this.privateDnsVerification,
            notificationTopicArn: this.notificationTopicArn,
            acceptedEndpointIds: this.acceptedEndpointIds,
            loadBalancerSecurityGroupId: this.loadBalancerSecurityGroupId,
            targetSecurityGroupId: this.targetSecurityGroupId,
            targetIngress: this.targetIngress,
        });
    }

    /** The resources that depend on structural arguments, from their checked values. */
    private buildStructure(name: string, checked: CheckedStructure, base: BaseResources): { topicArn?: pulumi.Output<string>; targetGroupId?: pulumi.Input<string>; targetPorts: number[] } {
        const parent = { parent: this };
        const { lbSecurityGroup, lb, service, tags } = base;
        const targetPorts = [...new Set(checked.listeners.flatMap((l) => [l.targetPort, l.healthCheck.port ?? l.targetPort]))].sort((a, b) => a - b);
        // The targets' group: the one given, or for instance targets one created here to attach to
        // them. IP targets without one (perhaps outside AWS) are reached by address instead.
        const targetGroupId: pulumi.Input<string> | undefined =
            base.targetSecurityGroupId ??
            (checked.targetType === "instance"
                ? new aws.ec2.SecurityGroup(
                      `${name}-targets-sg`,
                      { vpcId: base.vpcId, description: `Targets of PrivateLink NLB ${name}: attach to them; admits traffic and health checks of the NLB`, tags },
                      parent,
                  ).id
                : undefined);
        const destinations: Array<{ key: string; to: { referencedSecurityGroupId: pulumi.Input<string> } | { cidrIpv4: pulumi.Input<string> } }> =
            targetGroupId !== undefined
                ? [{ key: "targets", to: { referencedSecurityGroupId: targetGroupId } }]
                : [...new Set(checked.listeners.flatMap((l) => l.targets))].map((target, index) => ({
                      key: typeof target === "string" ? target : `target-${index}`,
                      to: { cidrIpv4: pulumi.output(target).apply((ip) => `${ip}/32`) },
                  }));
        for (const port of targetPorts) {
            for (const { key, to } of destinations) {
                new aws.vpc.SecurityGroupEgressRule(
                    `${name}-nlb-to-${key}-${port}`,
                    { securityGroupId: lbSecurityGroup.id, ipProtocol: "tcp", fromPort: port, toPort: port, description: `NLB to its targets on ${port}`, ...to, tags },
                    parent,
                );
            }
            if (targetGroupId !== undefined) {
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-targets-from-nlb-${port}`,
                    {
                        securityGroupId: targetGroupId,
                        referencedSecurityGroupId: lbSecurityGroup.id,
                        ipProtocol: "tcp",
                        fromPort: port,
                        toPort: port,
                        description: `PrivateLink NLB ${name}: traffic and health checks on ${port}`,
                        tags,
                    },
                    parent,
                );
            }
        }

        const listenerPorts = checked.listeners.map((l) => l.port);
        for (const cidr of checked.privateLinkClientCidrs) {
            for (const port of listenerPorts) {
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-nlb-from-${cidr.replace(/[./]/g, "-")}-${port}`,
                    { securityGroupId: lbSecurityGroup.id, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: cidr, description: `PrivateLink clients in ${cidr} on ${port}`, tags },
                    parent,
                );
            }
        }
        if (checked.privateLinkClientCidrs.length === 0) {
            pulumi.log.warn(
                `${componentType} "${name}": privateLinkClientCidrs is empty, so the NLB's security group admits no PrivateLink traffic yet; give the consumer VPC's CIDR blocks`,
                this,
            );
        }

        // IP targets outside the VPC's CIDR blocks (a peered VPC, on premises) must be registered in
        // Availability Zone "all", and targets inside it must not be.
        const vpcCidrs =
            checked.targetType === "ip"
                ? aws.ec2.getVpcOutput({ id: base.vpcId }, parent).cidrBlockAssociations.apply((blocks) => blocks.map((b) => b.cidrBlock))
                : undefined;
        const availabilityZoneOf = (target: pulumi.Input<string>) =>
            vpcCidrs && pulumi.all([vpcCidrs, target]).apply(([cidrs, ip]) => (cidrs.some((cidr) => ipv4InCidr(ip, cidr)) ? undefined : "all"));

        const targetGroups = checked.listeners.map((listener) => {
            const tg = new aws.lb.TargetGroup(
                `${name}-tg-${listener.port}`,
                {
                    vpcId: base.vpcId,
                    port: listener.targetPort,
                    protocol: listener.targetProtocol,
                    targetType: checked.targetType,
                    healthCheck: {
                        enabled: true,
                        protocol: listener.healthCheck.protocol,
                        port: listener.healthCheck.port === undefined ? "traffic-port" : String(listener.healthCheck.port),
                        path: listener.healthCheck.protocol === "TCP" ? undefined : listener.healthCheck.path,
                        interval: listener.healthCheck.intervalSeconds,
                        healthyThreshold: listener.healthCheck.healthyThreshold,
                        unhealthyThreshold: listener.healthCheck.unhealthyThreshold,
                    },
                    tags,
                },
                parent,
            );
            listener.targets.forEach((target, index) => {
                new aws.lb.TargetGroupAttachment(
                    `${name}-tg-${listener.port}-target-${index}`,
                    { targetGroupArn: tg.arn, targetId: target, port: listener.targetPort, availabilityZone: availabilityZoneOf(target) },
                    parent,
                );
            });
            new aws.lb.Listener(
                `${name}-listener-${listener.port}`,
                {
                    loadBalancerArn: lb.arn,
                    port: listener.port,
                    protocol: listener.protocol,
                    certificateArn: listener.protocol === "TLS" ? listener.certificateArn : undefined,
                    sslPolicy: listener.protocol === "TLS" ? listener.sslPolicy : undefined,
                    defaultActions: [{ type: "forward", targetGroupArn: tg.arn }],
                    tags,
                },
                parent,
            );
            return { port: listener.port, tg };
        });

        if (checked.verifyPrivateDns) {
            new aws.vpc.EndpointServicePrivateDnsVerification(
                `${name}-dns-verification`,
                { serviceId: service.id, waitForVerification: true },
                parent,
            );
        }

        let topicArn: pulumi.Output<string> | undefined;
        if (checked.notifications !== undefined) {
            const { topicArn: given, events } = checked.notifications;
            const topic = given ? { arn: pulumi.output(given), policy: undefined } : this.createTopic(name, tags);
            topicArn = topic.arn;
            new aws.ec2.VpcEndpointConnectionNotification(
                `${name}-connection-events`,
                {
                    vpcEndpointServiceId: service.id,
                    connectionNotificationArn: topicArn,
                    connectionEvents: events,
                },
                // AWS sends a test message on creation, refused until the policy lets the service publish.
                { parent: this, dependsOn: topic.policy ? [topic.policy] : [] },
            );
        }

        for (const { port, tg } of targetGroups) {
            new aws.cloudwatch.MetricAlarm(
                `${name}-unhealthy-${port}`,
                {
                    alarmDescription: pulumi.interpolate`PrivateLink service ${name}: targets behind port ${port} are failing NLB health checks`,
                    namespace: "AWS/NetworkELB",
                    metricName: "UnHealthyHostCount",
                    dimensions: { LoadBalancer: lb.arnSuffix, TargetGroup: tg.arnSuffix },
                    statistic: "Maximum",
                    period: 60,
                    evaluationPeriods: 3,
                    datapointsToAlarm: 2,
                    comparisonOperator: "GreaterThanThreshold",
                    threshold: 0,
                    treatMissingData: "notBreaching",
                    alarmActions: topicArn ? [topicArn] : [],
                    okActions: topicArn ? [topicArn] : [],
                    tags,
                },
                parent,
            );
        }
        return { topicArn, targetGroupId, targetPorts };
    }

    private createTopic(name: string, tags: Tags): { arn: pulumi.Output<string>; policy: aws.sns.TopicPolicy } {
        const parent = { parent: this };
        const topic = new aws.sns.Topic(`${name}-events`, { tags }, parent);
        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        // The endpoint service (vpce.amazonaws.com) and CloudWatch alarms publish as services;
        // SourceAccount stops another account's resources from using this topic.
        const policy = new aws.sns.TopicPolicy(
            `${name}-events-policy`,
            {
                arn: topic.arn,
                policy: pulumi.all([topic.arn, account]).apply(([arn, accountId]) =>
                    JSON.stringify(
                        policyDocument({
                            Sid: "EndpointServiceAndAlarmsPublish",
                            Effect: "Allow",
                            Principal: { Service: ["vpce.amazonaws.com", "cloudwatch.amazonaws.com"] },
                            Action: "sns:Publish",
                            Resource: arn,
                            Condition: { StringEquals: { "aws:SourceAccount": accountId } },
                        }),
                    ),
                ),
            },
            parent,
        );
        return { arn: topic.arn, policy };
    }
}

/** What the structural resources attach to (created at construction whatever the arguments). */
interface BaseResources {
    vpcId: pulumi.Input<string>;
    targetSecurityGroupId?: pulumi.Input<string>;
    lbSecurityGroup: aws.ec2.SecurityGroup;
    lb: aws.lb.LoadBalancer;
    service: aws.ec2.VpcEndpointService;
    tags: Tags;
}

interface CheckedListener {
    port: number;
    protocol: ListenerProtocol;
    targetPort: number;
    targetProtocol: ListenerProtocol;
    certificateArn?: pulumi.Input<string>;
    sslPolicy?: string;
    healthCheck: { protocol: HealthCheckProtocol; port?: number; path: string; intervalSeconds: number; healthyThreshold: number; unhealthyThreshold: number };
    targets: pulumi.Input<string>[];
}

/** The checked structural arguments: what decides which resources exist and their names. */
interface CheckedStructure {
    listeners: CheckedListener[];
    targetType: PrivateLinkTargetType;
    privateLinkClientCidrs: string[];
    /** Undefined when notifications are disabled. */
    notifications?: { topicArn?: pulumi.Input<string>; events: pulumi.Input<pulumi.Input<string>[]> };
    verifyPrivateDns: boolean;
}

interface CheckedArgs {
    vpcId: pulumi.Input<string>;
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    allowedPrincipals: pulumi.Input<pulumi.Input<string>[]>;
    acceptanceRequired: pulumi.Input<boolean>;
    privateDnsName?: pulumi.Input<string>;
    supportedRegions?: pulumi.Input<pulumi.Input<string>[]>;
    targetSecurityGroupId?: pulumi.Input<string>;
    structure: Known<CheckedStructure>;
    acceptEndpointIds: Known<string[]>;
}

/** A listener list is ready when every listener is plain but for its certificate and its targets' elements. */
function listenersReady(value: PrivateLinkServiceArgs["listeners"]): boolean {
    return (
        Array.isArray(value) &&
        value.every((l) => isStructurePlain(l, { passThrough: ["certificateArn", "targets"] }) && (l === null || typeof l !== "object" || readyWhen.plainArray((l as PrivateLinkListener).targets)))
    );
}

/** Notifications are ready when whether they are on is known (topic and events are passed on as they are). */
function notificationsReady(value: PrivateLinkServiceArgs["notifications"]): boolean {
    return isPlain(value) && (value === undefined || value === null || typeof value !== "object" || isPlain(value.enabled));
}

/** Validates everything that can be validated before any resource exists. */
function checkArgs(name: string, args: PrivateLinkServiceArgs): CheckedArgs {
    const c: ArgChecker = new ArgChecker(componentType, name);
    if (!args) c.fail("args", "are required");
    // The NLB is named after the component (`<name>-nlb`, its target groups `<name>-tg-<port>`).
    c.autoNameFits(`${name}-nlb`, awsNameLimits.loadBalancer);
    const vpcId = c.vpcId("vpcId", args.vpcId);
    const subnetIds = c.subnetIdList("subnetIds", args.subnetIds, "give the private subnets (one per AZ) for the internal NLB");

    const allowedPrincipals = c.list<string>("allowedPrincipals", args.allowedPrincipals, {
        required: true,
        fix: 'give the platform\'s AWS account ID, e.g. ["123456789012"]',
        each: (value, field) => c.principal(field, value),
    });

    const acceptanceRequired = c.input(args.acceptanceRequired ?? true, (value) => {
        if (typeof value !== "boolean") c.fail("acceptanceRequired", "must be true or false");
    });

    const privateDnsName =
        args.privateDnsName === undefined
            ? undefined
            : c.input(args.privateDnsName, (value) => {
                  if (typeof value !== "string" || !patterns.dnsName.test(value)) {
                      c.fail("privateDnsName", `must be a lower-case DNS name like api.customer.example.com (got ${JSON.stringify(value)})`);
                  }
              });
    const supportedRegions =
        args.supportedRegions === undefined
            ? undefined
            : c.list<string>("supportedRegions", args.supportedRegions, {
                  fix: 'list AWS regions, e.g. ["eu-west-1"]',
                  each: (value, field) => {
                      if (!isAwsRegion(value)) c.fail(field, `must be an AWS region like eu-west-1 (got ${JSON.stringify(value)}); AWS has ${awsRegions.join(", ")}`);
                  },
              });

    const targetSecurityGroupId =
        args.targetSecurityGroupId === undefined
            ? undefined
            : c.matches("targetSecurityGroupId", args.targetSecurityGroupId, patterns.securityGroupId, "a security group ID like sg-0123456789abcdef0 (the targets' group)");

    if ((args.notifications as unknown) === false) c.fail("notifications", notificationsFalse);

    const structure = Known.fromArgs(
        {
            listeners: args.listeners,
            targets: args.targets,
            targetType: args.targetType,
            privateLinkClientCidrs: args.privateLinkClientCidrs,
            notifications: args.notifications,
            verifyPrivateDns: args.verifyPrivateDns,
        },
        {
            listeners: listenersReady,
            targets: readyWhen.plainArray,
            targetType: readyWhen.plain,
            privateLinkClientCidrs: readyWhen.structurePlain(),
            notifications: notificationsReady,
            verifyPrivateDns: readyWhen.plain,
        },
        (resolved) => checkStructure(c, resolved, args.privateDnsName !== undefined),
    );

    const acceptEndpointIds = Known.fromArgs({ ids: args.acceptEndpointIds }, { ids: readyWhen.structurePlain() }, ({ ids }) => checkEndpointIds(c, ids));

    return { vpcId, subnetIds, allowedPrincipals, acceptanceRequired, privateDnsName, supportedRegions, targetSecurityGroupId, structure, acceptEndpointIds };
}

const notificationsFalse = "no longer takes false; write notifications: { enabled: false } for no connection notifications and no alarm actions";

/** The structural arguments, plain (as given, or resolved): the same checks either way. */
function checkStructure(
    c: ArgChecker,
    args: {
        listeners: Ready<PrivateLinkServiceArgs["listeners"]>;
        targets: Ready<PrivateLinkServiceArgs["targets"]>;
        targetType: Ready<PrivateLinkServiceArgs["targetType"]>;
        privateLinkClientCidrs: Ready<PrivateLinkServiceArgs["privateLinkClientCidrs"]>;
        notifications: Ready<PrivateLinkServiceArgs["notifications"]>;
        verifyPrivateDns: Ready<PrivateLinkServiceArgs["verifyPrivateDns"]>;
    },
    privateDnsNameGiven: boolean,
): CheckedStructure {
    const targetType = c.oneOf("targetType", args.targetType ?? "instance", Object.values(PrivateLinkTargetType));
    const checkTargets = (field: string, targets: unknown): pulumi.Input<string>[] => {
        const fix = `give the ${targetType === "ip" ? "private IPv4 addresses" : "instance IDs"} the NLB forwards to`;
        if (targets !== undefined && !Array.isArray(targets)) c.fail(field, `must be a list (got ${JSON.stringify(targets)}); ${fix}`);
        const list = c.nonEmptyArray(field, targets as pulumi.Input<string>[] | undefined, fix);
        c.uniqueValues(field, list);
        return list.map((t, i) =>
            targetType === "ip"
                ? c.input(t, (ip) => {
                      if (typeof ip !== "string" || !isPrivateIpv4(ip)) {
                          c.fail(`${field}[${i}]`, `must be a private IPv4 address (10/8, 172.16/12, 192.168/16 or 100.64/10) for targetType "ip" (got ${JSON.stringify(ip)})`);
                      }
                  })
                : c.matches(`${field}[${i}]`, t, patterns.instanceId, 'an instance ID like i-0123456789abcdef0 (set targetType: "ip" for IP targets)'),
        );
    };
    const defaultTargets = checkTargets("targets", args.targets);

    const given = c.nonEmptyArray("listeners", args.listeners as PrivateLinkListener[] | undefined, "give at least one port to offer, e.g. [{ port: 443 }]");
    const listeners = given.map((l, i): CheckedListener => {
        const f = `listeners[${i}]`;
        if (l === null || typeof l !== "object") c.fail(f, `must be a listener like { port: 443 } (got ${JSON.stringify(l)})`);
        const port = c.port(`${f}.port`, l.port);
        c.autoNameFits(`${c.name}-tg-${port}`, awsNameLimits.targetGroup);
        const protocol = c.oneOf(`${f}.protocol`, l.protocol ?? "TCP", Object.values(ListenerProtocol));
        const targetPort = l.targetPort === undefined ? port : c.port(`${f}.targetPort`, l.targetPort);
        const targetProtocol = c.oneOf(`${f}.targetProtocol`, l.targetProtocol ?? protocol, Object.values(ListenerProtocol));
        if (protocol === "TCP" && targetProtocol === "TLS") {
            c.fail(`${f}.targetProtocol`, 'can be "TLS" only behind a TLS listener (an NLB TCP listener forwards to TCP target groups); set protocol: "TLS" or targetProtocol: "TCP"');
        }
        let certificateArn: pulumi.Input<string> | undefined;
        let sslPolicy: string | undefined;
        if (protocol === "TLS") {
            if (l.certificateArn === undefined) c.fail(`${f}.certificateArn`, "is required for a TLS listener; give an ACM certificate ARN, or use protocol TCP to pass TLS through to the targets");
            certificateArn = c.matches(`${f}.certificateArn`, l.certificateArn, patterns.acmCertificateArn, "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)");
            const policy: unknown = l.sslPolicy ?? defaultListenerSslPolicy;
            if (typeof policy !== "string" || !tls12ListenerPolicyPattern.test(policy)) {
                c.fail(`${f}.sslPolicy`, `must allow only TLS 1.2 or newer (ELBSecurityPolicy-TLS13-1-2-*, -TLS-1-2-*, -FS-1-2-*; got ${JSON.stringify(policy)}); omit it for ${defaultListenerSslPolicy}`);
            }
            sslPolicy = policy;
        } else {
            if (l.certificateArn !== undefined) c.fail(`${f}.certificateArn`, 'is only used by TLS listeners; set protocol: "TLS" or remove it');
            if (l.sslPolicy !== undefined) c.fail(`${f}.sslPolicy`, 'is only used by TLS listeners; set protocol: "TLS" or remove it');
        }
        const hc = (l.healthCheck ?? {}) as Ready<PrivateLinkHealthCheck>;
        const hcProtocol = c.oneOf(`${f}.healthCheck.protocol`, hc.protocol ?? "TCP", Object.values(HealthCheckProtocol));
        if (hcProtocol === "TCP" && hc.path !== undefined) c.fail(`${f}.healthCheck.path`, "is only used by HTTP/HTTPS health checks; set protocol or remove path");
        const path: unknown = hc.path ?? "/";
        if (typeof path !== "string" || !path.startsWith("/")) c.fail(`${f}.healthCheck.path`, `must start with "/" (got ${JSON.stringify(path)})`);
        return {
            port,
            protocol,
            targetPort,
            targetProtocol,
            certificateArn,
            sslPolicy,
            healthCheck: {
                protocol: hcProtocol,
                port: hc.port === undefined ? undefined : c.port(`${f}.healthCheck.port`, hc.port),
                path,
                intervalSeconds: c.integerInRange(`${f}.healthCheck.intervalSeconds`, hc.intervalSeconds ?? 10, 5, 300),
                healthyThreshold: c.integerInRange(`${f}.healthCheck.healthyThreshold`, hc.healthyThreshold ?? 3, 2, 10),
                unhealthyThreshold: c.integerInRange(`${f}.healthCheck.unhealthyThreshold`, hc.unhealthyThreshold ?? 3, 2, 10),
            },
            targets: l.targets === undefined ? defaultTargets : checkTargets(`${f}.targets`, l.targets),
        };
    });
    c.uniquePorts("listeners", listeners.map((l) => l.port));

    const verifyPrivateDns = args.verifyPrivateDns ?? false;
    if (typeof verifyPrivateDns !== "boolean") c.fail("verifyPrivateDns", "must be true or false");
    if (verifyPrivateDns && !privateDnsNameGiven) c.fail("verifyPrivateDns", "needs privateDnsName; set the name to verify or remove verifyPrivateDns");

    let notifications: CheckedStructure["notifications"];
    const n = args.notifications;
    if ((n as unknown) === false) c.fail("notifications", notificationsFalse);
    if (n !== undefined && (n === null || typeof n !== "object")) c.fail("notifications", `must be an object like { topicArn, events } or { enabled: false } (got ${JSON.stringify(n)})`);
    const enabled: unknown = n?.enabled ?? true;
    if (typeof enabled !== "boolean") c.fail("notifications.enabled", `must be true or false (got ${JSON.stringify(enabled)})`);
    if (enabled) {
        const topicArn = n?.topicArn === undefined ? undefined : c.matches("notifications.topicArn", n.topicArn, patterns.snsTopicArn, "an SNS topic ARN");
        const events = c.list<string>("notifications.events", n?.events ?? allEvents, {
            required: true,
            fix: `choose from ${allEvents.join(", ")}, or set notifications: { enabled: false }`,
            each: (value, field) => c.oneOf(field, value, allEvents),
        });
        notifications = { topicArn, events };
    } else if (n?.topicArn !== undefined || n?.events !== undefined) {
        c.fail("notifications.enabled", "is false, so topicArn and events would be ignored; remove them or turn notifications on");
    }

    const cidrs = args.privateLinkClientCidrs ?? [];
    if (!Array.isArray(cidrs)) c.fail("privateLinkClientCidrs", "must be a list of IPv4 CIDR blocks like 10.0.0.0/16");
    const privateLinkClientCidrs = cidrs.map((cidr, i) => {
        if (typeof cidr !== "string" || !isIpv4Cidr(cidr)) {
            c.fail(`privateLinkClientCidrs[${i}]`, `must be an IPv4 CIDR block like 10.0.0.0/16, the consumer VPC's (got ${JSON.stringify(cidr)})`);
        } else if (cidr.endsWith("/0")) {
            c.fail(`privateLinkClientCidrs[${i}]`, "must not be 0.0.0.0/0: give the consumer VPC's CIDR blocks, so only its clients get in");
        }
        return cidr;
    });
    c.uniqueValues("privateLinkClientCidrs", privateLinkClientCidrs);

    return { listeners, targetType, privateLinkClientCidrs, notifications, verifyPrivateDns };
}

/** Endpoint IDs to accept, plain (as given, or resolved). */
function checkEndpointIds(c: ArgChecker, ids: unknown): string[] {
    if (ids === undefined) return [];
    if (!Array.isArray(ids)) c.fail("acceptEndpointIds", `must be a list of endpoint IDs (got ${JSON.stringify(ids)})`);
    ids.forEach((id: unknown, i) => {
        if (typeof id !== "string" || !patterns.vpcEndpointId.test(id)) {
            c.fail(`acceptEndpointIds[${i}]`, `must be a VPC endpoint ID like vpce-0123456789abcdef0 (got ${JSON.stringify(id)})`);
        }
    });
    c.uniqueValues("acceptEndpointIds", ids as string[]);
    return [...(ids as string[])];
}

function isPrivateIpv4(ip: string): boolean {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
    if (!m) return false;
    const [a, b, c, d] = m.slice(1).map(Number) as [number, number, number, number];
    if ([a, b, c, d].some((o) => o > 255)) return false;
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
}
