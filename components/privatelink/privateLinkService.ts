import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "../shared/iamPolicy";
import { ArgChecker, defaultListenerSslPolicy, ipv4InCidr, isIpv4Cidr, patterns, principalArn, tls12ListenerPolicyPattern } from "../shared/validation";
import { componentType as typeToken, withLegacyType } from "../shared/typeTokens";

/** A health check the NLB runs against each target of one listener's target group. */
export interface PrivateLinkHealthCheck {
    /** Default `TCP` (a connect). Use `HTTP`/`HTTPS` with `path` to check the application itself. */
    protocol?: "TCP" | "HTTP" | "HTTPS";
    /** Port probed on the target. Default: the target port. */
    port?: number;
    /** Request path for HTTP/HTTPS checks. Default `/`. */
    path?: string;
    /** Seconds between checks, 5–300 (what an NLB accepts). Default 10, so a dead target leaves fast. */
    intervalSeconds?: number;
    /** Consecutive successes before a target is healthy, 2–10. Default 3. */
    healthyThreshold?: number;
    /** Consecutive failures before a target is unhealthy, 2–10. Default 3. */
    unhealthyThreshold?: number;
}

/** One port the endpoint service offers: an NLB listener with its own target group. */
export interface PrivateLinkListener {
    /** Port the NLB listens on; the platform connects to this port through its endpoint. */
    port: number;
    /**
     * `TCP` (default): bytes pass through untouched, so TLS ends at the target and the platform
     * sees the target's own certificate. `TLS`: the NLB terminates TLS with `certificateArn`.
     */
    protocol?: "TCP" | "TLS";
    /** Port on the targets. Default: `port`. */
    targetPort?: number;
    /**
     * Protocol from the NLB to the targets. Default: `TCP` for TCP listeners, `TLS` for TLS
     * listeners (re-encrypted, so traffic is never plaintext inside the VPC either).
     */
    targetProtocol?: "TCP" | "TLS";
    /** ACM certificate for a TLS listener (required for TLS, refused for TCP). */
    certificateArn?: pulumi.Input<string>;
    /**
     * ELB security policy for a TLS listener. Default `ELBSecurityPolicy-TLS13-1-2-2021-06`.
     * Only TLS 1.2+ policies are accepted; the provider's own default (2016-08) allows TLS 1.0.
     */
    sslPolicy?: string;
    healthCheck?: PrivateLinkHealthCheck;
    /** Targets for this listener only. Default: the component's `targets`. */
    targets?: pulumi.Input<string>[];
}

/** Events that AWS reports on an endpoint service's connections. */
export type EndpointConnectionEvent = "Accept" | "Connect" | "Delete" | "Reject";

export interface PrivateLinkServiceArgs {
    /** VPC of the targets (target groups live in it). */
    vpcId: pulumi.Input<string>;
    /**
     * Private subnets for the internal NLB, one per Availability Zone the service is offered in.
     * The platform can only create endpoints in AZs listed here.
     */
    subnetIds: pulumi.Input<string>[];
    /** The ports offered, one listener and target group each. Ports must be distinct. */
    listeners: PrivateLinkListener[];
    /** `instance` (default): targets are EC2 instance IDs. `ip`: targets are private IPv4 addresses. */
    targetType?: "instance" | "ip";
    /** The private service behind the NLB: instance IDs or IPs, per `targetType`. */
    targets: pulumi.Input<string>[];
    /**
     * Who may create endpoints to this service: the platform's AWS account IDs (12 digits) or
     * IAM principal ARNs. `*` is refused: it would let any AWS account request a connection.
     */
    allowedPrincipals: pulumi.Input<string>[];
    /**
     * Whether each endpoint connection must be accepted before traffic flows. Default `true`;
     * with `acceptEndpointIds` only the listed endpoints are ever accepted.
     */
    acceptanceRequired?: boolean;
    /**
     * Endpoint IDs (`vpce-…`) to accept: exactly these, and no others. Pass a plain list, or the
     * Promise from `stackReference.getOutputValue("endpointIds")`: the number of accepters must
     * be known when the program runs so that `pulumi preview` shows each one (StackReference
     * values are). An `Output` is refused for that reason.
     */
    acceptEndpointIds?: string[] | Promise<string[]>;
    /**
     * Private DNS name for the service (e.g. `api.customer.example.com`), so consumers can use
     * your name. You must prove domain ownership: publish `privateDnsVerification` as a TXT record.
     */
    privateDnsName?: string;
    /**
     * Ask AWS to verify the private DNS name now (`EndpointServicePrivateDnsVerification`). Turn
     * on once the TXT record is published. Default `false`. Requires `privateDnsName`.
     */
    verifyPrivateDns?: boolean;
    /** Other regions that may connect (cross-region PrivateLink), e.g. `["eu-west-1"]`. */
    supportedRegions?: string[];
    /**
     * Connection notifications and alarm actions. Default: a new SNS topic receiving every
     * connection event. Give `topicArn` to use your own topic (its policy must let
     * `vpce.amazonaws.com` and CloudWatch publish), or `false` for none.
     */
    notifications?: false | { topicArn?: pulumi.Input<string>; events?: EndpointConnectionEvent[] };
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
    privateLinkClientCidrs?: string[];
    /** Spread each AZ's traffic over targets in every AZ. Default `true`. */
    crossZoneLoadBalancing?: boolean;
    /** Protect the NLB from deletion. Default `false` (so `pulumi destroy` works). */
    deletionProtection?: boolean;
    /** Tags for every resource the component creates. */
    tags?: Record<string, pulumi.Input<string>>;
}

/** A rule for the targets' security group: TCP on `ports` from `sourceSecurityGroupId`. */
export interface TargetIngressRule {
    sourceSecurityGroupId: string;
    protocol: "tcp";
    ports: number[];
}

/** The TXT record that proves ownership of `privateDnsName`. */
export interface PrivateDnsVerificationRecord {
    name: string;
    type: string;
    value: string;
    state: string;
}

const allEvents: EndpointConnectionEvent[] = ["Accept", "Connect", "Delete", "Reject"];
const componentType = typeToken("PrivateLinkService");
/** The type 0.1.x registered this component as; aliased so deployed stacks keep their state. */
const legacyComponentType = "firefly:privatelink:PrivateLinkService";

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
    public readonly loadBalancerArn: pulumi.Output<string>;
    public readonly loadBalancerDnsName: pulumi.Output<string>;
    /** TXT record to publish for `privateDnsName`; undefined without a private DNS name. */
    public readonly privateDnsVerification: pulumi.Output<PrivateDnsVerificationRecord | undefined>;
    /** The SNS topic receiving connection events and alarms; undefined with `notifications: false`. */
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
        super(componentType, name, {}, withLegacyType(opts, legacyComponentType));
        const parent = { parent: this };
        const tags = args.tags ?? {};

        // Traffic and health checks leave the NLB from this group, so targets can admit exactly it.
        // Its only ingress is the platform's client blocks on the listener ports (below): with
        // inbound rules enforced on PrivateLink traffic, AWS judges that traffic by the client's
        // private address, so acceptance and the group both have to let a caller in.
        const lbSecurityGroup = new aws.ec2.SecurityGroup(
            `${name}-nlb-sg`,
            { vpcId: checked.vpcId, description: `PrivateLink NLB ${name}: PrivateLink traffic in, its targets' ports out`, tags },
            parent,
        );
        const targetPorts = [...new Set(checked.listeners.flatMap((l) => [l.targetPort, l.healthCheck.port ?? l.targetPort]))].sort((a, b) => a - b);
        // The targets' group: the one given, or for instance targets one created here to attach to
        // them. IP targets without one (perhaps outside AWS) are reached by address instead.
        const targetGroupId: pulumi.Input<string> | undefined =
            checked.targetSecurityGroupId ??
            (checked.targetType === "instance"
                ? new aws.ec2.SecurityGroup(
                      `${name}-targets-sg`,
                      { vpcId: checked.vpcId, description: `Targets of PrivateLink NLB ${name}: attach to them; admits the NLB's traffic and health checks`, tags },
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

        // IP targets outside the VPC's CIDR blocks (a peered VPC, on premises) must be registered in
        // Availability Zone "all", and targets inside it must not be.
        const vpcCidrs =
            checked.targetType === "ip"
                ? aws.ec2.getVpcOutput({ id: checked.vpcId }, parent).cidrBlockAssociations.apply((blocks) => blocks.map((b) => b.cidrBlock))
                : undefined;
        const availabilityZoneOf = (target: pulumi.Input<string>) =>
            vpcCidrs && pulumi.all([vpcCidrs, target]).apply(([cidrs, ip]) => (cidrs.some((cidr) => ipv4InCidr(ip, cidr)) ? undefined : "all"));

        const targetGroups = checked.listeners.map((listener) => {
            const tg = new aws.lb.TargetGroup(
                `${name}-tg-${listener.port}`,
                {
                    vpcId: checked.vpcId,
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

        const partition = aws.getPartitionOutput({}, parent).partition;
        const allowedPrincipals = pulumi
            .all([partition, pulumi.all(checked.allowedPrincipals)])
            .apply(([part, principals]) => principals.map((p) => principalArn(part, p)));

        const service = new aws.ec2.VpcEndpointService(
            `${name}-service`,
            {
                acceptanceRequired: checked.acceptanceRequired,
                networkLoadBalancerArns: [lb.arn],
                allowedPrincipals,
                privateDnsName: args.privateDnsName,
                supportedRegions: args.supportedRegions,
                supportedIpAddressTypes: ["ipv4"],
                tags,
            },
            parent,
        );

        if (args.verifyPrivateDns) {
            new aws.vpc.EndpointServicePrivateDnsVerification(
                `${name}-dns-verification`,
                { serviceId: service.id, waitForVerification: true },
                parent,
            );
        }

        let topicArn: pulumi.Output<string> | undefined;
        if (args.notifications !== false) {
            const topic = args.notifications?.topicArn ? { arn: pulumi.output(args.notifications.topicArn), policy: undefined } : this.createTopic(name, tags);
            topicArn = topic.arn;
            new aws.ec2.VpcEndpointConnectionNotification(
                `${name}-connection-events`,
                {
                    vpcEndpointServiceId: service.id,
                    connectionNotificationArn: topicArn,
                    connectionEvents: args.notifications?.events ?? allEvents,
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

        const accepted = checked.acceptEndpointIds.then((ids) => {
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
        this.notificationTopicArn = topicArn ? topicArn : pulumi.output(undefined);
        this.acceptedEndpointIds = pulumi.output(accepted);
        this.loadBalancerSecurityGroupId = lbSecurityGroup.id;
        this.targetSecurityGroupId = targetGroupId === undefined ? pulumi.output(undefined) : pulumi.output(targetGroupId).apply((id): string | undefined => id);
        this.targetIngress = lbSecurityGroup.id.apply((sourceSecurityGroupId): TargetIngressRule => ({ sourceSecurityGroupId, protocol: "tcp", ports: targetPorts }));
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

    private createTopic(name: string, tags: Record<string, pulumi.Input<string>>): { arn: pulumi.Output<string>; policy: aws.sns.TopicPolicy } {
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

interface CheckedListener {
    port: number;
    protocol: "TCP" | "TLS";
    targetPort: number;
    targetProtocol: "TCP" | "TLS";
    certificateArn?: pulumi.Input<string>;
    sslPolicy?: string;
    healthCheck: Required<Omit<PrivateLinkHealthCheck, "port" | "path">> & { port?: number; path: string };
    targets: pulumi.Input<string>[];
}

interface CheckedArgs {
    vpcId: pulumi.Input<string>;
    subnetIds: pulumi.Input<string>[];
    listeners: CheckedListener[];
    targetType: "instance" | "ip";
    allowedPrincipals: pulumi.Input<string>[];
    acceptanceRequired: boolean;
    acceptEndpointIds: Promise<string[]>;
    targetSecurityGroupId?: pulumi.Input<string>;
    privateLinkClientCidrs: string[];
}

/** Validates everything that can be validated before any resource exists. */
function checkArgs(name: string, args: PrivateLinkServiceArgs): CheckedArgs {
    const c: ArgChecker = new ArgChecker(componentType, name);
    if (!args) c.fail("args", "are required");
    const vpcId = c.vpcId("vpcId", args.vpcId);
    const subnetIds = c.subnetIds("subnetIds", args.subnetIds, "give the private subnets (one per AZ) for the internal NLB");

    const targetType = c.oneOf("targetType", args.targetType ?? "instance", ["instance", "ip"] as const);
    const checkTargets = (field: string, targets: pulumi.Input<string>[] | undefined) => {
        c.nonEmptyArray(field, targets, `give the ${targetType === "ip" ? "private IPv4 addresses" : "instance IDs"} the NLB forwards to`);
        return (targets ?? []).map((t, i) =>
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

    c.nonEmptyArray("listeners", args.listeners, "give at least one port to offer, e.g. [{ port: 443 }]");
    const listeners = args.listeners.map((l, i): CheckedListener => {
        const f = `listeners[${i}]`;
        const port = c.port(`${f}.port`, l.port);
        const protocol = c.oneOf(`${f}.protocol`, l.protocol ?? "TCP", ["TCP", "TLS"] as const);
        const targetPort = l.targetPort === undefined ? port : c.port(`${f}.targetPort`, l.targetPort);
        const targetProtocol = c.oneOf(`${f}.targetProtocol`, l.targetProtocol ?? protocol, ["TCP", "TLS"] as const);
        if (protocol === "TCP" && targetProtocol === "TLS") {
            c.fail(`${f}.targetProtocol`, 'can be "TLS" only behind a TLS listener (an NLB TCP listener forwards to TCP target groups); set protocol: "TLS" or targetProtocol: "TCP"');
        }
        let certificateArn: pulumi.Input<string> | undefined;
        let sslPolicy: string | undefined;
        if (protocol === "TLS") {
            if (l.certificateArn === undefined) c.fail(`${f}.certificateArn`, "is required for a TLS listener; give an ACM certificate ARN, or use protocol TCP to pass TLS through to the targets");
            certificateArn = c.matches(`${f}.certificateArn`, l.certificateArn, patterns.acmCertificateArn, "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)");
            sslPolicy = l.sslPolicy ?? defaultListenerSslPolicy;
            if (!tls12ListenerPolicyPattern.test(sslPolicy)) {
                c.fail(`${f}.sslPolicy`, `must allow only TLS 1.2 or newer (ELBSecurityPolicy-TLS13-1-2-*, -TLS-1-2-*, -FS-1-2-*; got "${sslPolicy}"); omit it for ${defaultListenerSslPolicy}`);
            }
        } else {
            if (l.certificateArn !== undefined) c.fail(`${f}.certificateArn`, 'is only used by TLS listeners; set protocol: "TLS" or remove it');
            if (l.sslPolicy !== undefined) c.fail(`${f}.sslPolicy`, 'is only used by TLS listeners; set protocol: "TLS" or remove it');
        }
        const hc = l.healthCheck ?? {};
        const hcProtocol = c.oneOf(`${f}.healthCheck.protocol`, hc.protocol ?? "TCP", ["TCP", "HTTP", "HTTPS"] as const);
        if (hcProtocol === "TCP" && hc.path !== undefined) c.fail(`${f}.healthCheck.path`, "is only used by HTTP/HTTPS health checks; set protocol or remove path");
        const path = hc.path ?? "/";
        if (!path.startsWith("/")) c.fail(`${f}.healthCheck.path`, `must start with "/" (got "${path}")`);
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

    c.nonEmptyArray("allowedPrincipals", args.allowedPrincipals, "give the platform's AWS account ID, e.g. [\"123456789012\"]");
    const allowedPrincipals = args.allowedPrincipals.map((p, i) => c.input(p, (value) => c.principal(`allowedPrincipals[${i}]`, value)));

    const acceptanceRequired = args.acceptanceRequired ?? true;
    if (typeof acceptanceRequired !== "boolean") c.fail("acceptanceRequired", "must be true or false");

    if (args.verifyPrivateDns && args.privateDnsName === undefined) {
        c.fail("verifyPrivateDns", "needs privateDnsName; set the name to verify or remove verifyPrivateDns");
    }
    if (args.privateDnsName !== undefined && !patterns.dnsName.test(args.privateDnsName)) {
        c.fail("privateDnsName", `must be a lower-case DNS name like api.customer.example.com (got "${args.privateDnsName}")`);
    }
    (args.supportedRegions ?? []).forEach((r, i) => {
        if (!patterns.region.test(r)) c.fail(`supportedRegions[${i}]`, `must be an AWS region like eu-west-1 (got "${r}")`);
    });
    if (args.notifications) {
        if (args.notifications.topicArn !== undefined) {
            c.matches("notifications.topicArn", args.notifications.topicArn, patterns.snsTopicArn, "an SNS topic ARN");
        }
        const events = args.notifications.events ?? allEvents;
        c.nonEmptyArray("notifications.events", events, `choose from ${allEvents.join(", ")}, or set notifications: false`);
        events.forEach((e, i) => c.oneOf(`notifications.events[${i}]`, e, allEvents));
    }

    if (pulumi.Output.isInstance(args.acceptEndpointIds)) {
        c.fail(
            "acceptEndpointIds",
            'is an Output, whose length is unknown while the program runs, so the accepters could not be previewed; pass a plain list or the Promise from stackReference.getOutputValue("endpointIds")',
        );
    }
    const acceptEndpointIds = Promise.resolve(args.acceptEndpointIds ?? []).then((ids) => {
        if (!Array.isArray(ids)) c.fail("acceptEndpointIds", `must be a list of endpoint IDs (got ${JSON.stringify(ids)})`);
        ids.forEach((id, i) => {
            if (typeof id !== "string" || !patterns.vpcEndpointId.test(id)) {
                c.fail(`acceptEndpointIds[${i}]`, `must be a VPC endpoint ID like vpce-0123456789abcdef0 (got ${JSON.stringify(id)})`);
            }
        });
        c.uniqueValues("acceptEndpointIds", ids);
        return [...ids];
    });
    // Keep an unhandled rejection from surfacing before the component awaits it.
    acceptEndpointIds.catch(() => undefined);

    const targetSecurityGroupId =
        args.targetSecurityGroupId === undefined
            ? undefined
            : c.matches("targetSecurityGroupId", args.targetSecurityGroupId, patterns.securityGroupId, "a security group ID like sg-0123456789abcdef0 (the targets' group)");

    const privateLinkClientCidrs = args.privateLinkClientCidrs ?? [];
    if (!Array.isArray(privateLinkClientCidrs)) c.fail("privateLinkClientCidrs", "must be a list of IPv4 CIDR blocks like 10.0.0.0/16");
    privateLinkClientCidrs.forEach((cidr, i) => {
        if (typeof cidr !== "string" || !isIpv4Cidr(cidr)) {
            c.fail(`privateLinkClientCidrs[${i}]`, `must be an IPv4 CIDR block like 10.0.0.0/16, the consumer VPC's (got ${JSON.stringify(cidr)})`);
        } else if (cidr.endsWith("/0")) {
            c.fail(`privateLinkClientCidrs[${i}]`, "must not be 0.0.0.0/0: give the consumer VPC's CIDR blocks, so only its clients get in");
        }
    });
    c.uniqueValues("privateLinkClientCidrs", privateLinkClientCidrs);

    return { vpcId, subnetIds, listeners, targetType, allowedPrincipals, acceptanceRequired, acceptEndpointIds, targetSecurityGroupId, privateLinkClientCidrs };
}

function isPrivateIpv4(ip: string): boolean {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
    if (!m) return false;
    const [a, b, c, d] = m.slice(1).map(Number) as [number, number, number, number];
    if ([a, b, c, d].some((o) => o > 255)) return false;
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
}
