// The EC2 plumbing TunnelConnector and TunnelRelay share: an instance role (SSM core plus the
// caller's inline policies), an instance profile, a hardened launch template and an auto scaling
// group that refreshes its instances whenever the template changes. Not a component of its own:
// the resources belong to the calling component and are named after it.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument, serviceTrustPolicy } from "../shared/iamPolicy";
import { isPlain, type ArgChecker } from "../shared/validation";
import { mergeTags } from "../shared/known";

/** SSM parameter AWS publishes with the current Amazon Linux 2023 AMI (x86_64, default kernel). */
export const al2023AmiParameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

/** EC2 user data is limited to 16 KB before base64. */
const maxUserDataBytes = 16 * 1024;

/** The host settings TunnelConnector and TunnelRelay take from their users. */
export interface HostSettings {
    /** EC2 instance type of the hosts. Default `t3.small`. */
    instanceType?: pulumi.Input<string>;
    /** A fixed AMI ID; default the current Amazon Linux 2023 AMI, read from `amiParameter` at deploy time. */
    amiId?: pulumi.Input<string>;
    /** SSM parameter naming the AMI. Default `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64`. */
    amiParameter?: pulumi.Input<string>;
    /** Root volume size, GiB. Default 8 (the AMI's size). Always encrypted. */
    rootVolumeSizeGiB?: pulumi.Input<number>;
    /** KMS key for the root volume. Default: the account's default EBS key. */
    rootVolumeKmsKeyId?: pulumi.Input<string>;
}

/** Where the hosts run and how many: each component documents these fields in its own Args. */
export interface HostPlacement {
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    count?: pulumi.Input<number>;
}

/** The checked host settings with their defaults applied: what createHostGroup takes. */
export type CheckedHosts = ReturnType<typeof checkHostSettings>;

/**
 * Checks the host settings and placement and applies their defaults. `subnetsFix` tells the user
 * which subnets to give when `subnetIds` is refused.
 */
export function checkHostSettings(c: ArgChecker, args: HostSettings & HostPlacement, subnetsFix: string) {
    const amiParameter = c.input(args.amiParameter ?? al2023AmiParameter, (parameter) => {
        if (typeof parameter !== "string" || !/^\/[\w./-]+$/.test(parameter)) {
            c.fail("amiParameter", `must be an SSM parameter name like ${al2023AmiParameter} (got ${JSON.stringify(parameter)})`);
        }
    });
    return {
        // Handed to the auto scaling group (and the relay's internal NLB) as they are: an awsx
        // `vpc.privateSubnetIds` Output is checked when it resolves and holds nothing up.
        subnetIds: c.subnetIdList("subnetIds", args.subnetIds, subnetsFix),
        count: c.input(args.count ?? 2, (count) => c.integerInRange("count", count, 1, 20)),
        instanceType: args.instanceType ?? "t3.small",
        amiId: args.amiId === undefined ? undefined : c.matches("amiId", args.amiId, /^ami-[0-9a-f]{8,17}$/, "an AMI ID like ami-0123456789abcdef0"),
        amiParameter,
        rootVolumeSizeGiB: c.input(args.rootVolumeSizeGiB ?? 8, (size) => c.integerInRange("rootVolumeSizeGiB", size, 8, 1024)),
        rootVolumeKmsKeyId: args.rootVolumeKmsKeyId,
    };
}

export interface HostGroupArgs {
    /** What the hosts are, for descriptions: "tunnel connector", "SSH relay". */
    purpose: string;
    /** checkHostSettings' value: subnets, count, instance type, AMI, root volume. */
    hosts: CheckedHosts;
    securityGroupIds: pulumi.Input<string>[];
    /** The user data script, plain text (encoded here). */
    userData: pulumi.Input<string>;
    /** Inline policies of the instance role, by policy name (JSON documents). */
    rolePolicies: Record<string, pulumi.Input<string>>;
    /** Target groups the instances register with (the relay's NLB). */
    targetGroupArns?: pulumi.Input<pulumi.Input<string>[]>;
    /** Seconds after launch before health checks count. */
    healthCheckGracePeriod: number;
    /**
     * What replaces an instance: `EC2` status checks only, or also every attached target group's
     * health (`ELB`, AWS replaces an instance when ANY of them reports it unhealthy). Default `ELB`
     * with target groups, `EC2` without.
     */
    healthCheckType?: pulumi.Input<"EC2" | "ELB">;
    /**
     * The hosts check themselves and may mark instances Unhealthy (`autoscaling:SetInstanceHealth`,
     * on this group only: the action takes no condition on the instance). Default false.
     */
    reportsOwnHealth?: boolean;
    tags: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface HostGroup {
    role: aws.iam.Role;
    launchTemplate: aws.ec2.LaunchTemplate;
    group: aws.autoscaling.Group;
}

/** The partition's SSM core policy: Session Manager access instead of SSH. */
const ssmCorePolicy = (partition: string) => `arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`;

export function createHostGroup(name: string, args: HostGroupArgs, parent: pulumi.Resource): HostGroup {
    const opts = { parent };
    const hosts = args.hosts;
    const partition = aws.getPartitionOutput({}, opts).partition;
    const role = new aws.iam.Role(
        `${name}-role`,
        {
            description: `Instance role of the ${args.purpose} hosts ${name}`,
            assumeRolePolicy: JSON.stringify(serviceTrustPolicy("ec2.amazonaws.com", "Ec2AssumesRole")),
            tags: args.tags,
        },
        opts,
    );
    new aws.iam.RolePolicyAttachment(`${name}-ssm-core`, { role: role.name, policyArn: partition.apply(ssmCorePolicy) }, opts);
    for (const [policyName, document] of Object.entries(args.rolePolicies)) {
        new aws.iam.RolePolicy(`${name}-${policyName}`, { role: role.id, name: policyName, policy: document }, opts);
    }
    const profile = new aws.iam.InstanceProfile(`${name}-profile`, { role: role.name, tags: args.tags }, opts);

    const imageId =
        hosts.amiId ?? aws.ssm.getParameterOutput({ name: hosts.amiParameter }, opts).value;
    const userData = pulumi.output(args.userData).apply((script) => {
        const bytes = Buffer.byteLength(script);
        if (bytes > maxUserDataBytes) {
            throw new Error(`${name}: the rendered user data is ${bytes} bytes, over EC2's ${maxUserDataBytes}-byte limit; shorten the configuration`);
        }
        return Buffer.from(script).toString("base64");
    });

    const launchTemplate = new aws.ec2.LaunchTemplate(
        `${name}-lt`,
        {
            description: `${args.purpose} hosts ${name}`,
            imageId,
            instanceType: hosts.instanceType,
            iamInstanceProfile: { arn: profile.arn },
            userData,
            // IMDSv2 only, and tokens do not leave the host (no container or forwarded hop can use them).
            metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
            networkInterfaces: [
                {
                    deviceIndex: 0,
                    // The launch template API takes these flags as strings.
                    associatePublicIpAddress: "false",
                    deleteOnTermination: "true",
                    securityGroups: args.securityGroupIds,
                },
            ],
            blockDeviceMappings: [
                {
                    // The AL2023 AMI's root device.
                    deviceName: "/dev/xvda",
                    ebs: {
                        encrypted: "true",
                        kmsKeyId: hosts.rootVolumeKmsKeyId,
                        volumeSize: hosts.rootVolumeSizeGiB,
                        volumeType: "gp3",
                        deleteOnTermination: "true",
                    },
                },
            ],
            monitoring: { enabled: true },
            // New versions become the default, so the group's reference to latestVersion moves with them.
            updateDefaultVersion: true,
            tagSpecifications: [
                { resourceType: "instance", tags: mergeTags(args.tags, { Name: name }) },
                { resourceType: "volume", tags: mergeTags(args.tags, { Name: name }) },
            ],
            tags: args.tags,
        },
        opts,
    );

    const group = new aws.autoscaling.Group(
        `${name}-asg`,
        {
            vpcZoneIdentifiers: hosts.subnetIds,
            desiredCapacity: hosts.count,
            minSize: hosts.count,
            // Room for the replacements a refresh launches before it terminates the old instances.
            maxSize: isPlain(hosts.count) ? hosts.count * 2 : pulumi.output(hosts.count).apply((count) => count * 2),
            launchTemplate: { id: launchTemplate.id, version: pulumi.interpolate`${launchTemplate.latestVersion}` },
            targetGroupArns: args.targetGroupArns,
            healthCheckType: args.healthCheckType ?? (args.targetGroupArns ? "ELB" : "EC2"),
            healthCheckGracePeriod: args.healthCheckGracePeriod,
            // A new template version (new AMI, new agent bundle, new configuration) replaces every
            // instance, launching each replacement before terminating the one it replaces.
            instanceRefresh: {
                strategy: "Rolling",
                preferences: {
                    minHealthyPercentage: 100,
                    maxHealthyPercentage: 200,
                    instanceWarmup: String(args.healthCheckGracePeriod),
                    skipMatching: true,
                },
            },
            tags: groupTags(mergeTags(args.tags, { Name: name })),
        },
        opts,
    );
    if (args.reportsOwnHealth) {
        // After the group: the policy names its ARN. The hosts' first check runs a minute after boot.
        new aws.iam.RolePolicy(
            `${name}-report-health`,
            {
                role: role.id,
                name: "report-health",
                policy: group.arn.apply((arn) =>
                    JSON.stringify(policyDocument({ Sid: "MarkOwnGroupInstancesUnhealthy", Effect: "Allow", Action: "autoscaling:SetInstanceHealth", Resource: arn })),
                ),
            },
            opts,
        );
    }
    return { role, launchTemplate, group };
}

/** The group's tags in the auto scaling API's form (a list), not propagated to the instances (the launch template tags them). */
function groupTags(tags: pulumi.Input<Record<string, pulumi.Input<string>>>): pulumi.Input<aws.types.input.autoscaling.GroupTag[]> {
    const list = (resolved: Record<string, pulumi.Input<string>>) => Object.entries(resolved).map(([key, value]) => ({ key, value, propagateAtLaunch: false }));
    return isPlain(tags) ? list(tags) : pulumi.output(tags).apply(list);
}
