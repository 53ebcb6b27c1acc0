import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument, serviceTrustPolicy } from "../shared/iamPolicy";
import { ArgChecker, awsNameLimits, defaultLogRetentionDays, patterns } from "../shared/validation";
import { componentType as typeToken, withLegacyType } from "../shared/typeTokens";
import { Known, readyWhen, settingWithDefault } from "../shared/known";

/** Which traffic a flow log records. */
export const FlowLogTrafficType = {
    /** Accepted and rejected traffic (the default). */
    ALL: "ALL",
    /** Accepted traffic only. */
    ACCEPT: "ACCEPT",
    /** Rejected traffic only. */
    REJECT: "REJECT",
} as const;
/** Which traffic a flow log records. */
export type FlowLogTrafficType = (typeof FlowLogTrafficType)[keyof typeof FlowLogTrafficType];

/** Seconds over which VPC Flow Logs aggregates a flow into one record. */
export const FlowLogAggregationInterval = {
    /** One minute (the default). */
    OneMinute: 60,
    /** Ten minutes: fewer, cheaper records. */
    TenMinutes: 600,
} as const;
/** Seconds over which VPC Flow Logs aggregates a flow into one record. */
export type FlowLogAggregationInterval = (typeof FlowLogAggregationInterval)[keyof typeof FlowLogAggregationInterval];

/** The settings of a flow log, apart from what it logs. */
export interface FlowLogSettings {
    /**
     * Which traffic to record. Default `ALL`: rejected connections are what an investigation of an
     * endpoint usually looks for, accepted ones show who used it.
     */
    trafficType?: pulumi.Input<FlowLogTrafficType>;
    /** Days CloudWatch Logs keeps the records. Default 365. */
    retentionInDays?: pulumi.Input<number>;
    /** Seconds over which a flow is aggregated into one record: 60 (default) or 600 (fewer, cheaper records). */
    maxAggregationIntervalSeconds?: pulumi.Input<FlowLogAggregationInterval>;
    /**
     * KMS key ARN to encrypt the log group. Default: CloudWatch Logs' own encryption. The key policy
     * must allow `logs.<region>.amazonaws.com` to use it.
     */
    kmsKeyArn?: pulumi.Input<string>;
}

export interface EndpointFlowLogsArgs extends FlowLogSettings {
    /**
     * Subnets to log, one flow log each (named after the subnet): usually the subnets of an interface
     * endpoint, so its traffic is recorded without logging the rest of the VPC. Give this or `vpcId`.
     */
    subnetIds?: pulumi.Input<pulumi.Input<string>[]>;
    /** Log the whole VPC with one flow log instead. Give this or `subnetIds`. */
    vpcId?: pulumi.Input<string>;
    /** Tags for every resource the component creates. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
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
    /** Name of the CloudWatch log group receiving the records. */
    public readonly logGroupName: pulumi.Output<string>;
    /** ARN of the CloudWatch log group receiving the records. */
    public readonly logGroupArn: pulumi.Output<string>;
    /** The role VPC Flow Logs assumes to deliver records. */
    public readonly deliveryRoleArn: pulumi.Output<string>;
    /** One flow log ID (`fl-…`) per subnet, or one for the VPC. */
    public readonly flowLogIds: pulumi.Output<string[]>;

    constructor(name: string, args: EndpointFlowLogsArgs, opts?: pulumi.ComponentResourceOptions) {
        const checked = checkArgs(name, args);
        const tags = new ArgChecker(componentType, name).tags("tags", args.tags);
        super(componentType, name, {}, withLegacyType(opts, legacyComponentType));
        const parent = { parent: this };

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

        // One flow log per subnet, named after it: built now for a plain list, or once an Output list
        // (awsx's vpc.privateSubnetIds, or any list through the component provider) resolves.
        const flowLogs = checked.targets.map((targets) =>
            targets.map(
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
            ),
        );

        this.logGroupName = logGroup.name;
        this.logGroupArn = logGroup.arn;
        this.deliveryRoleArn = role.arn;
        this.flowLogIds = flowLogs.output((logs) => pulumi.all(logs.map((f) => f.id)));
        this.registerOutputs({
            logGroupName: this.logGroupName,
            logGroupArn: this.logGroupArn,
            deliveryRoleArn: this.deliveryRoleArn,
            flowLogIds: this.flowLogIds,
        });
    }
}

interface CheckedSettings {
    trafficType: pulumi.Input<FlowLogTrafficType>;
    retentionInDays: pulumi.Input<number>;
    maxAggregationIntervalSeconds: pulumi.Input<FlowLogAggregationInterval>;
    kmsKeyArn?: pulumi.Input<string>;
}

/** What each flow log records: one subnet (named after it), or the whole VPC. */
interface FlowLogTarget {
    suffix: string;
    target: { subnetId?: pulumi.Input<string>; vpcId?: pulumi.Input<string> };
}

interface CheckedArgs extends CheckedSettings {
    targets: Known<FlowLogTarget[]>;
}

/**
 * Checks flow-log settings with the defaults applied: plain values now, Outputs when they resolve.
 * `prefix` places the fields in the caller's arguments (e.g. `endpoint.flowLogs.`), so a component
 * that creates EndpointFlowLogs can refuse bad settings before it registers anything, naming its own
 * field. Returns the checked inputs to hand on.
 */
export function checkFlowLogSettings(c: ArgChecker, prefix: string, settings: FlowLogSettings): CheckedSettings {
    return {
        trafficType: settingWithDefault(settings.trafficType, FlowLogTrafficType.ALL, (value) => c.oneOf(`${prefix}trafficType`, value, Object.values(FlowLogTrafficType))),
        retentionInDays: settingWithDefault(settings.retentionInDays, defaultLogRetentionDays, (value) => c.logRetention(`${prefix}retentionInDays`, value)),
        maxAggregationIntervalSeconds: settingWithDefault(settings.maxAggregationIntervalSeconds, FlowLogAggregationInterval.OneMinute, (value) => {
            if (value !== 60 && value !== 600) {
                c.fail(`${prefix}maxAggregationIntervalSeconds`, `must be 60 or 600, the intervals VPC Flow Logs supports (got ${JSON.stringify(value)})`);
            }
        }),
        kmsKeyArn:
            settings.kmsKeyArn === undefined
                ? undefined
                : c.matches(`${prefix}kmsKeyArn`, settings.kmsKeyArn, patterns.kmsKeyArn, "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"),
    };
}

function checkArgs(name: string, args: EndpointFlowLogsArgs): CheckedArgs {
    const c = new ArgChecker(componentType, name);
    if (!args) c.fail("args", "are required");
    // The delivery role is named after the component (`<name>-role`).
    c.autoNameFits(`${name}-role`, awsNameLimits.iamRole);
    const vpcId = args.vpcId === undefined ? undefined : c.matches("vpcId", args.vpcId, patterns.vpcId, "a VPC ID like vpc-0123456789abcdef0");
    const targets = Known.fromArgs({ subnetIds: args.subnetIds }, { subnetIds: readyWhen.plainArray }, ({ subnetIds }): FlowLogTarget[] => {
        if (subnetIds !== undefined && !Array.isArray(subnetIds)) c.fail("subnetIds", `must be a list of subnet IDs (got ${JSON.stringify(subnetIds)})`);
        const list = subnetIds ?? [];
        if (vpcId !== undefined && list.length > 0) c.fail("vpcId", "and subnetIds exclude each other; log either the endpoint's subnets or the whole VPC");
        if (vpcId !== undefined) return [{ suffix: "vpc", target: { vpcId } }];
        c.nonEmptyArray("subnetIds", list, "give the endpoint's subnets, or vpcId to log the whole VPC");
        c.uniqueValues("subnetIds", list);
        return list.map((s, index) => {
            const subnetId = c.matches(`subnetIds[${index}]`, s, patterns.subnetId, "a subnet ID like subnet-0123456789abcdef0");
            // A plain subnet ID names its flow log, so removing one subnet leaves the others alone.
            return { suffix: typeof subnetId === "string" ? subnetId : `subnet-${index}`, target: { subnetId } };
        });
    });
    return { ...checkFlowLogSettings(c, "", args), targets };
}
