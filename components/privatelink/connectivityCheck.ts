import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { serviceTrustPolicy } from "../shared/iamPolicy";
import type { ProbeEvent, ProbeOutcome } from "./probe/connectivityProbe";
import { probeModuleSource, probeRunnerScript } from "./probe/probeSource";
import { ArgChecker, patterns } from "../shared/validation";
import { componentType as typeToken, withLegacyType } from "../shared/typeTokens";

export interface ConnectivityCheckArgs {
    /** Name to reach, e.g. the PrivateLinkEndpoint's stable hostname. */
    hostname: pulumi.Input<string>;
    /** Port to reach. Default 443. */
    port?: number;
    /**
     * The ports the target serves (a PrivateLinkEndpoint's `ports`: its security group opens exactly
     * these). When given, `port` must be one of them; a probe of any other port fails at connect.
     */
    targetPorts?: number[];
    /** Do a TLS 1.2+ handshake after connecting. Default true. */
    tls?: boolean;
    /**
     * Name for SNI and certificate verification. Default: `hostname`. Set it to the name on the
     * service's certificate (e.g. `gitlab.acme.com`) when it differs from the endpoint hostname.
     */
    servername?: pulumi.Input<string>;
    /**
     * Fail when the certificate does not verify. Default true. False checks reachability and a
     * TLS 1.2+ handshake only, and reports the certificate problem in `result`.
     */
    rejectUnauthorized?: boolean;
    /** PEM CA certificate(s) to trust in addition to the public roots (a customer's private CA). */
    caPem?: pulumi.Input<string>;
    /** Send `HEAD <path>` and require an HTTP status line, like `curl -I`. Default `/`; `false` for none. */
    httpHeadPath?: string | false;
    /** Deadline for the whole probe, seconds (1–60). Default 10. */
    timeoutSeconds?: number;
    /**
     * False while the path cannot work yet (the endpoint is pending acceptance): the check then
     * records a skip instead of failing the deployment, and runs for real once this turns true.
     */
    ready?: pulumi.Input<boolean>;
    /** Why the path is not ready (shown in the skip result). */
    notReadyReason?: pulumi.Input<string>;
    /** Values that re-run the check when they change (e.g. the endpoint ID). */
    triggers?: pulumi.Input<string>[];
    /**
     * Where the probe runs. `lambda` (default): a small function in `subnetIds`, so it sees the
     * VPC's private DNS exactly as platform services do. `runner`: the machine running
     * `pulumi up` (with @pulumi/command), when that machine is inside the VPC.
     */
    runFrom?: "lambda" | "runner";
    /** Lambda only: VPC of the probe function. */
    vpcId?: pulumi.Input<string>;
    /** Lambda only: subnets of the probe function (the endpoint's subnets). */
    subnetIds?: pulumi.Input<string>[];
    /**
     * Lambda only: the security group in front of the target (the endpoint's). The check adds one
     * ingress rule to it from its own group on `port`, and egress from its group to it only.
     */
    targetSecurityGroupId?: pulumi.Input<string>;
    /** Lambda only: days to keep the probe's logs. Default 30. */
    logRetentionInDays?: number;
    tags?: Record<string, pulumi.Input<string>>;
}

const componentType = typeToken("ConnectivityCheck");
/** The type 0.1.x registered this component as; aliased so deployed stacks keep their state. */
const legacyComponentType = "firefly:privatelink:ConnectivityCheck";

/**
 * Validates a private path at deploy time: TCP connect, TLS 1.2+ handshake and an HTTP HEAD to
 * the hostname, from inside the VPC. A failure fails `pulumi up` with the step that broke and the
 * likely cause.
 */
export class ConnectivityCheck extends pulumi.ComponentResource {
    /** What the probe saw (or why it was skipped). */
    public readonly result: pulumi.Output<ProbeOutcome>;
    /** The probe's security group (lambda only). */
    public readonly securityGroupId: pulumi.Output<string | undefined>;
    /** The probe function's name (lambda only). */
    public readonly functionName: pulumi.Output<string | undefined>;

    constructor(name: string, args: ConnectivityCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        const checked = checkArgs(name, args);
        super(componentType, name, {}, withLegacyType(opts, legacyComponentType));
        const parent = { parent: this };
        const tags = args.tags ?? {};

        const event: pulumi.Output<ProbeEvent> = pulumi
            .all([args.hostname, args.servername, args.caPem, args.ready ?? true, args.notReadyReason])
            .apply(([host, servername, caPem, ready, notReadyReason]) => ({
                request: {
                    host,
                    port: checked.port,
                    tls: checked.tls,
                    rejectUnauthorized: checked.rejectUnauthorized,
                    timeoutMs: checked.timeoutSeconds * 1000,
                    ...(servername ? { servername } : {}),
                    ...(caPem ? { caPem } : {}),
                    ...(checked.httpHeadPath !== false ? { httpHeadPath: checked.httpHeadPath } : {}),
                },
                ready,
                ...(notReadyReason ? { notReadyReason } : {}),
            }));
        const triggers = pulumi.all(args.triggers ?? []);

        if (checked.runFrom === "runner") {
            const run = new command.local.Command(
                `${name}-probe`,
                {
                    // `node` is on PATH wherever a Pulumi Node.js program runs.
                    create: "node -",
                    stdin: probeRunnerScript(),
                    environment: { FIREFLY_PROBE_EVENT: pulumi.jsonStringify(event) },
                    triggers: [event, triggers],
                },
                parent,
            );
            this.result = run.stdout.apply((out) => JSON.parse(out) as ProbeOutcome);
            this.securityGroupId = pulumi.output(undefined);
            this.functionName = pulumi.output(undefined);
        } else {
            const sg = new aws.ec2.SecurityGroup(
                `${name}-sg`,
                { vpcId: checked.vpcId, description: `Connectivity check ${name}: egress to the target on ${checked.port} only`, tags },
                parent,
            );
            const toTarget = new aws.vpc.SecurityGroupEgressRule(
                `${name}-to-target`,
                {
                    securityGroupId: sg.id,
                    referencedSecurityGroupId: checked.targetSecurityGroupId,
                    ipProtocol: "tcp",
                    fromPort: checked.port,
                    toPort: checked.port,
                    description: "Probe to the target",
                    tags,
                },
                parent,
            );
            const fromProbe = new aws.vpc.SecurityGroupIngressRule(
                `${name}-from-probe`,
                {
                    securityGroupId: checked.targetSecurityGroupId,
                    referencedSecurityGroupId: sg.id,
                    ipProtocol: "tcp",
                    fromPort: checked.port,
                    toPort: checked.port,
                    description: `Connectivity check ${name}`,
                    tags,
                },
                parent,
            );

            const partition = aws.getPartitionOutput({}, parent).partition;
            const role = new aws.iam.Role(
                `${name}-role`,
                {
                    description: `Connectivity check ${name}`,
                    assumeRolePolicy: JSON.stringify(serviceTrustPolicy("lambda.amazonaws.com", "LambdaAssumesRole")),
                    tags,
                },
                parent,
            );
            // Network interfaces in the VPC and logs: exactly what a VPC Lambda needs, nothing else.
            const vpcAccess = new aws.iam.RolePolicyAttachment(
                `${name}-vpc-access`,
                { role: role.name, policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole` },
                parent,
            );
            const logGroup = new aws.cloudwatch.LogGroup(
                `${name}-logs`,
                { namePrefix: `/firefly/connectivity-check/${name}-`, retentionInDays: checked.logRetentionInDays, tags },
                parent,
            );
            const fn = new aws.lambda.Function(
                `${name}-probe`,
                {
                    description: `Probes ${name} from inside the VPC at deploy time (TCP, TLS 1.2+, HTTP HEAD)`,
                    runtime: aws.lambda.Runtime.NodeJS22dX,
                    architectures: ["arm64"],
                    handler: "index.handler",
                    code: new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset(probeModuleSource()) }),
                    role: role.arn,
                    timeout: checked.timeoutSeconds + 5,
                    memorySize: 128,
                    vpcConfig: { subnetIds: checked.subnetIds, securityGroupIds: [sg.id] },
                    loggingConfig: { logFormat: "JSON", logGroup: logGroup.name },
                    tags,
                },
                // AWS refuses a VPC function whose role cannot yet create network interfaces.
                { parent: this, dependsOn: [vpcAccess] },
            );
            const invocation = new aws.lambda.Invocation(
                `${name}-run`,
                {
                    functionName: fn.name,
                    input: pulumi.jsonStringify(event),
                    // Re-probe whenever what is probed, or what it depends on, changes.
                    triggers: { event: pulumi.jsonStringify(event), extra: pulumi.jsonStringify(triggers) },
                },
                // Probing before the rules exist would fail at connect.
                { parent: this, dependsOn: [toTarget, fromProbe] },
            );
            this.result = invocation.result.apply((out) => JSON.parse(out) as ProbeOutcome);
            this.securityGroupId = sg.id;
            this.functionName = fn.name;
        }
        this.registerOutputs({ result: this.result, securityGroupId: this.securityGroupId, functionName: this.functionName });
    }
}

function checkArgs(name: string, args: ConnectivityCheckArgs) {
    const c: ArgChecker = new ArgChecker(componentType, name);
    if (!args) c.fail("args", "are required");
    if (args.hostname === undefined) c.fail("hostname", "is required: give the name to probe, e.g. the endpoint's hostname");
    const port = c.port("port", args.port ?? 443);
    if (args.targetPorts !== undefined) {
        const served = c.nonEmptyArray("targetPorts", args.targetPorts, "give the ports the target serves, e.g. the endpoint's ports").map((p, i) => c.port(`targetPorts[${i}]`, p));
        if (!served.includes(port)) c.fail("port", `is ${port}, which the target does not serve (its security group opens ${served.join(", ")}); probe one of those ports`);
    }
    const timeoutSeconds = c.integerInRange("timeoutSeconds", args.timeoutSeconds ?? 10, 1, 60);
    const httpHeadPath = args.httpHeadPath ?? "/";
    if (httpHeadPath !== false && !/^\/[\x21-\x7e]*$/.test(httpHeadPath)) {
        c.fail("httpHeadPath", `must be a path starting with "/" without spaces, or false for no HTTP request (got ${JSON.stringify(httpHeadPath)})`);
    }
    const tls = args.tls ?? true;
    if (!tls && args.servername !== undefined) c.fail("servername", "is only used with tls: true; remove it or turn TLS on");
    const runFrom = c.oneOf("runFrom", args.runFrom ?? "lambda", ["lambda", "runner"] as const);
    const logRetentionInDays = c.logRetention("logRetentionInDays", args.logRetentionInDays ?? 30);
    const common = { port, timeoutSeconds, httpHeadPath, tls, rejectUnauthorized: args.rejectUnauthorized ?? true, logRetentionInDays };
    if (runFrom === "runner") {
        for (const field of ["vpcId", "subnetIds", "targetSecurityGroupId", "logRetentionInDays"] as const) {
            if (args[field] !== undefined) c.fail(field, 'is only used with runFrom: "lambda"; remove it');
        }
        return { ...common, runFrom };
    }
    if (args.vpcId === undefined) c.fail("vpcId", 'is required to run the probe in the VPC; give the VPC ID, or runFrom: "runner"');
    const vpcId = c.vpcId("vpcId", args.vpcId);
    const subnetIds = c.subnetIds("subnetIds", args.subnetIds, "give the subnets the probe runs in (the endpoint's subnets)");
    if (args.targetSecurityGroupId === undefined) {
        c.fail("targetSecurityGroupId", "is required so the probe may reach the target and nothing else; give the endpoint's security group ID");
    }
    const targetSecurityGroupId = c.matches("targetSecurityGroupId", args.targetSecurityGroupId, patterns.securityGroupId, "a security group ID like sg-0123456789abcdef0");
    return { ...common, runFrom, vpcId, subnetIds, targetSecurityGroupId };
}
