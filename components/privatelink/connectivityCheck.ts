import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { serviceTrustPolicy } from "../shared/iamPolicy";
import type { ProbeEvent } from "./probe/connectivityProbe";
import { probeModuleSource, probeRunnerScript } from "./probe/probeSource";
import { ArgChecker, awsNameLimits, patterns } from "../shared/validation";
import { componentType as typeToken, withLegacyType } from "../shared/typeTokens";
import { Known, readyWhen } from "../shared/known";

/** Where the connectivity probe runs. */
export const ConnectivityCheckRunFrom = {
    /** A small Lambda function in `subnetIds`: it sees the VPC's private DNS exactly as platform services do. */
    lambda: "lambda",
    /** The machine running `pulumi up` (with @pulumi/command), when that machine is inside the VPC. */
    runner: "runner",
} as const;
/** Where the connectivity probe runs. */
export type ConnectivityCheckRunFrom = (typeof ConnectivityCheckRunFrom)[keyof typeof ConnectivityCheckRunFrom];

export interface ConnectivityCheckArgs {
    /** Name to reach, e.g. the PrivateLinkEndpoint's stable hostname. */
    hostname: pulumi.Input<string>;
    /** Port to reach. Default 443. */
    port?: pulumi.Input<number>;
    /**
     * The ports the target serves (a PrivateLinkEndpoint's `ports`: its security group opens exactly
     * these). When given, `port` must be one of them; a probe of any other port fails at connect.
     */
    targetPorts?: pulumi.Input<pulumi.Input<number>[]>;
    /** Do a TLS 1.2+ handshake after connecting. Default true. */
    tls?: pulumi.Input<boolean>;
    /**
     * Name for SNI and certificate verification. Default: `hostname`. Set it to the name on the
     * service's certificate (e.g. `gitlab.acme.com`) when it differs from the endpoint hostname.
     */
    servername?: pulumi.Input<string>;
    /**
     * Fail when the certificate does not verify. Default true. False checks reachability and a
     * TLS 1.2+ handshake only, and reports the certificate problem in `result`.
     */
    rejectUnauthorized?: pulumi.Input<boolean>;
    /** PEM CA certificate(s) to trust in addition to the public roots (a customer's private CA). */
    caPem?: pulumi.Input<string>;
    /**
     * Send `HEAD <httpHeadPath>` and require an HTTP status line, like `curl -I`. Default true;
     * `false` for none (replaces 0.1's `httpHeadPath: false`).
     */
    httpHead?: pulumi.Input<boolean>;
    /** The path of the HTTP HEAD request. Default `/`. */
    httpHeadPath?: pulumi.Input<string>;
    /** Deadline for the whole probe, seconds (1–60). Default 10. */
    timeoutSeconds?: pulumi.Input<number>;
    /**
     * False while the path cannot work yet (the endpoint is pending acceptance): the check then
     * records a skip instead of failing the deployment, and runs for real once this turns true.
     */
    ready?: pulumi.Input<boolean>;
    /** Why the path is not ready (shown in the skip result). */
    notReadyReason?: pulumi.Input<string>;
    /** Values that re-run the check when they change (e.g. the endpoint ID). */
    triggers?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Where the probe runs. `lambda` (default): a small function in `subnetIds`, so it sees the
     * VPC's private DNS exactly as platform services do. `runner`: the machine running
     * `pulumi up` (with @pulumi/command), when that machine is inside the VPC.
     */
    runFrom?: pulumi.Input<ConnectivityCheckRunFrom>;
    /** Lambda only: VPC of the probe function. */
    vpcId?: pulumi.Input<string>;
    /** Lambda only: subnets of the probe function (the endpoint's subnets). */
    subnetIds?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Lambda only: the security group in front of the target (the endpoint's). The check adds one
     * ingress rule to it from its own group on `port`, and egress from its group to it only.
     */
    targetSecurityGroupId?: pulumi.Input<string>;
    /** Lambda only: days to keep the probe's logs. Default 30. */
    logRetentionInDays?: pulumi.Input<number>;
    /** Tags for every resource the component creates. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** Milliseconds each completed step of the probe took. */
export interface ConnectivityCheckTimings {
    /** Name resolution. */
    dns?: number;
    /** TCP connect. */
    connect?: number;
    /** TLS handshake. */
    tls?: number;
    /** HTTP HEAD request. */
    http?: number;
}

/** The TLS session the probe negotiated. */
export interface ConnectivityCheckTls {
    /** Negotiated protocol, e.g. `TLSv1.3`. */
    protocol?: string;
    /** Negotiated cipher. */
    cipher?: string;
    /** Whether the certificate verified. */
    authorized?: boolean;
    /** Why the certificate did not verify. */
    authorizationError?: string;
    /** The certificate's subject. */
    subject?: string;
    /** The certificate's expiry. */
    validTo?: string;
}

/** The HTTP answer to the probe's HEAD request. */
export interface ConnectivityCheckHttp {
    /** The status line, e.g. `HTTP/1.1 200 OK`. */
    statusLine?: string;
    /** The status code. */
    statusCode?: number;
}

/** The step that failed and why. */
export interface ConnectivityCheckFailure {
    /** `dns`, `connect`, `tls` or `http`. */
    stage?: string;
    /** The error code, e.g. `ECONNREFUSED` or `ETIMEDOUT`. */
    code?: string;
    /** What went wrong. */
    message?: string;
}

/** What the probe saw, or why it was skipped (a ProbeOutcome, as one object type). */
export interface ConnectivityCheckResult {
    /** True when the probe did not run: the path was not ready yet, or an offline plan. */
    skipped?: boolean;
    /** Why the probe was skipped. */
    reason?: string;
    /** True when every step succeeded. */
    ok?: boolean;
    /** The name probed. */
    host?: string;
    /** The port probed. */
    port?: number;
    /** The address the name resolved to. */
    address?: string;
    /** Milliseconds each completed step took. */
    timings?: ConnectivityCheckTimings;
    /** The TLS session, when TLS was used. */
    tls?: ConnectivityCheckTls;
    /** The HTTP answer, when a HEAD request was sent. */
    http?: ConnectivityCheckHttp;
    /** The step that failed, when `ok` is false. */
    failure?: ConnectivityCheckFailure;
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
    public readonly result: pulumi.Output<ConnectivityCheckResult>;
    /** The probe's security group (lambda only). */
    public readonly securityGroupId: pulumi.Output<string | undefined>;
    /** The probe function's name (lambda only). */
    public readonly functionName: pulumi.Output<string | undefined>;

    constructor(name: string, args: ConnectivityCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        const checked = checkArgs(name, args);
        const tags = new ArgChecker(componentType, name).tags("tags", args.tags);
        super(componentType, name, {}, withLegacyType(opts, legacyComponentType));
        // Which resources exist and what the probe does: built now when the settings are plain, or
        // once they resolve (same names either way).
        const built = checked.map((settings) => this.build(name, args, settings, tags));
        this.result = built.output((b) => b.result);
        this.securityGroupId = built.output((b) => b.securityGroupId);
        this.functionName = built.output((b) => b.functionName);
        this.registerOutputs({ result: this.result, securityGroupId: this.securityGroupId, functionName: this.functionName });
    }

    private build(
        name: string,
        args: ConnectivityCheckArgs,
        checked: CheckedSettings,
        tags: pulumi.Input<Record<string, pulumi.Input<string>>>,
    ): { result: pulumi.Output<ConnectivityCheckResult>; securityGroupId: pulumi.Input<string | undefined>; functionName: pulumi.Input<string | undefined> } {
        const parent = { parent: this };
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
                    ...(checked.httpHeadPath !== undefined ? { httpHeadPath: checked.httpHeadPath } : {}),
                },
                ready,
                ...(notReadyReason ? { notReadyReason } : {}),
            }));
        const triggers = pulumi.output(args.triggers ?? []);

        if (checked.lambda === undefined) {
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
            return { result: run.stdout.apply((out) => JSON.parse(out) as ConnectivityCheckResult), securityGroupId: undefined, functionName: undefined };
        }
        const { vpcId, subnetIds, targetSecurityGroupId, logRetentionInDays } = checked.lambda;
        const sg = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            { vpcId, description: probeGroupDescription(name, checked.port), tags },
            parent,
        );
        const toTarget = new aws.vpc.SecurityGroupEgressRule(
            `${name}-to-target`,
            {
                securityGroupId: sg.id,
                referencedSecurityGroupId: targetSecurityGroupId,
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
                securityGroupId: targetSecurityGroupId,
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
            { namePrefix: `/firefly/connectivity-check/${name}-`, retentionInDays: logRetentionInDays, tags },
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
                vpcConfig: { subnetIds, securityGroupIds: [sg.id] },
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
        return { result: invocation.result.apply((out) => JSON.parse(out) as ConnectivityCheckResult), securityGroupId: sg.id, functionName: fn.name };
    }
}

interface CheckedSettings {
    port: number;
    timeoutSeconds: number;
    /** Undefined for no HTTP request. */
    httpHeadPath?: string;
    tls: boolean;
    rejectUnauthorized: boolean;
    /** Undefined when the probe runs on the deploy runner. */
    lambda?: {
        vpcId: pulumi.Input<string>;
        subnetIds: pulumi.Input<pulumi.Input<string>[]>;
        targetSecurityGroupId: pulumi.Input<string>;
        logRetentionInDays: number;
    };
}

const httpHeadPathFalse = "no longer takes false; write httpHead: false for no HTTP request";

function probeGroupDescription(name: string, port: number): string {
    return `Connectivity check ${name}: egress to the target on ${port} only`;
}

function checkArgs(name: string, args: ConnectivityCheckArgs): Known<CheckedSettings> {
    const c: ArgChecker = new ArgChecker(componentType, name);
    if (!args) c.fail("args", "are required");
    if (args.hostname === undefined) c.fail("hostname", "is required: give the name to probe, e.g. the endpoint's hostname");
    if ((args.httpHeadPath as unknown) === false) c.fail("httpHeadPath", httpHeadPathFalse);
    // What decides the resources and the probe's request; the names, addresses and IDs are passed on as they are.
    const settings = {
        port: args.port,
        targetPorts: args.targetPorts,
        tls: args.tls,
        rejectUnauthorized: args.rejectUnauthorized,
        httpHead: args.httpHead,
        httpHeadPath: args.httpHeadPath,
        timeoutSeconds: args.timeoutSeconds,
        runFrom: args.runFrom,
        logRetentionInDays: args.logRetentionInDays,
    };
    const plain = readyWhen.plain;
    return Known.fromArgs(
        settings,
        {
            port: plain,
            targetPorts: readyWhen.structurePlain(),
            tls: plain,
            rejectUnauthorized: plain,
            httpHead: plain,
            httpHeadPath: plain,
            timeoutSeconds: plain,
            runFrom: plain,
            logRetentionInDays: plain,
        },
        (s): CheckedSettings => {
            const port = c.port("port", s.port ?? 443);
            if (s.targetPorts !== undefined) {
                const served = c.nonEmptyArray("targetPorts", s.targetPorts, "give the ports the target serves, e.g. the endpoint's ports").map((p, i) => c.port(`targetPorts[${i}]`, p));
                if (!served.includes(port)) c.fail("port", `is ${port}, which the target does not serve (its security group opens ${served.join(", ")}); probe one of those ports`);
            }
            const timeoutSeconds = c.integerInRange("timeoutSeconds", s.timeoutSeconds ?? 10, 1, 60);
            if ((s.httpHeadPath as unknown) === false) c.fail("httpHeadPath", httpHeadPathFalse);
            const httpHead: unknown = s.httpHead ?? true;
            if (typeof httpHead !== "boolean") c.fail("httpHead", `must be true or false (got ${JSON.stringify(httpHead)})`);
            if (!httpHead && s.httpHeadPath !== undefined) c.fail("httpHeadPath", "is only used with httpHead: true; remove it or turn the HTTP request on");
            const path: unknown = s.httpHeadPath ?? "/";
            if (httpHead && (typeof path !== "string" || !/^\/[\x21-\x7e]*$/.test(path))) {
                c.fail("httpHeadPath", `must be a path starting with "/" without spaces, or httpHead: false for no HTTP request (got ${JSON.stringify(path)})`);
            }
            const tls: unknown = s.tls ?? true;
            if (typeof tls !== "boolean") c.fail("tls", `must be true or false (got ${JSON.stringify(tls)})`);
            if (!tls && args.servername !== undefined) c.fail("servername", "is only used with tls: true; remove it or turn TLS on");
            const rejectUnauthorized: unknown = s.rejectUnauthorized ?? true;
            if (typeof rejectUnauthorized !== "boolean") c.fail("rejectUnauthorized", `must be true or false (got ${JSON.stringify(rejectUnauthorized)})`);
            const runFrom = c.oneOf("runFrom", s.runFrom ?? "lambda", Object.values(ConnectivityCheckRunFrom));
            const logRetentionInDays = c.logRetention("logRetentionInDays", s.logRetentionInDays ?? 30);
            const common = { port, timeoutSeconds, httpHeadPath: httpHead ? (path as string) : undefined, tls, rejectUnauthorized };
            if (runFrom === "runner") {
                for (const field of ["vpcId", "subnetIds", "targetSecurityGroupId", "logRetentionInDays"] as const) {
                    if (args[field] !== undefined) c.fail(field, 'is only used with runFrom: "lambda"; remove it');
                }
                return common;
            }
            if (args.vpcId === undefined) c.fail("vpcId", 'is required to run the probe in the VPC; give the VPC ID, or runFrom: "runner"');
            const vpcId = c.vpcId("vpcId", args.vpcId);
            const subnetIds = c.subnetIdList("subnetIds", args.subnetIds, "give the subnets the probe runs in (the endpoint's subnets)");
            if (args.targetSecurityGroupId === undefined) {
                c.fail("targetSecurityGroupId", "is required so the probe may reach the target and nothing else; give the endpoint's security group ID");
            }
            const targetSecurityGroupId = c.matches("targetSecurityGroupId", args.targetSecurityGroupId, patterns.securityGroupId, "a security group ID like sg-0123456789abcdef0");
            // The probe function (`<name>-probe`) and its role (`<name>-role`) are named after the component, its security
            // group is described by it.
            c.autoNameFits(`${name}-role`, awsNameLimits.iamRole);
            c.autoNameFits(`${name}-probe`, awsNameLimits.lambdaFunction);
            c.securityGroupDescriptionFits(probeGroupDescription(name, port));
            return { ...common, lambda: { vpcId, subnetIds, targetSecurityGroupId, logRetentionInDays } };
        },
    );
}
