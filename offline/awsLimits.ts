import { AwsRuleError } from "./awsRuleError";

/**
 * Limits AWS (or the Pulumi AWS provider, before any AWS call) sets on single input values: name
 * lengths and character sets, the retention periods CloudWatch Logs knows, the characters a
 * security group's descriptions may use, tags, ELB ports and deregistration delays, Route 53
 * record names. A user's input hits them with a long customer name, a name with an unusual
 * character, an apostrophe in a description, tags copied from elsewhere. Each message is the one
 * the provider or AWS gives, where its wording was found (each function names its source); the
 * others are ours, and README "Checked before you deploy" says which.
 *
 * Pulumi names a resource that is given no `name` (or `namePrefix`) `<logical name>-<7 random
 * characters>` when it creates it, and keeps that name afterwards: a name it would generate is
 * checked only for a resource being created (`autoName`), a given one always.
 */
export interface LimitCheck {
    type: string;
    /** Logical (Pulumi) name of the resource. */
    name: string;
    inputs: Record<string, unknown>;
    /** The name Pulumi would generate, for a resource being created; undefined for one that exists. */
    autoName?: string;
    /** The tags the provider adds to the resource's own (its `defaultTags`), counted with them. */
    defaultTags?: Record<string, string>;
}

/** Characters of Pulumi's auto-name suffix (a hyphen, then 7 random characters). */
const autoNameSuffix = 8;

export function checkInputLimits(check: LimitCheck): void {
    // Every AWS resource that takes tags takes them within the same limits.
    if (check.type.startsWith("aws:")) checkTags(check);
    switch (check.type) {
        case "aws:lb/loadBalancer:LoadBalancer":
            checkLoadBalancerName(check);
            return;
        case "aws:lb/targetGroup:TargetGroup":
            checkLoadBalancerName(check);
            checkHealthCheckThresholds(check);
            checkTargetGroupPort(check);
            checkDeregistrationDelay(check);
            return;
        case "aws:lb/listener:Listener":
            checkListenerPort(check);
            return;
        case "aws:route53/record:Record":
            checkRecordName(check);
            return;
        case "aws:iam/role:Role":
            checkRoleName(check);
            return;
        case "aws:lambda/function:Function":
            checkFunctionName(check);
            return;
        case "aws:s3/bucket:Bucket":
        case "aws:s3/bucketV2:BucketV2":
            checkBucketName(check);
            return;
        case "aws:cloudwatch/logGroup:LogGroup":
            checkLogRetention(check);
            return;
        case "aws:ec2/securityGroup:SecurityGroup":
            checkSecurityGroupDescriptions(check);
            return;
        case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
        case "aws:ec2/securityGroupRule:SecurityGroupRule":
            checkRuleDescription(resourceOf(check), check.inputs.description);
            return;
    }
}

function resourceOf(check: LimitCheck): string {
    return `${check.type} "${check.name}"`;
}

/**
 * Pulumi's autonaming refuses a logical name whose generated name would be too long
 * (pulumi/sdk `resource.NewUniqueHex`: "name '<prefix>' plus <n> random chars is longer than
 * maximum length <max>"), before the provider sees it.
 */
function autoNameTooLong(check: LimitCheck, maxLength: number): string | undefined {
    if (check.autoName === undefined || check.autoName.length <= maxLength) return undefined;
    const prefix = check.autoName.slice(0, check.autoName.length - (autoNameSuffix - 1));
    return `could not make instance of '${check.type}': name '${prefix}' plus ${autoNameSuffix - 1} random chars is longer than maximum length ${maxLength}`;
}

/**
 * ELBv2 load balancer and target group names: at most 32 characters, alphanumerics and hyphens,
 * no hyphen first or last (the provider's `validName`/`validTargetGroupName`, from the AWS API
 * reference of CreateLoadBalancer/CreateTargetGroup); `namePrefix` at most 6 characters.
 */
function checkLoadBalancerName(check: LimitCheck): void {
    const rule = "load-balancer-name";
    const resource = resourceOf(check);
    const what = check.type === "aws:lb/targetGroup:TargetGroup" ? "target group" : "load balancer";
    const fixName = `give the ${what} a logical name of at most ${32 - autoNameSuffix} characters (Pulumi adds 8), letters, digits and hyphens only, or a \`name\` of at most 32`;
    const { name, namePrefix } = check.inputs;
    // The target group's messages name no value; the load balancer's do.
    const value = (v: string) => (check.type === "aws:lb/targetGroup:TargetGroup" ? "" : `: ${JSON.stringify(v)}`);
    if (typeof namePrefix === "string" && namePrefix.length > 6) {
        throw new AwsRuleError(rule, resource, `"name_prefix" cannot be longer than 6 characters${value(namePrefix)}`, `use a namePrefix of at most 6 characters, or leave it out and let Pulumi name the ${what} after its logical name`);
    }
    if (typeof name !== "string" && typeof namePrefix !== "string") {
        const tooLong = autoNameTooLong(check, 32);
        if (tooLong) throw new AwsRuleError(rule, resource, tooLong, fixName);
    }
    const physical = typeof name === "string" ? name : typeof namePrefix === "string" ? undefined : check.autoName;
    if (physical === undefined) return;
    const problem =
        physical.length > 32
            ? `"name" cannot be longer than 32 characters${value(physical)}`
            : !/^[0-9A-Za-z-]+$/.test(physical)
              ? `only alphanumeric characters and hyphens allowed in "name"${value(physical)}`
              : physical.startsWith("-")
                ? `"name" cannot begin with a hyphen${value(physical)}`
                : physical.endsWith("-")
                  ? `"name" cannot end with a hyphen${value(physical)}`
                  : undefined;
    if (problem) throw new AwsRuleError(rule, resource, problem, typeof name === "string" ? `give a name of at most 32 letters, digits and hyphens, with no hyphen first or last` : fixName);
}

/**
 * A target group's health check counts 2 to 10 successes (failures) before it calls a target
 * healthy (unhealthy): the provider's `IntBetween(2, 10)` on healthy_threshold and
 * unhealthy_threshold, refused before any AWS call.
 */
function checkHealthCheckThresholds(check: LimitCheck): void {
    const healthCheck = check.inputs.healthCheck as Record<string, unknown> | undefined;
    for (const [key, attribute] of [["healthyThreshold", "healthy_threshold"], ["unhealthyThreshold", "unhealthy_threshold"]] as const) {
        const value = healthCheck?.[key];
        if (typeof value !== "number" || (value >= 2 && value <= 10)) continue;
        throw new AwsRuleError(
            "health-check-threshold-range",
            resourceOf(check),
            `expected health_check.0.${attribute} to be in the range (2 - 10), got ${value}`,
            `count 2 to 10 health checks for healthCheck.${key}`,
        );
    }
}

/**
 * ELBv2 ports: a target group's `port` is the provider's `IntBetween(1, 65535)`
 * (internal/service/elbv2/target_group.go), a listener's `port` its `IsPortNumber`
 * (internal/service/elbv2/listener.go; terraform-plugin-sdk helper/validation): both refused
 * at plan time, before any AWS call.
 */
function checkTargetGroupPort(check: LimitCheck): void {
    checkElbPort(check, (port) => `expected port to be in the range (1 - 65535), got ${port}`, "give the target group the port its targets listen on, 1 to 65535");
}

function checkListenerPort(check: LimitCheck): void {
    checkElbPort(check, (port) => `expected "port" to be a valid port number, got: ${port}`, "give the listener a port from 1 to 65535");
}

/** `port` of 1 to 65535; the provider's message differs by resource. */
function checkElbPort(check: LimitCheck, message: (port: number) => string, fix: string): void {
    const port = check.inputs.port;
    if (typeof port !== "number" || (port >= 1 && port <= 65535)) return;
    throw new AwsRuleError("elb-port-range", resourceOf(check), message(port), `${fix} (got ${port})`);
}

/**
 * A target group drains a deregistering target for 0 to 3600 seconds: the provider's
 * `nullable.ValidateTypeStringNullableIntBetween(0, 3600)` on deregistration_delay
 * (internal/service/elbv2/target_group.go, internal/sdkv2/types/nullable/int.go), whose message
 * reads "at between", refused at plan time.
 */
function checkDeregistrationDelay(check: LimitCheck): void {
    const delay = check.inputs.deregistrationDelay;
    const seconds = typeof delay === "string" && /^-?\d+$/.test(delay) ? Number(delay) : delay;
    if (typeof seconds !== "number" || (seconds >= 0 && seconds <= 3600)) return;
    throw new AwsRuleError(
        "deregistration-delay-range",
        resourceOf(check),
        `expected deregistration_delay to be at between (0) and (3600), got ${seconds}`,
        `drain deregistering targets for 0 to 3600 seconds (got ${seconds}); longer-lived connections are cut after an hour at most`,
    );
}

/**
 * Route 53 record names: a label is at most 63 octets and the whole name at most 255 octets on
 * the wire, 253 characters in text form without the final dot (Route 53 Developer Guide, "DNS
 * domain name format"). The provider does not check `name` (terraform-provider-aws issue
 * #44947); Route 53 refuses the change batch. Its wording for a long label is
 * "InvalidChangeBatch: FATAL problem: DomainLabelTooLong (Domain label is too long) encountered
 * with '<label>'" (seen in ministryofjustice/cloud-platform#4294); for a long name it was not
 * found, and the message is ours.
 */
function checkRecordName(check: LimitCheck): void {
    const given = check.inputs.name;
    if (typeof given !== "string") return;
    const name = given.endsWith(".") ? given.slice(0, -1) : given;
    const resource = resourceOf(check);
    const longLabel = name.split(".").find((label) => Buffer.byteLength(label) > 63);
    if (longLabel !== undefined) {
        throw new AwsRuleError(
            "route53-record-name",
            resource,
            `InvalidChangeBatch: FATAL problem: DomainLabelTooLong (Domain label is too long) encountered with '${longLabel}'`,
            `shorten the label "${longLabel.slice(0, 20)}…" of the record name to 63 characters (it has ${Buffer.byteLength(longLabel)})`,
        );
    }
    const length = Buffer.byteLength(name);
    if (length <= 253) return;
    throw new AwsRuleError(
        "route53-record-name",
        resource,
        `Route 53 refuses the record name "${name.slice(0, 40)}…": ${length} characters, over the 253 a domain name may have (255 octets on the wire)`,
        `shorten the record name to 253 characters (it has ${length}): a shorter label of its own, or a shorter zone name`,
    );
}

/**
 * Tags, on every resource that takes them: at most 50 user tags, keys of 1 to 128 characters
 * that do not start with `aws:` (in any case: AWS's own), values of 0 to 256 characters (AWS's
 * tagging restrictions, the same in every service). The provider does not check them (its
 * `tags` schema has no validation: terraform-provider-aws internal/tags); AWS refuses the call,
 * each service in words of its own. EC2's for an `aws:` key on a create call is "InvalidParameterValue:
 * Tag keys starting with 'aws:' are reserved for internal use" (seen in
 * jcjorel/ec2-spot-converter#13, RunInstances); the other messages were not found and are ours.
 *
 * The provider merges its `defaultTags` into a resource's tags (`tagsAll`, what AWS gets): they
 * count, and are checked, with the resource's own. Only for a resource given `tags` (a map): the
 * offline cloud does not know which other resource types take tags.
 */
function checkTags(check: LimitCheck): void {
    const own = tagEntries(check.inputs.tags);
    if (own === undefined) return;
    const defaults = Array.isArray(check.inputs.tags) ? [] : Object.entries(check.defaultTags ?? {}).filter(([key]) => !own.some(([k]) => k === key));
    const tags = [...defaults, ...own];
    const rule = "resource-tags";
    const resource = resourceOf(check);
    const ec2 = check.type.startsWith("aws:ec2/") || check.type.startsWith("aws:vpc/");
    for (const [key, value] of tags) {
        if (/^aws:/i.test(key)) {
            throw new AwsRuleError(
                rule,
                resource,
                ec2 ? "InvalidParameterValue: Tag keys starting with 'aws:' are reserved for internal use" : `the tag key "${key}" starts with "aws:", which AWS reserves for its own tags`,
                `rename the tag ${JSON.stringify(key)}: keys starting with "aws:" (in any case) are AWS's; copy AWS's tags under a prefix of your own, e.g. ${JSON.stringify(`copied:${key.slice(4)}`)}`,
            );
        }
        if (key.length < 1 || key.length > 128) {
            throw new AwsRuleError(
                rule,
                resource,
                key.length < 1 ? "a tag key is empty: AWS takes tag keys of 1 to 128 characters" : `the tag key "${key.slice(0, 40)}…" has ${key.length} characters: AWS takes tag keys of 1 to 128 characters`,
                key.length < 1 ? "give every tag a key" : `shorten the tag key to 128 characters (it has ${key.length})`,
            );
        }
        if (typeof value === "string" && value.length > 256) {
            throw new AwsRuleError(
                rule,
                resource,
                `the value of the tag "${key}" has ${value.length} characters: AWS takes tag values of 0 to 256 characters`,
                `shorten the value of the tag ${JSON.stringify(key)} to 256 characters (it has ${value.length})`,
            );
        }
    }
    if (tags.length > 50) {
        const fromDefaults = defaults.length > 0 ? ` (${defaults.length} of them the provider's defaultTags)` : "";
        throw new AwsRuleError(
            rule,
            resource,
            `${tags.length} tags${fromDefaults}: AWS allows at most 50 user tags per resource`,
            defaults.length > 0 ? `give the resource at most ${50 - defaults.length} tags of its own (it has ${own.length}), or fewer defaultTags on its provider` : `give the resource at most 50 tags (it has ${tags.length})`,
        );
    }
}

/** Tags as a map (`tags` of most resources) or a list of `{ key, value }` (an auto scaling group's). */
function tagEntries(tags: unknown): Array<[string, unknown]> | undefined {
    if (Array.isArray(tags)) {
        return tags.filter((t): t is { key: string; value?: unknown } => typeof t === "object" && t !== null && typeof (t as { key?: unknown }).key === "string").map((t) => [t.key, t.value]);
    }
    if (typeof tags === "object" && tags !== null) return Object.entries(tags);
    return undefined;
}

/**
 * IAM role names: at most 64 characters (the provider's `name` validation; Pulumi's autonaming
 * of `aws:iam/role:Role` has the same maximum: `AutoName("name", 64, "-")`), of `[\w+=,.@-]`:
 * the provider's `validResourceName` (internal/service/iam/validate.go: `StringLenBetween(1, max)`
 * and `StringMatch(^[\w+=,.@-]*$, "must match [\\w+=,.@-]")`), so a plan-time error:
 * "invalid value for name (must match [\w+=,.@-])". A name Pulumi generates is the logical name
 * plus `-<7 random>` and is validated the same way, for a resource being created.
 */
const roleNameCharacters = /^[\w+=,.@-]*$/;

function checkRoleName(check: LimitCheck): void {
    const rule = "iam-role-name";
    const resource = resourceOf(check);
    const { name, namePrefix } = check.inputs;
    if (typeof name === "string" && (name.length < 1 || name.length > 64)) {
        throw new AwsRuleError(rule, resource, `expected length of name to be in the range (1 - 64), got ${name}`, "give the role a name of 1 to 64 characters");
    }
    if (typeof name !== "string" && typeof namePrefix !== "string") {
        const tooLong = autoNameTooLong(check, 64);
        if (tooLong) throw new AwsRuleError(rule, resource, tooLong, `give the role a logical name of at most ${64 - autoNameSuffix} characters (Pulumi adds 8), or a \`name\` of at most 64`);
    }
    const allowed = "letters, digits and +=,.@_-";
    for (const [key, attribute, value] of [["name", "name", name], ["namePrefix", "name_prefix", namePrefix]] as const) {
        if (typeof value !== "string" || roleNameCharacters.test(value)) continue;
        throw new AwsRuleError(
            "iam-role-name-characters",
            resource,
            `invalid value for ${attribute} (must match [\\w+=,.@-])`,
            `leave out ${JSON.stringify(refusedBy(value, roleNameCharacters))} from the role's ${key} (${JSON.stringify(value)}): IAM takes only ${allowed}`,
        );
    }
    if (typeof name !== "string" && typeof namePrefix !== "string" && check.autoName !== undefined && !roleNameCharacters.test(check.autoName)) {
        throw new AwsRuleError(
            "iam-role-name-characters",
            resource,
            "invalid value for name (must match [\\w+=,.@-])",
            `leave out ${JSON.stringify(refusedBy(check.autoName, roleNameCharacters))} from the role's logical name (${JSON.stringify(check.name)}), which Pulumi makes its name, or give a \`name\` of ${allowed}`,
        );
    }
}

/** The first character of `text` that a one-character test of `allowed` refuses. */
function refusedBy(text: string, allowed: RegExp): string | undefined {
    return [...text].find((ch) => !allowed.test(ch));
}

/**
 * Lambda function names: at most 64 characters (CreateFunction's FunctionName; the provider only
 * checks 140, the length of a full ARN, so AWS refuses the call). A name Pulumi generates is
 * checked the same way. Their characters: the provider's `validFunctionName`
 * (internal/service/lambda/validate.go) takes a plain name of `[a-zA-Z0-9-_]+` (or a function
 * ARN), "must be valid function name or function ARN", at plan time.
 */
const functionNamePattern = /^(arn:[\w-]+:lambda:)?([a-z]{2}-(?:[a-z]+-){1,2}\d{1}:)?(\d{12}:)?(function:)?([0-9A-Za-z_-]+)(:(\$LATEST|[0-9A-Za-z_-]+))?$/;

function checkFunctionName(check: LimitCheck): void {
    const given = check.inputs.name;
    const name = typeof given === "string" ? given : check.autoName;
    if (name === undefined) return;
    if (!functionNamePattern.test(name)) {
        const refused = refusedBy(name, /^[0-9A-Za-z_-]$/);
        throw new AwsRuleError(
            "lambda-function-name-characters",
            resourceOf(check),
            "invalid value for function_name (must be valid function name or function ARN)",
            typeof given === "string"
                ? `leave out ${JSON.stringify(refused)} from the function's name (${JSON.stringify(given)}): Lambda takes only letters, digits, hyphens and underscores`
                : `leave out ${JSON.stringify(refused)} from the function's logical name (${JSON.stringify(check.name)}), which Pulumi makes its name, or give a \`name\` of letters, digits, hyphens and underscores`,
        );
    }
    if (name.length <= 64) return;
    throw new AwsRuleError(
        "lambda-function-name",
        resourceOf(check),
        `InvalidParameterValueException: 1 validation error detected: Value '${name}' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64`,
        typeof given === "string" ? "give the function a name of at most 64 characters" : `give the function a logical name of at most ${64 - autoNameSuffix} characters (Pulumi adds 8), or a \`name\` of at most 64`,
    );
}

/**
 * S3 bucket names Pulumi generates: the logical name, lower-cased, plus 8 characters, at most 63
 * (pulumi-aws `AutoNameTransform("bucket", 63, strings.ToLower)`); a bucket name has only
 * lower-case letters, digits, dots and hyphens (S3's InvalidBucketName).
 */
function checkBucketName(check: LimitCheck): void {
    if (typeof check.inputs.bucket === "string" || typeof check.inputs.bucketPrefix === "string" || check.autoName === undefined) return;
    const rule = "s3-bucket-name";
    const tooLong = autoNameTooLong({ ...check, autoName: check.autoName.toLowerCase() }, 63);
    if (tooLong) throw new AwsRuleError(rule, resourceOf(check), tooLong, `give the bucket a logical name of at most ${63 - autoNameSuffix} characters (Pulumi adds 8), or a \`bucket\` name of at most 63`);
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(check.autoName.toLowerCase())) {
        throw new AwsRuleError(rule, resourceOf(check), "InvalidBucketName: The specified bucket is not valid.", "name the bucket with lower-case letters, digits, dots and hyphens only (its logical name, lower-cased, is its name)");
    }
}

/** The retention periods CloudWatch Logs accepts; the provider adds 0 (never expire). */
export const logRetentionDays = [0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

function checkLogRetention(check: LimitCheck): void {
    const days = check.inputs.retentionInDays;
    if (typeof days !== "number" || (logRetentionDays as readonly number[]).includes(days)) return;
    const nearest = [...logRetentionDays].filter((d) => d > 0).sort((a, b) => Math.abs(a - days) - Math.abs(b - days))[0];
    throw new AwsRuleError(
        "log-retention-days",
        resourceOf(check),
        `expected retention_in_days to be one of [${logRetentionDays.join(" ")}], got ${days}`,
        `choose a retention CloudWatch Logs knows (the nearest is ${nearest} days), or 0 to keep the events forever`,
    );
}

/**
 * EC2 (VPC) security group descriptions and rule descriptions: at most 255 characters from
 * a-zA-Z0-9, space and ._-:/()#,@[]+=&;{}!$* (no apostrophe, no quote, no non-ASCII letter),
 * AWS API reference CreateSecurityGroup (GroupDescription) and IpRange/SecurityGroupRuleRequest
 * (Description). The provider does not check them; AWS refuses the API call.
 */
const descriptionCharacters = /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;
const allowedSet = "a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*";

/** The first character AWS does not accept in a security group (rule) description, if any. */
function refusedCharacter(text: string): string | undefined {
    return [...text].find((ch) => !descriptionCharacters.test(ch));
}

function checkSecurityGroupDescriptions(check: LimitCheck): void {
    const resource = resourceOf(check);
    const description = check.inputs.description;
    if (typeof description === "string") {
        const bad = refusedCharacter(description);
        if (bad !== undefined && /[^\x00-\x7f]/.test(description)) {
            throw new AwsRuleError(
                "security-group-description",
                resource,
                `InvalidParameterValue: Value (${description}) for parameter GroupDescription is invalid. Character sets beyond ASCII are not supported.`,
                `write the description in ${allowedSet} only`,
            );
        }
        if (bad !== undefined || description.length > 255) {
            throw new AwsRuleError(
                "security-group-description",
                resource,
                `InvalidParameterValue: Invalid security group description. Valid descriptions are strings less than 256 characters from the following set:  ${allowedSet}`,
                bad !== undefined ? `leave out ${JSON.stringify(bad)} from the description (${JSON.stringify(description)}): only ${allowedSet} are allowed` : `shorten the description to 255 characters (it has ${description.length})`,
            );
        }
    }
    // Rules given inline (ingress/egress blocks) carry descriptions of their own.
    for (const key of ["ingress", "egress"] as const) {
        const rules = check.inputs[key];
        if (!Array.isArray(rules)) continue;
        for (const r of rules as Array<{ description?: unknown }>) checkRuleDescription(resource, r.description);
    }
}

function checkRuleDescription(resource: string, description: unknown): void {
    if (typeof description !== "string") return;
    const bad = refusedCharacter(description);
    if (bad === undefined && description.length <= 255) return;
    throw new AwsRuleError(
        "security-group-rule-description",
        resource,
        `InvalidParameterValue: Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  ${allowedSet}`,
        bad !== undefined ? `leave out ${JSON.stringify(bad)} from the rule's description (${JSON.stringify(description)}): only ${allowedSet} are allowed` : `shorten the rule's description to 255 characters (it has ${description.length})`,
    );
}
