import * as aws from "@pulumi/aws";
import {
    connectorSecurityGroupNoIngress,
    connectorSecurityGroupNoIngressRules,
    ec2ImdsHopLimit,
    ec2ImdsV2Required,
    ec2NoPublicIp,
} from "../../policies/connectorHosts";
import { CONNECTOR_ROLE_TAG_KEY, CONNECTOR_ROLE_TAG_VALUE } from "../../policies/conventions";
import {
    PropsOf,
    UNKNOWN,
    assertCannotRunDuringPreview,
    assertNoViolations,
    assertNotApplicable,
    assertViolation,
    plan,
} from "./helpers";

const imdsV2 = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 };

const connectorTemplate = {
    imageId: "ami-0123",
    instanceType: "t3.micro",
    metadataOptions: imdsV2,
    networkInterfaces: [{ associatePublicIpAddress: "false", securityGroups: ["sg-connector"] }],
} satisfies PropsOf<typeof aws.ec2.LaunchTemplate>;

const instanceProps = {
    ami: "ami-0123",
    instanceType: "t3.micro",
    subnetId: "subnet-a",
    associatePublicIpAddress: false,
    metadataOptions: imdsV2,
} satisfies PropsOf<typeof aws.ec2.Instance>;

const template = (props: Record<string, unknown>) => plan(aws.ec2.LaunchTemplate, "connector-lt", props);
const instance = (props: Record<string, unknown>) => plan(aws.ec2.Instance, "relay-host", props);

describe("ec2-imdsv2-required", () => {
    const policy = ec2ImdsV2Required;

    it("passes a launch template and an instance that require tokens", async () => {
        await assertNoViolations(policy, [template(connectorTemplate), instance(instanceProps)]);
    });

    it("refuses a launch template with httpTokens optional", async () => {
        await assertViolation(
            policy,
            template({ ...connectorTemplate, metadataOptions: { ...imdsV2, httpTokens: "optional" } }),
            "Launch template 'connector-lt' allows IMDSv1 (metadataOptions.httpTokens is \"optional\"); set metadataOptions.httpTokens to \"required\"",
        );
    });

    it("refuses a launch template without metadataOptions", async () => {
        const { metadataOptions: _, ...props } = connectorTemplate;
        await assertViolation(policy, template(props), "metadataOptions.httpTokens is unset");
    });

    it("refuses an instance that allows IMDSv1", async () => {
        await assertViolation(policy, instance({ ...instanceProps, metadataOptions: { httpTokens: "optional" } }), "Instance 'relay-host' allows IMDSv1");
    });

    it("refuses a launch configuration that allows IMDSv1", async () => {
        await assertViolation(
            policy,
            plan(aws.ec2.LaunchConfiguration, "legacy-lc", { imageId: "ami-0123", instanceType: "t3.micro" }),
            "Launch configuration 'legacy-lc' allows IMDSv1",
        );
    });

    it("passes hosts with the metadata endpoint disabled", async () => {
        await assertNoViolations(policy, instance({ ...instanceProps, metadataOptions: { httpEndpoint: "disabled" } }));
    });

    it("leaves an instance launched from a template without its own options to the template's check", async () => {
        const { metadataOptions: _, ...props } = instanceProps;
        await assertNoViolations(policy, instance({ ...props, launchTemplate: { id: "lt-1", version: "$Latest" } }));
    });

    it("cannot decide during preview when httpTokens is unknown", async () => {
        await assertCannotRunDuringPreview(policy, template({ ...connectorTemplate, metadataOptions: { ...imdsV2, httpTokens: UNKNOWN } }), ".metadataOptions.httpTokens");
    });
});

describe("ec2-imds-hop-limit", () => {
    const policy = ec2ImdsHopLimit;

    it("passes hop limit 1", async () => {
        await assertNoViolations(policy, [template(connectorTemplate), instance(instanceProps)]);
    });

    it("refuses hop limit 2", async () => {
        await assertViolation(
            policy,
            template({ ...connectorTemplate, metadataOptions: { ...imdsV2, httpPutResponseHopLimit: 2 } }),
            "Launch template 'connector-lt' has metadataOptions.httpPutResponseHopLimit 2, so IMDS tokens reach beyond the host; set it to 1",
        );
    });

    it("refuses an unset hop limit, which AMIs that default to IMDSv2 make 2", async () => {
        await assertViolation(policy, instance({ ...instanceProps, metadataOptions: { httpTokens: "required" } }), "leaves metadataOptions.httpPutResponseHopLimit unset");
    });

    it("passes hop limit 2 when maxHopLimit is raised to 2", async () => {
        await assertNoViolations(policy, template({ ...connectorTemplate, metadataOptions: { ...imdsV2, httpPutResponseHopLimit: 2 } }), {
            config: { [policy.name]: { maxHopLimit: 2 } },
        });
    });

    it("passes hosts with the metadata endpoint disabled", async () => {
        await assertNoViolations(policy, instance({ ...instanceProps, metadataOptions: { httpEndpoint: "disabled" } }));
    });

    it("cannot decide during preview when the hop limit is unknown", async () => {
        await assertCannotRunDuringPreview(
            policy,
            template({ ...connectorTemplate, metadataOptions: { ...imdsV2, httpPutResponseHopLimit: UNKNOWN } }),
            ".metadataOptions.httpPutResponseHopLimit",
        );
    });
});

describe("ec2-no-public-ip", () => {
    const policy = ec2NoPublicIp;

    it("passes hosts without public IPs", async () => {
        await assertNoViolations(policy, [template(connectorTemplate), instance(instanceProps)]);
    });

    it("refuses an instance with associatePublicIpAddress: true", async () => {
        await assertViolation(policy, instance({ ...instanceProps, associatePublicIpAddress: true }), "Instance 'relay-host' gets a public IP address");
    });

    it("refuses a launch template whose network interface asks for a public IP (the string \"true\")", async () => {
        await assertViolation(
            policy,
            template({ ...connectorTemplate, networkInterfaces: [{ associatePublicIpAddress: "true" }] }),
            "Launch template 'connector-lt' gives instances a public IP address",
        );
    });

    it("refuses a launch configuration with a public IP", async () => {
        await assertViolation(
            policy,
            plan(aws.ec2.LaunchConfiguration, "legacy-lc", { imageId: "ami-0123", instanceType: "t3.micro", associatePublicIpAddress: true }),
            "Launch configuration 'legacy-lc' gives instances a public IP address",
        );
    });

    it("cannot decide during preview when the flag is unknown", async () => {
        await assertCannotRunDuringPreview(policy, instance({ ...instanceProps, associatePublicIpAddress: UNKNOWN }), ".associatePublicIpAddress");
    });
});

const connectorTags = { [CONNECTOR_ROLE_TAG_KEY]: CONNECTOR_ROLE_TAG_VALUE, Name: "connector" };
const connectorGroup = {
    vpcId: "vpc-1",
    description: "tunnel connector: egress only",
    egress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }],
    tags: connectorTags,
} satisfies PropsOf<typeof aws.ec2.SecurityGroup>;
const sshIn = { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["10.0.0.0/8"] };

describe("connector-security-group-no-ingress", () => {
    const policy = connectorSecurityGroupNoIngress;
    const group = (props: Record<string, unknown>) => plan(aws.ec2.SecurityGroup, "connector-sg", props);

    it("passes a connector group with egress only", async () => {
        await assertNoViolations(policy, group(connectorGroup));
    });

    it("refuses a connector group with an inline ingress rule, even from a private range", async () => {
        await assertViolation(policy, group({ ...connectorGroup, ingress: [sshIn] }), "Connector security group 'connector-sg' has 1 ingress rule(s); remove them");
    });

    it("recognises the role tag in tagsAll (provider default tags)", async () => {
        await assertViolation(policy, group({ ...connectorGroup, tags: {}, tagsAll: connectorTags, ingress: [sshIn] }), "Connector security group");
    });

    it("does not judge groups without the connector tag", async () => {
        await assertNoViolations(policy, group({ ...connectorGroup, tags: { [CONNECTOR_ROLE_TAG_KEY]: "relay" }, ingress: [sshIn] }));
    });

    it("treats an unknown tagsAll as untagged rather than giving up", async () => {
        await assertNoViolations(policy, group({ ...connectorGroup, tags: {}, tagsAll: UNKNOWN, ingress: [sshIn] }));
    });

    it("cannot decide during preview when the ingress list is unknown", async () => {
        await assertCannotRunDuringPreview(policy, group({ ...connectorGroup, ingress: UNKNOWN }), ".ingress");
    });
});

describe("connector-security-group-no-ingress-rules", () => {
    const policy = connectorSecurityGroupNoIngressRules;
    const groupId = "sg-0connector";
    const group = (id: unknown = groupId) => plan(aws.ec2.SecurityGroup, "connector-sg", connectorGroup, { outputs: { ...connectorGroup, id } });
    const ingressRule = (securityGroupId: unknown, propertyDependencies: Record<string, string[]> = {}) =>
        plan(
            aws.vpc.SecurityGroupIngressRule,
            "connector-ssh-in",
            { securityGroupId, ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "10.0.0.0/8" },
            { propertyDependencies },
        );

    it("passes a connector group with no rule resources attached", async () => {
        await assertNoViolations(policy, [group(), plan(aws.vpc.SecurityGroupIngressRule, "other", { securityGroupId: "sg-other", ipProtocol: "-1" })]);
    });

    it("refuses an aws.vpc.SecurityGroupIngressRule on the connector group (matched by id)", async () => {
        await assertViolation(
            policy,
            [group(), ingressRule(groupId)],
            "Ingress rule 'connector-ssh-in' opens connector security group 'connector-sg'; delete it",
        );
    });

    it("during preview, refuses a rule attached through propertyDependencies when the group id is unknown", async () => {
        const theGroup = group(UNKNOWN);
        await assertViolation(policy, [theGroup, ingressRule(UNKNOWN, { securityGroupId: [theGroup.urn] })], "opens connector security group");
    });

    it("refuses an ingress aws.ec2.SecurityGroupRule on the connector group", async () => {
        const rule = plan(aws.ec2.SecurityGroupRule, "legacy-in", { type: "ingress", securityGroupId: groupId, protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["10.0.0.0/8"] });
        await assertViolation(policy, [group(), rule], "Ingress rule 'legacy-in' opens connector security group");
    });

    it("passes an egress aws.ec2.SecurityGroupRule on the connector group", async () => {
        const rule = plan(aws.ec2.SecurityGroupRule, "egress", { type: "egress", securityGroupId: groupId, protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] });
        await assertNoViolations(policy, [group(), rule]);
    });

    it("cannot decide during preview when a rule's group is unknown and no dependency explains it", async () => {
        await assertCannotRunDuringPreview(policy, [group(), ingressRule(UNKNOWN)], ".securityGroupId");
    });

    it("is not applicable to a stack without connector groups", async () => {
        await assertNotApplicable(policy, [ingressRule(UNKNOWN)]);
    });
});
