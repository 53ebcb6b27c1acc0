import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { offlinePlan } from "../helpers/offlinePlan";

// `npm start` on stacks that each break one rule AWS enforces (test/fixtures/aws-rules/<rule>): the
// offline plan fails as `pulumi up` would, with AWS's message, the rule, the resource and the fix.
const root = path.resolve(__dirname, "..", "..");
const fixtures = path.join(root, "test", "fixtures", "aws-rules");

/** Each rule, the resource that breaks it, and the start of what AWS (or the provider) says. */
const cases: Record<string, { resource: string; aws: RegExp }> = {
    "nlb-security-groups-at-creation": { resource: 'aws:lb/loadBalancer:LoadBalancer "legacy-nlb"', aws: /InvalidConfigurationRequest: You cannot set security groups on a Network Load Balancer which was created without any security groups\./ },
    "health-check-interval-range": { resource: 'aws:lb/targetGroup:TargetGroup "slow-checks"', aws: /ValidationError: 1 validation error detected: Value '600' at 'healthCheckIntervalSeconds'/ },
    "health-check-threshold-range": { resource: 'aws:lb/targetGroup:TargetGroup "careful-checks"', aws: /expected health_check\.0\.healthy_threshold to be in the range \(2 - 10\), got 20/ },
    "ip-target-outside-vpc": { resource: 'aws:lb/targetGroupAttachment:TargetGroupAttachment "datacenter-host"', aws: /ValidationError: The Availability Zone is required for IP address '192\.168\.40\.10' because it is not in the VPC/ },
    "endpoint-private-dns-one-owner": { resource: 'aws:vpc/endpointPrivateDns:EndpointPrivateDns "to-service-dns"', aws: /Setting the value both places can lead to unintended behavior and persistent differences/ },
    "lambda-after-role-policy": { resource: 'aws:lambda/function:Function "probe"', aws: /InvalidParameterValueException: The provided execution role does not have permissions to call CreateNetworkInterface on EC2/ },
    "invocation-after-security-group-rules": { resource: 'aws:lambda/invocation:Invocation "probe-run"', aws: /allowed no egress yet when it was invoked/ },
    "notification-after-topic-policy": { resource: 'aws:ec2/vpcEndpointConnectionNotification:VpcEndpointConnectionNotification "connection-events"', aws: /InvalidParameter: vpce\.amazonaws\.com is not authorized to publish/ },
    "load-balancer-name": { resource: 'aws:lb/targetGroup:TargetGroup "globex-industries-intl-tg-8443"', aws: /name 'globex-industries-intl-tg-8443-' plus 7 random chars is longer than maximum length 32/ },
    "iam-role-name": { resource: 'aws:iam/role:Role "globex-industries-international-apigateway-cloudwatch-role"', aws: /name 'globex-industries-international-apigateway-cloudwatch-role-' plus 7 random chars is longer than maximum length 64/ },
    "lambda-function-name": { resource: 'aws:lambda/function:Function "globex-industries-international-holdings-endpoint-probe-eu"', aws: /InvalidParameterValueException: 1 validation error detected: Value 'globex-industries-international-holdings-endpoint-probe-eu-\w{7}' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64/ },
    "s3-bucket-name": { resource: 'aws:s3/bucket:Bucket "globex-industries-international-holdings-tunnel-bundle-eu"', aws: /name 'globex-industries-international-holdings-tunnel-bundle-eu-' plus 7 random chars is longer than maximum length 63/ },
    "iam-role-name-characters": { resource: 'aws:iam/role:Role "partner-role"', aws: /invalid value for name \(must match \[\\w\+=,\.@-\]\)/ },
    "lambda-function-name-characters": { resource: 'aws:lambda/function:Function "endpoint-probe"', aws: /invalid value for function_name \(must be valid function name or function ARN\)/ },
    "resource-tags": { resource: 'aws:ec2/securityGroup:SecurityGroup "partner-clients"', aws: /InvalidParameterValue: Tag keys starting with 'aws:' are reserved for internal use/ },
    "load-balancer-one-subnet-per-zone": { resource: 'aws:lb/loadBalancer:LoadBalancer "partner-nlb"', aws: /InvalidConfigurationRequest: A load balancer cannot be attached to multiple subnets in the same Availability Zone\n/ },
    "endpoint-one-subnet-per-zone": {
        resource: 'aws:ec2/vpcEndpoint:VpcEndpoint "partner-api"',
        aws: /DuplicateSubnetsInSameZone: Found another VPC endpoint subnet in the availability zone of subnet-0c0ffee0c0ffee018\. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service\./,
    },
    "accepter-own-service": {
        resource: 'aws:ec2/vpcEndpointConnectionAccepter:VpcEndpointConnectionAccepter "acme-accepts"',
        aws: /waiting for VPC Endpoint Connection \(vpce-svc-\w+_vpce-\w+\) to be accepted: couldn't find resource/,
    },
    "elb-port-range": { resource: 'aws:lb/listener:Listener "partner-any-port"', aws: /expected "port" to be a valid port number, got: 0/ },
    "deregistration-delay-range": { resource: 'aws:lb/targetGroup:TargetGroup "relay-ssh"', aws: /expected deregistration_delay to be at between \(0\) and \(3600\), got 7200/ },
    "route53-record-name": { resource: 'aws:route53/record:Record "customer-record"', aws: /InvalidChangeBatch: FATAL problem: DomainLabelTooLong \(Domain label is too long\) encountered with 'globex-industries-international-holdings-and-subsidiaries-europe-gmbh'/ },
    "log-retention-days": { resource: 'aws:cloudwatch/logGroup:LogGroup "audit-logs"', aws: /expected retention_in_days to be one of \[0 1 3 5 7 14 30 60 90 120 150 180 365 400 545 731 1096 1827 2192 2557 2922 3288 3653\], got 2555/ },
    "security-group-description": { resource: 'aws:ec2/securityGroup:SecurityGroup "partner-clients"', aws: /InvalidParameterValue: Invalid security group description\. Valid descriptions are strings less than 256 characters from the following set: {2}a-zA-Z0-9\. _-:\/\(\)#,@\[\]\+=&;\{\}!\$\*/ },
    "security-group-rule-description": { resource: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule "partner-office-https"', aws: /InvalidParameterValue: Invalid rule description\. Valid descriptions are strings less than 256 characters/ },
    "probe-port-served": { resource: 'aws:lambda/invocation:Invocation "probe-run"', aws: /connect ETIMEDOUT: port 8443 of the target behind sg-\w+ is not served/ },
};

describe("offline plan: stacks that break AWS's rules", function () {
    this.timeout(60_000);

    it("has one fixture stack per rule, and no other", () => {
        const dirs = fs.readdirSync(fixtures, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
        assert.deepEqual(dirs, Object.keys(cases).sort());
    });

    for (const [rule, expected] of Object.entries(cases)) {
        it(`fails npm start on ${rule}, naming the rule, the resource and the fix`, () => {
            const run = offlinePlan("--project", path.join(fixtures, rule), "--no-policy");
            assert.equal(run.status, 3, run.stderr);
            assert.match(run.stderr, expected.aws);
            assert.ok(run.stderr.includes(`offline AWS rule ${rule} refused ${expected.resource}; fix: `), run.stderr);
        });
    }
});
