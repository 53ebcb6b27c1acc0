import * as assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import { isPrivateCidr, publicAddresses } from "../../policies/cidrs";
import { interfaceEndpointSecurityGroups, securityGroupNoPublicIngress, securityGroupNoPublicPrefixList } from "../../policies/interfaceEndpoints";
import {
    PropsOf,
    UNKNOWN,
    assertCannotRunDuringPreview,
    assertNoViolations,
    assertNotApplicable,
    assertViolation,
    plan,
    violationsOf,
} from "./helpers";

describe("interface-endpoint-security-groups", () => {
    const policy = interfaceEndpointSecurityGroups;
    const interfaceEndpoint = {
        vpcId: "vpc-1",
        serviceName: "com.amazonaws.vpce.eu-west-1.vpce-svc-0123",
        vpcEndpointType: "Interface",
        subnetIds: ["subnet-a", "subnet-b"],
        securityGroupIds: ["sg-endpoint"],
    } satisfies PropsOf<typeof aws.ec2.VpcEndpoint>;
    const endpoint = (props: Record<string, unknown>) => plan(aws.ec2.VpcEndpoint, "customer-endpoint", props);

    it("passes an interface endpoint with its own security group", async () => {
        await assertNoViolations(policy, endpoint(interfaceEndpoint));
    });

    it("refuses an interface endpoint without security groups", async () => {
        const { securityGroupIds: _, ...props } = interfaceEndpoint;
        await assertViolation(policy, endpoint(props), "Interface endpoint 'customer-endpoint' names no security groups");
    });

    it("refuses an interface endpoint with an empty security group list", async () => {
        await assertViolation(policy, endpoint({ ...interfaceEndpoint, securityGroupIds: [] }), "names no security groups");
    });

    it("does not judge gateway endpoints, which have no security groups", async () => {
        await assertNoViolations(policy, endpoint({ vpcId: "vpc-1", serviceName: "com.amazonaws.eu-west-1.s3", vpcEndpointType: "Gateway" }));
    });

    it("treats an endpoint without vpcEndpointType as a gateway endpoint (the AWS default)", async () => {
        await assertNoViolations(policy, endpoint({ vpcId: "vpc-1", serviceName: "com.amazonaws.eu-west-1.s3" }));
    });

    it("cannot decide during preview when the security groups are unknown", async () => {
        await assertCannotRunDuringPreview(policy, endpoint({ ...interfaceEndpoint, securityGroupIds: UNKNOWN }), ".securityGroupIds");
    });
});

describe("security-group-no-public-ingress", () => {
    const policy = securityGroupNoPublicIngress;
    const httpsFromVpc = { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["10.0.0.0/16"] };
    const sshFromAnywhere = { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] };
    const endpointGroup = {
        vpcId: "vpc-1",
        description: "customer endpoint",
        ingress: [httpsFromVpc],
    } satisfies PropsOf<typeof aws.ec2.SecurityGroup>;
    const group = (name: string, ingress: unknown[]) => plan(aws.ec2.SecurityGroup, name, { ...endpointGroup, ingress });
    const relayException = { [policy.name]: { allowedPublicIngress: [{ port: 22, resourceNames: ["relay-sg", "relay-ssh"] }] } };

    it("passes ingress from private CIDRs", async () => {
        await assertNoViolations(policy, group("endpoint-sg", [httpsFromVpc]));
    });

    it("refuses inline ingress from 0.0.0.0/0", async () => {
        await assertViolation(
            policy,
            group("relay-sg", [sshFromAnywhere]),
            "Security group 'relay-sg' allows ingress from 0.0.0.0/0 on tcp port 22; narrow the source",
        );
    });

    it("refuses inline ingress from ::/0", async () => {
        await assertViolation(policy, group("web-sg", [{ protocol: "tcp", fromPort: 80, toPort: 80, ipv6CidrBlocks: ["::/0"] }]), "from ::/0 on tcp port 80");
    });

    it("refuses all-protocol ingress from anywhere, and names it", async () => {
        await assertViolation(policy, group("open-sg", [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }]), "on all ports and protocols");
    });

    it("passes the relay's SSH from anywhere when the port is listed for that group", async () => {
        await assertNoViolations(policy, group("relay-sg", [sshFromAnywhere]), { config: relayException });
    });

    it("still refuses the listed port on a group that is not named in the exception", async () => {
        await assertViolation(policy, group("endpoint-sg", [sshFromAnywhere]), "'endpoint-sg' allows ingress from 0.0.0.0/0", { config: relayException });
    });

    it("passes the port on every group when the exception names no resources", async () => {
        await assertNoViolations(policy, group("any-sg", [sshFromAnywhere]), { config: { [policy.name]: { allowedPublicIngress: [{ port: 22 }] } } });
    });

    it("does not stretch a single-port exception to a port range", async () => {
        await assertViolation(policy, group("relay-sg", [{ ...sshFromAnywhere, toPort: 23 }]), "on tcp ports 22-23", { config: relayException });
    });

    it("does not stretch a tcp exception to udp", async () => {
        await assertViolation(policy, group("relay-sg", [{ ...sshFromAnywhere, protocol: "udp" }]), "on udp port 22", { config: relayException });
    });

    it("reports each public rule of a group", async () => {
        const violations = await violationsOf(policy, group("open-sg", [sshFromAnywhere, { ...sshFromAnywhere, fromPort: 3389, toPort: 3389 }]));
        assert.equal(violations.length, 2);
    });

    it("refuses an aws.vpc.SecurityGroupIngressRule from 0.0.0.0/0", async () => {
        await assertViolation(
            policy,
            plan(aws.vpc.SecurityGroupIngressRule, "relay-ssh", { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/0" }),
            "Security group ingress rule 'relay-ssh' allows ingress from 0.0.0.0/0 on tcp port 22",
        );
    });

    it("refuses an all-traffic aws.vpc.SecurityGroupIngressRule from ::/0", async () => {
        await assertViolation(
            policy,
            plan(aws.vpc.SecurityGroupIngressRule, "open", { securityGroupId: "sg-1", ipProtocol: "-1", cidrIpv6: "::/0" }),
            "from ::/0 on all ports and protocols",
        );
    });

    it("passes the listed aws.vpc.SecurityGroupIngressRule", async () => {
        await assertNoViolations(
            policy,
            plan(aws.vpc.SecurityGroupIngressRule, "relay-ssh", { securityGroupId: "sg-1", ipProtocol: "6", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/0" }),
            { config: relayException },
        );
    });

    it("refuses an ingress aws.ec2.SecurityGroupRule from 0.0.0.0/0", async () => {
        await assertViolation(
            policy,
            plan(aws.ec2.SecurityGroupRule, "legacy-rule", { type: "ingress", securityGroupId: "sg-1", protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["0.0.0.0/0"] }),
            "Security group rule 'legacy-rule' allows ingress from 0.0.0.0/0 on tcp port 5432",
        );
    });

    it("refuses an ingress aws.ec2.SecurityGroupRule from ::/0 (ipv6CidrBlocks), as the other rule forms", async () => {
        await assertViolation(
            policy,
            plan(aws.ec2.SecurityGroupRule, "legacy-v6", { type: "ingress", securityGroupId: "sg-1", protocol: "tcp", fromPort: 5432, toPort: 5432, ipv6CidrBlocks: ["::/0"] }),
            "Security group rule 'legacy-v6' allows ingress from ::/0 on tcp port 5432",
        );
    });

    it("does not judge egress aws.ec2.SecurityGroupRules", async () => {
        await assertNoViolations(
            policy,
            plan(aws.ec2.SecurityGroupRule, "egress", { type: "egress", securityGroupId: "sg-1", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }),
        );
    });

    it("refuses two halves of the internet in one rule (0.0.0.0/1 + 128.0.0.0/1)", async () => {
        await assertViolation(policy, group("split-sg", [{ ...httpsFromVpc, cidrBlocks: ["0.0.0.0/1", "128.0.0.0/1"] }]), "allows ingress from 0.0.0.0/1 and 128.0.0.0/1 on tcp port 443");
    });

    it("refuses halves of the internet spread over two rules of a group", async () => {
        const halves = [{ ...httpsFromVpc, cidrBlocks: ["0.0.0.0/1"] }, { ...httpsFromVpc, fromPort: 8443, toPort: 8443, cidrBlocks: ["128.0.0.0/1"] }];
        const violations = await violationsOf(policy, group("split-sg", halves));
        assert.equal(violations.length, 2, "each half alone is far more than a /16");
    });

    it("refuses many narrow public blocks that add up to more than a /16", async () => {
        const blocks = ["52.0.0.0/17", "52.1.0.0/17", "52.2.0.0/17"].map((cidr) => ({ ...httpsFromVpc, cidrBlocks: [cidr] }));
        await assertViolation(policy, group("pieces-sg", blocks), "which together admit the internet");
    });

    it("refuses a large IPv6 block (2000::/4, half of global unicast)", async () => {
        await assertViolation(policy, group("v6-sg", [{ ...httpsFromVpc, cidrBlocks: [], ipv6CidrBlocks: ["2000::/4"] }]), "from 2000::/4 on tcp port 443");
    });

    it("passes a partner's public /24 and private blocks of any size", async () => {
        await assertNoViolations(policy, group("partner-sg", [{ ...httpsFromVpc, cidrBlocks: ["203.0.113.0/24", "10.0.0.0/8", "172.16.0.0/12", "100.64.0.0/10"], ipv6CidrBlocks: ["fc00::/7", "2001:db8:1::/48"] }]));
    });

    it("refuses open ingress on the VPC's default security group", async () => {
        await assertViolation(
            policy,
            plan(aws.ec2.DefaultSecurityGroup, "default", { vpcId: "vpc-1", ingress: [sshFromAnywhere] }),
            "Default security group 'default' allows ingress from 0.0.0.0/0 on tcp port 22",
        );
    });

    it("passes a default security group that admits only its own members", async () => {
        await assertNoViolations(policy, plan(aws.ec2.DefaultSecurityGroup, "default", { vpcId: "vpc-1", ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, self: true }] }));
    });

    it("cannot decide during preview when a CIDR is unknown", async () => {
        await assertCannotRunDuringPreview(policy, group("sg", [{ ...sshFromAnywhere, cidrBlocks: [UNKNOWN] }]), ".ingress.0.cidrBlocks.0");
    });

    it("rejects an exception without a port", async () => {
        await assert.rejects(
            violationsOf(policy, group("sg", []), { config: { [policy.name]: { allowedPublicIngress: [{ resourceNames: ["relay-sg"] }] } } }),
            /policy "security-group-no-public-ingress", field "allowedPublicIngress.0": must have required property 'port'/,
        );
    });

    it("rejects an exception on port 0, which no rule can serve", async () => {
        await assert.rejects(
            violationsOf(policy, group("sg", []), { config: { [policy.name]: { allowedPublicIngress: [{ port: 0 }] } } }),
            /policy "security-group-no-public-ingress", field "allowedPublicIngress.0.port": must be >= 1/,
        );
    });
});

describe("public address counting (cidrs.ts)", () => {
    it("counts the union of blocks, without private and reserved space", () => {
        assert.deepEqual(publicAddresses(["0.0.0.0/1", "128.0.0.0/1"]), publicAddresses(["0.0.0.0/0"]));
        assert.equal(publicAddresses(["10.0.0.0/8", "192.168.1.0/24"]).ipv4, 0n);
        assert.equal(publicAddresses(["203.0.113.0/24", "203.0.113.0/25"]).ipv4, 256n);
        assert.equal(publicAddresses(["::/0"]).ipv6, (1n << 125n) + (1n << 80n) + (1n << 32n), "global unicast is 2000::/3, plus the NAT64 prefixes");
    });

    it("knows private blocks", () => {
        assert.equal(isPrivateCidr("172.16.0.0/12"), true);
        assert.equal(isPrivateCidr("172.0.0.0/8"), false);
        assert.equal(isPrivateCidr("fd00::/8"), true);
        // NAT64 (64:ff9b::/96 on an AWS NAT gateway) reaches every IPv4 address on the internet.
        assert.equal(isPrivateCidr("64:ff9b::/96"), false);
        assert.equal(isPrivateCidr("64:ff9b:1::/48"), false);
        assert.equal(isPrivateCidr("::/3"), false, "holds the NAT64 prefixes");
        assert.equal(isPrivateCidr("fe80::/10"), true);
    });
});

describe("security-group-no-public-prefix-list", () => {
    const policy = securityGroupNoPublicPrefixList;
    const list = (entries: string[], id: unknown = "pl-0everyone") => {
        const props = { addressFamily: "IPv4", maxEntries: 5, entries: entries.map((cidr) => ({ cidr })) };
        return plan(aws.ec2.ManagedPrefixList, "clients", props, { outputs: { ...props, id } });
    };
    const groupAdmitting = (prefixListIds: unknown[], propertyDependencies: Record<string, string[]> = {}) =>
        plan(aws.ec2.SecurityGroup, "endpoint-sg", { vpcId: "vpc-1", ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, prefixListIds }] }, { propertyDependencies });

    it("is not applicable to a stack that creates no prefix list (the contents of others are not in the plan)", async () => {
        await assertNotApplicable(policy, [groupAdmitting(["pl-0outside"])]);
    });

    it("refuses a group whose inline ingress admits a prefix list holding the internet", async () => {
        await assertViolation(policy, [list(["0.0.0.0/0"]), groupAdmitting(["pl-0everyone"])], "'endpoint-sg' admits prefix list 'clients', whose entries (0.0.0.0/0) together admit the internet");
    });

    it("refuses rule resources too, and counts separate entry resources and the union of the entries", async () => {
        const halves = list(["0.0.0.0/1"]);
        const entry = plan(aws.ec2.ManagedPrefixListEntry, "other-half", { prefixListId: "pl-0everyone", cidr: "128.0.0.0/1" });
        const rule = plan(aws.vpc.SecurityGroupIngressRule, "https-in", { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 443, toPort: 443, prefixListId: "pl-0everyone" });
        await assertViolation(policy, [halves, entry, rule], "'https-in' admits prefix list 'clients', whose entries (0.0.0.0/1, 128.0.0.0/1) together admit the internet");
        const legacy = plan(aws.ec2.SecurityGroupRule, "legacy-in", { type: "ingress", securityGroupId: "sg-1", protocol: "tcp", fromPort: 443, toPort: 443, prefixListIds: ["pl-0everyone"] });
        await assertViolation(policy, [list(["0.0.0.0/0"]), legacy], "'legacy-in' admits prefix list 'clients'");
    });

    it("passes a prefix list of private or narrow ranges, and one only used for egress", async () => {
        await assertNoViolations(policy, [list(["10.0.0.0/8", "203.0.113.0/24"]), groupAdmitting(["pl-0everyone"])]);
        const egress = plan(aws.ec2.SecurityGroupRule, "to-everyone", { type: "egress", securityGroupId: "sg-1", protocol: "-1", fromPort: 0, toPort: 0, prefixListIds: ["pl-0everyone"] });
        await assertNoViolations(policy, [list(["0.0.0.0/0"]), egress]);
    });

    it("refuses an IPv6 prefix list holding ::/0, or the IPv6 internet in halves", async () => {
        const v6 = (entries: string[]) => {
            const props = { addressFamily: "IPv6", maxEntries: 5, entries: entries.map((cidr) => ({ cidr })) };
            return plan(aws.ec2.ManagedPrefixList, "clients-v6", props, { outputs: { ...props, id: "pl-0everyone6" } });
        };
        const rule = plan(aws.vpc.SecurityGroupIngressRule, "https-in-v6", { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 443, toPort: 443, prefixListId: "pl-0everyone6" });
        await assertViolation(policy, [v6(["::/0"]), rule], "'https-in-v6' admits prefix list 'clients-v6', whose entries (::/0) together admit the internet");
        await assertViolation(policy, [v6(["::/1", "8000::/1"]), groupAdmitting(["pl-0everyone6"])], "'endpoint-sg' admits prefix list 'clients-v6'");
        await assertNoViolations(policy, [v6(["fd00::/8", "2001:db8::/48"]), rule]);
    });

    it("during preview, matches a new prefix list through propertyDependencies", async () => {
        const theList = list(["0.0.0.0/0"], UNKNOWN);
        await assertViolation(policy, [theList, groupAdmitting([UNKNOWN], { ingress: [theList.urn] })], "admits prefix list 'clients'");
    });
});
