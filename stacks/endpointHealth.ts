import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * Per-customer endpoint health on the platform side. AWS publishes no CloudWatch metric for the
 * state of an interface endpoint on the consumer side, and EventBridge delivers no event when it
 * changes (only the service owner's connection notifications, in the customer's account). So one
 * small Lambda, run every 5 minutes by an EventBridge schedule, reads every customer endpoint's
 * state (DescribeVpcEndpoints) and publishes `Firefly/PrivateLink EndpointAvailable` (1 available,
 * 0 otherwise) with the dimension `Customer`; each customer gets an alarm on its own series.
 * Missing data counts as not available, so a broken checker alarms too.
 */
export const endpointHealthNamespace = "Firefly/PrivateLink";
export const endpointHealthMetric = "EndpointAvailable";

const checkerSource = `"use strict";
const { EC2Client, DescribeVpcEndpointsCommand } = require("@aws-sdk/client-ec2");
const { CloudWatchClient, PutMetricDataCommand } = require("@aws-sdk/client-cloudwatch");
const ec2 = new EC2Client({});
const cloudwatch = new CloudWatchClient({});
exports.handler = async () => {
    const endpoints = JSON.parse(process.env.ENDPOINTS);
    const found = await ec2.send(new DescribeVpcEndpointsCommand({ Filters: [{ Name: "vpc-endpoint-id", Values: Object.values(endpoints) }] }));
    const states = Object.fromEntries((found.VpcEndpoints || []).map((e) => [e.VpcEndpointId, String(e.State).toLowerCase()]));
    const byCustomer = Object.fromEntries(Object.entries(endpoints).map(([customer, id]) => [customer, states[id] || "missing"]));
    await cloudwatch.send(new PutMetricDataCommand({
        Namespace: "${endpointHealthNamespace}",
        MetricData: Object.entries(byCustomer).map(([customer, state]) => ({
            MetricName: "${endpointHealthMetric}",
            Dimensions: [{ Name: "Customer", Value: customer }],
            Value: state === "available" ? 1 : 0,
            Unit: "Count",
        })),
    }));
    return byCustomer;
};
`;

export interface EndpointToWatch {
    name: string;
    endpointId: pulumi.Input<string>;
    /** SNS topics (or other alarm actions) told when this customer's endpoint is not available. */
    alarmActions: string[];
}

/** Creates the shared checker and one alarm per customer; returns the alarm names by customer. */
export function deployEndpointHealth(name: string, endpoints: EndpointToWatch[]): { functionName: pulumi.Output<string>; alarmNames: Record<string, pulumi.Output<string>> } {
    const role = new aws.iam.Role(`${name}-role`, {
        assumeRolePolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
        }),
    });
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { name: `/aws/lambda/${name}`, retentionInDays: 365 });
    new aws.iam.RolePolicy(`${name}-policy`, {
        role: role.name,
        policy: logGroup.arn.apply((logArn) =>
            JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    // DescribeVpcEndpoints supports no resource-level permissions.
                    { Effect: "Allow", Action: "ec2:DescribeVpcEndpoints", Resource: "*" },
                    { Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": endpointHealthNamespace } } },
                    { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logArn}:*` },
                ],
            }),
        ),
    });
    const fn = new aws.lambda.Function(
        name,
        {
            name,
            runtime: "nodejs20.x",
            handler: "index.handler",
            role: role.arn,
            timeout: 30,
            code: new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset(checkerSource) }),
            environment: { variables: { ENDPOINTS: pulumi.output(Object.fromEntries(endpoints.map((e) => [e.name, e.endpointId]))).apply((m) => JSON.stringify(m)) } },
        },
        { dependsOn: [logGroup] },
    );
    const schedule = new aws.cloudwatch.EventRule(`${name}-schedule`, { scheduleExpression: "rate(5 minutes)", description: "Publishes each customer endpoint's state as a metric" });
    new aws.lambda.Permission(`${name}-invoke`, { action: "lambda:InvokeFunction", function: fn.name, principal: "events.amazonaws.com", sourceArn: schedule.arn });
    new aws.cloudwatch.EventTarget(`${name}-target`, { rule: schedule.name, arn: fn.arn });

    const alarmNames: Record<string, pulumi.Output<string>> = {};
    for (const endpoint of endpoints) {
        const alarm = new aws.cloudwatch.MetricAlarm(`${endpoint.name}-endpoint-not-available`, {
            alarmDescription: pulumi.interpolate`PrivateLink endpoint ${endpoint.endpointId} of customer ${endpoint.name} is not available (pendingAcceptance, rejected, failed or deleted) for 10 minutes`,
            namespace: endpointHealthNamespace,
            metricName: endpointHealthMetric,
            dimensions: { Customer: endpoint.name },
            statistic: "Minimum",
            period: 300,
            evaluationPeriods: 2,
            threshold: 1,
            comparisonOperator: "LessThanThreshold",
            treatMissingData: "breaching",
            alarmActions: endpoint.alarmActions,
            okActions: endpoint.alarmActions,
        });
        alarmNames[endpoint.name] = alarm.name;
    }
    return { functionName: fn.name, alarmNames };
}
