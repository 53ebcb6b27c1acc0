import { isIP } from "node:net";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allowRuleOf, type ConnectorConfig, ConnectorConfigError, type ConnectorConfigInput, hostPortOf, parseConnectorConfig, parseProxyUrl, renderConnectorConfig } from "../../connector/spec";
import { buildConnectorBundle, type ConnectorBundle } from "./bundle";
import { createEgressRules, EgressRules, labelPart, type EgressRule } from "./egressRules";
import { checkHostSettings, createHostGroup, type HostSettings } from "./hostGroup";
import { Known, mergeTags } from "../shared/known";
import { policyDocument, type PolicyStatement } from "../shared/iamPolicy";
import { certificateMetricName, connectorPaths, renderConnectorUserData } from "./userData";
import { ArgChecker, awsNameLimits, defaultLogRetentionDays, isIpv4Cidr, isPlain, patterns } from "../shared/validation";
import { componentType as typeToken, withLegacyType } from "../shared/typeTokens";

/** One relay the agent keeps a connection to (the firefly stack's TunnelRelay outputs). */
export interface TunnelConnectorRelay {
    /** Relay host name or address, e.g. the relay NLB's DNS name (`TunnelRelay.hostName`). */
    host: pulumi.Input<string>;
    /** Relay SSH port. Default 22. The security group's egress rules open it. */
    port?: pulumi.Input<number>;
    /**
     * Pinned relay host keys (`TunnelRelay.hostPublicKeys`): public key lines or `SHA256:`
     * fingerprints. The agent refuses any other host key; there is no "accept any" mode.
     */
    hostKeys: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * IPv4 CIDRs the relay's addresses are in (`TunnelRelay.addresses` as /32s): the only
     * destinations the security group lets the agent reach on `port`, one egress rule each. Default
     * `0.0.0.0/0` (port `port` only). A list of Outputs creates the rules at once; an Output of the
     * whole list creates them when it resolves.
     */
    cidrs?: pulumi.Input<pulumi.Input<string>[]>;
    /** Label in the agent's logs and metrics. Default host:port. */
    name?: pulumi.Input<string>;
}

/** How a route's connections reach their target (agent config `routes[].via`). */
export const TunnelRouteVia = {
    /** Connect from the connector host (the default). */
    Direct: "direct",
    /** Open the target back through the same SSH connection, as seen from the relay (hairpin). */
    Tunnel: "tunnel",
} as const;
/** How a route's connections reach their target (agent config `routes[].via`). */
export type TunnelRouteVia = (typeof TunnelRouteVia)[keyof typeof TunnelRouteVia];

/** One remote forward of the agent (agent config `routes[]`, connector/spec/agentConfig.ts). */
export interface TunnelRoute {
    /** Route name, unique: 1-63 letters, digits, '-' or '_' (it becomes a metric label). */
    name: pulumi.Input<string>;
    /**
     * `host:port` the relay listens on for this route; it must be in the relay's permitlisten for
     * this customer (TunnelRelay `customers[].listen`).
     */
    listen: pulumi.Input<string>;
    /**
     * `host:port` where forwarded connections go: from the connector host (`via: "direct"`), or as
     * seen from the relay (`via: "tunnel"`).
     */
    target: pulumi.Input<string>;
    /** `direct` (default): connect from the connector host; `tunnel`: hairpin back through the SSH connection. */
    via?: pulumi.Input<TunnelRouteVia>;
}

/** Reverse SOCKS5 (CONNECT only) on a relay port, limited to an allowlist (agent config `dynamic`). */
export interface TunnelDynamicRoute {
    /** `host:port` on the relay where the reverse SOCKS5 route listens. */
    listen: pulumi.Input<string>;
    /**
     * Destinations the SOCKS5 route may reach, at least one: `host:port`, `*.suffix:port` or
     * `CIDR:port`. Everything else is refused.
     */
    allow: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * The agent's SSH identity: an OpenSSH private key and the user certificate the platform's CA
 * issued for it (`firefly-connector issue-cert`). Either the values (stored in two new Secrets
 * Manager secrets; mark them secret, e.g. `pulumi config set --secret`), or the ARNs of two
 * existing secrets whose SecretString holds them.
 */
export interface TunnelConnectorIdentity {
    /** The agent's unencrypted OpenSSH private key (with `certificate`); stored in a new secret. Pass it as a secret. */
    privateKey?: pulumi.Input<string>;
    /** The agent's OpenSSH user certificate line, `*-cert.pub` (with `privateKey`); stored in a new secret. */
    certificate?: pulumi.Input<string>;
    /** ARN of an existing Secrets Manager secret holding the private key (with `certificateSecretArn`). */
    privateKeySecretArn?: pulumi.Input<string>;
    /** ARN of an existing Secrets Manager secret holding the certificate (with `privateKeySecretArn`). */
    certificateSecretArn?: pulumi.Input<string>;
    /**
     * Customer managed KMS key of the secrets, when they use one: the role may then decrypt with it,
     * through Secrets Manager only. Default: the secrets use the account's `aws/secretsmanager` key.
     */
    kmsKeyArn?: pulumi.Input<string>;
}

/** Where the instances may reach AWS's APIs (S3, Secrets Manager, SSM, CloudWatch) on HTTPS. */
export interface TunnelConnectorAwsApiEgress {
    /** IPv4 CIDRs, e.g. `0.0.0.0/0` through the subnets' NAT. One egress rule each. */
    cidrBlocks?: pulumi.Input<pulumi.Input<string>[]>;
    /** Prefix lists, e.g. the S3 gateway endpoint's (`pl-…`). One egress rule each. */
    prefixListIds?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Security groups, e.g. that of interface endpoints for secretsmanager, ssm, ssmmessages,
     * ec2messages, logs, monitoring. One egress rule each.
     */
    securityGroupIds?: pulumi.Input<pulumi.Input<string>[]>;
}

/** SSH keepalive of the agent's relay connections (agent config `keepalive`). */
export interface TunnelAgentKeepalive {
    /** Seconds between SSH keepalive requests. Default 15. */
    intervalSeconds?: pulumi.Input<number>;
    /** Unanswered keepalives before the connection is declared dead and re-established. Default 3. */
    countMax?: pulumi.Input<number>;
}

/** Reconnect backoff of the agent (agent config `reconnect`). */
export interface TunnelAgentReconnect {
    /** First reconnect delay, milliseconds (jittered). Default 200. */
    initialDelayMs?: pulumi.Input<number>;
    /** Ceiling of the exponential backoff, milliseconds. Default 30000. */
    maxDelayMs?: pulumi.Input<number>;
}

/** What the agent does on SIGTERM (agent config `shutdown`). */
export interface TunnelAgentShutdown {
    /** How long in-flight streams may finish before they are cut, seconds. Default 30. */
    gracePeriodSeconds?: pulumi.Input<number>;
}

/** Agent settings passed through to its config file (see `firefly-connector schema`). */
export interface TunnelConnectorAgentSettings {
    /** SSH keepalive. Default: every 15 s, 3 unanswered. */
    keepalive?: pulumi.Input<TunnelAgentKeepalive>;
    /** Reconnect backoff. Default: 200 ms, doubling up to 30 s. */
    reconnect?: pulumi.Input<TunnelAgentReconnect>;
    /** Shutdown drain. Default 30 s (systemd waits 15 s more). */
    shutdown?: pulumi.Input<TunnelAgentShutdown>;
    /** Limit for TCP connect plus SSH handshake and authentication to a relay, and for onward connects, seconds. Default 15. */
    connectTimeoutSeconds?: pulumi.Input<number>;
}

/** Node.js major versions the hosts can run (Amazon Linux 2023 packages `nodejs<major>`). */
export const TunnelNodeMajor = {
    /** Node.js 20. */
    Node20: 20,
    /** Node.js 22 (the default). */
    Node22: 22,
    /** Node.js 24. */
    Node24: 24,
} as const;
/** Node.js major versions the hosts can run (Amazon Linux 2023 packages `nodejs<major>`). */
export type TunnelNodeMajor = (typeof TunnelNodeMajor)[keyof typeof TunnelNodeMajor];

export interface TunnelConnectorArgs extends HostSettings {
    /** VPC of the connector hosts (and of the private services they forward to). */
    vpcId: pulumi.Input<string>;
    /**
     * Private subnets for the hosts, ideally one per AZ; they reach the relays through NAT. Handed
     * to the auto scaling group as given (an awsx `vpc.privateSubnetIds` too).
     */
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Instances (each runs one agent connected to every relay), 1 to 20. Default 2. */
    count?: pulumi.Input<number>;
    /** The relays, at least one. */
    relays: pulumi.Input<pulumi.Input<TunnelConnectorRelay>[]>;
    /**
     * Remote forwards, as in the agent's config: `{ name, listen, target, via? }`. `listen` is on the
     * relay (it must be in the relay's permitlisten for this customer), `target` is where connections
     * go: from the host (`via: "direct"`, default) or back through the relay (`via: "tunnel"`).
     */
    routes?: pulumi.Input<pulumi.Input<TunnelRoute>[]>;
    /** Reverse SOCKS5 on a relay port, limited to an allowlist (agent config `dynamic`). */
    dynamic?: pulumi.Input<TunnelDynamicRoute>;
    /**
     * The customer's HTTP CONNECT proxy the agents must use to reach the relays,
     * `http://host:port` (agent config `proxy`). Then the security group allows the proxy, not the
     * relays. No credentials here (they would be in the user data): a proxy that needs them is
     * configured on the hosts (agent config `proxy.credentialsFile`). Default none.
     */
    proxy?: pulumi.Input<string>;
    /** IPv4 CIDRs the proxy is in, when `proxy` names a host rather than an IP address. */
    proxyCidrs?: pulumi.Input<pulumi.Input<string>[]>;
    /** Login user on the relays. Default `tunnel`. */
    user?: pulumi.Input<string>;
    /** The agent's SSH key and certificate: as values (new secrets) or as ARNs of existing secrets. */
    identity: pulumi.Input<TunnelConnectorIdentity>;
    /** Keepalive, reconnect, shutdown and connect timeout settings of the agent. Defaults: the agent's. */
    agent?: pulumi.Input<TunnelConnectorAgentSettings>;
    /** Loopback port of the agent's /healthz, /readyz and /metrics. Default 9101. */
    healthPort?: pulumi.Input<number>;
    /**
     * IPv4 CIDRs where route targets given by host name live (e.g. the VPC's CIDR). Targets given as
     * IP addresses get a /32 rule of their own. Required when a direct route or a dynamic allow rule
     * names a host.
     */
    targetCidrs?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * DNS resolvers the hosts may query on 53 (TCP and UDP). Default the Amazon-provided resolver,
     * `169.254.169.253/32`; add custom resolvers' addresses.
     */
    dnsResolverCidrs?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * HTTPS (443) egress for the AWS APIs the hosts need at boot and while running: S3 (the bundle,
     * and the Amazon Linux package repositories), Secrets Manager, SSM, CloudWatch. Default
     * `{ cidrBlocks: ["0.0.0.0/0"] }` (through the subnets' NAT); narrow it to VPC endpoints.
     */
    awsApiEgress?: pulumi.Input<TunnelConnectorAwsApiEgress>;
    /** Node.js major version from the Amazon Linux 2023 repositories (`nodejs<major>`): 20, 22 or 24. Default 22. */
    nodeMajor?: pulumi.Input<TunnelNodeMajor>;
    /** Retention of the agent's log group, days. Default 365. */
    logRetentionInDays?: pulumi.Input<number>;
    /** SNS topics (or other alarm actions) notified when no agent is ready. Default none. */
    alarmActions?: pulumi.Input<pulumi.Input<string>[]>;
    /** Tags of every resource the component creates. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

const componentType = typeToken("TunnelConnector");
/** The type 0.1.x registered this component as; aliased so deployed stacks keep their state. */
const legacyComponentType = "firefly:tunnel:TunnelConnector";

/**
 * Tag that marks the connector's security group for the policy pack's no-ingress rules. The same
 * literals as `policies/conventions.ts` (components do not import policies; a test checks both agree).
 */
export const connectorRoleTag = { key: "firefly:role", value: "connector" } as const;

/** CloudWatch namespace and metric of the agents' readiness (1 ready, 0 not), one datapoint a minute per host. */
export const readinessMetric = { namespace: "Firefly/TunnelConnector", name: "AgentReady", dimensionName: "Connector" } as const;

const placeholderRelay = { host: "relay.invalid", port: 22, hostKeys: [`SHA256:${"A".repeat(43)}`] };

/**
 * The customer's side of the SSH tunnel: an auto scaling group of hosts in private subnets, each
 * running the tunnel agent under a hardened systemd unit. The hosts accept no inbound traffic; they
 * dial out to the platform's relays and forward the configured routes.
 */
export class TunnelConnector extends pulumi.ComponentResource {
    /** The hosts' security group: no ingress; egress to the relays (or the proxy), route targets, DNS and AWS APIs only. */
    public readonly securityGroupId: pulumi.Output<string>;
    /** Name of the hosts' auto scaling group. */
    public readonly autoScalingGroupName: pulumi.Output<string>;
    /** ID of the hosts' launch template (a new version, and an instance refresh, whenever what the hosts boot with changes). */
    public readonly launchTemplateId: pulumi.Output<string>;
    /** ARN of the hosts' instance role. */
    public readonly roleArn: pulumi.Output<string>;
    /** ARN of the secret holding the agent's private key (created here, or the one given). */
    public readonly privateKeySecretArn: pulumi.Output<string>;
    /** ARN of the secret holding the agent's certificate (created here, or the one given). */
    public readonly certificateSecretArn: pulumi.Output<string>;
    /** Name of the S3 bucket holding the agent bundle. */
    public readonly bundleBucket: pulumi.Output<string>;
    /** `agent/firefly-connector-<sha256>.tar.gz`. */
    public readonly bundleKey: pulumi.Output<string>;
    /** Hex SHA-256 of the agent bundle, which the hosts verify. */
    public readonly bundleSha256: pulumi.Output<string>;
    /** The agents' CloudWatch log group. */
    public readonly logGroupName: pulumi.Output<string>;
    /** The alarm raised when no agent reports ready. */
    public readonly notReadyAlarmName: pulumi.Output<string>;
    /** The alarm raised when an agent's certificate has less than 7 days left. */
    public readonly certificateExpiringAlarmName: pulumi.Output<string>;
    /** The agent's config file as the hosts get it (no secrets in it: the key is fetched at boot). */
    public readonly agentConfig: pulumi.Output<string>;

    constructor(name: string, args: TunnelConnectorArgs, opts?: pulumi.ComponentResourceOptions) {
        const checked = checkArgs(name, args);
        // The security group gets the connector's role tag besides, the hosts a Name tag.
        const userTags = new ArgChecker(componentType, name).tags("tags", args.tags, [[connectorRoleTag.key], ["Name"]]);
        super(componentType, name, {}, withLegacyType(opts, legacyComponentType));
        const parent = { parent: this };
        const tags = mergeTags(userTags);
        const bundle: ConnectorBundle = buildConnectorBundle();
        const region = aws.getRegionOutput({}, parent).region;
        const metricDimension = `${pulumi.getStack()}/${name}`;

        // --- network: no ingress rule at all; egress only where the agent must go ---
        const sg = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                vpcId: checked.vpcId,
                description: connectorGroupDescription(name),
                tags: mergeTags(userTags, { [connectorRoleTag.key]: connectorRoleTag.value }),
            },
            parent,
        );
        // One rule per relay CIDR, route target, resolver...: created now, or once the routes and
        // relays resolve when they arrive as Outputs (same names either way).
        checked.plan.map((plan) => createEgressRules(name, sg.id, plan.egress, tags, this));

        // --- identity: two secrets, created here or given (decided when the identity is known) ---
        // A secret written here also yields its version ID, which goes into the user data: a new value
        // is a new launch template version, and the instance refresh rolls the hosts onto it.
        const identitySecret = (
            kind: "private-key" | "certificate",
            value: pulumi.Input<string> | undefined,
            given: pulumi.Input<string> | undefined,
            kmsKeyArn: pulumi.Input<string> | undefined,
        ): { arn: pulumi.Output<string>; versionId: pulumi.Output<string | undefined> } => {
            if (given !== undefined) return { arn: pulumi.output(given), versionId: pulumi.output<string | undefined>(undefined) };
            const secret = new aws.secretsmanager.Secret(
                `${name}-${kind}`,
                {
                    description: `Tunnel connector ${name}: the agent's SSH ${kind === "private-key" ? "private key" : "user certificate"}`,
                    kmsKeyId: kmsKeyArn,
                    recoveryWindowInDays: 7,
                    tags,
                },
                parent,
            );
            const version = new aws.secretsmanager.SecretVersion(`${name}-${kind}`, { secretId: secret.id, secretString: pulumi.secret(value!) }, parent);
            return { arn: secret.arn, versionId: version.versionId };
        };
        const secrets = checked.identity.map((identity) => ({
            privateKey: identitySecret("private-key", identity.privateKey, identity.privateKeySecretArn, identity.kmsKeyArn),
            certificate: identitySecret("certificate", identity.certificate, identity.certificateSecretArn, identity.kmsKeyArn),
        }));
        // An identity that arrives as one (secret) Output makes everything derived from it secret; the
        // ARNs and version IDs are not, and stay readable (the values are secret on their own).
        const reveal = <T>(value: pulumi.Output<T>) => (checked.identity.isNow ? value : pulumi.unsecret(value));
        const privateKeySecret = { arn: reveal(secrets.output((s) => s.privateKey.arn)), versionId: reveal(secrets.output((s) => s.privateKey.versionId)) };
        const certificateSecret = { arn: reveal(secrets.output((s) => s.certificate.arn)), versionId: reveal(secrets.output((s) => s.certificate.versionId)) };

        // --- the agent bundle, addressed by its content ---
        const bucket = new aws.s3.Bucket(`${name}-bundle`, { forceDestroy: true, tags }, parent);
        new aws.s3.BucketPublicAccessBlock(
            `${name}-bundle`,
            { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            parent,
        );
        new aws.s3.BucketOwnershipControls(`${name}-bundle`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, parent);
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-bundle`,
            { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
            parent,
        );
        new aws.s3.BucketPolicy(
            `${name}-bundle`,
            {
                bucket: bucket.id,
                policy: bucket.arn.apply((arn) =>
                    JSON.stringify(
                        policyDocument({
                            Sid: "DenyPlainHttp",
                            Effect: "Deny",
                            Principal: "*",
                            Action: "s3:*",
                            Resource: [arn, `${arn}/*`],
                            Condition: { Bool: { "aws:SecureTransport": "false" } },
                        }),
                    ),
                ),
            },
            parent,
        );
        const bundleKey = `agent/firefly-connector-${bundle.sha256}.tar.gz`;
        const bundleObject = new aws.s3.BucketObjectv2(
            `${name}-bundle`,
            { bucket: bucket.id, key: bundleKey, source: new pulumi.asset.FileAsset(bundle.file), contentType: "application/gzip", tags },
            parent,
        );

        // --- logs and the not-ready alarm ---
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { name: `/firefly/tunnel-connector/${metricDimension}`, retentionInDays: checked.logRetentionInDays, tags },
            parent,
        );
        const alarm = new aws.cloudwatch.MetricAlarm(
            `${name}-not-ready`,
            {
                alarmDescription: `Tunnel connector ${name}: no agent has reported ready (every route forwarded) for 3 of the last 5 minutes`,
                namespace: readinessMetric.namespace,
                metricName: readinessMetric.name,
                dimensions: { [readinessMetric.dimensionName]: metricDimension },
                // Maximum over the hosts: the tunnel is down when no agent is ready. (A second agent
                // finding its listen ports taken on a relay is expected and not an outage.)
                statistic: "Maximum",
                period: 60,
                evaluationPeriods: 5,
                datapointsToAlarm: 3,
                comparisonOperator: "LessThanThreshold",
                threshold: 1,
                // No datapoints means no agent, or no host, is running.
                treatMissingData: "breaching",
                alarmActions: args.alarmActions,
                okActions: args.alarmActions,
                tags,
            },
            parent,
        );

        // The agent's certificate has an end; relays refuse new sessions after it, so a host that
        // reconnects then is cut off. The agents report the time left each minute (the readiness
        // reporter, from /metrics); the alarm fires in its last 7 days, as the agent's log warns.
        const certificateAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-certificate-expiring`,
            {
                alarmDescription: `Tunnel connector ${name}: an agent's SSH certificate expires within 7 days; issue a new one and update the certificate secret (pulumi up rolls the hosts)`,
                namespace: readinessMetric.namespace,
                metricName: certificateMetricName,
                dimensions: { [readinessMetric.dimensionName]: metricDimension },
                // The host with the least time left decides.
                statistic: "Minimum",
                period: 3600,
                evaluationPeriods: 1,
                comparisonOperator: "LessThanThreshold",
                threshold: 7 * 24 * 3600,
                // No datapoints: no agent runs, which the not-ready alarm reports.
                treatMissingData: "notBreaching",
                alarmActions: args.alarmActions,
                okActions: args.alarmActions,
                tags,
            },
            parent,
        );

        // --- the agent's config, rendered and validated by the agent's own schema ---
        // The relays' hosts and keys may still be Outputs (a StackReference): the final parse is here.
        const agentConfig = checked.plan.output((plan) =>
            pulumi
                .all(plan.structure.relays.map((relay) => pulumi.all([relay.host, relay.hostKeys]).apply(([host, hostKeys]) => ({ host, hostKeys }))))
                .apply((relays) =>
                    renderConnectorConfig(
                        parseChecked(checked.c, configFor(plan.structure, plan.healthPort, relays.map((r, i) => ({ ...r, port: plan.relayPorts[i]!, name: plan.structure.relays[i]!.name })))),
                    ),
                ),
        );

        // One object (pulumi.output unwraps each property with its own type; pulumi.all's array form keeps them for eight inputs at most).
        const userData = pulumi
            .output({
                configYaml: agentConfig,
                bucketName: bucket.bucket,
                key: bundleObject.key,
                privateKeySecretArn: privateKeySecret.arn,
                certificateSecretArn: certificateSecret.arn,
                privateKeySecretVersionId: privateKeySecret.versionId,
                certificateSecretVersionId: certificateSecret.versionId,
                region,
                logGroupName: logGroup.name,
                host: checked.plan.output((plan) => ({ healthPort: plan.healthPort, stopTimeoutSeconds: plan.stopTimeoutSeconds })),
                nodeMajor: checked.nodeMajor,
            })
            .apply(({ configYaml, bucketName, key, privateKeySecretArn, certificateSecretArn, privateKeySecretVersionId, certificateSecretVersionId, region: regionName, logGroupName, host, nodeMajor }) =>
                renderConnectorUserData({
                    configYaml,
                    bundle: { bucket: bucketName, key, sha256: bundle.sha256 },
                    privateKeySecretArn,
                    certificateSecretArn,
                    privateKeySecretVersionId,
                    certificateSecretVersionId,
                    region: regionName,
                    logGroupName,
                    metric: { ...readinessMetric, dimensionValue: metricDimension },
                    healthPort: host.healthPort,
                    nodeMajor,
                    stopTimeoutSeconds: host.stopTimeoutSeconds,
                }),
            );

        // --- what the instances may do: read exactly their two secrets and their bundle, write their logs and readiness ---
        const identityStatements = pulumi.all([privateKeySecret.arn, certificateSecret.arn, region, reveal(checked.identity.output((identity) => identity.kmsKeyArn))]).apply(([keyArn, certArn, regionName, kmsKeyArn]) => {
            const statements: PolicyStatement[] = [{ Sid: "ReadAgentIdentity", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: [keyArn, certArn] }];
            if (kmsKeyArn) {
                statements.push({
                    Sid: "DecryptAgentIdentity",
                    Effect: "Allow",
                    Action: "kms:Decrypt",
                    Resource: kmsKeyArn,
                    Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${regionName}.amazonaws.com` } },
                });
            }
            return JSON.stringify(policyDocument(...statements));
        });
        const hosts = createHostGroup(
            name,
            {
                purpose: "tunnel connector",
                hosts: checked.hosts,
                securityGroupIds: [sg.id],
                userData,
                rolePolicies: {
                    "read-agent-identity": identityStatements,
                    "read-agent-bundle": pulumi.all([bucket.arn, bundleObject.key]).apply(([arn, key]) =>
                        JSON.stringify(policyDocument({ Sid: "ReadAgentBundle", Effect: "Allow", Action: "s3:GetObject", Resource: `${arn}/${key}` })),
                    ),
                    "write-agent-logs": logGroup.arn.apply((arn) =>
                        JSON.stringify(
                            policyDocument({
                                Sid: "WriteAgentLogs",
                                Effect: "Allow",
                                Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                Resource: [arn, `${arn}:log-stream:*`],
                            }),
                        ),
                    ),
                    "publish-readiness": JSON.stringify(
                        policyDocument({
                            Sid: "PublishReadiness",
                            Effect: "Allow",
                            Action: "cloudwatch:PutMetricData",
                            Resource: "*",
                            Condition: { StringEquals: { "cloudwatch:namespace": readinessMetric.namespace } },
                        }),
                    ),
                },
                // First boot installs packages and builds ssh2's native binding (within
                // nativeCryptoBuildBudgetSeconds, 150 s): a refresh waits this long before counting a
                // new host as serving (test/components/tunnel/userData.test.ts checks the budget fits).
                healthCheckGracePeriod: 300,
                tags,
            },
            this,
        );

        this.securityGroupId = sg.id;
        this.autoScalingGroupName = hosts.group.name;
        this.launchTemplateId = hosts.launchTemplate.id;
        this.roleArn = hosts.role.arn;
        this.privateKeySecretArn = privateKeySecret.arn;
        this.certificateSecretArn = certificateSecret.arn;
        this.bundleBucket = bucket.bucket;
        this.bundleKey = bundleObject.key;
        this.bundleSha256 = pulumi.output(bundle.sha256);
        this.logGroupName = logGroup.name;
        this.notReadyAlarmName = alarm.name;
        this.certificateExpiringAlarmName = certificateAlarm.name;
        this.agentConfig = agentConfig;
        this.registerOutputs({
            securityGroupId: this.securityGroupId,
            autoScalingGroupName: this.autoScalingGroupName,
            launchTemplateId: this.launchTemplateId,
            roleArn: this.roleArn,
            privateKeySecretArn: this.privateKeySecretArn,
            certificateSecretArn: this.certificateSecretArn,
            bundleBucket: this.bundleBucket,
            bundleKey: this.bundleKey,
            bundleSha256: this.bundleSha256,
            logGroupName: this.logGroupName,
            notReadyAlarmName: this.notReadyAlarmName,
            certificateExpiringAlarmName: this.certificateExpiringAlarmName,
            agentConfig: this.agentConfig,
        });
    }
}


/**
 * The structural arguments (they decide the egress rules and the agent's config) as the plan sees
 * them: plain, but for the relays' hosts and host keys and the elements of the relay CIDR, prefix
 * list and security group lists, which may still be Outputs (handed on as they are).
 */
interface ConnectorStructure {
    relays: PlannedRelay[];
    routes?: pulumi.Unwrap<TunnelRoute>[];
    dynamic?: pulumi.Unwrap<TunnelDynamicRoute>;
    proxy?: string;
    proxyCidrs?: string[];
    targetCidrs?: string[];
    dnsResolverCidrs?: string[];
    awsApiEgress?: { cidrBlocks?: string[]; prefixListIds?: pulumi.Input<string>[]; securityGroupIds?: pulumi.Input<string>[] };
    healthPort?: number;
    user?: string;
    agent?: pulumi.Unwrap<TunnelConnectorAgentSettings>;
}

interface PlannedRelay {
    host: pulumi.Input<string>;
    port?: number;
    hostKeys: pulumi.Input<pulumi.Input<string>[]>;
    cidrs?: pulumi.Input<string>[];
    name?: string;
}

/** Keys of the structure whose values (or list elements) are handed on as they are. */
const connectorStructureKeys = { passThrough: ["host", "hostKeys"], elementsPassThrough: ["cidrs", "prefixListIds", "securityGroupIds"] } as const;

interface ResolvedRelay {
    host: string;
    port: number;
    hostKeys: string[];
    name?: string;
}

function configFor(args: ConnectorStructure, healthPort: number, relays: ResolvedRelay[]): ConnectorConfigInput {
    return {
        user: args.user ?? "tunnel",
        identity: { privateKeyFile: connectorPaths.privateKey, certificateFile: connectorPaths.certificate },
        relays: relays.map((r) => ({ ...(r.name ? { name: r.name } : {}), host: r.host, port: r.port, hostKeys: r.hostKeys })),
        routes: args.routes ?? [],
        ...(args.proxy ? { proxy: args.proxy } : {}),
        ...(args.dynamic ? { dynamic: args.dynamic } : {}),
        ...args.agent,
        health: { listen: `127.0.0.1:${healthPort}` },
    };
}

/** The agent's own validator decides; its problems are reported as this component's arguments. */
function parseChecked(c: ArgChecker, config: ConnectorConfigInput): ConnectorConfig {
    try {
        return parseConnectorConfig(config);
    } catch (err) {
        if (err instanceof ConnectorConfigError) {
            const first = err.problems[0]!;
            c.fail(first.field || "args", `is refused by the agent's config schema: ${err.problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`);
        }
        throw err;
    }
}

function connectorGroupDescription(name: string): string {
    return `Tunnel connector ${name}: no inbound; outbound to the relays, route targets, DNS and AWS APIs only`;
}

function checkArgs(name: string, args: TunnelConnectorArgs) {
    const c: ArgChecker = new ArgChecker(componentType, name);
    // The hosts' instance role (`<name>-role`) and the bundle bucket (`<name>-bundle`) are named
    // after the component, its security group described by it.
    c.autoNameFits(`${name}-role`, awsNameLimits.iamRole);
    c.autoNameFits(`${name}-bundle`, awsNameLimits.s3Bucket);
    c.securityGroupDescriptionFits(connectorGroupDescription(name));
    if (!args) c.fail("args", "are required");
    const vpcId = c.vpcId("vpcId", args.vpcId);
    const logRetentionInDays = c.input(args.logRetentionInDays ?? defaultLogRetentionDays, (days) => c.logRetention("logRetentionInDays", days));
    const nodeMajor = c.input<number>(args.nodeMajor ?? 22, (major) => c.oneOf("nodeMajor", String(major), ["20", "22", "24"]));
    const hosts = checkHostSettings(c, args, "give the private subnets the connector hosts run in (one per AZ)");
    // Identity: values or ARNs, never a mix. Which secrets exist depends on it.
    const identity = Known.from<TunnelConnectorIdentity | undefined, CheckedIdentity>(args.identity, { passThrough: identityKeys }, (given) => checkIdentity(c, given));
    // Relays, routes, dynamic: the agent's schema is the judge; then the egress rules.
    const structure = {
        relays: args.relays,
        routes: args.routes,
        dynamic: args.dynamic,
        proxy: args.proxy,
        proxyCidrs: args.proxyCidrs,
        targetCidrs: args.targetCidrs,
        dnsResolverCidrs: args.dnsResolverCidrs,
        awsApiEgress: args.awsApiEgress,
        healthPort: args.healthPort,
        user: args.user,
        agent: args.agent,
    };
    const plan = Known.from<ConnectorStructure, ConnectorPlan>(structure, connectorStructureKeys, (s) => planConnector(c, s));
    return { c, vpcId, hosts, nodeMajor, logRetentionInDays, identity, plan };
}

const identityKeys = ["privateKey", "certificate", "privateKeySecretArn", "certificateSecretArn", "kmsKeyArn"] as const;

interface CheckedIdentity {
    privateKey?: pulumi.Input<string>;
    certificate?: pulumi.Input<string>;
    /** Checked now or when they resolve: hand these on, not the arguments. */
    privateKeySecretArn?: pulumi.Input<string>;
    certificateSecretArn?: pulumi.Input<string>;
    kmsKeyArn?: pulumi.Input<string>;
}

function checkIdentity(c: ArgChecker, identity: TunnelConnectorIdentity | undefined): CheckedIdentity {
    if (!identity) c.fail("identity", "is required: give { privateKey, certificate } (as secrets) or { privateKeySecretArn, certificateSecretArn }");
    const byValue = identity.privateKey !== undefined || identity.certificate !== undefined;
    const byArn = identity.privateKeySecretArn !== undefined || identity.certificateSecretArn !== undefined;
    if (byValue === byArn) {
        c.fail("identity", "must give either privateKey and certificate, or privateKeySecretArn and certificateSecretArn (not both forms, not neither)");
    }
    if (byValue) {
        if (identity.privateKey === undefined) c.fail("identity.privateKey", "is required with identity.certificate: the OpenSSH private key the certificate certifies");
        if (identity.certificate === undefined) c.fail("identity.certificate", "is required with identity.privateKey: the *-cert.pub that `firefly-connector issue-cert` wrote");
        c.input(identity.privateKey, (key) => {
            if (typeof key !== "string" || !/^-----BEGIN (OPENSSH|RSA|EC) PRIVATE KEY-----/.test(key.trim())) {
                c.fail("identity.privateKey", "must be an unencrypted OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----)");
            }
        });
        c.input(identity.certificate, (cert) => {
            if (typeof cert !== "string" || !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+)-cert-v01@openssh\.com /.test(cert.trim())) {
                c.fail("identity.certificate", "must be an OpenSSH user certificate line (ssh-ed25519-cert-v01@openssh.com AAAA…)");
            }
        });
    }
    const secretArnPattern = /^arn:aws(-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$/;
    const privateKeySecretArn =
        identity.privateKeySecretArn === undefined ? undefined : c.matches("identity.privateKeySecretArn", identity.privateKeySecretArn, secretArnPattern, "a Secrets Manager secret ARN");
    const certificateSecretArn =
        identity.certificateSecretArn === undefined ? undefined : c.matches("identity.certificateSecretArn", identity.certificateSecretArn, secretArnPattern, "a Secrets Manager secret ARN");
    if (byArn && (privateKeySecretArn === undefined || certificateSecretArn === undefined)) {
        c.fail("identity", "must give both privateKeySecretArn and certificateSecretArn");
    }
    const kmsKeyArn = identity.kmsKeyArn === undefined ? undefined : c.matches("identity.kmsKeyArn", identity.kmsKeyArn, patterns.kmsKeyArn, "a KMS key ARN");
    return { privateKey: identity.privateKey, certificate: identity.certificate, privateKeySecretArn, certificateSecretArn, kmsKeyArn };
}

interface ConnectorPlan {
    /** The structural arguments, checked (relay hosts and keys may still be Outputs). */
    structure: ConnectorStructure;
    healthPort: number;
    relayPorts: number[];
    /** Seconds systemd waits after SIGTERM: the agent's drain grace period plus a margin. */
    stopTimeoutSeconds: number;
    egress: EgressRule[];
}

/**
 * Checks the structural arguments (as the agent's config schema sees them) and derives the egress
 * rules. Runs at construction when they are plain, else when they resolve: same checks, same messages.
 */
function planConnector(c: ArgChecker, s: ConnectorStructure): ConnectorPlan {
    const healthPort = c.port("healthPort", s.healthPort ?? 9101);
    // Relays whose host or keys are still Outputs are checked now with a stand-in and again, for
    // real, when they resolve (the agentConfig output).
    c.nonEmptyArray("relays", s.relays, "give the platform's relays (the firefly stack's tunnelRelay outputs)");
    const relays = s.relays.map((relay, i) => {
        const port = c.port(`relays[${i}].port`, relay.port ?? 22);
        const hostKeys = relay.hostKeys;
        const plainKeys = isPlain(hostKeys) && (hostKeys as pulumi.Input<string>[]).every((k) => typeof k === "string");
        return typeof relay.host === "string" && plainKeys
            ? { host: relay.host, port, hostKeys: hostKeys as string[], name: relay.name }
            : { ...placeholderRelay, port, name: relay.name };
    });
    // Routes and allow rules are plain here, so this parse is final for them: the egress rules below
    // read the parsed config. Only the relays may still change (when their Outputs resolve).
    const agentConfig = parseChecked(c, configFor(s, healthPort, relays));

    // Egress: each relay's SSH port, each direct route's and allow rule's target, DNS, AWS APIs.
    const egress = new EgressRules();
    const add = (rule: Omit<EgressRule, "label">, destination: string) => egress.add(`${rule.protocol}-${rule.port}-${labelPart(destination, "A-Za-z0-9")}`, rule);
    const targetCidrs = c.ipv4Cidrs("targetCidrs", c.plainList("targetCidrs", s.targetCidrs, "give the CIDRs as a list"));
    const proxy = s.proxy === undefined ? undefined : parseProxyUrl(s.proxy);
    if (typeof proxy === "object") {
        if (proxy.username !== undefined) {
            c.fail("proxy", "must not carry credentials: they would be stored in the instances' user data; give http://host:port and put user:password in a file on the hosts (agent config proxy.credentialsFile)");
        }
        const proxyCidrs = c.ipv4Cidrs("proxyCidrs", c.plainList("proxyCidrs", s.proxyCidrs, "give the CIDRs as a list"));
        const family = isIP(proxy.host);
        const where = family === 4 ? [`${proxy.host}/32`] : proxyCidrs;
        if (where.length === 0) {
            c.fail("proxyCidrs", `is required: proxy names the host "${proxy.host}", so the security group needs to know where it lives (e.g. ["10.0.0.5/32"]), or give the proxy's IPv4 address`);
        }
        // All relay traffic goes to the proxy: no rule to the relays at all.
        for (const cidr of where) add({ protocol: "tcp", port: proxy.port, cidrIpv4: cidr, description: `HTTP CONNECT proxy ${cidr} (to the relays)` }, `proxy-${cidr}`);
    }
    if (proxy === undefined) s.relays.forEach((relay, i) => {
        const cidrs = c.plainList(`relays[${i}].cidrs`, relay.cidrs, "give the relay addresses as a list (elements may be Outputs)");
        const port = relays[i]!.port;
        if (cidrs.length === 0) {
            add({ protocol: "tcp", port, cidrIpv4: "0.0.0.0/0", description: `SSH to relay ${i} (any address: the addresses of the relay were not given)` }, `relay-${i}`);
        }
        cidrs.forEach((cidr, j) => {
            const checkedCidr = c.input(cidr, (value) => {
                if (typeof value !== "string" || !isIpv4Cidr(value)) c.fail(`relays[${i}].cidrs[${j}]`, `must be an IPv4 CIDR like 203.0.113.10/32 (got ${JSON.stringify(value)})`);
            });
            add({ protocol: "tcp", port, cidrIpv4: checkedCidr, description: `SSH to relay ${i}` }, `relay-${i}-${j}`);
        });
    });
    const toTarget = (field: string, host: string, port: number, cidrHint?: string) => {
        const family = isIP(host);
        if (cidrHint) {
            if (cidrHint.includes(":")) add({ protocol: "tcp", port, cidrIpv6: cidrHint, description: `Route target ${cidrHint}` }, cidrHint);
            else add({ protocol: "tcp", port, cidrIpv4: cidrHint, description: `Route target ${cidrHint}` }, cidrHint);
        } else if (family === 4) {
            add({ protocol: "tcp", port, cidrIpv4: `${host}/32`, description: `Route target ${host}` }, `${host}/32`);
        } else if (family === 6) {
            add({ protocol: "tcp", port, cidrIpv6: `${host}/128`, description: `Route target ${host}` }, `${host}/128`);
        } else {
            if (targetCidrs.length === 0) {
                c.fail(field, `names the host "${host}", so the security group needs to know where it lives: set targetCidrs (e.g. the VPC's CIDR), or give the target's IP address`);
            }
            for (const cidr of targetCidrs) add({ protocol: "tcp", port, cidrIpv4: cidr, description: `Route targets in ${cidr}` }, cidr);
        }
    };
    agentConfig.routes.forEach((route, i) => {
        if (route.via !== "direct") return; // hairpin routes only use the SSH connection
        const target = hostPortOf(route.target);
        toTarget(`routes[${i}].target`, target.host, target.port);
    });
    (agentConfig.dynamic?.allow ?? []).map(allowRuleOf).forEach((rule, i) => {
        if (rule.kind === "cidr") toTarget(`dynamic.allow[${i}]`, rule.network, rule.port, `${rule.network}/${rule.prefix}`);
        else toTarget(`dynamic.allow[${i}]`, rule.kind === "host" ? rule.host : `*.${rule.suffix}`, rule.port);
    });
    const dns = c.ipv4Cidrs("dnsResolverCidrs", c.plainList("dnsResolverCidrs", s.dnsResolverCidrs ?? ["169.254.169.253/32"], "give the CIDRs as a list"));
    for (const cidr of dns) {
        add({ protocol: "udp", port: 53, cidrIpv4: cidr, description: `DNS to ${cidr}` }, cidr);
        add({ protocol: "tcp", port: 53, cidrIpv4: cidr, description: `DNS to ${cidr}` }, cidr);
    }
    const api = s.awsApiEgress ?? { cidrBlocks: ["0.0.0.0/0"] };
    const apiCidrs = c.ipv4Cidrs("awsApiEgress.cidrBlocks", c.plainList("awsApiEgress.cidrBlocks", api.cidrBlocks, "give the CIDRs as a list"));
    const apiPrefixLists = c.plainList("awsApiEgress.prefixListIds", api.prefixListIds, "give a list");
    const apiGroups = c.plainList("awsApiEgress.securityGroupIds", api.securityGroupIds, "give a list");
    if (apiCidrs.length + apiPrefixLists.length + apiGroups.length === 0) {
        c.fail("awsApiEgress", "must allow HTTPS somewhere: the hosts fetch the agent bundle from S3 and the identity from Secrets Manager at boot");
    }
    for (const cidr of apiCidrs) add({ protocol: "tcp", port: 443, cidrIpv4: cidr, description: "HTTPS to AWS APIs (S3, Secrets Manager, SSM, CloudWatch)" }, `aws-${cidr}`);
    apiPrefixLists.forEach((id, i) => add({ protocol: "tcp", port: 443, prefixListId: id, description: "HTTPS to AWS APIs through a prefix list" }, `aws-pl-${i}`));
    apiGroups.forEach((id, i) => add({ protocol: "tcp", port: 443, securityGroupId: id, description: "HTTPS to AWS API interface endpoints" }, `aws-sg-${i}`));

    const stopTimeoutSeconds = Math.ceil((s.agent?.shutdown?.gracePeriodSeconds ?? 30) + 15);
    return { structure: s, healthPort, relayPorts: relays.map((r) => r.port), stopTimeoutSeconds, egress: egress.list() };
}
