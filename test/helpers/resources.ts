// Finding what a program registered: the type tokens the tests look for, and lookups by type and
// by name. One place for the tokens, so that a test cannot look for a misspelt type and find
// nothing: cloud resources' tokens come from the provider SDK's own classes; our components'
// tokens are written out, so that a test checks the token each component declares.
import * as assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as tls from "@pulumi/tls";
import type { ProgramRun, RecordedResource } from "../../offline/runProgram";

/** The type token of a provider SDK resource class (`aws.ec2.VpcEndpoint` -> "aws:ec2/vpcEndpoint:VpcEndpoint"). */
export function typeTokenOf(cls: abstract new (...args: never[]) => unknown): string {
    const token: unknown = (cls as unknown as { __pulumiType?: unknown }).__pulumiType;
    assert.ok(typeof token === "string", `${cls.name} has no __pulumiType`);
    return token;
}

/** Type tokens, by what the tests call the resources. */
export const types = {
    // Our components (components/*.ts).
    privateLinkService: "private-connectivity:index:PrivateLinkService",
    privateLinkEndpoint: "private-connectivity:index:PrivateLinkEndpoint",
    connectivityCheck: "private-connectivity:index:ConnectivityCheck",
    endpointFlowLogs: "private-connectivity:index:EndpointFlowLogs",
    privateApi: "private-connectivity:index:PrivateApi",
    tunnelConnector: "private-connectivity:index:TunnelConnector",
    tunnelRelay: "private-connectivity:index:TunnelRelay",
    // Pulumi's own.
    stackReference: "pulumi:pulumi:StackReference",
    awsProvider: "pulumi:providers:aws",
    // Networking.
    vpc: typeTokenOf(aws.ec2.Vpc),
    vpcEndpoint: typeTokenOf(aws.ec2.VpcEndpoint),
    vpcEndpointService: typeTokenOf(aws.ec2.VpcEndpointService),
    vpcEndpointConnectionAccepter: typeTokenOf(aws.ec2.VpcEndpointConnectionAccepter),
    vpcEndpointConnectionNotification: typeTokenOf(aws.ec2.VpcEndpointConnectionNotification),
    endpointPrivateDns: typeTokenOf(aws.vpc.EndpointPrivateDns),
    endpointServicePrivateDnsVerification: typeTokenOf(aws.vpc.EndpointServicePrivateDnsVerification),
    securityGroup: typeTokenOf(aws.ec2.SecurityGroup),
    securityGroupIngressRule: typeTokenOf(aws.vpc.SecurityGroupIngressRule),
    securityGroupEgressRule: typeTokenOf(aws.vpc.SecurityGroupEgressRule),
    flowLog: typeTokenOf(aws.ec2.FlowLog),
    loadBalancer: typeTokenOf(aws.lb.LoadBalancer),
    listener: typeTokenOf(aws.lb.Listener),
    targetGroup: typeTokenOf(aws.lb.TargetGroup),
    targetGroupAttachment: typeTokenOf(aws.lb.TargetGroupAttachment),
    route53Zone: typeTokenOf(aws.route53.Zone),
    route53Record: typeTokenOf(aws.route53.Record),
    eip: typeTokenOf(aws.ec2.Eip),
    // Hosts.
    launchTemplate: typeTokenOf(aws.ec2.LaunchTemplate),
    autoscalingGroup: typeTokenOf(aws.autoscaling.Group),
    // API Gateway.
    restApi: typeTokenOf(aws.apigateway.RestApi),
    restApiPolicy: typeTokenOf(aws.apigateway.RestApiPolicy),
    apiResource: typeTokenOf(aws.apigateway.Resource),
    apiMethod: typeTokenOf(aws.apigateway.Method),
    apiIntegration: typeTokenOf(aws.apigateway.Integration),
    apiMethodResponse: typeTokenOf(aws.apigateway.MethodResponse),
    apiIntegrationResponse: typeTokenOf(aws.apigateway.IntegrationResponse),
    apiAuthorizer: typeTokenOf(aws.apigateway.Authorizer),
    apiModel: typeTokenOf(aws.apigateway.Model),
    apiRequestValidator: typeTokenOf(aws.apigateway.RequestValidator),
    apiDeployment: typeTokenOf(aws.apigateway.Deployment),
    apiStage: typeTokenOf(aws.apigateway.Stage),
    apiMethodSettings: typeTokenOf(aws.apigateway.MethodSettings),
    apiGatewayAccount: typeTokenOf(aws.apigateway.Account),
    apiDomainName: typeTokenOf(aws.apigateway.DomainName),
    apiBasePathMapping: typeTokenOf(aws.apigateway.BasePathMapping),
    apiDomainNameAccessAssociation: typeTokenOf(aws.apigateway.DomainNameAccessAssociation),
    // IAM, logs, alarms, notifications, functions.
    iamRole: typeTokenOf(aws.iam.Role),
    iamRolePolicy: typeTokenOf(aws.iam.RolePolicy),
    iamRolePolicyAttachment: typeTokenOf(aws.iam.RolePolicyAttachment),
    iamInstanceProfile: typeTokenOf(aws.iam.InstanceProfile),
    logGroup: typeTokenOf(aws.cloudwatch.LogGroup),
    metricAlarm: typeTokenOf(aws.cloudwatch.MetricAlarm),
    snsTopic: typeTokenOf(aws.sns.Topic),
    snsTopicPolicy: typeTokenOf(aws.sns.TopicPolicy),
    lambdaFunction: typeTokenOf(aws.lambda.Function),
    lambdaInvocation: typeTokenOf(aws.lambda.Invocation),
    lambdaPermission: typeTokenOf(aws.lambda.Permission),
    // Secrets and storage.
    secret: typeTokenOf(aws.secretsmanager.Secret),
    secretVersion: typeTokenOf(aws.secretsmanager.SecretVersion),
    s3Bucket: typeTokenOf(aws.s3.Bucket),
    s3BucketObject: typeTokenOf(aws.s3.BucketObjectv2),
    // Other providers.
    localCommand: typeTokenOf(command.local.Command),
    tlsPrivateKey: typeTokenOf(tls.PrivateKey),
} as const;

/** Resources of one type token, e.g. `types.loadBalancer`. */
export function ofType(run: ProgramRun, type: string): RecordedResource[] {
    return run.resources.filter((r) => r.type === type);
}

/** The single resource of a type; fails the test when there are none or several. */
export function single(run: ProgramRun, type: string): RecordedResource {
    const found = ofType(run, type);
    if (found.length !== 1) {
        throw new Error(`expected exactly one ${type}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
    }
    return found[0]!;
}

/** The single resource with this Pulumi name (and type, when given); fails the test when there are none or several. */
export function named(run: ProgramRun, name: string, type?: string): RecordedResource {
    const found = run.resources.filter((r) => r.name === name && (type === undefined || r.type === type));
    assert.equal(
        found.length,
        1,
        `expected exactly one ${type ?? "resource"} named ${name}, found ${found.length}; ${type ?? "resources"}: ${(type ? ofType(run, type) : run.resources).map((r) => r.name).join(", ")}`,
    );
    return found[0]!;
}
