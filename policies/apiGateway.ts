// Private REST APIs: reachable only through an execute-api interface endpoint, restricted to it by
// a resource policy, and observable (access logs, X-Ray).
import * as aws from "@pulumi/aws";
import {
    PolicyResource,
    ResourceValidationPolicy,
    StackValidationPolicy,
    validateResourceOfType,
} from "@pulumi/policy";
import { invokeRestrictionOf } from "./iamDocuments";
import { Peeked, peek, referenceOf, referencedTargets, resourcesOfType } from "./references";
import { nameExceptions } from "./ruleConfig";

/**
 * `endpointConfiguration.types` is a string in @pulumi/aws v7 and was a one-element list before;
 * state written by older providers may still hold the list. Absent means EDGE (AWS's default).
 */
export function endpointTypesOf(endpointConfiguration: { types?: unknown } | undefined): string[] {
    const types = endpointConfiguration?.types;
    if (types === undefined || types === null) {
        return ["EDGE"];
    }
    const list: unknown[] = Array.isArray(types) ? [...types] : [types];
    return list.map((type) => String(type).toUpperCase());
}

export function isPrivateOnly(types: readonly string[]): boolean {
    return types.length > 0 && types.every((type) => type === "PRIVATE");
}

const publicApiExceptions = nameExceptions(
    "allowedPublicApis",
    "Pulumi resource names of REST APIs that may use an EDGE or REGIONAL endpoint.",
);

export const restApiPrivate: ResourceValidationPolicy = {
    name: "apigateway-rest-api-private",
    description: "API Gateway REST APIs use a PRIVATE endpoint unless they are listed as allowed to be public in the policy config.",
    enforcementLevel: "mandatory",
    severity: "high",
    tags: ["network-exposure"],
    remediationSteps:
        "Set endpointConfiguration: { types: \"PRIVATE\", vpcEndpointIds: [<execute-api endpoint>] } and attach a resource " +
        "policy that limits execute-api:Invoke to that endpoint. A deliberately public API goes in allowedPublicApis.",
    configSchema: publicApiExceptions.schema,
    validateResource: validateResourceOfType(aws.apigateway.RestApi, (api, args, reportViolation) => {
        const types = endpointTypesOf(api.endpointConfiguration);
        if (isPrivateOnly(types)) {
            return;
        }
        const allowedPublicApis = publicApiExceptions.listed(args);
        if (!allowedPublicApis.includes(args.name)) {
            reportViolation(
                `REST API '${args.name}' has a ${types.join("/")} endpoint reachable from the internet; set endpointConfiguration.types to "PRIVATE", or list '${args.name}' under allowedPublicApis in this policy's config.`,
            );
        }
    }),
};

const externalApiPolicyExceptions = nameExceptions(
    "allowedExternalApiPolicies",
    "Pulumi resource names of aws.apigateway.RestApiPolicy / RestApiPut resources whose REST API is in another stack and public, so their policy need not restrict execute-api:Invoke to VPC endpoints.",
);

/** The OpenAPI extension through which a body (RestApi.body, RestApiPut.body) sets the API's resource policy. */
const OPENAPI_POLICY_KEY = "x-amazon-apigateway-policy";

/**
 * The resource policy a holder puts on its API: `policy` of a RestApi or RestApiPolicy, the
 * `x-amazon-apigateway-policy` of a RestApiPut's OpenAPI body (PutRestApi applies it and replaces
 * the API's policy). Undefined when the holder sets none. A body that is not JSON but mentions the
 * extension is returned as text, which no verdict reads as restricting (YAML is not parsed here).
 */
function documentOf(holder: PolicyResource): Peeked<unknown> {
    if (!holder.isType(aws.apigateway.RestApiPut)) {
        return peek(() => holder.props.policy as unknown);
    }
    const body = peek(() => holder.props.body as unknown);
    if (!body.known || typeof body.value !== "string") {
        return body;
    }
    try {
        const parsed: unknown = JSON.parse(body.value);
        const document = parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>)[OPENAPI_POLICY_KEY] : undefined;
        return { known: true, value: document };
    } catch {
        return { known: true, value: body.value.includes(OPENAPI_POLICY_KEY) ? body.value : undefined };
    }
}

function holderKind(holder: PolicyResource): string {
    return holder.isType(aws.apigateway.RestApiPut)
        ? `RestApiPut '${holder.name}' (the ${OPENAPI_POLICY_KEY} of its OpenAPI body)`
        : `RestApiPolicy '${holder.name}'`;
}

export const privateApiResourcePolicy: StackValidationPolicy = {
    name: "apigateway-private-api-resource-policy",
    description:
        "Every private REST API has resource policies (inline, aws.apigateway.RestApiPolicy, the x-amazon-apigateway-policy of an aws.apigateway.RestApiPut body) that each deny execute-api:Invoke on every method and path to requests from VPC endpoints or VPCs they do not name; " +
        "a RestApiPolicy or RestApiPut on a REST API outside the stack must restrict the same way.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["network-exposure"],
    remediationSteps:
        "Attach a policy that allows execute-api:Invoke and denies it when aws:SourceVpce is not your execute-api " +
        "endpoint (StringNotEquals), either as the RestApi's policy or as an aws.apigateway.RestApiPolicy. A RestApiPolicy or " +
        "RestApiPut on a public REST API of another stack goes in allowedExternalApiPolicies (its Pulumi resource name).",
    configSchema: externalApiPolicyExceptions.schema,
    validateStack: (args, reportViolation) => {
        const apis = resourcesOfType(args.resources, aws.apigateway.RestApi);
        const attachedPolicies = resourcesOfType(args.resources, aws.apigateway.RestApiPolicy, aws.apigateway.RestApiPut);
        if (apis.length === 0 && attachedPolicies.length === 0) {
            args.notApplicable("Policy only applies to stacks with a REST API or a REST API policy");
        }
        const allowedExternalApiPolicies = externalApiPolicyExceptions.listed(args);
        let unresolved: Error | undefined;
        for (const api of apis) {
            const types = peek(() => endpointTypesOf(api.props.endpointConfiguration as { types?: unknown } | undefined));
            if (!types.known) {
                unresolved ??= types.error;
                continue;
            }
            if (!isPrivateOnly(types.value)) {
                continue;
            }
            const documents: PolicyResource[] = [];
            // A RestApiPolicy whose restApiId is unknown might be this API's: it matters when it
            // would be the only policy, or when it would let requests through.
            const maybeAttached: PolicyResource[] = [];
            let maybeAttachedError: Error | undefined;
            for (const attached of attachedPolicies) {
                const reference = referenceOf(attached, "restApiId", apis);
                if (referencedTargets(reference, apis).includes(api)) {
                    documents.push(attached);
                } else if (reference.unresolved) {
                    maybeAttached.push(attached);
                    maybeAttachedError ??= reference.unresolved;
                }
            }
            const verdict = judgeDocuments(api, [api, ...documents]);
            const ifAttached = maybeAttached.length > 0 ? judgeDocuments(api, maybeAttached).kind : "missing";
            if (verdict.kind === "restricted" && (ifAttached === "restricted" || ifAttached === "missing")) {
                continue;
            }
            const undecided =
                verdict.kind === "unknown"
                    ? verdict.error
                    : verdict.kind === "unrestricted"
                      ? undefined
                      : maybeAttachedError;
            if (undecided) {
                unresolved ??= undecided;
            } else if (verdict.kind === "missing") {
                reportViolation(
                    `Private REST API '${api.name}' has no resource policy, so any VPC endpoint in any account can reach it; add a policy that denies execute-api:Invoke unless aws:SourceVpce is your endpoint.`,
                    api.urn,
                );
            } else if (verdict.kind === "unrestricted") {
                reportViolation(
                    `Private REST API '${api.name}' has a resource policy that lets execute-api:Invoke through from VPC endpoints it does not name; add one Deny for Principal "*" on execute-api:/* with only StringNotEquals aws:SourceVpce set to your endpoint IDs.`,
                    api.urn,
                );
            }
        }
        // A RestApiPolicy or RestApiPut on an API of another stack replaces that API's policy, and
        // the other stack never sees it: this is the only place to judge it. Whether that API is
        // private is not in the plan, so its policy must restrict as a private API's must (a
        // deliberately public API's policy is listed in the config).
        for (const holder of attachedPolicies) {
            if (allowedExternalApiPolicies.includes(holder.name)) {
                continue;
            }
            const reference = referenceOf(holder, "restApiId", apis);
            if (referencedTargets(reference, apis).length > 0) {
                continue; // judged above with its API (or a public API of the stack: apigateway-rest-api-private's business)
            }
            const document = documentOf(holder);
            if (!document.known) {
                unresolved ??= document.error;
                continue;
            }
            if (document.value === undefined || document.value === null || document.value === "") {
                continue; // sets no policy
            }
            // Without the API's execution ARN, only execute-api:/… or a wildcard ARN covers it.
            if (invokeRestrictionOf(document.value, undefined) === "restricted") {
                continue;
            }
            if (reference.unresolved) {
                unresolved ??= reference.unresolved; // may yet turn out to name an API of this stack
                continue;
            }
            const restApiId = peek(() => holder.props.restApiId as unknown);
            const target = restApiId.known && typeof restApiId.value === "string" ? `REST API ${restApiId.value}` : "a REST API";
            reportViolation(
                `${holderKind(holder)} replaces the resource policy of ${target}, which is not in this stack and may be private, with one that lets execute-api:Invoke through from VPC endpoints it does not name; ` +
                    `add one Deny for Principal "*" on execute-api:/* with only StringNotEquals aws:SourceVpce set to your endpoint IDs (a Deny naming the API by full ARN cannot be matched to an API outside the stack), ` +
                    `or, if that API is public, list '${holder.name}' under allowedExternalApiPolicies in this policy's config.`,
                holder.urn,
            );
        }
        if (unresolved) {
            throw unresolved;
        }
    },
};

type DocumentsVerdict =
    | { kind: "restricted" | "unrestricted" | "missing" }
    | { kind: "unknown"; error: Error };

/**
 * The inline `policy` of the API and those of its RestApiPolicy resources, taken together: each of
 * them may be the one in force (a RestApiPolicy replaces the inline policy, and two of them race),
 * so every one must restrict.
 */
function judgeDocuments(api: PolicyResource, holders: readonly PolicyResource[]): DocumentsVerdict {
    const executionArn = peek(() => api.props.executionArn as unknown);
    const knownArn = executionArn.known && typeof executionArn.value === "string" ? executionArn.value : undefined;
    let seen = false;
    let unknown: Error | undefined;
    let unrestricted = false;
    for (const holder of holders) {
        const document = documentOf(holder);
        if (!document.known) {
            unknown ??= document.error;
            continue;
        }
        if (document.value === undefined || document.value === null || document.value === "") {
            continue;
        }
        seen = true;
        const verdict = invokeRestrictionOf(document.value, knownArn);
        if (verdict === "needs-execution-arn" && !executionArn.known) {
            // Whether a Deny written with a full ARN names this API is known once its executionArn is.
            unknown ??= executionArn.error;
        } else if (verdict !== "restricted") {
            unrestricted = true;
        }
    }
    if (unrestricted) {
        return { kind: "unrestricted" };
    }
    if (unknown) {
        return { kind: "unknown", error: unknown };
    }
    return { kind: seen ? "restricted" : "missing" };
}

export const privateDomainResourcePolicy: ResourceValidationPolicy = {
    name: "apigateway-private-domain-resource-policy",
    description:
        "Every private API Gateway custom domain name has a policy that denies execute-api:Invoke on every path to requests from VPC endpoints or VPCs it does not name, judged as the private API rule judges API policies.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["network-exposure"],
    remediationSteps:
        "Set the aws.apigateway.DomainName's policy to allow execute-api:Invoke on execute-api:/* and deny it unless aws:SourceVpce " +
        "is one of your endpoints (StringNotEquals), with Principal \"*\".",
    validateResource: validateResourceOfType(aws.apigateway.DomainName, (domain, args, reportViolation) => {
        if (!isPrivateOnly(endpointTypesOf(domain.endpointConfiguration))) {
            return;
        }
        if (domain.policy === undefined || domain.policy === "") {
            reportViolation(
                `Private custom domain '${args.name}' has no policy, so it accepts requests from any VPC endpoint associated with it; set a policy that denies execute-api:Invoke unless aws:SourceVpce is your endpoint.`,
            );
            return;
        }
        // A domain's own ARN is not the API's execution ARN: only the execute-api:/ shorthand or a
        // wildcard ARN can cover it, so an ARN-named Deny does not count.
        if (invokeRestrictionOf(domain.policy, undefined) !== "restricted") {
            reportViolation(
                `Private custom domain '${args.name}' has a policy that lets execute-api:Invoke through from VPC endpoints it does not name; add one Deny for Principal "*" on execute-api:/* with only StringNotEquals aws:SourceVpce set to your endpoint IDs.`,
            );
        }
    }),
};

export const stageAccessLogs: ResourceValidationPolicy = {
    name: "apigateway-stage-access-logs",
    description: "API Gateway stages write access logs (checkov CKV_AWS_76).",
    enforcementLevel: "mandatory",
    severity: "medium",
    tags: ["logging", "checkov:CKV_AWS_76"],
    remediationSteps:
        "Set accessLogSettings: { destinationArn: <CloudWatch log group ARN>, format: <JSON format> } on the aws.apigateway.Stage.",
    validateResource: validateResourceOfType(aws.apigateway.Stage, (stage, args, reportViolation) => {
        // A destination computed in the same update (the log group's ARN) is set, and any ARN
        // passes: its value cannot change the verdict, so a preview is not left without one.
        // Settings unknown as a whole may turn out absent: those still wait (the SDK's advisory).
        const settings = stage.accessLogSettings;
        const destination = peek(() => settings?.destinationArn);
        if (settings !== undefined && !destination.known) return;
        if (!(destination.known ? destination.value : settings?.destinationArn)) {
            reportViolation(
                `API Gateway stage '${args.name}' writes no access logs; set accessLogSettings with a CloudWatch log group destinationArn and a format.`,
            );
        }
    }),
};

export const stageXrayTracing: ResourceValidationPolicy = {
    name: "apigateway-stage-xray-tracing",
    description: "API Gateway stages have X-Ray tracing enabled (checkov CKV_AWS_73).",
    enforcementLevel: "mandatory",
    severity: "low",
    tags: ["observability", "checkov:CKV_AWS_73"],
    remediationSteps: "Set xrayTracingEnabled: true on the aws.apigateway.Stage.",
    validateResource: validateResourceOfType(aws.apigateway.Stage, (stage, args, reportViolation) => {
        if (stage.xrayTracingEnabled !== true) {
            reportViolation(`API Gateway stage '${args.name}' has X-Ray tracing off; set xrayTracingEnabled: true.`);
        }
    }),
};

export const methodAuthorization: ResourceValidationPolicy = {
    name: "apigateway-method-authorization",
    description:
        "API Gateway methods validate every caller: authorization AWS_IAM, CUSTOM (a Lambda authorizer) or COGNITO_USER_POOLS, never NONE. " +
        "Advisory by default (an unauthenticated method of a private API is still reachable only through its endpoint); set it mandatory in the policy config to block.",
    enforcementLevel: "advisory",
    severity: "high",
    tags: ["authentication"],
    remediationSteps:
        "Set authorization: \"AWS_IAM\" on the aws.apigateway.Method and grant callers execute-api:Invoke, or authorization: \"CUSTOM\" with an authorizerId. " +
        "To block unauthenticated methods, give this rule enforcementLevel \"mandatory\" in the policy pack config.",
    validateResource: validateResourceOfType(aws.apigateway.Method, (method, args, reportViolation) => {
        if (String(method.authorization).toUpperCase() === "NONE") {
            reportViolation(
                `API Gateway method '${args.name}' (${method.httpMethod}) has authorization NONE, so any caller that reaches the API invokes it; set authorization to "AWS_IAM" or "CUSTOM" with an authorizer.`,
            );
        }
    }),
};

export const apiGatewayPolicies = [
    restApiPrivate,
    privateApiResourcePolicy,
    privateDomainResourcePolicy,
    stageAccessLogs,
    stageXrayTracing,
    methodAuthorization,
];
