import * as zlib from "node:zlib";
import * as aws from "@pulumi/aws";
import {
    connectorSecurityGroupNoIngress,
    connectorSecurityGroupNoIngressRules,
    ec2ImdsHopLimit,
    ec2ImdsV2Required,
    ec2NoPublicIp,
} from "../../policies/connectorHosts";
import { ec2UserDataNoCredentials } from "../../policies/userData";
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

    it("passes a spot instance request, a launch configuration and an Image Builder configuration that require tokens", async () => {
        await assertNoViolations(policy, [
            plan(aws.ec2.SpotInstanceRequest, "spot", { ...instanceProps }),
            plan(aws.ec2.LaunchConfiguration, "lc", { imageId: "ami-0123", instanceType: "t3.micro", metadataOptions: imdsV2 }),
            plan(aws.imagebuilder.InfrastructureConfiguration, "builder", { instanceProfileName: "builder", instanceMetadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 } }),
        ]);
    });

    it("refuses a spot instance request that allows IMDSv1", async () => {
        await assertViolation(policy, plan(aws.ec2.SpotInstanceRequest, "spot", { ...instanceProps, metadataOptions: { httpTokens: "optional" } }), "Spot instance request 'spot' allows IMDSv1");
    });

    it("leaves a spot instance request launched from a template without its own options to the template's check", async () => {
        const { metadataOptions: _, ...props } = instanceProps;
        await assertNoViolations(policy, plan(aws.ec2.SpotInstanceRequest, "spot", { ...props, launchTemplate: { id: "lt-1" } }));
    });

    it("refuses a spot fleet that launches from launchSpecifications (they cannot require IMDSv2)", async () => {
        const fleet = { iamFleetRole: "arn:aws:iam::1:role/fleet", targetCapacity: 1, launchSpecifications: [{ ami: "ami-0123", instanceType: "t3.micro" }] };
        await assertViolation(policy, plan(aws.ec2.SpotFleetRequest, "fleet", fleet), "Spot fleet request 'fleet' launches instances from launchSpecifications, which cannot set metadata options");
    });

    it("passes a spot fleet and an EC2 Fleet that launch from templates (the templates are checked)", async () => {
        const templateSpec = { launchTemplateSpecification: { id: "lt-1", version: "$Latest" } };
        await assertNoViolations(policy, [
            plan(aws.ec2.SpotFleetRequest, "fleet", { iamFleetRole: "arn:aws:iam::1:role/fleet", targetCapacity: 1, launchTemplateConfigs: [templateSpec] }),
            plan(aws.ec2.Fleet, "ec2-fleet", { launchTemplateConfigs: [templateSpec], targetCapacitySpecification: { defaultTargetCapacityType: "spot", totalTargetCapacity: 1 } }),
        ]);
    });

    it("refuses an Image Builder infrastructure configuration without httpTokens required", async () => {
        await assertViolation(policy, plan(aws.imagebuilder.InfrastructureConfiguration, "builder", { instanceProfileName: "builder" }), "Image Builder infrastructure configuration 'builder' allows IMDSv1");
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

    it("refuses a spot instance request and a spot fleet specification with a public IP", async () => {
        await assertViolation(policy, plan(aws.ec2.SpotInstanceRequest, "spot", { ...instanceProps, associatePublicIpAddress: true }), "Spot instance request 'spot' gets a public IP address");
        const fleet = { iamFleetRole: "arn:aws:iam::1:role/fleet", targetCapacity: 1, launchSpecifications: [{ ami: "ami-0123", instanceType: "t3.micro", associatePublicIpAddress: true }] };
        await assertViolation(policy, plan(aws.ec2.SpotFleetRequest, "fleet", fleet), "Spot fleet request 'fleet' gives instances a public IP address");
    });
});

describe("ec2-user-data-no-credentials", () => {
    const policy = ec2UserDataNoCredentials;
    const bootScript = "#!/bin/bash\naws secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:eu-west-1:1:secret:agent-key > /etc/agent/key\n";
    const privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    const base64 = (text: string) => Buffer.from(text).toString("base64");

    it("passes user data that fetches the key from Secrets Manager", async () => {
        await assertNoViolations(policy, [template({ ...connectorTemplate, userData: base64(bootScript) }), instance({ ...instanceProps, userData: bootScript })]);
    });

    it("passes user data that pins relay host keys (public keys are not credentials)", async () => {
        await assertNoViolations(policy, instance({ ...instanceProps, userData: `${bootScript}echo 'relay ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl' >> known_hosts\n` }));
    });

    it("refuses a private key in a launch template's (base64) user data", async () => {
        await assertViolation(policy, template({ ...connectorTemplate, userData: base64(bootScript + privateKey) }), "Launch template 'connector-lt' has a private key in userData");
    });

    it("refuses a private key in an instance's plain user data", async () => {
        await assertViolation(policy, instance({ ...instanceProps, userData: bootScript + privateKey }), "Instance 'relay-host' has a private key in userData");
    });

    it("refuses an SSH user certificate, gzipped then base64-encoded", async () => {
        const certificate = "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29t agent\n";
        await assertViolation(
            policy,
            instance({ ...instanceProps, userDataBase64: zlib.gzipSync(Buffer.from(bootScript + certificate)).toString("base64") }),
            "Instance 'relay-host' has an SSH certificate in userDataBase64",
        );
    });

    it("refuses a key hidden as a base64 file inside cloud-init", async () => {
        const cloudConfig = `#cloud-config\nwrite_files:\n  - path: /etc/agent/key\n    encoding: b64\n    content: ${base64(privateKey)}\n`;
        await assertViolation(policy, template({ ...connectorTemplate, userData: base64(cloudConfig) }), "has a private key in userData");
    });

    it("refuses an X.509 certificate in a launch configuration, and a key in a spot request and a spot fleet", async () => {
        const certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        await assertViolation(policy, plan(aws.ec2.LaunchConfiguration, "lc", { imageId: "ami-0123", instanceType: "t3.micro", userData: certificate }), "Launch configuration 'lc' has an X.509 certificate in userData");
        await assertViolation(policy, plan(aws.ec2.SpotInstanceRequest, "spot", { ...instanceProps, userData: privateKey }), "Spot instance request 'spot' has a private key");
        const fleet = { iamFleetRole: "arn:aws:iam::1:role/fleet", targetCapacity: 1, launchSpecifications: [{ ami: "ami-0123", instanceType: "t3.micro", userData: privateKey }] };
        await assertViolation(policy, plan(aws.ec2.SpotFleetRequest, "fleet", fleet), "has a private key in launchSpecifications[0].userData");
    });

    it("cannot decide during preview when the user data is unknown", async () => {
        await assertCannotRunDuringPreview(policy, template({ ...connectorTemplate, userData: UNKNOWN }), ".userData");
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
