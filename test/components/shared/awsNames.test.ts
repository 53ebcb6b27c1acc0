// A component's name becomes part of the names and descriptions of what it creates: Pulumi names
// a resource `<logical name>-<7 random characters>`, and AWS caps some names (load balancers and
// target groups 32, IAM roles 64) and limits the characters of security group descriptions. A name
// that would break one is refused when the component is built, naming the limit and the longest
// name that fits, instead of by AWS (or Pulumi's autonaming) in the middle of pulumi up.
import * as assert from "node:assert/strict";
import { EndpointFlowLogs } from "../../../components/privatelink/endpointFlowLogs";
import { PrivateLinkEndpoint } from "../../../components/privatelink/privateLinkEndpoint";
import { PrivateLinkService } from "../../../components/privatelink/privateLinkService";
import { ConnectivityCheck } from "../../../components/privatelink/connectivityCheck";
import { PrivateApi } from "../../../components/api/privateApi";
import { TunnelConnector } from "../../../components/tunnel/tunnelConnector";
import { TunnelRelay } from "../../../components/tunnel/tunnelRelay";
import { ArgChecker, awsNameLimits } from "../../../components/shared/validation";
import { deploy } from "../../helpers/pulumi";
import { endpointArgs, serviceArgs, subnetIds, vpcId } from "../../helpers/privateLink";
import { connectorArgs, relayArgs } from "../../helpers/tunnel";

/** Deploys a program that builds one component, against the offline cloud. */
function run(build: () => unknown): ReturnType<typeof deploy> {
    return deploy(() => {
        build();
    });
}

describe("component names that AWS would refuse in what they create", () => {
    describe("ArgChecker.autoNameFits", () => {
        const c = new ArgChecker("private-connectivity:index:Test", "acme");
        it("accepts a generated name of exactly the limit, and refuses one character more, naming the longest name that fits", () => {
            c.autoNameFits(`acme-${"x".repeat(32 - 8 - 5)}`, awsNameLimits.targetGroup);
            assert.throws(
                () => c.autoNameFits(`acme-${"x".repeat(32 - 8 - 4)}`, awsNameLimits.targetGroup),
                /Test "acme": name is too long: Pulumi names the target group "acme-x{20}-" plus 7 random characters, 33 in all, and Elastic Load Balancing allows 32; use a name of at most 3 characters/,
            );
        });
        it("refuses characters a load balancer name may not have, and a role name may", () => {
            assert.throws(() => new ArgChecker("T", "acme_eu").autoNameFits("acme_eu-nlb", awsNameLimits.loadBalancer), /name makes the load balancer "acme_eu-nlb", a name Elastic Load Balancing refuses/);
            new ArgChecker("T", "acme_eu").autoNameFits("acme_eu-role", awsNameLimits.iamRole);
        });
    });

    describe("PrivateLinkService: its NLB (<name>-nlb) and target groups (<name>-tg-<port>) have 32 characters", () => {
        it("refuses a long customer name at construction, naming the NLB", () => {
            assert.throws(() => new PrivateLinkService("globex-industries-intl", serviceArgs()), /PrivateLinkService "globex-industries-intl": name is too long: Pulumi names the load balancer "globex-industries-intl-nlb-" plus 7 random characters, 34 in all, and Elastic Load Balancing allows 32; use a name of at most 20 characters/);
        });
        it("refuses a name that fits the NLB but not a listener's target group, naming the port", async () => {
            await assert.rejects(
                run(() => new PrivateLinkService("globex-industries", serviceArgs({ listeners: [{ port: 443 }, { port: 8443 }] }))),
                /name is too long: Pulumi names the target group "globex-industries-tg-8443-" plus 7 random characters, 33 in all.*at most 16 characters/,
            );
        });
        it("deploys the longest name that fits against the offline cloud", async () => {
            await run(() => new PrivateLinkService("globex-industrie", serviceArgs({ listeners: [{ port: 443 }, { port: 8443 }] })));
        });
        it("refuses a character AWS does not take in an NLB's name", () => {
            assert.throws(() => new PrivateLinkService("acme_eu", serviceArgs()), /name makes the load balancer "acme_eu-nlb", a name Elastic Load Balancing refuses \(letters, digits and hyphens, not starting with a hyphen\)/);
        });
    });

    describe("TunnelRelay: its NLBs, target groups and host role", () => {
        it("refuses a name whose platform NLB (<name>-platform-nlb) would be over 32 characters when ports are forwarded", async () => {
            await assert.rejects(run(() => new TunnelRelay("relay-useast", relayArgs())), /TunnelRelay "relay-useast": name is too long: Pulumi names the load balancer "relay-useast-platform-nlb-" plus 7 random characters, 33 in all.*at most 11 characters/);
        });
        it("refuses a name over 20 characters for its public NLB", () => {
            assert.throws(() => new TunnelRelay("firefly-ssh-relay-eu-1", relayArgs()), /name is too long: Pulumi names the load balancer "firefly-ssh-relay-eu-1-nlb-"/);
        });
    });

    describe("IAM roles named after the component (64 characters)", () => {
        const long = (n: number) => `acme-${"x".repeat(n - 5)}`;
        it("PrivateApi with the account's logging role: <name>-apigateway-cloudwatch-role", async () => {
            const routes = [{ path: "/x", method: "GET" as const, integration: { type: "MOCK" as const } }];
            await assert.rejects(
                run(() => new PrivateApi(long(30), { vpcEndpointIds: ["vpce-0a1b2c3d4e5f60718"], manageAccountCloudWatchRole: true, routes })),
                /name is too long: Pulumi names the IAM role "acme-x{25}-apigateway-cloudwatch-role-" plus 7 random characters, 65 in all, and IAM allows 64; use a name of at most 29 characters/,
            );
            await run(() => new PrivateApi(long(29), { vpcEndpointIds: ["vpce-0a1b2c3d4e5f60718"], manageAccountCloudWatchRole: true, routes }));
            await run(() => new PrivateApi(long(30), { vpcEndpointIds: ["vpce-0a1b2c3d4e5f60718"], routes }));
        });
        it("EndpointFlowLogs (<name>-role) and PrivateLinkEndpoint (<name>-flow-logs-role)", async () => {
            assert.throws(() => new EndpointFlowLogs(long(52), { subnetIds }), /EndpointFlowLogs "acme-x{47}": name is too long.*at most 51 characters/);
            await assert.rejects(run(() => new PrivateLinkEndpoint(long(42), endpointArgs())), /PrivateLinkEndpoint "acme-x{37}": name is too long: Pulumi names the IAM role "acme-x{37}-flow-logs-role-".*at most 41 characters/);
        });
        it("TunnelConnector: its bundle bucket (<name>-bundle, 63) before its role", () => {
            assert.throws(() => new TunnelConnector(long(49), connectorArgs()), /TunnelConnector "acme-x{44}": name is too long: Pulumi names the S3 bucket "acme-x{44}-bundle-" plus 7 random characters, 64 in all, and S3 allows 63; use a name of at most 48 characters/);
            assert.throws(() => new TunnelConnector("acme_tunnel", connectorArgs()), /name makes the S3 bucket "acme_tunnel-bundle", a name S3 refuses/);
        });
        it("ConnectivityCheck: its probe function (<name>-probe, 64)", async () => {
            const args = { hostname: "acme.privatelink.firefly.internal", port: 443, vpcId, subnetIds, targetSecurityGroupId: "sg-0a1b2c3d4e5f60718" };
            await assert.rejects(run(() => new ConnectivityCheck(long(51), args)), /ConnectivityCheck "acme-x{46}": name is too long: Pulumi names the Lambda function "acme-x{46}-probe-" plus 7 random characters, 65 in all, and Lambda allows 64; use a name of at most 50 characters/);
            await run(() => new ConnectivityCheck(long(50), args));
        });
    });

    describe("security group descriptions with the component's name", () => {
        it("refuses a character EC2 does not take, and 256 characters", () => {
            const c = new ArgChecker("T", "acme");
            c.securityGroupDescriptionFits("Connectivity check acme.eu_1: egress to the target on 443 only");
            c.securityGroupDescriptionFits("d".repeat(255));
            assert.throws(() => c.securityGroupDescriptionFits("Connectivity check acme's-check: egress"), /T "acme": name makes the security group description "Connectivity check acme's-check: egress", which EC2 refuses \("'": only letters, digits, spaces and \._-:\/\(\)#,@\[\]\+=&;\{\}!\$\* are allowed\); use a name of those characters/);
            assert.throws(() => c.securityGroupDescriptionFits("Gruppe für acme"), /which EC2 refuses \("ü"/);
            assert.throws(() => c.securityGroupDescriptionFits("d".repeat(256)), /256 characters long, over the 255 EC2 allows/);
        });
        it("ConnectivityCheck refuses a name with an apostrophe (its role's name, checked first, refuses it too)", async () => {
            await assert.rejects(
                run(() => new ConnectivityCheck("acme's-check", { hostname: "acme.privatelink.firefly.internal", port: 443, vpcId, subnetIds, targetSecurityGroupId: "sg-0a1b2c3d4e5f60718" })),
                /ConnectivityCheck "acme's-check": name makes the IAM role "acme's-check-role", a name IAM refuses/,
            );
        });
        it("PrivateLinkEndpoint refuses so many ports that its group's description passes 255 characters, naming ports", async () => {
            const ports = Array.from({ length: 40 }, (_, i) => 40000 + i);
            await assert.rejects(run(() => new PrivateLinkEndpoint("acme", endpointArgs({ ports }))), /PrivateLinkEndpoint "acme": ports makes the security group description 3\d\d characters long, over the 255 EC2 allows/);
        });
    });
});
