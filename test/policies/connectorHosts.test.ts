import * as zlib from "node:zlib";
import * as aws from "@pulumi/aws";
import {
    connectorEgressRestricted,
    connectorSecurityGroupNoIngress,
    connectorSecurityGroupNoIngressRules,
    ec2ImdsHopLimit,
    ec2ImdsV2Required,
    ec2NoPublicIp,
} from "../../policies/connectorHosts";
import { ec2UserDataNoCredentials } from "../../policies/userData";
import { types } from "../helpers/resources";
import { CONNECTOR_ROLE_TAG_KEY, CONNECTOR_ROLE_TAG_VALUE } from "../../policies/conventions";
import {
    PropsOf,
    UNKNOWN,
    assertCannotRunDuringPreview,
    assertNoViolations,
    assertNotApplicable,
    assertViolation,
    component,
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

/** The AWS provider a resource names with `provider: "<urn>::<id>"`; the engine sends its config as strings. */
const awsProvider = (props: Record<string, unknown>) => ({ ...component(types.awsProvider, "aws-tagged"), custom: true, props });

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

    it("refuses an Elastic IP attached to an instance, by the Eip itself or an EipAssociation; passes one for a NAT gateway or a load balancer", async () => {
        await assertViolation(policy, plan(aws.ec2.Eip, "host-ip", { domain: "vpc", instance: "i-0abc" }), "Elastic IP 'host-ip' gives an instance a public IP address");
        await assertViolation(policy, plan(aws.ec2.EipAssociation, "host-ip-assoc", { allocationId: "eipalloc-0abc", instanceId: "i-0abc" }), "Elastic IP association 'host-ip-assoc' gives an instance a public IP address");
        await assertNoViolations(policy, [plan(aws.ec2.Eip, "nat-ip", { domain: "vpc" }), plan(aws.ec2.EipAssociation, "eni-ip", { allocationId: "eipalloc-0abc", networkInterfaceId: "eni-0abc" })]);
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

    it("recognises the role tag in the provider's default tags (sent as JSON), and lets the group's own tag win", async () => {
        const provider = awsProvider({ defaultTags: JSON.stringify({ tags: connectorTags }) });
        const byDefault = plan(aws.ec2.SecurityGroup, "connector-sg", { ...connectorGroup, tags: {}, ingress: [sshIn] }, { provider: `${provider.urn}::id` });
        await assertViolation(policy, [provider, byDefault], "Connector security group 'connector-sg'");
        const overridden = plan(aws.ec2.SecurityGroup, "relay-sg", { ...connectorGroup, tags: { [CONNECTOR_ROLE_TAG_KEY]: "relay" }, ingress: [sshIn] }, { provider: `${provider.urn}::id` });
        await assertNoViolations(policy, [provider, overridden]);
    });

    it("cannot decide during preview when the role could only come from an unknown tagsAll (no provider known)", async () => {
        await assertCannotRunDuringPreview(policy, group({ ...connectorGroup, tags: {}, tagsAll: UNKNOWN, ingress: [sshIn] }), ".tagsAll");
    });

    it("cannot decide during preview when the provider's default tags are unknown", async () => {
        const provider = awsProvider({ defaultTags: UNKNOWN });
        const untagged = plan(aws.ec2.SecurityGroup, "maybe-connector", { ...connectorGroup, tags: {}, ingress: [sshIn] }, { provider: `${provider.urn}::id` });
        await assertCannotRunDuringPreview(policy, [provider, untagged], ".defaultTags");
    });

    it("decides an untagged group with known provider default tags without the role, even when tagsAll is unknown", async () => {
        const provider = awsProvider({ region: "eu-west-1" });
        await assertNoViolations(policy, [provider, plan(aws.ec2.SecurityGroup, "app-sg", { ...connectorGroup, tags: {}, tagsAll: UNKNOWN, ingress: [sshIn] }, { provider: `${provider.urn}::id` })]);
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

    it("takes a launch template for a connector host when the Auto Scaling group launching it tags its instances so (propagateAtLaunch)", async () => {
        const groupProps = { vpcId: "vpc-1", ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["10.0.0.0/8"] }] };
        const sshGroup = plan(aws.ec2.SecurityGroup, "asg-host-sg", groupProps, { outputs: { ...groupProps, id: "sg-0asg" } });
        const templateProps = { ...connectorTemplate, networkInterfaces: undefined, vpcSecurityGroupIds: ["sg-0asg"] };
        const untagged = plan(aws.ec2.LaunchTemplate, "asg-template", templateProps, { outputs: { ...templateProps, id: "lt-0asg" } });
        const asg = (propagateAtLaunch: boolean) =>
            plan(aws.autoscaling.Group, "connector-asg", {
                maxSize: 1,
                minSize: 1,
                launchTemplate: { id: "lt-0asg" },
                tags: [{ key: CONNECTOR_ROLE_TAG_KEY, value: CONNECTOR_ROLE_TAG_VALUE, propagateAtLaunch }],
            });
        await assertViolation(policy, [sshGroup, untagged, asg(true)], "Security group 'asg-host-sg' is attached to connector host 'asg-template' and has 1 ingress rule(s)");
        await assertNotApplicable(policy, [sshGroup, untagged, asg(false)]);
    });

    describe("a connector host that names no security group (AWS gives it the VPC's default group)", () => {
        const host = (props: Record<string, unknown>) => plan(aws.ec2.Instance, "connector-host", { ...instanceProps, tags: connectorTags, ...props });

        it("is refused: the default group's own rule admits all traffic from its other members", async () => {
            await assertViolation(policy, [host({})], "Connector host 'connector-host' names no security group, so AWS puts it in the VPC's default group");
            const template = plan(aws.ec2.LaunchTemplate, "connector-lt", {
                ...connectorTemplate,
                networkInterfaces: [{ associatePublicIpAddress: "false" }],
                tagSpecifications: [{ resourceType: "instance", tags: connectorTags }],
            });
            await assertViolation(policy, [template], "Connector host 'connector-lt' names no security group");
        });

        it("passes a host with its own group, with an existing interface (whose groups decide), or that is not a connector", async () => {
            await assertNoViolations(policy, [group(), host({ vpcSecurityGroupIds: [groupId] })]);
            await assertNoViolations(policy, [group(), host({ networkInterfaces: [{ networkInterfaceId: "eni-0abc", deviceIndex: 0 }] })]);
            // Groups named by name: not the default group (their ingress is not in the plan, see policies/README).
            await assertNoViolations(policy, [host({ securityGroups: ["connector"] })]);
            const byName = plan(aws.ec2.LaunchTemplate, "connector-lt", { ...connectorTemplate, networkInterfaces: undefined, securityGroupNames: ["connector"], tagSpecifications: [{ resourceType: "instance", tags: connectorTags }] });
            await assertNoViolations(policy, [byName]);
            await assertNotApplicable(policy, [plan(aws.ec2.Instance, "web", { ...instanceProps, tags: { Name: "web" } })]);
        });

        it("during preview, an unknown group list is not taken for none", async () => {
            await assertCannotRunDuringPreview(policy, [host({ vpcSecurityGroupIds: UNKNOWN })], ".vpcSecurityGroupIds");
        });
    });

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

    const untaggedGroup = (ingress: unknown[]) =>
        plan(aws.ec2.SecurityGroup, "host-sg", { vpcId: "vpc-1", ingress, tags: { Name: "host" } }, { outputs: { vpcId: "vpc-1", ingress, tags: { Name: "host" }, id: "sg-0host" } });

    it("refuses inline ingress on an untagged group attached to a connector-tagged instance", async () => {
        const host = plan(aws.ec2.Instance, "connector-host", { ...instanceProps, vpcSecurityGroupIds: ["sg-0host"], tags: connectorTags });
        await assertViolation(
            policy,
            [untaggedGroup([sshIn]), host],
            "Security group 'host-sg' is attached to connector host 'connector-host' and has 1 ingress rule(s); remove them",
        );
    });

    it("refuses an ingress rule on an untagged group attached to a connector launch template's network interface (tagged for its instances)", async () => {
        const lt = plan(aws.ec2.LaunchTemplate, "connector-lt", {
            ...connectorTemplate,
            networkInterfaces: [{ associatePublicIpAddress: "false", securityGroups: ["sg-0host"] }],
            tagSpecifications: [{ resourceType: "instance", tags: connectorTags }],
        });
        const rule = plan(aws.vpc.SecurityGroupIngressRule, "host-in", { securityGroupId: "sg-0host", ipProtocol: "tcp", fromPort: 8080, toPort: 8080, cidrIpv4: "10.0.0.0/8" });
        await assertViolation(policy, [untaggedGroup([]), lt, rule], "Ingress rule 'host-in' opens connector security group 'host-sg'");
    });

    it("passes an untagged group with ingress on a host that is not a connector", async () => {
        const host = plan(aws.ec2.Instance, "web", { ...instanceProps, vpcSecurityGroupIds: ["sg-0host"], tags: { Name: "web" } });
        await assertNoViolations(policy, [group(), untaggedGroup([sshIn]), host]);
    });

    it("during preview, follows a connector host's unknown group IDs through propertyDependencies", async () => {
        const hostGroup = plan(aws.ec2.SecurityGroup, "host-sg", { vpcId: "vpc-1", ingress: [sshIn] }, { outputs: { vpcId: "vpc-1", ingress: [sshIn], id: UNKNOWN } });
        const host = plan(aws.ec2.Instance, "connector-host", { ...instanceProps, vpcSecurityGroupIds: [UNKNOWN], tags: connectorTags }, { propertyDependencies: { vpcSecurityGroupIds: [hostGroup.urn] } });
        await assertViolation(policy, [hostGroup, host], "is attached to connector host 'connector-host'");
    });

    it("cannot decide during preview when a connector host's group IDs are unknown and nothing explains them", async () => {
        const host = plan(aws.ec2.Instance, "connector-host", { ...instanceProps, vpcSecurityGroupIds: [UNKNOWN], tags: connectorTags });
        await assertCannotRunDuringPreview(policy, [untaggedGroup([sshIn]), host], ".vpcSecurityGroupIds.0");
    });
});

describe("connector-egress-restricted", () => {
    const policy = connectorEgressRestricted;
    const egress = (protocol: string, port: number | [number, number], cidr: unknown) => {
        const [fromPort, toPort] = Array.isArray(port) ? port : [port, port];
        return { protocol, fromPort, toPort, cidrBlocks: [cidr] };
    };
    /** What a TunnelConnector opens: SSH to the relay, HTTPS, DNS to the resolver, a route's private target. */
    const needed = [egress("tcp", 22, "0.0.0.0/0"), egress("tcp", 443, "0.0.0.0/0"), egress("udp", 53, "10.0.0.2/32"), egress("tcp", 53, "10.0.0.2/32"), egress("tcp", 5432, "10.20.1.15/32")];
    const group = (rules: unknown[]) => plan(aws.ec2.SecurityGroup, "connector-sg", { ...connectorGroup, egress: rules }, { outputs: { ...connectorGroup, egress: rules, id: "sg-0connector" } });
    const egressRule = (props: Record<string, unknown>, name = "connector-out") => plan(aws.vpc.SecurityGroupEgressRule, name, { securityGroupId: "sg-0connector", ...props });

    it("passes SSH to the relays, HTTPS, DNS and a route's private target", async () => {
        await assertNoViolations(policy, group(needed));
    });

    it("passes the same permissions written as aws.vpc.SecurityGroupEgressRule resources, including a prefix list on 443 and a group reference", async () => {
        await assertNoViolations(policy, [
            group([]),
            egressRule({ ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "203.0.113.10/32" }, "relay"),
            egressRule({ ipProtocol: "tcp", fromPort: 443, toPort: 443, prefixListId: "pl-0123" }, "aws-apis"),
            egressRule({ ipProtocol: "tcp", fromPort: 443, toPort: 443, referencedSecurityGroupId: "sg-0endpoints" }, "endpoints"),
        ]);
    });

    it("refuses all traffic to anywhere", async () => {
        await assertViolation(policy, group([...needed, egress("-1", [0, 0], "0.0.0.0/0")]), "Inline egress of 'connector-sg' allows every protocol and port from connector security group 'connector-sg'");
    });

    it("refuses every TCP port, even to a private range", async () => {
        await assertViolation(policy, group([...needed, egress("tcp", [0, 65535], "10.0.0.0/8")]), "allows every tcp port");
    });

    it("refuses a port range, even to a private range (each need is one port)", async () => {
        await assertViolation(policy, group([...needed, egress("tcp", [1, 65000], "10.0.0.0/8")]), "allows tcp ports 1-65000, a range where each need is one port");
    });

    it("refuses a port other than SSH, HTTPS and DNS to the internet", async () => {
        await assertViolation(policy, group([...needed, egress("tcp", 8080, "0.0.0.0/0")]), "allows tcp port 8080 to 0.0.0.0/0");
    });

    it("refuses a route-style port to a public address", async () => {
        await assertViolation(policy, group([...needed, egress("tcp", 5432, "203.0.113.5/32")]), "allows tcp port 5432 to 203.0.113.5/32");
    });

    it("refuses a route-style port to the NAT64 prefix, which reaches the whole IPv4 internet through a NAT gateway", async () => {
        await assertViolation(policy, [group([]), egressRule({ ipProtocol: "tcp", fromPort: 3389, toPort: 3389, cidrIpv6: "64:ff9b::/96" })], "allows tcp port 3389 to 64:ff9b::/96");
        await assertViolation(policy, group([...needed, { protocol: "tcp", fromPort: 5432, toPort: 5432, ipv6CidrBlocks: ["::/3"] }]), "allows tcp port 5432 to ::/3");
    });

    it("refuses SSH on a port the config does not name as a relay's", async () => {
        await assertViolation(policy, group([egress("tcp", 2222, "0.0.0.0/0")]), "allows tcp port 2222");
        await assertNoViolations(policy, group([egress("tcp", 2222, "0.0.0.0/0")]), { config: { [policy.name]: { relaySshPorts: [2222] } } });
    });

    it("refuses an egress rule resource on the connector group, and one with a prefix list on another port", async () => {
        await assertViolation(policy, [group([]), egressRule({ ipProtocol: "tcp", fromPort: 3389, toPort: 3389, cidrIpv4: "0.0.0.0/0" })], "Egress rule 'connector-out' allows tcp port 3389 to 0.0.0.0/0");
        await assertViolation(policy, [group([]), egressRule({ ipProtocol: "tcp", fromPort: 8080, toPort: 8080, prefixListId: "pl-0123" })], "to a prefix list");
    });

    it("refuses wide egress on an untagged group attached to a connector host", async () => {
        const hostGroup = plan(aws.ec2.SecurityGroup, "host-sg", { vpcId: "vpc-1", egress: [egress("-1", [0, 0], "0.0.0.0/0")] }, { outputs: { id: "sg-0host", egress: [egress("-1", [0, 0], "0.0.0.0/0")] } });
        const host = plan(aws.ec2.Instance, "connector-host", { ...instanceProps, vpcSecurityGroupIds: ["sg-0host"], tags: connectorTags });
        await assertViolation(policy, [hostGroup, host], "from connector security group 'host-sg'");
    });

    it("does not judge groups of other hosts", async () => {
        await assertNotApplicable(policy, plan(aws.ec2.SecurityGroup, "web-sg", { vpcId: "vpc-1", egress: [egress("-1", [0, 0], "0.0.0.0/0")] }));
    });

    it("passes an unknown destination on SSH, HTTPS or DNS, whatever it turns out to be", async () => {
        await assertNoViolations(policy, group([egress("tcp", 22, UNKNOWN)]));
    });

    it("cannot decide during preview when a route port's destination is unknown", async () => {
        await assertCannotRunDuringPreview(policy, group([egress("tcp", 5432, UNKNOWN)]), ".egress.0.cidrBlocks.0");
    });
});
