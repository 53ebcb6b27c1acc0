import * as pulumi from "@pulumi/pulumi";

/**
 * Thrown when a component is given an argument that cannot work. The message names the
 * component, the resource, the field and the fix, so a `pulumi preview` fails at the line
 * that built the component instead of minutes later inside an AWS API error.
 *
 * Its stack is its first line only. The message already says where (component, resource name,
 * field), and a formatted stack is expensive where it matters: in Pulumi's Node.js plugin host
 * (the component provider, with source-map support and ts-node registered), formatting the stack
 * of one such error thrown inside an Output took 18 s of mostly garbage collection before the
 * Construct call could fail (measured on 2 cores; 0.3 s without it).
 */
export class ComponentArgumentError extends Error {
    constructor(
        /** e.g. `PrivateLinkService "acme"` */
        public readonly component: string,
        /** dotted path of the offending argument, e.g. `listeners[1].port` */
        public readonly field: string,
        /** what is wrong and what to do instead, one sentence */
        public readonly problem: string,
    ) {
        super(`${component}: ${field} ${problem}`);
        this.name = "ComponentArgumentError";
        this.stack = `${this.name}: ${this.message}`;
    }
}

/**
 * Collects the checks of one component instance. Plain values are checked at construction;
 * values that are Outputs or Promises are checked when they resolve (still before any AWS call
 * that uses them, since the checked value is what gets passed on).
 */
export class ArgChecker {
    readonly label: string;

    constructor(
        componentType: string,
        /** The component's name, which the logical names of its resources start with. */
        readonly name: string,
    ) {
        this.label = `${componentType} "${name}"`;
    }

    /**
     * The component's name is part of a security group's description (`description`, built with
     * it), and EC2 takes only a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$* there, at most 255.
     */
    securityGroupDescriptionFits(description: string, field = "name", shorter = "use a shorter name"): void {
        const refused = [...description].find((ch) => !securityGroupDescriptionCharacters.test(ch));
        if (refused !== undefined) {
            this.fail(field, `makes the security group description "${description}", which EC2 refuses (${JSON.stringify(refused)}: only letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* are allowed); use a ${field} of those characters`);
        }
        if (description.length > 255) {
            this.fail(field, `makes the security group description ${description.length} characters long, over the 255 EC2 allows ("${description.slice(0, 60)}…"); ${shorter}`);
        }
    }

    /**
     * Pulumi names a resource given no physical name `<logical name>-<7 random characters>`, and
     * AWS caps the names of some (see `awsNameLimits`). Refuses a component name that would make
     * the resource `logicalName` (which starts with it) a name AWS, or Pulumi's autonaming, refuses.
     */
    autoNameFits(logicalName: string, limit: AwsNameLimit): void {
        if (!limit.characters.test(logicalName)) {
            this.fail("name", `makes the ${limit.what} "${logicalName}", a name ${limit.service} refuses (${limit.allowed}); use a name of ${limit.allowed}`);
        }
        const generated = logicalName.length + autoNameSuffixLength;
        if (generated > limit.maxLength) {
            const most = this.name.length - (generated - limit.maxLength);
            this.fail(
                "name",
                `is too long: Pulumi names the ${limit.what} "${logicalName}-" plus 7 random characters, ${generated} in all, and ${limit.service} allows ${limit.maxLength}; use a name of at most ${most} characters`,
            );
        }
    }

    /**
     * Tags for the resources the component creates: AWS takes at most 50 per resource, keys of 1 to
     * 128 characters that do not start with `aws:` (in any case: AWS's own), values of at most 256.
     * `added` lists, per resource that gets more, the keys the component adds to it (`Name`, …):
     * counted with the user's. Plain tags are checked now, an Output when it resolves, a value that is an Output
     * when it resolves; returns the input to pass on.
     */
    tags(
        field: string,
        value: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
        added: ReadonlyArray<readonly string[]> = [],
    ): pulumi.Input<Record<string, pulumi.Input<string>>> {
        if (value === undefined) return {};
        const checkKeys = (keys: readonly string[]): void => {
            for (const key of keys) {
                const at = `${field}[${JSON.stringify(key)}]`;
                if (/^aws:/i.test(key)) this.fail(at, `starts with "aws:", which AWS reserves for its own tags (in any case); use a prefix of your own`);
                if (key.length < 1 || key.length > 128) this.fail(at, `is a tag key of ${key.length} characters; AWS takes keys of 1 to 128`);
            }
            for (const extra of [[], ...added]) {
                const ours = extra.filter((k) => !keys.includes(k));
                const total = keys.length + ours.length;
                if (total <= 50) continue;
                const also = ours.length > 0 ? ` and the component adds ${ours.map((k) => JSON.stringify(k)).join(", ")} to some of its resources` : "";
                this.fail(field, `has ${keys.length} tags${also}: ${total} on a resource, over the 50 AWS allows; give at most ${50 - ours.length}`);
            }
        };
        const checkValue = (key: string, resolved: unknown): void => {
            if (typeof resolved === "string" && resolved.length > 256) {
                this.fail(`${field}[${JSON.stringify(key)}]`, `is a tag value of ${resolved.length} characters; AWS takes at most 256`);
            }
        };
        if (isPlain(value)) {
            if (typeof value !== "object" || value === null || Array.isArray(value)) this.fail(field, `must be a map of tag keys to values (got ${describe(value)})`);
            const tags = value as Record<string, pulumi.Input<string>>;
            checkKeys(Object.keys(tags));
            return Object.fromEntries(Object.entries(tags).map(([key, v]) => [key, this.input(v, (resolved) => checkValue(key, resolved))]));
        }
        return pulumi.output(value).apply((resolved) => {
            checkKeys(Object.keys(resolved ?? {}));
            for (const [key, v] of Object.entries(resolved ?? {})) checkValue(key, v);
            return resolved;
        }) as pulumi.Input<Record<string, pulumi.Input<string>>>;
    }

    /**
     * A DNS name the component gives a Route 53 record, built from arguments (`<record>.<zone>`):
     * Route 53 takes at most 253 characters (255 octets on the wire) and labels of at most 63.
     */
    recordNameFits(field: string, recordName: string, fix: string): void {
        const label = recordName.split(".").find((l) => l.length > 63);
        if (label !== undefined) this.fail(field, `makes the record name "${recordName}", whose label "${label}" has ${label.length} characters, over the 63 Route 53 allows; ${fix}`);
        if (recordName.length > 253) this.fail(field, `makes the record name "${recordName.slice(0, 40)}…" ${recordName.length} characters long, over the 253 Route 53 allows; ${fix}`);
    }

    fail(field: string, problem: string): never {
        throw new ComponentArgumentError(this.label, field, problem);
    }

    /**
     * Runs `check` on the value now if it is plain, or when it resolves, and returns an input
     * that carries the checked value (Outputs keep their dependencies and secretness).
     */
    input<T>(value: pulumi.Input<T>, check: (resolved: pulumi.Unwrap<T>) => void): pulumi.Input<T> {
        if (isPlain(value)) {
            check(value as pulumi.Unwrap<T>);
            return value;
        }
        return pulumi.output(value).apply((resolved) => {
            check(resolved);
            return resolved;
        }) as pulumi.Input<T>;
    }

    /** A plain (construction-time) array that must not be empty. */
    nonEmptyArray<T>(field: string, value: readonly T[] | undefined, fix: string): readonly T[] {
        if (!Array.isArray(value) || value.length === 0) this.fail(field, `must list at least one entry; ${fix}`);
        return value;
    }

    /** Plain values of a list must be distinct (Outputs are compared once resolved by AWS). */
    uniqueValues(field: string, values: readonly pulumi.Input<string>[]): void {
        const seen = new Set<string>();
        values.forEach((value, index) => {
            if (typeof value !== "string") return;
            if (seen.has(value)) this.fail(`${field}[${index}]`, `repeats "${value}"; list each value once`);
            seen.add(value);
        });
    }

    port(field: string, value: unknown): number {
        if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
            this.fail(field, `must be an integer port between 1 and 65535 (got ${describe(value)})`);
        }
        return value;
    }

    /**
     * A list whose length decides how many resources exist (subnets, rules, routes) must be a plain
     * array while the program runs, so that validation and `pulumi preview` see every resource; its
     * elements may still be Outputs. Absent means empty.
     */
    plainList<T>(field: string, value: readonly T[] | undefined, fix: string): readonly T[] {
        if (value === undefined) return [];
        if (!Array.isArray(value)) {
            const kind = pulumi.Output.isInstance(value) ? "an Output" : value instanceof Promise ? "a Promise" : "not a list";
            this.fail(field, `is ${kind}, so the number of resources it decides is unknown while the program runs; ${fix}`);
        }
        return value;
    }

    /**
     * An AWS account ID or IAM principal ARN that is granted access. `*` (anywhere in it) is refused:
     * a wildcard principal opens the resource to every AWS account.
     */
    principal(field: string, value: unknown): string {
        if (typeof value !== "string" || value.trim() === "") this.fail(field, "must be an AWS account ID or IAM principal ARN");
        if (value.includes("*")) {
            this.fail(field, `must not contain "*" (got "${value}"): it would admit every AWS principal; give an account ID or a role ARN`);
        }
        if (!patterns.accountId.test(value) && !patterns.principalArn.test(value)) {
            this.fail(field, `must be a 12-digit AWS account ID or an IAM principal ARN like arn:aws:iam::123456789012:role/name (got "${value}")`);
        }
        return value;
    }

    /** Ports that must be distinct (one listener per port, one SG rule per port). */
    uniquePorts(field: string, ports: readonly number[]): void {
        const seen = new Set<number>();
        ports.forEach((port, index) => {
            if (seen.has(port)) this.fail(`${field}[${index}]`, `repeats port ${port}; each port may appear once`);
            seen.add(port);
        });
    }

    oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
        if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
            this.fail(field, `must be one of ${allowed.map((a) => `"${a}"`).join(", ")} (got ${describe(value)})`);
        }
        return value as T;
    }

    integerInRange(field: string, value: unknown, min: number, max: number): number {
        if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
            this.fail(field, `must be an integer between ${min} and ${max} (got ${describe(value)})`);
        }
        return value;
    }

    /** Days of log retention, one of the periods CloudWatch Logs accepts. */
    logRetention(field: string, value: unknown): number {
        if (!(logRetentionDays as readonly unknown[]).includes(value)) {
            this.fail(field, `must be a retention CloudWatch Logs accepts: ${logRetentionDays.join(", ")} days (got ${describe(value)})`);
        }
        return value as number;
    }

    /** Plain IPv4 CIDRs (e.g. 10.0.0.0/16), each checked now; returns them. */
    ipv4Cidrs(field: string, values: readonly string[]): string[] {
        return values.map((cidr, i) => {
            if (typeof cidr !== "string" || !isIpv4Cidr(cidr)) this.fail(`${field}[${i}]`, `must be an IPv4 CIDR like 10.0.0.0/16 (got ${JSON.stringify(cidr)})`);
            return cidr;
        });
    }

    /** A VPC ID, checked now or when it resolves; pass the returned input on, not the argument. */
    vpcId(field: string, value: pulumi.Input<string>): pulumi.Input<string> {
        return this.matches(field, value, patterns.vpcId, "a VPC ID like vpc-0123456789abcdef0");
    }

    /**
     * A plain, non-empty list of distinct subnet IDs (elements may be Outputs, checked when they
     * resolve). Returns the checked elements: pass those on, not the argument.
     */
    subnetIds(field: string, value: readonly pulumi.Input<string>[] | undefined, fix: string): pulumi.Input<string>[] {
        const list = this.nonEmptyArray(field, this.plainList(field, value, fix), fix);
        this.uniqueValues(field, list);
        return list.map((s, i) => this.matches(`${field}[${i}]`, s, patterns.subnetId, "a subnet ID like subnet-0123456789abcdef0"));
    }

    /**
     * A list argument as Pulumi users pass it (`Input<Input<T>[]>`, e.g. awsx's `vpc.privateSubnetIds`):
     * checked element by element now when it is a plain array, else once it resolves. Returns the
     * checked input to hand on (Outputs keep their dependencies and secretness). `required` refuses
     * an empty or absent list with `fix` (absent: "must be a list (got nothing)", now or, for a field
     * of an Output, when it resolves); duplicates are refused. A plain value that is not a list (a
     * string, an object) is refused now, not when it "resolves".
     */
    list<T>(
        field: string,
        value: pulumi.Input<pulumi.Input<T>[]> | undefined,
        options: { required?: boolean; fix: string; each?: (element: pulumi.Unwrap<T>, field: string) => void },
    ): pulumi.Input<pulumi.Input<T>[]> {
        const checkAll = (list: unknown): void => {
            if (list === undefined && !options.required) return;
            if (!Array.isArray(list)) this.fail(field, `must be a list (got ${describe(list)}); ${options.fix}`);
            if (options.required && list.length === 0) this.fail(field, `must list at least one entry; ${options.fix}`);
            this.uniqueValues(field, list.filter((v): v is string => typeof v === "string"));
            list.forEach((element, i) => options.each?.(element as pulumi.Unwrap<T>, `${field}[${i}]`));
        };
        if (value !== undefined && isPlain(value) && !Array.isArray(value)) checkAll(value);
        if (value === undefined) {
            checkAll(undefined);
            return [];
        }
        if (Array.isArray(value)) {
            if (options.required && value.length === 0) this.fail(field, `must list at least one entry; ${options.fix}`);
            this.uniqueValues(field, value as pulumi.Input<string>[]);
            // Plain elements are checked now, Outputs when they resolve; each under its own index.
            return value.map((element, i) => this.input(element, (resolved) => options.each?.(resolved as pulumi.Unwrap<T>, `${field}[${i}]`)));
        }
        return pulumi.output(value).apply((resolved) => {
            checkAll(resolved);
            return resolved;
        }) as pulumi.Input<pulumi.Input<T>[]>;
    }

    /** Subnet IDs as `Input<Input<string>[]>` (an awsx `Output<string[]>` too): non-empty, distinct, each a subnet ID. */
    subnetIdList(field: string, value: pulumi.Input<pulumi.Input<string>[]> | undefined, fix: string): pulumi.Input<pulumi.Input<string>[]> {
        return this.list<string>(field, value, { required: true, fix, each: (id, f) => this.pattern(f, id, patterns.subnetId, "a subnet ID like subnet-0123456789abcdef0") });
    }

    /** Security group IDs as `Input<Input<string>[]>`: distinct, each a security group ID. */
    securityGroupIdList(field: string, value: pulumi.Input<pulumi.Input<string>[]> | undefined, fix: string, required = false): pulumi.Input<pulumi.Input<string>[]> {
        return this.list<string>(field, value, { required, fix, each: (id, f) => this.pattern(f, id, patterns.securityGroupId, "a security group ID like sg-0123456789abcdef0") });
    }

    /** A resolved string against a pattern (for `list` element checks). */
    pattern(field: string, value: unknown, pattern: RegExp, expected: string): string {
        if (typeof value !== "string" || !pattern.test(value)) this.fail(field, `must be ${expected} (got ${describe(value)})`);
        return value;
    }

    /** A plain list of distinct security group IDs (possibly empty); returns the checked elements. */
    securityGroupIds(field: string, value: readonly pulumi.Input<string>[] | undefined, fix: string): pulumi.Input<string>[] {
        const list = this.plainList(field, value, fix);
        this.uniqueValues(field, list);
        return list.map((g, i) => this.matches(`${field}[${i}]`, g, patterns.securityGroupId, "a security group ID like sg-0123456789abcdef0"));
    }

    /** Checks a string input against a pattern, now or when it resolves. */
    matches(field: string, value: pulumi.Input<string>, pattern: RegExp, expected: string): pulumi.Input<string> {
        return this.input(value, (resolved) => {
            if (typeof resolved !== "string" || !pattern.test(resolved)) {
                this.fail(field, `must be ${expected} (got ${describe(resolved)})`);
            }
        });
    }
}

/** True when a value is available at construction (not an Output or a Promise). */
export function isPlain<T>(value: pulumi.Input<T>): value is T {
    return !pulumi.Output.isInstance(value) && !(value instanceof Promise);
}

function describe(value: unknown): string {
    if (value === undefined) return "nothing";
    if (typeof value === "string") return JSON.stringify(value);
    return JSON.stringify(value) ?? String(value);
}

// Shapes of AWS identifiers, used by every component. Anchored, and strict about case:
// AWS never returns upper-case hex in these IDs.
export const patterns = {
    accountId: /^\d{12}$/,
    /** An IAM principal ARN in any partition: account root, role, user, or assumed role. */
    principalArn: /^arn:aws(-[a-z]+)*:iam::\d{12}:(root|role\/[\w+=,.@\/-]+|user\/[\w+=,.@\/-]+)$/,
    vpcId: /^vpc-[0-9a-f]{8,17}$/,
    subnetId: /^subnet-[0-9a-f]{8,17}$/,
    securityGroupId: /^sg-[0-9a-f]{8,17}$/,
    instanceId: /^i-[0-9a-f]{8,17}$/,
    vpcEndpointId: /^vpce-[0-9a-f]{8,17}$/,
    /**
     * `com.amazonaws.vpce.<region>.vpce-svc-<17 hex>` as returned by CreateVpcEndpointServiceConfiguration;
     * in the China regions `cn.com.amazonaws.vpce.…`.
     */
    endpointServiceName: /^(cn\.)?com\.amazonaws\.vpce\.[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d\.vpce-svc-[0-9a-f]{8,17}$/,
    region: /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/,
    acmCertificateArn: /^arn:aws(-[a-z]+)*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/,
    snsTopicArn: /^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/,
    /** A DNS name of lower-case labels; no trailing dot. */
    dnsName: /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    dnsLabel: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    route53ZoneId: /^Z[A-Z0-9]{1,31}$/,
    /** A Lambda function ARN, optionally qualified with a version or alias. */
    lambdaFunctionArn: /^arn:aws(-[a-z]+)*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/,
    cognitoUserPoolArn: /^arn:aws(-[a-z]+)*:cognito-idp:[a-z0-9-]+:\d{12}:userpool\/[a-z0-9-]+_[0-9A-Za-z]+$/,
    /** A KMS key ARN (CloudWatch Logs needs the key ARN, not an alias). */
    kmsKeyArn: /^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:\d{12}:key\/([0-9a-f-]{36}|mrk-[0-9a-f]{32})$/,
    /** An IPv4 CIDR block, e.g. 10.0.0.0/16 (octets and prefix range-checked by `isIpv4Cidr`). */
    ipv4Cidr: /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/,
    /** An API Gateway VPC link ID (REST APIs: the `aws.apigateway.VpcLink` to an NLB). */
    apiGatewayVpcLinkId: /^[a-z0-9]{5,12}$/,
} as const;

/** True for an IPv4 CIDR whose octets are 0–255 and whose prefix is 0–32. */
export function isIpv4Cidr(value: string): boolean {
    const m = patterns.ipv4Cidr.exec(value);
    if (!m) return false;
    const numbers = m.slice(1).map(Number);
    return numbers.slice(0, 4).every((octet) => octet <= 255) && numbers[4]! <= 32;
}

/** Whether an IPv4 address lies in a CIDR block (false for anything that is not both). */
export function ipv4InCidr(ip: string, cidr: string): boolean {
    const toNumber = (address: string) => {
        const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
        return m ? m.slice(1).reduce((n, octet) => n * 256 + Number(octet), 0) : undefined;
    };
    const [base, bits] = cidr.split("/");
    const address = toNumber(ip);
    const network = toNumber(base ?? "");
    if (address === undefined || network === undefined || !isIpv4Cidr(cidr)) return false;
    const size = 2 ** (32 - Number(bits));
    return Math.floor(address / size) === Math.floor(network / size);
}

/** Account IDs become the account's root principal; principal ARNs are used as given. */
export function principalArn(partition: string, value: string): string {
    return patterns.accountId.test(value) ? `arn:${partition}:iam::${value}:root` : value;
}

/** What EC2 accepts in a security group's (and a rule's) description: CreateSecurityGroup, IpRange. */
const securityGroupDescriptionCharacters = /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]$/;

/** Pulumi's auto-name suffix: a hyphen and 7 random characters. */
const autoNameSuffixLength = 8;

/** The longest name AWS allows for a kind of resource, and the characters it may use. */
export interface AwsNameLimit {
    what: string;
    service: string;
    maxLength: number;
    characters: RegExp;
    allowed: string;
}

/**
 * Names AWS caps that the components' resources get from Pulumi's autonaming: ELB load balancers
 * and target groups (CreateLoadBalancer, CreateTargetGroup: 32 characters, alphanumerics and
 * hyphens, no hyphen first or last), IAM roles (CreateRole: 64 characters of `[\w+=,.@-]`),
 * Lambda functions (CreateFunction: 64), S3 buckets (Pulumi generates at most 63, lower-cased).
 * The offline cloud (offline/awsLimits.ts) keeps its own copy of these rules on purpose.
 */
export const awsNameLimits = {
    loadBalancer: { what: "load balancer", service: "Elastic Load Balancing", maxLength: 32, characters: /^[A-Za-z0-9][A-Za-z0-9-]*$/, allowed: "letters, digits and hyphens, not starting with a hyphen" },
    targetGroup: { what: "target group", service: "Elastic Load Balancing", maxLength: 32, characters: /^[A-Za-z0-9][A-Za-z0-9-]*$/, allowed: "letters, digits and hyphens, not starting with a hyphen" },
    iamRole: { what: "IAM role", service: "IAM", maxLength: 64, characters: /^[\w+=,.@-]+$/, allowed: "letters, digits and +=,.@_-" },
    lambdaFunction: { what: "Lambda function", service: "Lambda", maxLength: 64, characters: /^[\w-]+$/, allowed: "letters, digits, hyphens and underscores" },
    // Pulumi lower-cases a bucket's logical name.
    s3Bucket: { what: "S3 bucket", service: "S3", maxLength: 63, characters: /^[A-Za-z0-9][A-Za-z0-9.-]*$/, allowed: "letters (lower-cased), digits, dots and hyphens" },
} as const satisfies Record<string, AwsNameLimit>;

/** CloudWatch Logs accepts only these retention periods (days). */
const logRetentionDays = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Default retention for the security logs the components write (flow logs, access logs): a year. */
export const defaultLogRetentionDays = 365;

/**
 * ELB security policies that negotiate TLS 1.2 or newer only (note TLS13-1-0/-1-1 still allow
 * TLS 1.0/1.1, so only TLS13-1-2/-1-3 count). Anything else, and the
 * provider's default (ELBSecurityPolicy-2016-08, which allows TLS 1.0), is refused.
 */
export const tls12ListenerPolicyPattern = /^ELBSecurityPolicy-(TLS13-1-[23]-|TLS-1-2-|FS-1-2-)/;
export const defaultListenerSslPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/**
 * API Gateway security policies (REST APIs and custom domain names) that refuse TLS 1.0/1.1: the
 * legacy `TLS_1_2`, and the enhanced `SecurityPolicy_TLS13_1_2_*` (TLS 1.3, down to 1.2) and
 * `SecurityPolicy_TLS13_1_3_*` (TLS 1.3 only). `TLS_1_0` and the edge-only
 * `SecurityPolicy_TLS12_*_EDGE` policies are refused.
 */
export const apiGatewayTls12PolicyPattern = /^(TLS_1_2|SecurityPolicy_TLS13_1_[23]_[A-Z0-9_]+)$/;
export const defaultApiGatewaySecurityPolicy = "TLS_1_2";
