import { isIP } from "node:net";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allowRuleOf, type ConnectorConfig, ConnectorConfigError, type ConnectorConfigInput, hostPortOf, parseConnectorConfig, parseProxyUrl, renderConnectorConfig } from "../../connector/spec";
import { buildConnectorBundle, type ConnectorBundle } from "./bundle";
import { createEgressRules, EgressRules, labelPart, type EgressRule } from "./egressRules";
import { checkHostSettings, createHostGroup, type HostSettings } from "./hostGroup";
import { policyDocument, type PolicyStatement } from "../shared/iamPolicy";
import { connectorPaths, renderConnectorUserData } from "./userData";
import { ArgChecker, defaultLogRetentionDays, isIpv4Cidr, isPlain, patterns } from "../shared/validation";
import { componentType as typeToken, withLegacyType } from "../shared/typeTokens";

/** One relay the agent keeps a connection to (the firefly stack's TunnelRelay outputs). */
export interface TunnelConnectorRelay {
    /** Relay host name or address, e.g. the relay NLB's DNS name (`TunnelRelay.hostName`). */
    host: pulumi.Input<string>;
    /** Relay SSH port. Default 22. A plain number: the security group's egress rule opens it. */
    port?: number;
    /**
     * Pinned relay host keys (`TunnelRelay.hostPublicKeys`): public key lines or `SHA256:`
     * fingerprints. The agent refuses any other host key; there is no "accept any" mode.
     */
    hostKeys: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * IPv4 CIDRs the relay's addresses are in (`TunnelRelay.addresses` as /32s): the only
     * destinations the security group lets the agent reach on `port`. Default `0.0.0.0/0`
     * (port `port` only). A plain list; elements may be Outputs.
     */
    cidrs?: pulumi.Input<string>[];
    /** Label in the agent's logs and metrics. Default host:port. */
    name?: string;
}

/**
 * The agent's SSH identity: an OpenSSH private key and the user certificate the platform's CA
 * issued for it (`firefly-connector issue-cert`). Either the values (stored in two new Secrets
 * Manager secrets; mark them secret, e.g. `pulumi config set --secret`), or the ARNs of two
 * existing secrets whose SecretString holds them.
 */
export interface TunnelConnectorIdentity {
    privateKey?: pulumi.Input<string>;
    certificate?: pulumi.Input<string>;
    privateKeySecretArn?: pulumi.Input<string>;
    certificateSecretArn?: pulumi.Input<string>;
    /**
     * Customer managed KMS key of the secrets, when they use one: the role may then decrypt with it,
     * through Secrets Manager only. Default: the secrets use the account's `aws/secretsmanager` key.
     */
    kmsKeyArn?: pulumi.Input<string>;
}

/** Where the instances may reach AWS's APIs (S3, Secrets Manager, SSM, CloudWatch) on HTTPS. */
export interface TunnelConnectorAwsApiEgress {
    cidrBlocks?: string[];
    /** e.g. the S3 gateway endpoint's prefix list (`pl-…`). */
    prefixListIds?: pulumi.Input<string>[];
    /** e.g. the security group of interface endpoints for secretsmanager, ssm, ssmmessages, ec2messages, logs, monitoring. */
    securityGroupIds?: pulumi.Input<string>[];
}

/** Agent settings passed through to its config file (see `firefly-connector schema`). */
export type TunnelConnectorAgentSettings = Pick<ConnectorConfigInput, "keepalive" | "reconnect" | "shutdown" | "connectTimeoutSeconds">;

export interface TunnelConnectorArgs extends HostSettings {
    /** VPC of the connector hosts (and of the private services they forward to). */
    vpcId: pulumi.Input<string>;
    /** Private subnets for the hosts, ideally one per AZ; they reach the relays through NAT. A plain list. */
    subnetIds: pulumi.Input<string>[];
    /** Instances (each runs one agent connected to every relay). Default 2. */
    count?: number;
    /** The relays, at least one. A plain list. */
    relays: TunnelConnectorRelay[];
    /**
     * Remote forwards, as in the agent's config: `{ name, listen, target, via? }`. `listen` is on the
     * relay (it must be in the relay's permitlisten for this customer), `target` is where connections
     * go: from the host (`via: "direct"`, default) or back through the relay (`via: "tunnel"`).
     */
    routes?: NonNullable<ConnectorConfigInput["routes"]>;
    /** Reverse SOCKS5 on a relay port, limited to an allowlist (agent config `dynamic`). */
    dynamic?: ConnectorConfigInput["dynamic"];
    /**
     * The customer's HTTP CONNECT proxy the agents must use to reach the relays,
     * `http://host:port` (agent config `proxy`). Then the security group allows the proxy, not the
     * relays. No credentials here (they would be in the user data): a proxy that needs them is
     * configured on the hosts (agent config `proxy.credentialsFile`). Default none.
     */
    proxy?: string;
    /** IPv4 CIDRs the proxy is in, when `proxy` names a host rather than an IP address. */
    proxyCidrs?: string[];
    /** Login user on the relays. Default `tunnel`. */
    user?: string;
    identity: TunnelConnectorIdentity;
    /** Keepalive, reconnect, shutdown and connect timeout settings of the agent. Defaults: the agent's. */
    agent?: TunnelConnectorAgentSettings;
    /** Loopback port of the agent's /healthz, /readyz and /metrics. Default 9101. */
    healthPort?: number;
    /**
     * IPv4 CIDRs where route targets given by host name live (e.g. the VPC's CIDR). Targets given as
     * IP addresses get a /32 rule of their own. Required when a direct route or a dynamic allow rule
     * names a host.
     */
    targetCidrs?: string[];
    /**
     * DNS resolvers the hosts may query on 53 (TCP and UDP). Default the Amazon-provided resolver,
     * `169.254.169.253/32`; add custom resolvers' addresses.
     */
    dnsResolverCidrs?: string[];
    /**
     * HTTPS (443) egress for the AWS APIs the hosts need at boot and while running: S3 (the bundle,
     * and the Amazon Linux package repositories), Secrets Manager, SSM, CloudWatch. Default
     * `{ cidrBlocks: ["0.0.0.0/0"] }` (through the subnets' NAT); narrow it to VPC endpoints.
     */
    awsApiEgress?: TunnelConnectorAwsApiEgress;
    /** Node.js major version from the Amazon Linux 2023 repositories (`nodejs<major>`). Default 22. */
    nodeMajor?: 20 | 22 | 24;
    /** Retention of the agent's log group, days. Default 365. */
    logRetentionInDays?: number;
    /** SNS topics (or other alarm actions) notified when no agent is ready. Default none. */
    alarmActions?: pulumi.Input<string>[];
    tags?: Record<string, pulumi.Input<string>>;
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
    public readonly securityGroupId: pulumi.Output<string>;
    public readonly autoScalingGroupName: pulumi.Output<string>;
    public readonly launchTemplateId: pulumi.Output<string>;
    public readonly roleArn: pulumi.Output<string>;
    public readonly privateKeySecretArn: pulumi.Output<string>;
    public readonly certificateSecretArn: pulumi.Output<string>;
    public readonly bundleBucket: pulumi.Output<string>;
    /** `agent/firefly-connector-<sha256>.tar.gz`. */
    public readonly bundleKey: pulumi.Output<string>;
    public readonly bundleSha256: pulumi.Output<string>;
    public readonly logGroupName: pulumi.Output<string>;
    public readonly notReadyAlarmName: pulumi.Output<string>;
    /** The agent's config file as the hosts get it (no secrets in it: the key is fetched at boot). */
    public readonly agentConfig: pulumi.Output<string>;

    constructor(name: string, args: TunnelConnectorArgs, opts?: pulumi.ComponentResourceOptions) {
        const checked = checkArgs(name, args);
        super(componentType, name, {}, withLegacyType(opts, legacyComponentType));
        const parent = { parent: this };
        const tags = { ...args.tags };
        const bundle: ConnectorBundle = buildConnectorBundle();
        const region = aws.getRegionOutput({}, parent).region;
        const metricDimension = `${pulumi.getStack()}/${name}`;

        // --- network: no ingress rule at all; egress only where the agent must go ---
        const sg = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                vpcId: checked.vpcId,
                description: `Tunnel connector ${name}: no inbound; outbound to the relays, route targets, DNS and AWS APIs only`,
                tags: { ...tags, [connectorRoleTag.key]: connectorRoleTag.value },
            },
            parent,
        );
        createEgressRules(name, sg.id, checked.egress, tags, this);

        // --- identity: two secrets, created here or given ---
        const identity = args.identity;
        // A secret written here also yields its version ID, which goes into the user data: a new value
        // is a new launch template version, and the instance refresh rolls the hosts onto it.
        const identitySecret = (
            kind: "private-key" | "certificate",
            value: pulumi.Input<string> | undefined,
            given: pulumi.Input<string> | undefined,
        ): { arn: pulumi.Output<string>; versionId: pulumi.Output<string | undefined> } => {
            if (given !== undefined) return { arn: pulumi.output(given), versionId: pulumi.output<string | undefined>(undefined) };
            const secret = new aws.secretsmanager.Secret(
                `${name}-${kind}`,
                {
                    description: `Tunnel connector ${name}: the agent's SSH ${kind === "private-key" ? "private key" : "user certificate"}`,
                    kmsKeyId: identity.kmsKeyArn,
                    recoveryWindowInDays: 7,
                    tags,
                },
                parent,
            );
            const version = new aws.secretsmanager.SecretVersion(`${name}-${kind}`, { secretId: secret.id, secretString: pulumi.secret(value!) }, parent);
            return { arn: secret.arn, versionId: version.versionId };
        };
        const privateKeySecret = identitySecret("private-key", identity.privateKey, checked.privateKeySecretArn);
        const certificateSecret = identitySecret("certificate", identity.certificate, checked.certificateSecretArn);

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

        // --- the agent's config, rendered and validated by the agent's own schema ---
        const agentConfig = pulumi
            .all(args.relays.map((relay) => pulumi.all([relay.host, relay.hostKeys]).apply(([host, hostKeys]) => ({ host, hostKeys }))))
            .apply((relays) =>
                renderConnectorConfig(
                    parseChecked(checked.c, configFor(args, checked.healthPort, relays.map((r, i) => ({ ...r, port: checked.relayPorts[i]!, name: args.relays[i]!.name })))),
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
            })
            .apply(({ configYaml, bucketName, key, privateKeySecretArn, certificateSecretArn, privateKeySecretVersionId, certificateSecretVersionId, region: regionName, logGroupName }) =>
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
                    healthPort: checked.healthPort,
                    nodeMajor: args.nodeMajor ?? 22,
                    stopTimeoutSeconds: Math.ceil((args.agent?.shutdown?.gracePeriodSeconds ?? 30) + 15),
                }),
            );

        // --- what the instances may do: read exactly their two secrets and their bundle, write their logs and readiness ---
        const identityStatements = pulumi.all([privateKeySecret.arn, certificateSecret.arn, region, identity.kmsKeyArn]).apply(([keyArn, certArn, regionName, kmsKeyArn]) => {
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
            agentConfig: this.agentConfig,
        });
    }
}

interface ResolvedRelay {
    host: string;
    port: number;
    hostKeys: string[];
    name?: string;
}

function configFor(args: TunnelConnectorArgs, healthPort: number, relays: ResolvedRelay[]): ConnectorConfigInput {
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

function checkArgs(name: string, args: TunnelConnectorArgs) {
    const c: ArgChecker = new ArgChecker(componentType, name);
    if (!args) c.fail("args", "are required");
    const vpcId = c.vpcId("vpcId", args.vpcId);
    const healthPort = c.port("healthPort", args.healthPort ?? 9101);
    const logRetentionInDays = c.logRetention("logRetentionInDays", args.logRetentionInDays ?? defaultLogRetentionDays);
    if (args.nodeMajor !== undefined) c.oneOf("nodeMajor", String(args.nodeMajor), ["20", "22", "24"]);
    const hosts = checkHostSettings(c, args, "give the private subnets the connector hosts run in (one per AZ)");

    // Identity: values or ARNs, never a mix.
    const identity = args.identity;
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
    if (identity.kmsKeyArn !== undefined) c.matches("identity.kmsKeyArn", identity.kmsKeyArn, patterns.kmsKeyArn, "a KMS key ARN");

    // Relays, routes, dynamic: the agent's schema is the judge. Relays that are still Outputs are
    // checked now with a stand-in and again, for real, when they resolve.
    c.nonEmptyArray("relays", args.relays, "give the platform's relays (the firefly stack's tunnelRelay outputs)");
    const relays = args.relays.map((relay, i) => {
        const port = c.port(`relays[${i}].port`, relay.port ?? 22);
        const hostKeys = relay.hostKeys;
        const plainKeys = isPlain(hostKeys) && (hostKeys as pulumi.Input<string>[]).every((k) => typeof k === "string");
        return typeof relay.host === "string" && plainKeys
            ? { host: relay.host, port, hostKeys: hostKeys as string[], name: relay.name }
            : { ...placeholderRelay, port, name: relay.name };
    });
    // Routes and allow rules are plain values, so this parse is final for them: the egress rules below
    // read the parsed config. Only the relays may still change (when their Outputs resolve).
    const agentConfig = parseChecked(c, configFor(args, healthPort, relays));

    // Egress: each relay's SSH port, each direct route's and allow rule's target, DNS, AWS APIs.
    const egress = new EgressRules();
    const add = (rule: Omit<EgressRule, "label">, destination: string) => egress.add(`${rule.protocol}-${rule.port}-${labelPart(destination, "A-Za-z0-9")}`, rule);
    const targetCidrs = c.ipv4Cidrs("targetCidrs", c.plainList("targetCidrs", args.targetCidrs, "give the CIDRs as a list"));
    const proxy = args.proxy === undefined ? undefined : parseProxyUrl(args.proxy);
    if (typeof proxy === "object") {
        if (proxy.username !== undefined) {
            c.fail("proxy", "must not carry credentials: they would be stored in the instances' user data; give http://host:port and put user:password in a file on the hosts (agent config proxy.credentialsFile)");
        }
        const proxyCidrs = c.ipv4Cidrs("proxyCidrs", c.plainList("proxyCidrs", args.proxyCidrs, "give the CIDRs as a list"));
        const family = isIP(proxy.host);
        const where = family === 4 ? [`${proxy.host}/32`] : proxyCidrs;
        if (where.length === 0) {
            c.fail("proxyCidrs", `is required: proxy names the host "${proxy.host}", so the security group needs to know where it lives (e.g. ["10.0.0.5/32"]), or give the proxy's IPv4 address`);
        }
        // All relay traffic goes to the proxy: no rule to the relays at all.
        for (const cidr of where) add({ protocol: "tcp", port: proxy.port, cidrIpv4: cidr, description: `HTTP CONNECT proxy ${cidr} (to the relays)` }, `proxy-${cidr}`);
    }
    if (proxy === undefined) args.relays.forEach((relay, i) => {
        const cidrs = c.plainList(`relays[${i}].cidrs`, relay.cidrs, "give the relay addresses as a list (elements may be Outputs)");
        const port = relays[i]!.port;
        if (cidrs.length === 0) {
            add({ protocol: "tcp", port, cidrIpv4: "0.0.0.0/0", description: `SSH to relay ${i} (any address: the relay's addresses were not given)` }, `relay-${i}`);
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
    const dns = c.ipv4Cidrs("dnsResolverCidrs", args.dnsResolverCidrs ?? ["169.254.169.253/32"]);
    for (const cidr of dns) {
        add({ protocol: "udp", port: 53, cidrIpv4: cidr, description: `DNS to ${cidr}` }, cidr);
        add({ protocol: "tcp", port: 53, cidrIpv4: cidr, description: `DNS to ${cidr}` }, cidr);
    }
    const api = args.awsApiEgress ?? { cidrBlocks: ["0.0.0.0/0"] };
    const apiCidrs = c.ipv4Cidrs("awsApiEgress.cidrBlocks", api.cidrBlocks ?? []);
    const apiPrefixLists = c.plainList("awsApiEgress.prefixListIds", api.prefixListIds, "give a list");
    const apiGroups = c.plainList("awsApiEgress.securityGroupIds", api.securityGroupIds, "give a list");
    if (apiCidrs.length + apiPrefixLists.length + apiGroups.length === 0) {
        c.fail("awsApiEgress", "must allow HTTPS somewhere: the hosts fetch the agent bundle from S3 and the identity from Secrets Manager at boot");
    }
    for (const cidr of apiCidrs) add({ protocol: "tcp", port: 443, cidrIpv4: cidr, description: "HTTPS to AWS APIs (S3, Secrets Manager, SSM, CloudWatch)" }, `aws-${cidr}`);
    apiPrefixLists.forEach((id, i) => add({ protocol: "tcp", port: 443, prefixListId: id, description: "HTTPS to AWS APIs through a prefix list" }, `aws-pl-${i}`));
    apiGroups.forEach((id, i) => add({ protocol: "tcp", port: 443, securityGroupId: id, description: "HTTPS to AWS API interface endpoints" }, `aws-sg-${i}`));

    return { c, vpcId, hosts, healthPort, relayPorts: relays.map((r) => r.port), logRetentionInDays, privateKeySecretArn, certificateSecretArn, egress: egress.list() };
}
