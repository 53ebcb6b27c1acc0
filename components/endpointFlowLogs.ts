import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ArgChecker, logRetentionDays, patterns } from "./validation";

export interface EndpointFlowLogsArgs {
    /**
     * Subnets whose traffic is logged: the subnets an interface endpoint has its network
     * interfaces in. Subnet-level logs cover the endpoint's traffic and are known before deploy,
     * so a policy check in `pulumi preview` can see them (ENI IDs only exist after deploy).
     */
    subnetIds: pulumi.Input<string>[];
    /** Days CloudWatch keeps the logs. Default 365. Must be a value CloudWatch Logs accepts. */
    retentionInDays?: number;
    /** `ALL` (default), `ACCEPT` or `REJECT`. Rejected flows are the ones that explain an outage. */
    trafficType?: "ALL" | "ACCEPT" | "REJECT";
    /** Seconds over which flows are aggregated: 60 (default, for debugging) or 600 (cheaper). */
    maxAggregationIntervalSeconds?: 60 | 600;
    /** KMS key ARN to encrypt the log group. Default: CloudWatch Logs' own encryption. */
    kmsKeyArn?: pulumi.Input<string>;
    tags?: Record<string, pulumi.Input<string>>;
}

/**
 * Fields logged for each flow: the default set plus the packet-level addresses and direction,
 * which show the real source behind an endpoint's network interface.
 */
export const flowLogFormat = [
    "version", "account-id", "vpc-id", "subnet-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log-status", "pkt-srcaddr", "pkt-dstaddr",
    "flow-direction", "tcp-flags",
].map((field) => `\${${field}}`).join(" ");

const componentType = "firefly:network:EndpointFlowLogs";

/** The settings part of the args, shared with components that embed flow logs. */
export type FlowLogSettings = Omit<EndpointFlowLogsArgs, "subnetIds" | "tags">;

/**
 * Checks flow log settings and fills in defaults. Components that embed EndpointFlowLogs call it
 * before creating anything, with `prefix` naming where the settings sit in their own args.
 */
export function checkFlowLogSettings(c: ArgChecker, settings: FlowLogSettings | undefined, prefix: string) {
    const retentionInDays = settings?.retentionInDays ?? 365;
    if (!(logRetentionDays as readonly number[]).includes(retentionInDays)) {
        c.fail(`${prefix}retentionInDays`, `must be one of CloudWatch Logs' retention periods (${logRetentionDays.join(", ")}); got ${retentionInDays}`);
    }
    const trafficType = c.oneOf(`${prefix}trafficType`, settings?.trafficType ?? "ALL", ["ALL", "ACCEPT", "REJECT"] as const);
    const interval = settings?.maxAggregationIntervalSeconds ?? 60;
    if (interval !== 60 && interval !== 600) c.fail(`${prefix}maxAggregationIntervalSeconds`, `must be 60 or 600 (got ${interval})`);
    return { retentionInDays, trafficType, interval };
}

/**
 * VPC flow logs for the subnets of an interface endpoint, delivered to a CloudWatch log group
 * with a retention period, through an IAM role only the flow-logs service of this account can
 * assume.
 */
export class EndpointFlowLogs extends pulumi.ComponentResource {
    public readonly logGroupName: pulumi.Output<string>;
    public readonly logGroupArn: pulumi.Output<string>;
    public readonly flowLogIds: pulumi.Output<string[]>;

    constructor(name: string, args: EndpointFlowLogsArgs, opts?: pulumi.ComponentResourceOptions) {
        const c: ArgChecker = new ArgChecker(componentType, name);
        c.nonEmptyArray("subnetIds", args.subnetIds, "give the subnets of the endpoint");
        args.subnetIds.forEach((s, i) => c.matches(`subnetIds[${i}]`, s, patterns.subnetId, "a subnet ID like subnet-0123456789abcdef0"));
        c.uniqueValues("subnetIds", args.subnetIds);
        const { retentionInDays, trafficType, interval } = checkFlowLogSettings(c, args, "");
        super(componentType, name, {}, opts);
        const parent = { parent: this };
        const tags = args.tags ?? {};

        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { namePrefix: `/firefly/flow-logs/${name}-`, retentionInDays, kmsKeyId: args.kmsKeyArn, tags },
            parent,
        );

        const identity = aws.getCallerIdentityOutput({}, parent);
        const region = aws.getRegionOutput({}, parent);
        const partition = aws.getPartitionOutput({}, parent);
        // Confused-deputy guard: only flow logs of this account and region may use the role.
        const role = new aws.iam.Role(
            `${name}-delivery`,
            {
                description: `Delivers VPC flow logs of ${name} to CloudWatch Logs`,
                assumeRolePolicy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                            Action: "sts:AssumeRole",
                            Condition: {
                                StringEquals: { "aws:SourceAccount": identity.accountId },
                                ArnLike: {
                                    "aws:SourceArn": pulumi.interpolate`arn:${partition.partition}:ec2:${region.region}:${identity.accountId}:vpc-flow-log/*`,
                                },
                            },
                        },
                    ],
                }),
                tags,
            },
            parent,
        );
        new aws.iam.RolePolicy(
            `${name}-delivery`,
            {
                role: role.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            Resource: [logGroup.arn, pulumi.interpolate`${logGroup.arn}:*`],
                        },
                        {
                            Effect: "Allow",
                            Action: "logs:DescribeLogGroups",
                            Resource: pulumi.interpolate`arn:${partition.partition}:logs:${region.region}:${identity.accountId}:log-group:*`,
                        },
                    ],
                }),
            },
            parent,
        );

        const flowLogs = args.subnetIds.map(
            (subnetId, index) =>
                new aws.ec2.FlowLog(
                    `${name}-subnet-${index}`,
                    {
                        subnetId,
                        trafficType,
                        logDestinationType: "cloud-watch-logs",
                        logDestination: logGroup.arn,
                        iamRoleArn: role.arn,
                        logFormat: flowLogFormat,
                        maxAggregationInterval: interval,
                        tags,
                    },
                    parent,
                ),
        );

        this.logGroupName = logGroup.name;
        this.logGroupArn = logGroup.arn;
        this.flowLogIds = pulumi.all(flowLogs.map((f) => f.id));
        this.registerOutputs({ logGroupName: this.logGroupName, logGroupArn: this.logGroupArn, flowLogIds: this.flowLogIds });
    }
}
