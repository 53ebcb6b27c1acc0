// No private key or certificate in EC2 user data. Anyone who can describe the instance or launch
// template (ec2:DescribeInstanceAttribute, ec2:DescribeLaunchTemplateVersions) or reach IMDS on
// the host reads user data in full; the tunnel components therefore keep the connector's key and
// certificate in Secrets Manager and fetch them at boot.
import * as zlib from "node:zlib";
import * as aws from "@pulumi/aws";
import { ReportViolation, ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";

/** What a credential looks like, named as the message names it. */
const credentialPatterns: Array<[string, RegExp]> = [
    ["a private key", /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/],
    ["a private key", /PuTTY-User-Key-File-\d+:/],
    ["an X.509 certificate", /-----BEGIN (TRUSTED )?CERTIFICATE-----/],
    ["an SSH certificate", /[a-z0-9.-]+-cert-v01@openssh\.com\s+AAAA[A-Za-z0-9+/]/],
];

/** Long base64 runs inside a text, e.g. cloud-init `write_files` with `encoding: b64`. */
const embeddedBase64 = /[A-Za-z0-9+/]{80,}={0,2}/g;

function decodeBase64(text: string): string | undefined {
    const compact = text.replace(/\s+/g, "");
    if (compact.length < 16 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
    const bytes = Buffer.from(compact, "base64");
    // Gzip (cloud-init accepts compressed user data).
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
        try {
            return zlib.gunzipSync(bytes).toString("utf8");
        } catch {
            return undefined;
        }
    }
    return bytes.toString("utf8");
}

/** The texts a user data value may carry: as given, base64-decoded (and gunzipped), and base64 blobs inside either. */
function readings(value: string): string[] {
    const texts = [value];
    const decoded = decodeBase64(value);
    if (decoded !== undefined) texts.push(decoded);
    for (const text of [...texts]) {
        for (const blob of text.match(embeddedBase64) ?? []) {
            const inner = decodeBase64(blob);
            if (inner !== undefined) texts.push(inner);
        }
    }
    return texts;
}

/** The kind of credential found in a user data value, if any. */
export function credentialIn(userData: string): string | undefined {
    for (const text of readings(userData)) {
        for (const [kind, pattern] of credentialPatterns) {
            if (pattern.test(text)) return kind;
        }
    }
    return undefined;
}

function checkUserData(kind: string, name: string, values: Record<string, unknown>, reportViolation: ReportViolation): void {
    for (const [field, value] of Object.entries(values)) {
        if (typeof value !== "string") continue;
        const credential = credentialIn(value);
        if (credential) {
            reportViolation(
                `${kind} '${name}' has ${credential} in ${field}, readable by anyone who can describe it or reach its metadata service; store it in Secrets Manager and fetch it at boot with the instance role.`,
            );
        }
    }
}

export const ec2UserDataNoCredentials: ResourceValidationPolicy = {
    name: "ec2-user-data-no-credentials",
    description:
        "User data of instances, spot requests and fleets, launch templates and launch configurations carries no private key or certificate (plain, base64, gzip, or base64 inside cloud-init).",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["connector", "secrets"],
    remediationSteps:
        "Put the key and certificate in AWS Secrets Manager (the TunnelConnector's identity.privateKeySecretArn / certificateSecretArn) " +
        "and let the host fetch them at boot with its instance role; user data then carries only the secret's ARN.",
    validateResource: [
        validateResourceOfType(aws.ec2.Instance, (instance, args, reportViolation) =>
            checkUserData("Instance", args.name, { userData: instance.userData, userDataBase64: instance.userDataBase64 }, reportViolation),
        ),
        validateResourceOfType(aws.ec2.SpotInstanceRequest, (request, args, reportViolation) =>
            checkUserData("Spot instance request", args.name, { userData: request.userData, userDataBase64: request.userDataBase64 }, reportViolation),
        ),
        validateResourceOfType(aws.ec2.LaunchTemplate, (template, args, reportViolation) =>
            checkUserData("Launch template", args.name, { userData: template.userData }, reportViolation),
        ),
        validateResourceOfType(aws.ec2.LaunchConfiguration, (configuration, args, reportViolation) =>
            checkUserData("Launch configuration", args.name, { userData: configuration.userData, userDataBase64: configuration.userDataBase64 }, reportViolation),
        ),
        validateResourceOfType(aws.ec2.SpotFleetRequest, (fleet, args, reportViolation) =>
            (fleet.launchSpecifications ?? []).forEach((specification, i) =>
                checkUserData("Spot fleet request", args.name, { [`launchSpecifications[${i}].userData`]: specification.userData }, reportViolation),
            ),
        ),
    ],
};
