// What PrivateApi accepts: every argument checked, with its default applied. Plain values are checked
// before any resource exists; a value that is an Output (as Pulumi's component provider passes any
// argument that depends on another resource) is checked when it resolves, with the same message. A
// reader looking for "why was my PrivateApi refused" starts here (routes and authorizers are checked
// in privateApiRoutes.ts).
import * as pulumi from "@pulumi/pulumi";
import { checkFlowLogSettings } from "../privatelink/endpointFlowLogs";
import {
    ArgChecker,
    awsNameLimits,
    defaultApiGatewaySecurityPolicy,
    defaultLogRetentionDays,
    isIpv4Cidr,
    isPlain,
    patterns,
} from "../shared/validation";
import { componentType as typeToken } from "../shared/typeTokens";
import type {
    PrivateApiArgs,
    PrivateApiCustomDomain,
    PrivateApiEndpointAccessMode,
    PrivateApiEndpointArgs,
    PrivateApiExecutionLogLevel,
    PrivateApiFlowLogs,
    PrivateApiThrottling,
} from "./privateApi";
import { fieldOf, Known, plainHere, settingWithDefault } from "../shared/known";
import { CheckedAuthorizer, checkAuthorizers, CheckedRoute, checkRoutes, routePassThrough } from "./privateApiRoutes";

export const componentType = typeToken("PrivateApi");
/** The type 0.1.x registered this component as; aliased so deployed stacks keep their state. */
export const legacyComponentType = "firefly:privateapi:PrivateApi";

/** Flow-log settings with defaults applied, as EndpointFlowLogs takes them. */
export type CheckedFlowLogs = ReturnType<typeof checkFlowLogSettings>;

export interface CheckedEndpoint {
    vpcId: pulumi.Input<string>;
    /** Handed to the endpoint as given (a list, or an Output of one). */
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Who may reach 443: one ingress rule each, named by the ID or CIDR (by index for an Output element). */
    sources: Known<{ securityGroupIds: pulumi.Input<string>[]; cidrs: pulumi.Input<string>[] }>;
    privateDnsEnabled: pulumi.Input<boolean>;
    policy?: pulumi.Input<string>;
    /** Undefined when explicitly turned off. */
    flowLogs: Known<CheckedFlowLogs | undefined>;
}

export interface CheckedCustomDomain {
    domainName: pulumi.Input<string>;
    certificateArn: pulumi.Input<string>;
    basePath?: pulumi.Input<string>;
    privateZoneId?: pulumi.Input<string>;
}

/** Routes and authorizers, checked together (routes name authorizers). */
export interface CheckedDefinition {
    routes: CheckedRoute[];
    authorizers: Record<string, CheckedAuthorizer>;
    /** Every route uses AWS_IAM, so requests carry a principal the resource policy can restrict. */
    iamOnly: boolean;
}

export interface CheckedArgs {
    endpoint?: CheckedEndpoint;
    vpcEndpointIds: pulumi.Input<pulumi.Input<string>[]>;
    definition: Known<CheckedDefinition>;
    /** Undefined: not given (this account). */
    allowedPrincipals?: pulumi.Input<pulumi.Input<string>[]>;
    stageName: pulumi.Input<string>;
    throttling: { rateLimit: pulumi.Input<number>; burstLimit: pulumi.Input<number> };
    accessLogRetentionInDays: pulumi.Input<number>;
    accessLogKmsKeyArn?: pulumi.Input<string>;
    executionLogLevel: pulumi.Input<PrivateApiExecutionLogLevel>;
    securityPolicy: pulumi.Input<string>;
    endpointAccessMode: pulumi.Input<PrivateApiEndpointAccessMode | undefined>;
    customDomain?: Known<CheckedCustomDomain>;
    manageAccountCloudWatchRole: Known<boolean>;
}

/** The API's scalar settings take null for absent, as they always have: the default applies. */
const nullAbsent = { nullIsAbsent: true } as const;

/** Validates what can be validated now, and arranges the rest to be validated when it resolves. */
export function checkArgs(name: string, args: PrivateApiArgs): CheckedArgs {
    const c = new ArgChecker(componentType, name);
    if (!args) c.fail("args", "are required");

    const vpcEndpointIds = c.list<string>("vpcEndpointIds", args.vpcEndpointIds, {
        fix: "pass a list of endpoint IDs",
        each: (id, field) => void c.pattern(field, id, patterns.vpcEndpointId, "an execute-api VPC endpoint ID like vpce-0123456789abcdef0"),
    });
    const needEndpoint = () =>
        c.fail(
            "endpoint",
            "is required when vpcEndpointIds lists no existing execute-api endpoint: give { vpcId, subnetIds, allowedSourceSecurityGroupIds } to create one, or the IDs of existing endpoints",
        );
    const checkedEndpointIds =
        args.endpoint !== undefined
            ? vpcEndpointIds
            : (Known.of(vpcEndpointIds as pulumi.Input<pulumi.Input<string>[] | undefined>)
                  .map((ids) => {
                      if (!ids || ids.length === 0) needEndpoint();
                      return ids;
                  })
                  .asInput() as pulumi.Input<pulumi.Input<string>[]>);
    const endpoint = args.endpoint === undefined ? undefined : checkEndpoint(c, args.endpoint);

    const principalsGiven = args.allowedPrincipals !== undefined;
    const allowedPrincipals = principalsGiven
        ? c.list<string>("allowedPrincipals", args.allowedPrincipals, {
              required: true,
              fix: "or omit it to let IAM policies of this account decide",
              each: (p, field) => void c.principal(field, p),
          })
        : undefined;

    // Routes and authorizers decide resources and their names: checked now when plain (but for the
    // ARNs and URLs handed to AWS as they are), else once they resolve.
    const definitionArgs = { routes: args.routes, authorizers: args.authorizers };
    const definition = Known.from<typeof definitionArgs, CheckedDefinition>(
        definitionArgs,
        { passThrough: routePassThrough },
        (resolved): CheckedDefinition => {
            const authorizers = checkAuthorizers(c, plainHere(resolved.authorizers));
            const routes = checkRoutes(c, plainHere(resolved.routes), authorizers);
            const iamOnly = routes.every((r) => r.authorization.type === "AWS_IAM");
            if (principalsGiven && !iamOnly) {
                const other = routes.findIndex((r) => r.authorization.type !== "AWS_IAM");
                c.fail(
                    "allowedPrincipals",
                    `needs every route to use AWS_IAM authorization, but routes[${other}] does not: its requests carry no IAM principal and would all be denied; remove allowedPrincipals or use AWS_IAM on every route`,
                );
            }
            return { routes, authorizers, iamOnly };
        },
    );

    const stageName = settingWithDefault<string>(args.stageName, "v1", (value) => {
        if (typeof value !== "string" || !/^[A-Za-z0-9_-]{1,128}$/.test(value)) {
            c.fail("stageName", `must be 1–128 letters, digits, "_" or "-" (got ${JSON.stringify(value)})`);
        }
    }, nullAbsent);

    const throttling = args.throttling;
    if (throttling !== undefined && isPlain(throttling) && (typeof throttling !== "object" || throttling === null)) {
        c.fail("throttling", `must be an object like { rateLimit: 100, burstLimit: 200 } (got ${JSON.stringify(throttling)})`);
    }
    const rateLimit = settingWithDefault<number>(fieldOf<PrivateApiThrottling, "rateLimit">(throttling, "rateLimit"), 100, (value) => {
        if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
            c.fail("throttling.rateLimit", `must be a positive number of requests per second (got ${JSON.stringify(value)}); throttling cannot be turned off here`);
        }
    }, nullAbsent);
    const burstLimit = settingWithDefault<number>(fieldOf<PrivateApiThrottling, "burstLimit">(throttling, "burstLimit"), 200, (value) => {
        if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
            c.fail("throttling.burstLimit", `must be a whole number of requests, at least 1 (got ${JSON.stringify(value)})`);
        }
    }, nullAbsent);

    // The access mode exists only with the enhanced policies: both are checked together.
    const tls = isPlain(args.securityPolicy) && isPlain(args.endpointAccessMode)
        ? checkTls(c, args.securityPolicy, args.endpointAccessMode)
        : pulumi.all([args.securityPolicy, args.endpointAccessMode]).apply(([policy, mode]) => checkTls(c, policy, mode));

    const customDomain =
        args.customDomain === undefined
            ? undefined
            : Known.of(args.customDomain as pulumi.Input<PrivateApiCustomDomain>).map((custom) => checkCustomDomain(c, custom, endpoint !== undefined));

    const manageAccountCloudWatchRole = Known.of(args.manageAccountCloudWatchRole as pulumi.Input<boolean | undefined>).map((value) => {
        const manage = value ?? false;
        if (typeof manage !== "boolean") c.fail("manageAccountCloudWatchRole", "must be true or false");
        // The account's logging role is named after the component (`<name>-apigateway-cloudwatch-role`).
        if (manage) c.autoNameFits(`${name}-apigateway-cloudwatch-role`, awsNameLimits.iamRole);
        return manage;
    });

    return {
        endpoint,
        vpcEndpointIds: checkedEndpointIds,
        definition,
        allowedPrincipals,
        stageName,
        throttling: { rateLimit, burstLimit },
        accessLogRetentionInDays: settingWithDefault<number>(args.accessLogRetentionInDays, defaultLogRetentionDays, (value) => void c.logRetention("accessLogRetentionInDays", value), nullAbsent),
        accessLogKmsKeyArn:
            args.accessLogKmsKeyArn === undefined
                ? undefined
                : c.matches("accessLogKmsKeyArn", args.accessLogKmsKeyArn, patterns.kmsKeyArn, "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"),
        executionLogLevel: settingWithDefault<PrivateApiExecutionLogLevel>(args.executionLogLevel, "ERROR", (value) => void c.oneOf("executionLogLevel", value, ["OFF", "ERROR", "INFO"] as const), nullAbsent),
        securityPolicy: Known.of(tls).map((t) => t.securityPolicy).asInput(),
        endpointAccessMode: Known.of(tls).map((t) => t.endpointAccessMode).asInput(),
        customDomain,
        manageAccountCloudWatchRole,
    };
}

/**
 * The security policies AWS documents for REGIONAL and PRIVATE REST APIs and custom domain names
 * ("Supported security policies", API Gateway developer guide) that accept only TLS 1.2 or newer.
 * `TLS_1_0` is refused (it accepts TLS 1.0); names are matched exactly, so a policy AWS adds later
 * is refused until it is reviewed and listed here.
 */
export const privateApiSecurityPolicies = [
    "TLS_1_2",
    "SecurityPolicy_TLS13_1_3_2025_09",
    "SecurityPolicy_TLS13_1_3_FIPS_2025_09",
    "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_2021_06",
] as const;

/** The policies AWS documents for edge-optimized (EDGE) APIs and domains only: API Gateway refuses them on PRIVATE ones. */
export const edgeOnlySecurityPolicies = ["SecurityPolicy_TLS13_2025_EDGE", "SecurityPolicy_TLS12_PFS_2025_EDGE", "SecurityPolicy_TLS12_2018_EDGE"] as const;

function checkTls(c: ArgChecker, policy: unknown, mode: unknown): { securityPolicy: string; endpointAccessMode?: PrivateApiEndpointAccessMode } {
    const securityPolicy = policy ?? defaultApiGatewaySecurityPolicy;
    const fix = `choose one of ${privateApiSecurityPolicies.map((p) => JSON.stringify(p)).join(", ")}, or omit it for ${defaultApiGatewaySecurityPolicy}`;
    if (typeof securityPolicy === "string" && (edgeOnlySecurityPolicies as readonly string[]).includes(securityPolicy)) {
        c.fail("securityPolicy", `${JSON.stringify(securityPolicy)} is edge-only (for EDGE endpoints), and this API and its custom domain are PRIVATE; ${fix}`);
    }
    if (securityPolicy === "TLS_1_0") {
        c.fail("securityPolicy", `must allow only TLS 1.2 or newer (got "TLS_1_0", which accepts TLS 1.0); ${fix}`);
    }
    if (typeof securityPolicy !== "string" || !(privateApiSecurityPolicies as readonly string[]).includes(securityPolicy)) {
        c.fail("securityPolicy", `must be an API Gateway security policy for PRIVATE APIs that allows only TLS 1.2 or newer (got ${JSON.stringify(securityPolicy)}); ${fix}`);
    }
    const enhanced = securityPolicy.startsWith("SecurityPolicy_");
    if (!enhanced && mode !== undefined) {
        c.fail("endpointAccessMode", `applies only to the enhanced SecurityPolicy_* policies; remove it or choose such a securityPolicy (got securityPolicy ${JSON.stringify(securityPolicy)})`);
    }
    return { securityPolicy, endpointAccessMode: enhanced ? c.oneOf("endpointAccessMode", mode ?? "STRICT", ["STRICT", "BASIC"] as const) : undefined };
}

/** The description of the execute-api endpoint's security group (EC2 limits its characters). */
export function endpointGroupDescription(name: string): string {
    return `execute-api endpoint of private API ${name}: HTTPS from its callers only`;
}

function checkEndpoint(c: ArgChecker, endpoint: pulumi.Input<PrivateApiEndpointArgs>): CheckedEndpoint {
    const f = "endpoint";
    c.securityGroupDescriptionFits(endpointGroupDescription(c.name));
    if (isPlain(endpoint) && (typeof endpoint !== "object" || endpoint === null || Array.isArray(endpoint))) {
        c.fail(f, `must be an object like { vpcId, subnetIds, allowedSourceSecurityGroupIds } (got ${JSON.stringify(endpoint)})`);
    }
    const field = <K extends keyof PrivateApiEndpointArgs>(key: K) => fieldOf<PrivateApiEndpointArgs, K>(endpoint, key);
    const vpcId = c.matches(`${f}.vpcId`, field("vpcId") as pulumi.Input<string>, patterns.vpcId, "a VPC ID like vpc-0123456789abcdef0");
    const subnetIds = c.list<string>(`${f}.subnetIds`, field("subnetIds") as pulumi.Input<pulumi.Input<string>[]>, {
        required: true,
        fix: "give the private subnets (one per Availability Zone of the callers) for the endpoint's network interfaces",
        each: (id, e) => void c.pattern(e, id, patterns.subnetId, "a subnet ID like subnet-0123456789abcdef0"),
    });
    const groups = c.list<string>(`${f}.allowedSourceSecurityGroupIds`, field("allowedSourceSecurityGroupIds") as pulumi.Input<pulumi.Input<string>[]> | undefined, {
        fix: "pass a list of security group IDs",
        each: (id, e) => void c.pattern(e, id, patterns.securityGroupId, "a security group ID like sg-0123456789abcdef0"),
    });
    const cidrs = c.list<string>(`${f}.allowedSourceCidrs`, field("allowedSourceCidrs") as pulumi.Input<pulumi.Input<string>[]> | undefined, {
        fix: "pass a list of CIDRs",
        each: (value, e) => {
            if (typeof value !== "string" || !isIpv4Cidr(value)) c.fail(e, `must be an IPv4 CIDR like 10.0.0.0/16 (got ${JSON.stringify(value)})`);
            if (value.endsWith("/0")) c.fail(e, `must not be ${value}: it opens the endpoint to every address; give the callers' private range`);
        },
    });
    const sources = Known.fromLists<string, { securityGroupIds: pulumi.Input<string>[]; cidrs: pulumi.Input<string>[] }>([groups, cidrs], ([securityGroupIds, cidrList]) => {
        if (securityGroupIds!.length === 0 && cidrList!.length === 0) {
            c.fail(
                `${f}.allowedSourceSecurityGroupIds`,
                "or allowedSourceCidrs must name who may reach the endpoint on 443: give the callers' security group IDs (or their private CIDRs); without them nobody could call the API",
            );
        }
        return { securityGroupIds: securityGroupIds!, cidrs: cidrList! };
    });
    const privateDnsEnabled = settingWithDefault<boolean>(field("privateDnsEnabled"), true, (value) => {
        if (typeof value !== "boolean") c.fail(`${f}.privateDnsEnabled`, "must be true or false");
    }, nullAbsent);
    const policy = field("policy");
    return {
        vpcId,
        subnetIds,
        sources,
        privateDnsEnabled,
        policy:
            policy === undefined
                ? undefined
                : (Known.of(policy as pulumi.Input<string | undefined>).map((document) => {
                      if (document === undefined) return undefined;
                      try {
                          JSON.parse(document);
                      } catch {
                          c.fail(`${f}.policy`, "must be a JSON policy document; omit it for the default (invoke this account's APIs only)");
                      }
                      return document;
                  })
                  .asInput() as pulumi.Input<string>),
        flowLogs: Known.from<unknown, CheckedFlowLogs | undefined>(field("flowLogs"), { passThrough: ["kmsKeyArn"] }, (settings) => checkFlowLogs(c, `${f}.flowLogs`, settings)),
    };
}

/** Flow-log settings, resolved but for `kmsKeyArn`; undefined when turned off. */
function checkFlowLogs(c: ArgChecker, f: string, value: unknown): CheckedFlowLogs | undefined {
    if (value === false) {
        c.fail(f, "must be an object of flow-log settings; false is no longer accepted: give { enabled: false } to opt out explicitly");
    }
    const settings = (value ?? {}) as PrivateApiFlowLogs;
    if (typeof settings !== "object" || settings === null || Array.isArray(settings)) {
        c.fail(f, "must be an object of flow-log settings, or { enabled: false } to opt out explicitly");
    }
    const enabled = plainHere(settings.enabled) ?? true;
    if (typeof enabled !== "boolean") c.fail(`${f}.enabled`, "must be true or false");
    if (!enabled) {
        const set = (["trafficType", "retentionInDays", "maxAggregationIntervalSeconds", "kmsKeyArn"] as const).find((key) => settings[key] !== undefined);
        if (set) c.fail(`${f}.${set}`, "applies only when flow logs are enabled; remove it, or remove enabled: false");
        return undefined;
    }
    // The endpoint's flow logs (`<name>-endpoint-flow-logs`) have a delivery role named after them.
    c.autoNameFits(`${c.name}-endpoint-flow-logs-role`, awsNameLimits.iamRole);
    return checkFlowLogSettings(c, `${f}.`, {
        trafficType: plainHere(settings.trafficType),
        retentionInDays: plainHere(settings.retentionInDays),
        // checkFlowLogSettings refuses anything but 60 and 600, naming the field.
        maxAggregationIntervalSeconds: plainHere(settings.maxAggregationIntervalSeconds),
        kmsKeyArn: settings.kmsKeyArn,
    });
}

function checkCustomDomain(c: ArgChecker, custom: PrivateApiCustomDomain, createsEndpoint: boolean): CheckedCustomDomain {
    const f = "customDomain";
    if (typeof custom !== "object" || custom === null) c.fail(f, `must be an object like { domainName, certificateArn } (got ${JSON.stringify(custom)})`);
    const domainName = c.input(custom.domainName, (value) => {
        if (typeof value !== "string" || !patterns.dnsName.test(value)) {
            c.fail(`${f}.domainName`, `must be a lower-case DNS name like orders.internal.example.com (got ${JSON.stringify(value)})`);
        }
    });
    if (custom.certificateArn === undefined) c.fail(`${f}.certificateArn`, "is required; give an ACM certificate covering the domain name, in the API's region");
    const basePath =
        custom.basePath === undefined
            ? undefined
            : c.input(custom.basePath, (value) => {
                  if (value !== undefined && (typeof value !== "string" || !/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(value))) {
                      c.fail(`${f}.basePath`, `must be path segments without leading or trailing "/", like "orders" (got ${JSON.stringify(value)})`);
                  }
              });
    if (custom.privateZoneId !== undefined && !createsEndpoint) {
        c.fail(`${f}.privateZoneId`, "needs the endpoint this component creates (the record aliases it); create the record for your existing endpoint yourself, or set endpoint");
    }
    return {
        domainName,
        certificateArn: c.matches(`${f}.certificateArn`, custom.certificateArn, patterns.acmCertificateArn, "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)"),
        basePath,
        privateZoneId:
            custom.privateZoneId === undefined ? undefined : c.matches(`${f}.privateZoneId`, custom.privateZoneId, patterns.route53ZoneId, "a Route 53 hosted zone ID like Z0123456789ABCDEFGHIJ"),
    };
}

/**
 * The certificate of the custom domain, checked against the API's region (the provider's, which
 * only resolves while the program runs): API Gateway only takes an ACM certificate of its own region
 * for a REGIONAL or PRIVATE domain. Checked once both are known, with the message naming the field;
 * an ARN without a region (not an ACM ARN) was already refused by its pattern.
 */
export function certificateInApiRegion(name: string, certificateArn: pulumi.Input<string>, region: pulumi.Input<string>): pulumi.Output<string> {
    const c = new ArgChecker(componentType, name);
    return pulumi.all([certificateArn, region]).apply(([arn, apiRegion]) => {
        const certificateRegion = typeof arn === "string" ? arn.split(":")[3] : undefined;
        if (certificateRegion && apiRegion && certificateRegion !== apiRegion) {
            c.fail(
                "customDomain.certificateArn",
                `is in ${certificateRegion}, but the API is in ${apiRegion}: a private custom domain needs an ACM certificate in the API's own region; request or import the certificate in ACM in ${apiRegion} and give that ARN (got ${JSON.stringify(arn)})`,
            );
        }
        return arn;
    });
}
