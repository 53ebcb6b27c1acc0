import * as assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import { PrivateLinkEndpoint } from "../../components";
import { OfflineCloud } from "../../offline/cloud";
import { availabilityZone, subnetAvailabilityZone } from "../../offline/fakeAws";
import { loadProgram, readProject } from "../../offline/project";
import { runProgram } from "../../offline/runProgram";
import { readStackSettings, SimulatedDeployment, StackSettings } from "../../offline/simulate";
import { exampleDeployment, runStack, withConfig } from "../helpers/stacks";
import { ofType, types } from "../helpers/resources";

// Issue 15 (1, 5): the offline cloud is as strict as AWS where a platform VPC serves many customers,
// and refuses with AWS's own words what the single-customer layout (or careless placement) did.

const project = readProject();
const program = loadProgram(project, { reloadModules: false });
const customerRef = "firefly/private-connectivity/customer-dev";
const globexRef = "firefly/private-connectivity/customer-globex-dev";

/** One `pulumi up` of a stack in a cloud shared with other stacks' updates. */
function update(settings: StackSettings, cloud: OfflineCloud, stackOutputs: Record<string, Record<string, unknown>> = {}) {
    return runProgram(program, { project: project.name, stack: settings.stack, config: settings.config, accountId: settings.accountId, region: settings.region, stackOutputs, cloud });
}

describe("offline cloud: AWS's rules for a platform VPC with many customers", () => {
    const firefly = readStackSettings("firefly-dev");
    const entries = firefly.config["private-connectivity:customers"] as Array<Record<string, unknown>>;
    const only = (name: string, stack: string, changes: Record<string, unknown> = {}) => ({
        ...withConfig(firefly, { customers: [entries.find((c) => c.name === name)!], migratedFrom: undefined, ...changes }),
        stack,
    });
    let deployment: SimulatedDeployment;
    let customerOutputs: Record<string, Record<string, unknown>>;
    before(async () => {
        deployment = await exampleDeployment();
        customerOutputs = { [customerRef]: deployment.final.get("customer-dev")!.outputs, [globexRef]: deployment.final.get("customer-globex-dev")!.outputs };
    });

    describe("AZ IDs, not names: an endpoint goes only where its service is offered", () => {
        it("maps AZ names to IDs per account, so one name is a different zone in another account", () => {
            assert.deepEqual(availabilityZone(0, "222222222222", "us-east-1"), { name: "us-east-1a", id: "use1-az1" });
            assert.deepEqual(availabilityZone(0, "987654321098", "us-east-1"), { name: "us-east-1a", id: "use1-az3" });
            assert.equal(subnetAvailabilityZone("subnet-0910be10910be1015", "987654321098", "us-east-1").id, "use1-az1");
        });

        it("refuses, with AWS's message, an endpoint in every platform subnet (the old placement) when the service skips one's AZ", async () => {
            const cloud = new OfflineCloud();
            const globex = await update(readStackSettings("customer-globex-dev"), cloud, { "firefly/private-connectivity/firefly-dev": {} });
            const serviceName = String(globex.outputs.endpointServiceName);
            assert.deepEqual(globex.outputs.serviceAvailabilityZoneIds, ["use1-az1", "use1-az3"]);
            await assert.rejects(
                runProgram(
                    () => {
                        new PrivateLinkEndpoint("globex", {
                            vpcId: "vpc-0f1ef1ef1ef1ef101",
                            subnetIds: ["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112"],
                            serviceName,
                            ports: [443],
                            sourceSecurityGroupIds: ["sg-0f1ef1ef1ef1ef1a1"],
                            dns: { zoneName: "privatelink.firefly.internal", recordName: "globex" },
                        });
                    },
                    { project: project.name, stack: "firefly-dev", accountId: "222222222222", region: "us-east-1", cloud },
                ),
                new RegExp(`InvalidParameter: The VPC endpoint service ${serviceName.replace(/\./g, "\\.")} does not support the availability zone of the subnet: subnet-0f1ef1ef1ef1ef112\\.`),
            );
        });

        it("the platform stack places globex's endpoint only in the subnet whose AZ ID globex offers", () => {
            const run = deployment.final.get("firefly-dev")!;
            const endpoint = (name: string) => ofType(run, types.vpcEndpoint).find((e) => e.name === `${name}-endpoint`)!;
            assert.deepEqual(endpoint("globex").inputs.subnetIds, ["subnet-0f1ef1ef1ef1ef111"]);
            assert.deepEqual(endpoint("acme").inputs.subnetIds, ["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112"]);
        });

        it("fails clearly, naming the customer and the AZ IDs, when no platform subnet is in an offered AZ", async () => {
            const settings = withConfig(firefly, {
                customers: [{ ...entries[0], stack: undefined, endpointServiceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f60718", availabilityZoneIds: ["use1-az5"] }],
            });
            await assert.rejects(runStack(settings), /private-connectivity:customers\[0\]: none of private-connectivity:subnetIds is in an AZ the endpoint service of "acme" offers \(it offers use1-az5; the subnets are in subnet-0f1ef1ef1ef1ef111 use1-az1, subnet-0f1ef1ef1ef1ef112 use1-az2\)/);
        });
    });

    describe("each customer accepts only endpoints to its own service", () => {
        it("refuses, as the provider fails, a customer stack that accepts another customer's endpoint; its own passes", async () => {
            const cloud = new OfflineCloud();
            const fireflyRef = "firefly/private-connectivity/firefly-dev";
            const acme = readStackSettings("customer-dev");
            const acmeRun = await update(acme, cloud, { [fireflyRef]: {} });
            const globexRun = await update(readStackSettings("customer-globex-dev"), cloud, { [fireflyRef]: {} });
            const platform = await update(firefly, cloud, { [customerRef]: acmeRun.outputs, [globexRef]: globexRun.outputs });
            const endpointIds = platform.outputs.endpointIds as Record<string, string[]>;
            // What the stack reference hands it: its own entry only.
            await update(acme, cloud, { [fireflyRef]: platform.outputs });
            // A copied config (or a stale ID) in acceptEndpointIds: globex's endpoint requests globex's service.
            const serviceId = String(acmeRun.outputs.endpointServiceName).split(".").pop()!;
            const wrong = endpointIds.globex![0]!;
            await assert.rejects(
                update(withConfig(acme, { acceptEndpointIds: [wrong] }), cloud, { [fireflyRef]: platform.outputs }),
                new RegExp(
                    `waiting for VPC Endpoint Connection \\(${serviceId}_${wrong}\\) to be accepted: couldn't find resource\\n {4}offline AWS rule accepter-own-service refused aws:ec2/vpcEndpointConnectionAccepter:VpcEndpointConnectionAccepter "[^"]+"; fix: accept only endpoints that request ${serviceId}: ${wrong} requests com\\.amazonaws\\.vpce\\.us-east-1\\.${String(globexRun.outputs.endpointServiceName).split(".").pop()}`,
                ),
            );
        });
    });

    describe("one subnet per Availability Zone, as AWS takes them", () => {
        it("refuses two platform subnets in one AZ at config load, naming the key and both subnets, before any endpoint is created", async () => {
            // …111 and …117 are both use1-az1 in the offline cloud.
            const settings = withConfig(firefly, { subnetIds: ["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112", "subnet-0f1ef1ef1ef1ef117"] });
            await assert.rejects(
                runStack(settings),
                /private-connectivity:subnetIds: subnet-0f1ef1ef1ef1ef111 and subnet-0f1ef1ef1ef1ef117 are both in use1-az1, and an interface endpoint takes one subnet per Availability Zone \(AWS refuses a second\); keep one of them/,
            );
        });

        it("refuses two of the relay's public subnets in one AZ, for its internet-facing NLB", async () => {
            const tunnel = { ...(firefly.config["private-connectivity:tunnel"] as Record<string, unknown>), publicSubnetIds: ["subnet-0f1ef1ef1ef1ef121", "subnet-0f1ef1ef1ef1ef127"] };
            await assert.rejects(
                runStack(withConfig(firefly, { tunnel })),
                /private-connectivity:tunnel\.publicSubnetIds: subnet-0f1ef1ef1ef1ef121 and subnet-0f1ef1ef1ef1ef127 are both in use1-az1, and a load balancer takes one subnet per Availability Zone \(AWS refuses a second\); keep one of them/,
            );
        });

        it("refuses the same in a customer stack, whose NLB goes in its subnetIds", async () => {
            // …11 and …17 are both in the customer account's first AZ.
            const acme = readStackSettings("customer-dev");
            const settings = withConfig(acme, { subnetIds: ["subnet-0c0ffee0c0ffee011", "subnet-0c0ffee0c0ffee012", "subnet-0c0ffee0c0ffee017"] });
            const zone = subnetAvailabilityZone("subnet-0c0ffee0c0ffee011", acme.accountId, acme.region).id;
            await assert.rejects(
                update(settings, new OfflineCloud(), { "firefly/private-connectivity/firefly-dev": {} }),
                new RegExp(`private-connectivity:subnetIds: subnet-0c0ffee0c0ffee011 and subnet-0c0ffee0c0ffee017 are both in ${zone}, and a load balancer \\(and an interface endpoint\\) takes one subnet per Availability Zone \\(AWS refuses a second\\); keep one of them`),
            );
        });

        it("refuses, with AWS's messages, a load balancer or an interface endpoint given two subnets in one AZ, and takes one per AZ", async () => {
            const run = (subnets: string[], what: "nlb" | "endpoint" | "gateway") =>
                runProgram(
                    () => {
                        if (what === "nlb") new aws.lb.LoadBalancer("nlb", { loadBalancerType: "network", internal: true, subnetMappings: subnets.map((subnetId) => ({ subnetId })) });
                        else new aws.ec2.VpcEndpoint("endpoint", { vpcId: "vpc-0f1ef1ef1ef1ef101", vpcEndpointType: what === "endpoint" ? "Interface" : "Gateway", serviceName: "com.amazonaws.us-east-1.s3", ...(what === "endpoint" ? { subnetIds: subnets } : { routeTableIds: ["rtb-0f1ef1ef1ef1ef101"] }) });
                    },
                    { project: project.name, stack: "firefly-dev", accountId: "222222222222", region: "us-east-1", cloud: new OfflineCloud() },
                );
            await assert.rejects(run(["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef117"], "nlb"), /InvalidConfigurationRequest: A load balancer cannot be attached to multiple subnets in the same Availability Zone\n {4}offline AWS rule load-balancer-one-subnet-per-zone refused aws:lb\/loadBalancer:LoadBalancer "nlb"; fix: give one subnet per Availability Zone: subnet-0f1ef1ef1ef1ef111 and subnet-0f1ef1ef1ef1ef117 are both in us-east-1a \(use1-az1\)/);
            await assert.rejects(run(["subnet-0f1ef1ef1ef1ef112", "subnet-0f1ef1ef1ef1ef118"], "endpoint"), /DuplicateSubnetsInSameZone: Found another VPC endpoint subnet in the availability zone of subnet-0f1ef1ef1ef1ef118\./);
            await run(["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112", "subnet-0f1ef1ef1ef1ef113"], "nlb");
            await run(["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112"], "endpoint");
            // A gateway endpoint has no subnets of its own: not judged.
            await run([], "gateway");
        });

        it("offers an endpoint service in the AZs of its NLB's subnet mappings, as of its subnets", async () => {
            await assert.rejects(
                runProgram(
                    () => {
                        const nlb = new aws.lb.LoadBalancer("nlb", { loadBalancerType: "network", internal: true, subnetMappings: [{ subnetId: "subnet-0f1ef1ef1ef1ef111" }] });
                        const service = new aws.ec2.VpcEndpointService("service", { acceptanceRequired: true, networkLoadBalancerArns: [nlb.arn] });
                        new aws.ec2.VpcEndpoint("endpoint", { vpcId: "vpc-0f1ef1ef1ef1ef101", vpcEndpointType: "Interface", serviceName: service.serviceName, subnetIds: ["subnet-0f1ef1ef1ef1ef112"] });
                    },
                    { project: project.name, stack: "firefly-dev", accountId: "222222222222", region: "us-east-1", cloud: new OfflineCloud() },
                ),
                /InvalidParameter: The VPC endpoint service com\.amazonaws\.vpce\.us-east-1\.vpce-svc-\w+ does not support the availability zone of the subnet: subnet-0f1ef1ef1ef1ef112\./,
            );
        });
    });

    describe("cross-region PrivateLink: the service's supported regions, not its AZs, decide", () => {
        const platformSubnets = ["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112"];
        /** globex's customer stack deployed in us-west-2, offering its service to `supportedRegions`. */
        async function globexInUsWest2(cloud: OfflineCloud, supportedRegions?: string[]): Promise<string> {
            const globex = readStackSettings("customer-globex-dev");
            const privateLink = { ...(globex.config["private-connectivity:privateLink"] as Record<string, unknown>), supportedRegions };
            const settings = { ...withConfig(globex, { privateLink }), region: "us-west-2" };
            const run = await update(settings, cloud, { "firefly/private-connectivity/firefly-dev": {} });
            assert.deepEqual(run.outputs.serviceAvailabilityZoneIds, ["usw2-az1", "usw2-az3"]);
            return String(run.outputs.endpointServiceName);
        }
        /** The platform's endpoint to it, from us-east-1, in both platform subnets (use1-az1, use1-az2). */
        const endpointTo = (cloud: OfflineCloud, serviceName: string, serviceRegion?: string) =>
            runProgram(
                () => {
                    new aws.ec2.VpcEndpoint("globex-endpoint", { vpcId: "vpc-0f1ef1ef1ef1ef101", vpcEndpointType: "Interface", serviceName, serviceRegion, subnetIds: platformSubnets });
                },
                { project: project.name, stack: "firefly-dev", accountId: "222222222222", region: "us-east-1", cloud },
            );
        const doesNotExist = (serviceName: string) => `InvalidServiceName: The Vpc Endpoint Service '${serviceName.replace(/\./g, "\\.")}' does not exist\n`;

        it("accepts an endpoint in us-east-1 subnets to a us-west-2 service that supports us-east-1, in AZs the service cannot offer", async () => {
            const cloud = new OfflineCloud();
            const serviceName = await globexInUsWest2(cloud, ["us-east-1"]);
            const run = await endpointTo(cloud, serviceName, "us-west-2");
            const endpoint = ofType(run, types.vpcEndpoint)[0]!;
            assert.deepEqual(endpoint.inputs.subnetIds, platformSubnets);
            // AWS names a cross-region endpoint after the service's region.
            assert.match(String((endpoint.outputs.dnsEntries as Array<{ dnsName: string }>)[0]!.dnsName), /\.us-west-2\.vpce\.amazonaws\.com$/);
        });

        it("refuses, with AWS's message, a cross-region endpoint when the service does not list the endpoint's region", async () => {
            for (const supported of [undefined, ["eu-west-1"]]) {
                const cloud = new OfflineCloud();
                const serviceName = await globexInUsWest2(cloud, supported);
                await assert.rejects(
                    endpointTo(cloud, serviceName, "us-west-2"),
                    new RegExp(`${doesNotExist(serviceName)}.*offline AWS rule endpoint-service-supported-regions refused aws:ec2/vpcEndpoint:VpcEndpoint "globex-endpoint"; fix: the service \\(in us-west-2\\) must list us-east-1, the endpoint's region, in its supportedRegions \\(it lists ${supported?.join(", ") ?? "none"}\\)`),
                );
            }
        });

        it("refuses an endpoint that looks for the service in the wrong region (no serviceRegion, another one, one AWS does not have)", async () => {
            const cloud = new OfflineCloud();
            const serviceName = await globexInUsWest2(cloud, ["us-east-1"]);
            await assert.rejects(endpointTo(cloud, serviceName), new RegExp(`${doesNotExist(serviceName)}.*fix: set serviceRegion to us-west-2, the service's region`));
            await assert.rejects(endpointTo(cloud, serviceName, "eu-west-1"), new RegExp(`${doesNotExist(serviceName)}.*fix: set serviceRegion to us-west-2`));
            await assert.rejects(endpointTo(cloud, serviceName, "us-east-9"), new RegExp(`${doesNotExist(serviceName)}.*fix: set serviceRegion to the endpoint service's region, an AWS region \\(got "us-east-9"\\)`));
        });

        it("keeps the AZ rule for an endpoint in the service's own region, serviceRegion given or not", async () => {
            const cloud = new OfflineCloud();
            const globex = await update(readStackSettings("customer-globex-dev"), cloud, { "firefly/private-connectivity/firefly-dev": {} });
            const serviceName = String(globex.outputs.endpointServiceName);
            for (const serviceRegion of [undefined, "us-east-1"]) {
                await assert.rejects(
                    endpointTo(cloud, serviceName, serviceRegion),
                    new RegExp(`InvalidParameter: The VPC endpoint service ${serviceName.replace(/\./g, "\\.")} does not support the availability zone of the subnet: subnet-0f1ef1ef1ef1ef112\\.`),
                );
            }
        });
    });

    describe("one private zone per name per VPC, one private-DNS execute-api endpoint per VPC", () => {
        it("refuses a second platform stack's private zone in the same VPC (the old way to add a customer) with ConflictingDomainExists", async () => {
            const cloud = new OfflineCloud();
            await update(only("acme", "firefly-dev"), cloud, customerOutputs);
            await assert.rejects(
                update(only("globex", "firefly-globex-dev", { tunnel: undefined, privateApi: undefined }), cloud, customerOutputs),
                /ConflictingDomainExists: The VPC vpc-0f1ef1ef1ef1ef101 in region us-east-1 has already been associated with the hosted zone Z[0-9A-F]+ with the same domain name\./,
            );
        });

        it("refuses a second execute-api endpoint with private DNS in the same VPC", async () => {
            const cloud = new OfflineCloud();
            const first = await update(only("acme", "firefly-dev"), cloud, customerOutputs);
            await assert.rejects(
                update(only("globex", "firefly-globex-dev", { tunnel: undefined, privateZoneId: String(first.outputs.privateZoneId) }), cloud, customerOutputs),
                /InvalidParameter: private-dns-enabled cannot be set because there is already a conflicting DNS domain for \*\.execute-api\.us-east-1\.amazonaws\.com in the VPC vpc-0f1ef1ef1ef1ef101/,
            );
        });

        it("lets the one platform stack update again and again (its own zone and endpoint are not a conflict)", async () => {
            const cloud = new OfflineCloud();
            for (let pass = 0; pass < 2; pass++) await update(firefly, cloud, customerOutputs);
        });
    });
});
