import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument, serviceTrustPolicy } from "../shared/iamPolicy";
import { ArgChecker, defaultLogRetentionDays, patterns } from "../shared/validation";
import { componentType as typeToken, withLegacyType } from "../shared/typeTokens";

export interface EndpointFlowLogsArgs {
    /**
     * Subnets to log, one flow log each: usually the subnets of an interface endpoint, so its traffic
     * is recorded without logging the rest of the VPC. A plain list (elements may be Outputs). Give
     * this or `vpcId`.
     */
    subnetIds?: pulumi.Input<string>[];
    /** Log the whole VPC with one flow log instead. Give this or `subnetIds`. */
    vpcId?: pulumi.Input<string>;
    /**
     * Which traffic to record. Default `ALL`: rejected connections are what an investigation of an
     * endpoint usually looks for, accepted ones show who used it.
     */
    trafficType?: "ALL" | "ACCEPT" | "REJECT";
    /** Days CloudWatch Logs keeps the records. Default 365. */
    retentionInDays?: number;
    /** Seconds over which a flow is aggregated into one record: 60 (default) or 600 (fewer, cheaper records). */
    maxAggregationIntervalSeconds?: 60 | 600;
    /**
     * KMS key ARN to encrypt the log group. Default: CloudWatch Logs' own encryption. The key policy
     * must allow `logs.<region>.amazonaws.com` to use it.
     */
    kmsKeyArn?: pulumi.Input<string>;
    /** Tags for every resource the component creates. */
    tags?: Record<string, pulumi.Input<string>>;
}

const componentType = typeToken("EndpointFlowLogs");
/** The type 0.1.x registered this component as; aliased so deployed stacks keep their state. */
const legacyComponentType = "firefly:network:EndpointFlowLogs";

/**
 * Fields logged for each flow: the default set plus the packet-level addresses and direction,
 * which show the real source behind an endpoint's network interface.
 */
export const flowLogFormat = [
    "version", "account-id", "vpc-id", "subnet-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log-status", "pkt-srcaddr", "pkt-dstaddr",
    "flow-direction", "tcp-flags",
].map((field) => `\${${field}}`).join(" ");

/**
 * VPC flow logs for the subnets of an interface endpoint (or a whole VPC), delivered to a CloudWatch
 * log group with a retention, by an IAM role that only VPC Flow Logs of this account and region can
 * assume (`aws:SourceAccount` / `aws:SourceArn`, against the confused deputy) and that can only write
 * to that log group.
 */
export class EndpointFlowLogs extends pulumi.ComponentResource {
    public readonly logGroupName: pulumi.Output<string>;
    public readonly logGroupArn: pulumi.Output<string>;
    /** The role VPC Flow Logs assumes to deliver records. */
    public readonly deliveryRoleArn: pulumi.Output<string>;
    /** One flow log ID (`fl-…`) per subnet, or one for the VPC. */
    public readonly flowLogIds: pulumi.Output<string[]>;

    constructor(name: string, args: EndpointFlowLogsArgs, opts?: pulumi.ComponentResourceOptions) {
        const checked = checkArgs(name, args);
        super(componentType, name, {}, withLegacyType(opts, legacyComponentType));
        const parent = { parent: this };
        const tags = args.tags ?? {};

        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-log-group`,
            { namePrefix: `/firefly/flow-logs/${name}-`, retentionInDays: checked.retentionInDays, kmsKeyId: checked.kmsKeyArn, tags },
            parent,
        );

        const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
        const partition = aws.getPartitionOutput({}, parent).partition;
        const region = aws.getRegionOutput({}, parent).region;
        const role = new aws.iam.Role(
            `${name}-role`,
            {
                description: `Delivers the VPC flow logs of ${name} to CloudWatch Logs`,
                assumeRolePolicy: pulumi.all([accountId, partition, region]).apply(([account, part, reg]) =>
                    JSON.stringify(
                        serviceTrustPolicy("vpc-flow-logs.amazonaws.com", "ThisAccountsFlowLogsOnly", {
                            StringEquals: { "aws:SourceAccount": account },
                            ArnLike: { "aws:SourceArn": `arn:${part}:ec2:${reg}:${account}:vpc-flow-log/*` },
                        }),
                    ),
                ),
                tags,
            },
            parent,
        );
        const delivery = new aws.iam.RolePolicy(
            `${name}-delivery`,
            {
                role: role.id,
                policy: pulumi.all([logGroup.arn, accountId, partition, region]).apply(([arn, account, part, reg]) =>
                    JSON.stringify(
                        policyDocument(
                            {
                                Sid: "WriteThisLogGroupOnly",
                                Effect: "Allow",
                                Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                Resource: [arn, `${arn}:*`],
                            },
                            {
                                Sid: "FindTheLogGroup",
                                Effect: "Allow",
                                Action: "logs:DescribeLogGroups",
                                Resource: `arn:${part}:logs:${reg}:${account}:log-group:*`,
                            },
                        ),
                    ),
                ),
            },
            parent,
        );

        const targets: Array<{ suffix: string; target: { subnetId?: pulumi.Input<string>; vpcId?: pulumi.Input<string> } }> =
            checked.vpcId !== undefined
                ? [{ suffix: "vpc", target: { vpcId: checked.vpcId } }]
                : checked.subnetIds.map((subnetId, index) => ({
                      // A plain subnet ID names its flow log, so removing one subnet leaves the others alone.
                      suffix: typeof subnetId === "string" ? subnetId : `subnet-${index}`,
                      target: { subnetId },
                  }));
        const flowLogs = targets.map(
            ({ suffix, target }) =>
                new aws.ec2.FlowLog(
                    `${name}-${suffix}`,
                    {
                        ...target,
                        trafficType: checked.trafficType,
                        logDestinationType: "cloud-watch-logs",
                        logDestination: logGroup.arn,
                        iamRoleArn: role.arn,
                        logFormat: flowLogFormat,
                        maxAggregationInterval: checked.maxAggregationIntervalSeconds,
                        tags,
                    },
                    // The role must be able to write before the first records are delivered.
                    { parent: this, dependsOn: [delivery] },
                ),
        );

        this.logGroupName = logGroup.name;
        this.logGroupArn = logGroup.arn;
        this.deliveryRoleArn = role.arn;
        this.flowLogIds = pulumi.all(flowLogs.map((f) => f.id));
        this.registerOutputs({
            logGroupName: this.logGroupName,
            logGroupArn: this.logGroupArn,
            deliveryRoleArn: this.deliveryRoleArn,
            flowLogIds: this.flowLogIds,
        });
    }
}

/** The settings of a flow log, apart from what it logs. */
export type FlowLogSettings = Pick<EndpointFlowLogsArgs, "trafficType" | "retentionInDays" | "maxAggregationIntervalSeconds" | "kmsKeyArn">;

interface CheckedSettings {
    trafficType: "ALL" | "ACCEPT" | "REJECT";
    retentionInDays: number;
    maxAggregationIntervalSeconds: 60 | 600;
    kmsKeyArn?: pulumi.Input<string>;
}

interface CheckedArgs extends CheckedSettings {
    subnetIds: pulumi.Input<string>[];
    vpcId?: pulumi.Input<string>;
}

/**
 * Checks flow-log settings with the defaults applied. `prefix` places the fields in the caller's
 * arguments (e.g. `endpoint.flowLogs.`), so a component that creates EndpointFlowLogs can refuse bad
 * settings before it registers anything, naming its own field.
 */
export function checkFlowLogSettings(c: ArgChecker, prefix: string, settings: FlowLogSettings): CheckedSettings {
    const interval = settings.maxAggregationIntervalSeconds ?? 60;
    if (interval !== 60 && interval !== 600) {
        c.fail(`${prefix}maxAggregationIntervalSeconds`, `must be 60 or 600, the intervals VPC Flow Logs supports (got ${JSON.stringify(interval)})`);
    }
    return {
        trafficType: c.oneOf(`${prefix}trafficType`, settings.trafficType ?? "ALL", ["ALL", "ACCEPT", "REJECT"] as const),
        retentionInDays: c.logRetention(`${prefix}retentionInDays`, settings.retentionInDays ?? defaultLogRetentionDays),
        maxAggregationIntervalSeconds: interval,
        kmsKeyArn:
            settings.kmsKeyArn === undefined
                ? undefined
                : c.matches(`${prefix}kmsKeyArn`, settings.kmsKeyArn, patterns.kmsKeyArn, "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"),
    };
}

function checkArgs(name: string, args: EndpointFlowLogsArgs): CheckedArgs {
    const c = new ArgChecker(componentType, name);
    if (!args) c.fail("args", "are required");
    const subnetIds = c.plainList("subnetIds", args.subnetIds, "pass a plain list of subnet IDs (elements may be Outputs)");
    if (args.vpcId !== undefined && subnetIds.length > 0) c.fail("vpcId", "and subnetIds exclude each other; log either the endpoint's subnets or the whole VPC");
    if (args.vpcId === undefined) c.nonEmptyArray("subnetIds", subnetIds, "give the endpoint's subnets, or vpcId to log the whole VPC");
    c.uniqueValues("subnetIds", subnetIds);
    return {
        ...checkFlowLogSettings(c, "", args),
        subnetIds: subnetIds.map((s, i) => c.matches(`subnetIds[${i}]`, s, patterns.subnetId, "a subnet ID like subnet-0123456789abcdef0")),
        vpcId: args.vpcId === undefined ? undefined : c.matches("vpcId", args.vpcId, patterns.vpcId, "a VPC ID like vpc-0123456789abcdef0"),
    };
}
