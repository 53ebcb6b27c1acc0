// What PrivateApi accepts: every argument checked, with its default applied, before any resource
// exists. A reader looking for "why was my PrivateApi refused" starts here (routes and authorizers
// are checked in privateApiRoutes.ts).
import * as pulumi from "@pulumi/pulumi";
import { checkFlowLogSettings, FlowLogSettings } from "../privatelink/endpointFlowLogs";
import {
    apiGatewayTls12PolicyPattern,
    ArgChecker,
    defaultApiGatewaySecurityPolicy,
    defaultLogRetentionDays,
    isIpv4Cidr,
    patterns,
} from "../shared/validation";
import type { PrivateApiArgs, PrivateApiCustomDomain, PrivateApiEndpointArgs, PrivateApiThrottling } from "./privateApi";
import { CheckedAuthorizer, checkAuthorizers, CheckedRoute, checkRoutes } from "./privateApiRoutes";
import { componentType as typeToken } from "../shared/typeTokens";

export const componentType = typeToken("PrivateApi");
/** The type 0.1.x registered this component as; aliased so deployed stacks keep their state. */
export const legacyComponentType = "firefly:privateapi:PrivateApi";

export interface CheckedEndpoint {
    vpcId: pulumi.Input<string>;
    subnetIds: pulumi.Input<string>[];
    allowedSourceSecurityGroupIds: pulumi.Input<string>[];
    allowedSourceCidrs: pulumi.Input<string>[];
    privateDnsEnabled: boolean;
    policy?: pulumi.Input<string>;
    flowLogs: false | FlowLogSettings;
}

export interface CheckedArgs {
    endpoint?: CheckedEndpoint;
    vpcEndpointIds: pulumi.Input<string>[];
    routes: CheckedRoute[];
    authorizers: Record<string, CheckedAuthorizer>;
    /** Every route uses AWS_IAM, so requests carry a principal the resource policy can restrict. */
    iamOnly: boolean;
    allowedPrincipals: pulumi.Input<string>[];
    stageName: string;
    throttling: Required<PrivateApiThrottling>;
    accessLogRetentionInDays: number;
    accessLogKmsKeyArn?: pulumi.Input<string>;
    executionLogLevel: "OFF" | "ERROR" | "INFO";
    securityPolicy: string;
    endpointAccessMode?: "STRICT" | "BASIC";
    customDomain?: PrivateApiCustomDomain;
    manageAccountCloudWatchRole: boolean;
}

/** Validates everything that can be validated before any resource exists. */
export function checkArgs(name: string, args: PrivateApiArgs): CheckedArgs {
    const c = new ArgChecker(componentType, name);
    if (!args) c.fail("args", "are required");

    const vpcEndpointIds = c.plainList("vpcEndpointIds", args.vpcEndpointIds, "pass a plain list of endpoint IDs (elements may be Outputs)");
    c.uniqueValues("vpcEndpointIds", vpcEndpointIds);
    const checkedEndpointIds = vpcEndpointIds.map((id, i) =>
        c.matches(`vpcEndpointIds[${i}]`, id, patterns.vpcEndpointId, "an execute-api VPC endpoint ID like vpce-0123456789abcdef0"),
    );
    if (args.endpoint === undefined && checkedEndpointIds.length === 0) {
        c.fail(
            "endpoint",
            "is required when vpcEndpointIds lists no existing execute-api endpoint: give { vpcId, subnetIds, allowedSourceSecurityGroupIds } to create one, or the IDs of existing endpoints",
        );
    }
    const endpoint = args.endpoint === undefined ? undefined : checkEndpoint(c, args.endpoint);

    const authorizers = checkAuthorizers(c, args.authorizers);
    const routes = checkRoutes(c, args.routes, authorizers);
    const iamOnly = routes.every((r) => r.authorization.type === "AWS_IAM");

    const allowedPrincipals = c.plainList("allowedPrincipals", args.allowedPrincipals, "pass a plain list of account IDs or principal ARNs");
    if (args.allowedPrincipals !== undefined) {
        c.nonEmptyArray("allowedPrincipals", allowedPrincipals, "or omit it to let IAM policies of this account decide");
        if (!iamOnly) {
            const other = routes.findIndex((r) => r.authorization.type !== "AWS_IAM");
            c.fail(
                "allowedPrincipals",
                `needs every route to use AWS_IAM authorization, but routes[${other}] does not: its requests carry no IAM principal and would all be denied; remove allowedPrincipals or use AWS_IAM on every route`,
            );
        }
    }

    const stageName = args.stageName ?? "v1";
    if (typeof stageName !== "string" || !/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) {
        c.fail("stageName", `must be 1–128 letters, digits, "_" or "-" (got ${JSON.stringify(stageName)})`);
    }

    const throttling = args.throttling ?? {};
    const rateLimit = throttling.rateLimit ?? 100;
    if (typeof rateLimit !== "number" || !Number.isFinite(rateLimit) || rateLimit <= 0) {
        c.fail("throttling.rateLimit", `must be a positive number of requests per second (got ${JSON.stringify(rateLimit)}); throttling cannot be turned off here`);
    }
    const burstLimit = throttling.burstLimit ?? 200;
    if (typeof burstLimit !== "number" || !Number.isInteger(burstLimit) || burstLimit < 1) {
        c.fail("throttling.burstLimit", `must be a whole number of requests, at least 1 (got ${JSON.stringify(burstLimit)})`);
    }

    const securityPolicy = args.securityPolicy ?? defaultApiGatewaySecurityPolicy;
    if (typeof securityPolicy !== "string" || !apiGatewayTls12PolicyPattern.test(securityPolicy)) {
        c.fail(
            "securityPolicy",
            `must allow only TLS 1.2 or newer: "TLS_1_2" or an enhanced "SecurityPolicy_TLS13_1_2_…"/"SecurityPolicy_TLS13_1_3_…" policy (got ${JSON.stringify(securityPolicy)}); omit it for ${defaultApiGatewaySecurityPolicy}`,
        );
    }
    const enhanced = securityPolicy.startsWith("SecurityPolicy_");
    if (!enhanced && args.endpointAccessMode !== undefined) {
        c.fail("endpointAccessMode", `applies only to the enhanced SecurityPolicy_* policies; remove it or choose such a securityPolicy (got securityPolicy ${JSON.stringify(securityPolicy)})`);
    }
    const endpointAccessMode = enhanced ? c.oneOf("endpointAccessMode", args.endpointAccessMode ?? "STRICT", ["STRICT", "BASIC"] as const) : undefined;

    const customDomain = args.customDomain === undefined ? undefined : checkCustomDomain(c, args.customDomain, endpoint !== undefined);

    const manageAccountCloudWatchRole = args.manageAccountCloudWatchRole ?? false;
    if (typeof manageAccountCloudWatchRole !== "boolean") c.fail("manageAccountCloudWatchRole", "must be true or false");

    return {
        endpoint,
        vpcEndpointIds: checkedEndpointIds,
        routes,
        authorizers,
        iamOnly,
        allowedPrincipals: allowedPrincipals.map((p, i) => c.input(p, (value) => void c.principal(`allowedPrincipals[${i}]`, value))),
        stageName,
        throttling: { rateLimit, burstLimit },
        accessLogRetentionInDays: c.logRetention("accessLogRetentionInDays", args.accessLogRetentionInDays ?? defaultLogRetentionDays),
        accessLogKmsKeyArn:
            args.accessLogKmsKeyArn === undefined
                ? undefined
                : c.matches("accessLogKmsKeyArn", args.accessLogKmsKeyArn, patterns.kmsKeyArn, "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"),
        executionLogLevel: c.oneOf("executionLogLevel", args.executionLogLevel ?? "ERROR", ["OFF", "ERROR", "INFO"] as const),
        securityPolicy,
        endpointAccessMode,
        customDomain,
        manageAccountCloudWatchRole,
    };
}

function checkEndpoint(c: ArgChecker, endpoint: PrivateApiEndpointArgs): CheckedEndpoint {
    const f = "endpoint";
    const vpcId = c.matches(`${f}.vpcId`, endpoint.vpcId, patterns.vpcId, "a VPC ID like vpc-0123456789abcdef0");
    const subnetIds = c.plainList(`${f}.subnetIds`, endpoint.subnetIds, "pass a plain list of subnet IDs (elements may be Outputs)");
    c.nonEmptyArray(`${f}.subnetIds`, subnetIds, "give the private subnets (one per Availability Zone of the callers) for the endpoint's network interfaces");
    c.uniqueValues(`${f}.subnetIds`, subnetIds);
    const groups = c.plainList(`${f}.allowedSourceSecurityGroupIds`, endpoint.allowedSourceSecurityGroupIds, "pass a plain list of security group IDs");
    const cidrs = c.plainList(`${f}.allowedSourceCidrs`, endpoint.allowedSourceCidrs, "pass a plain list of CIDRs");
    if (groups.length === 0 && cidrs.length === 0) {
        c.fail(
            `${f}.allowedSourceSecurityGroupIds`,
            "or allowedSourceCidrs must name who may reach the endpoint on 443: give the callers' security group IDs (or their private CIDRs); without them nobody could call the API",
        );
    }
    c.uniqueValues(`${f}.allowedSourceSecurityGroupIds`, groups);
    c.uniqueValues(`${f}.allowedSourceCidrs`, cidrs);
    const privateDnsEnabled = endpoint.privateDnsEnabled ?? true;
    if (typeof privateDnsEnabled !== "boolean") c.fail(`${f}.privateDnsEnabled`, "must be true or false");
    const flowLogs = endpoint.flowLogs ?? {};
    if (flowLogs !== false && (typeof flowLogs !== "object" || flowLogs === null)) {
        c.fail(`${f}.flowLogs`, "must be an object of flow-log settings, or false to opt out explicitly");
    }
    if (flowLogs !== false) checkFlowLogSettings(c, `${f}.flowLogs.`, flowLogs);
    return {
        vpcId,
        subnetIds: subnetIds.map((s, i) => c.matches(`${f}.subnetIds[${i}]`, s, patterns.subnetId, "a subnet ID like subnet-0123456789abcdef0")),
        allowedSourceSecurityGroupIds: groups.map((g, i) =>
            c.matches(`${f}.allowedSourceSecurityGroupIds[${i}]`, g, patterns.securityGroupId, "a security group ID like sg-0123456789abcdef0"),
        ),
        allowedSourceCidrs: cidrs.map((cidr, i) =>
            c.input(cidr, (value) => {
                const field = `${f}.allowedSourceCidrs[${i}]`;
                if (typeof value !== "string" || !isIpv4Cidr(value)) c.fail(field, `must be an IPv4 CIDR like 10.0.0.0/16 (got ${JSON.stringify(value)})`);
                if (value.endsWith("/0")) c.fail(field, `must not be ${value}: it opens the endpoint to every address; give the callers' private range`);
            }),
        ),
        privateDnsEnabled,
        policy:
            endpoint.policy === undefined
                ? undefined
                : c.input(endpoint.policy, (value) => {
                      try {
                          JSON.parse(value as string);
                      } catch {
                          c.fail(`${f}.policy`, "must be a JSON policy document; omit it for the default (invoke this account's APIs only)");
                      }
                  }),
        flowLogs,
    };
}

function checkCustomDomain(c: ArgChecker, custom: PrivateApiCustomDomain, createsEndpoint: boolean): PrivateApiCustomDomain {
    const f = "customDomain";
    if (typeof custom.domainName !== "string" || !patterns.dnsName.test(custom.domainName)) {
        c.fail(`${f}.domainName`, `must be a lower-case DNS name like orders.internal.example.com (got ${JSON.stringify(custom.domainName)})`);
    }
    if (custom.certificateArn === undefined) c.fail(`${f}.certificateArn`, "is required; give an ACM certificate covering the domain name, in the API's region");
    const basePath = custom.basePath;
    if (basePath !== undefined && (typeof basePath !== "string" || !/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(basePath))) {
        c.fail(`${f}.basePath`, `must be path segments without leading or trailing "/", like "orders" (got ${JSON.stringify(basePath)})`);
    }
    if (custom.privateZoneId !== undefined && !createsEndpoint) {
        c.fail(`${f}.privateZoneId`, "needs the endpoint this component creates (the record aliases it); create the record for your existing endpoint yourself, or set endpoint");
    }
    return {
        domainName: custom.domainName,
        certificateArn: c.matches(`${f}.certificateArn`, custom.certificateArn, patterns.acmCertificateArn, "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)"),
        basePath,
        privateZoneId:
            custom.privateZoneId === undefined ? undefined : c.matches(`${f}.privateZoneId`, custom.privateZoneId, patterns.route53ZoneId, "a Route 53 hosted zone ID like Z0123456789ABCDEFGHIJ"),
    };
}
