// What a route of a PrivateApi is: its types as callers write them, the checks that refuse what API
// Gateway would refuse (or what would be insecure), and the API Gateway arguments a checked route
// becomes. PrivateApi creates the resources; a reader looking for "why was my route refused" or
// "what does this integration turn into" starts here.
//
// Every type here is one interface per concept with an enum `type` (Pulumi's component provider
// infers a schema from them, and it has no unions of objects): fields that apply to other kinds are
// refused at construction, naming the field.
import * as pulumi from "@pulumi/pulumi";
import { ArgChecker, patterns } from "../shared/validation";
import { plainHere } from "../shared/known";

/** HTTP method of a route (`ANY` matches every method). */
export const PrivateApiMethod = {
    /** GET. */
    GET: "GET",
    /** POST. */
    POST: "POST",
    /** PUT. */
    PUT: "PUT",
    /** PATCH. */
    PATCH: "PATCH",
    /** DELETE. */
    DELETE: "DELETE",
    /** HEAD. */
    HEAD: "HEAD",
    /** OPTIONS. */
    OPTIONS: "OPTIONS",
    /** Any method. */
    ANY: "ANY",
} as const;
export type PrivateApiMethod = (typeof PrivateApiMethod)[keyof typeof PrivateApiMethod];

/** What answers a route's requests. */
export const PrivateApiIntegrationType = {
    /** Lambda proxy: the function gets the whole request and returns `statusCode`, `headers` and `body`. Needs `functionArn`. */
    AWS_PROXY: "AWS_PROXY",
    /** HTTP proxy: the request goes to an HTTP backend unchanged, and its response comes back unchanged. Needs `uri`. */
    HTTP_PROXY: "HTTP_PROXY",
    /** Mock: API Gateway answers itself, with a fixed status and JSON body. For tests and smoke checks. */
    MOCK: "MOCK",
} as const;
export type PrivateApiIntegrationType = (typeof PrivateApiIntegrationType)[keyof typeof PrivateApiIntegrationType];

/**
 * A route's integration. `type` decides which of the other fields apply (each says which); a field
 * of another type is refused.
 */
export interface PrivateApiIntegration {
    /** `AWS_PROXY` (Lambda), `HTTP_PROXY` (an HTTP backend) or `MOCK`. */
    type: pulumi.Input<PrivateApiIntegrationType>;
    /**
     * `AWS_PROXY` (required): ARN of the function, or of one of its versions or aliases. The component
     * grants API Gateway permission to invoke it from this route only (a `lambda.Permission` scoped to
     * the route's ARN).
     */
    functionArn?: pulumi.Input<string>;
    /**
     * `HTTP_PROXY` (required): backend URL. Must be `https://` unless `vpcLinkId` is set (the request
     * then stays on AWS's network, and `http://` to an internal NLB is accepted). The route's path
     * parameters are passed through and may be used in it, e.g.
     * `https://orders.internal.example.com/{proxy}` for a `/{proxy+}` route.
     */
    uri?: pulumi.Input<string>;
    /** `HTTP_PROXY`: method used towards the backend. Default: the route's method. */
    httpMethod?: pulumi.Input<PrivateApiMethod>;
    /**
     * `HTTP_PROXY`: ID of an `aws.apigateway.VpcLink` (REST API VPC link, to an NLB) for a backend
     * inside a VPC. Default: none, the backend is called over its public address.
     */
    vpcLinkId?: pulumi.Input<string>;
    /** `AWS_PROXY` and `HTTP_PROXY`: milliseconds API Gateway waits, 50–300000. Default 29000; more needs a raised service quota. */
    timeoutMilliseconds?: pulumi.Input<number>;
    /** `MOCK`: status returned, 200–599. Default 200. */
    statusCode?: pulumi.Input<number>;
    /** `MOCK`: JSON body returned. Default `{"ok":true}`. */
    responseBody?: pulumi.Input<string>;
}

/** A Lambda proxy integration, as TypeScript callers may type it (a `PrivateApiIntegration`). */
export interface LambdaProxyIntegration extends PrivateApiIntegration {
    type: "AWS_PROXY";
    functionArn: pulumi.Input<string>;
}

/** An HTTP proxy integration, as TypeScript callers may type it (a `PrivateApiIntegration`). */
export interface HttpProxyIntegration extends PrivateApiIntegration {
    type: "HTTP_PROXY";
    uri: pulumi.Input<string>;
}

/** A mock integration, as TypeScript callers may type it (a `PrivateApiIntegration`). */
export interface MockIntegration extends PrivateApiIntegration {
    type: "MOCK";
}

/** How a route authenticates callers, unless it names an `authorizer`. */
export const PrivateApiAuthorization = {
    /** Requests must be SigV4-signed; IAM policies decide who may call. The default. */
    AWS_IAM: "AWS_IAM",
    /**
     * No authentication: anyone who can reach the endpoint and passes the resource policy. An explicit
     * opt-out, for health checks behind the endpoint's network controls.
     */
    NONE: "NONE",
} as const;
export type PrivateApiAuthorization = (typeof PrivateApiAuthorization)[keyof typeof PrivateApiAuthorization];

/** One method on one path of the API. */
export interface PrivateApiRoute {
    /**
     * `/`, `/orders`, `/orders/{id}`, or `/{proxy+}` (greedy: matches the rest of the path; last
     * segment only). Segments are letters, digits, `.`, `_` and `-`; parameters are `{name}`.
     */
    path: pulumi.Input<string>;
    /** HTTP method the route answers. */
    method: pulumi.Input<PrivateApiMethod>;
    /** What answers the route's requests. */
    integration: pulumi.Input<PrivateApiIntegration>;
    /**
     * `AWS_IAM` (default, SigV4-signed requests, IAM decides) or `NONE`. Leave it out when the route
     * names an `authorizer`.
     */
    authorization?: pulumi.Input<PrivateApiAuthorization>;
    /**
     * Name of one of the component's `authorizers` (a Lambda or Cognito JWT authorizer) that
     * authenticates this route's callers instead of IAM.
     */
    authorizer?: pulumi.Input<string>;
    /** OAuth scopes a Cognito access token must carry (only with a `COGNITO_USER_POOLS` `authorizer`). */
    authorizationScopes?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * JSON Schema (draft 4, what API Gateway models use) for an `application/json` request body.
     * When given, API Gateway answers 400 to a body that does not match, before the integration runs.
     */
    // A JSON Schema is free-form JSON: `any` is what the component provider maps to Pulumi's Any.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    requestSchema?: pulumi.Input<Record<string, any>>;
}

/** The kind of an authorizer. */
export const PrivateApiAuthorizerType = {
    /** A Lambda authorizer handed the token of one header (by default `Authorization`). Needs `functionArn`. */
    TOKEN: "TOKEN",
    /** A Lambda authorizer handed request parameters (headers, query strings, stage variables). Needs `functionArn` and `identitySource`. */
    REQUEST: "REQUEST",
    /**
     * The JWT authorizer of REST APIs: API Gateway validates JWTs issued by the given Cognito user pools
     * (signature, expiry, issuer, and the route's scopes). REST APIs have no JWT authorizer for other
     * issuers (that is an HTTP API feature, and HTTP APIs cannot be private): use a TOKEN authorizer.
     * Needs `userPoolArns`.
     */
    COGNITO_USER_POOLS: "COGNITO_USER_POOLS",
} as const;
export type PrivateApiAuthorizerType = (typeof PrivateApiAuthorizerType)[keyof typeof PrivateApiAuthorizerType];

/**
 * An authorizer routes may name. `type` decides which of the other fields apply (each says which); a
 * field of another type is refused.
 */
export interface PrivateApiAuthorizer {
    /** `TOKEN`, `REQUEST` (Lambda authorizers) or `COGNITO_USER_POOLS`. */
    type: pulumi.Input<PrivateApiAuthorizerType>;
    /** `TOKEN` and `REQUEST` (required): ARN of the authorizer function. */
    functionArn?: pulumi.Input<string>;
    /** `COGNITO_USER_POOLS` (required): ARNs of the user pools whose JWTs are accepted. */
    userPoolArns?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Where the identity is read. Default `method.request.header.Authorization`; required for
     * `REQUEST`, comma-separated, e.g. `method.request.header.Authorization,method.request.querystring.tenant`.
     */
    identitySource?: pulumi.Input<string>;
    /** `TOKEN`: regular expression a token must match before the function is called at all. */
    identityValidationExpression?: pulumi.Input<string>;
    /** Seconds a decision is cached per identity, 0–3600. Default 300. */
    resultTtlSeconds?: pulumi.Input<number>;
}

/** A Lambda TOKEN authorizer, as TypeScript callers may type it (a `PrivateApiAuthorizer`). */
export interface TokenAuthorizer extends PrivateApiAuthorizer {
    type: "TOKEN";
    functionArn: pulumi.Input<string>;
}

/** A Lambda REQUEST authorizer, as TypeScript callers may type it (a `PrivateApiAuthorizer`). */
export interface RequestAuthorizer extends PrivateApiAuthorizer {
    type: "REQUEST";
    functionArn: pulumi.Input<string>;
    identitySource: pulumi.Input<string>;
}

/** A Cognito JWT authorizer, as TypeScript callers may type it (a `PrivateApiAuthorizer`). */
export interface CognitoJwtAuthorizer extends PrivateApiAuthorizer {
    type: "COGNITO_USER_POOLS";
    userPoolArns: pulumi.Input<pulumi.Input<string>[]>;
}

export const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"] as const;
const integrationTypes = ["AWS_PROXY", "HTTP_PROXY", "MOCK"] as const;
const authorizerTypes = ["TOKEN", "REQUEST", "COGNITO_USER_POOLS"] as const;
const defaultIdentitySource = "method.request.header.Authorization";

/**
 * Keys of routes and authorizers whose values are handed to AWS as they are: they may stay Outputs
 * without holding back the resources the routes decide (checked when they resolve).
 */
export const routePassThrough = ["functionArn", "uri", "vpcLinkId", "userPoolArns"] as const;

/** Which integration and authorizer types each optional field applies to. */
const integrationFields: Record<string, readonly PrivateApiIntegrationType[]> = {
    functionArn: ["AWS_PROXY"],
    uri: ["HTTP_PROXY"],
    httpMethod: ["HTTP_PROXY"],
    vpcLinkId: ["HTTP_PROXY"],
    timeoutMilliseconds: ["AWS_PROXY", "HTTP_PROXY"],
    statusCode: ["MOCK"],
    responseBody: ["MOCK"],
};
const authorizerFields: Record<string, readonly PrivateApiAuthorizerType[]> = {
    functionArn: ["TOKEN", "REQUEST"],
    userPoolArns: ["COGNITO_USER_POOLS"],
    identityValidationExpression: ["TOKEN"],
};

/** Refuses a field set on an object whose `type` it does not apply to, naming the field and the types it is for. */
function refuseFieldsOfOtherTypes(c: ArgChecker, f: string, value: object, type: string, fields: Record<string, readonly string[]>): void {
    for (const [key, types] of Object.entries(fields)) {
        if ((value as Record<string, unknown>)[key] !== undefined && !types.includes(type)) {
            c.fail(`${f}.${key}`, `applies only to ${types.join(" and ")} (this one is ${type}); remove it`);
        }
    }
}

/** A plain object (not a list, an Output or null), or a refusal naming the field. */
function plainObject(c: ArgChecker, f: string, value: unknown, expected: string): object {
    if (typeof value !== "object" || value === null || Array.isArray(value) || pulumi.Output.isInstance(value)) c.fail(f, `must be ${expected} (got ${JSON.stringify(value)})`);
    return value;
}

/** Where the API lives, for ARNs and URIs. */
export interface ApiEnvironment {
    partition: pulumi.Output<string>;
    region: pulumi.Output<string>;
}

type CheckedAuthorization =
    | { type: "AWS_IAM" | "NONE" }
    | { type: "CUSTOM"; authorizer: string }
    | { type: "COGNITO_USER_POOLS"; authorizer: string; scopes: string[] };

type CheckedIntegration =
    | { type: "AWS_PROXY"; functionArn: pulumi.Input<string>; timeoutMilliseconds: number }
    | { type: "HTTP_PROXY"; uri: pulumi.Input<string>; httpMethod: PrivateApiMethod; vpcLinkId?: pulumi.Input<string>; timeoutMilliseconds: number }
    | { type: "MOCK"; statusCode: number; responseBody: string };

export interface CheckedRoute {
    method: PrivateApiMethod;
    path: string;
    segments: string[];
    /** Names of the path parameters (`proxy` for `{proxy+}`). */
    pathParameters: string[];
    integration: CheckedIntegration;
    authorization: CheckedAuthorization;
    /** The schema as JSON, with the draft-4 `$schema` API Gateway expects. */
    requestSchema?: string;
    /** Name of the request model (with `requestSchema`): letters and digits, unique in the API. */
    modelName?: string;
}

export interface CheckedAuthorizer {
    type: PrivateApiAuthorizerType;
    functionArn?: pulumi.Input<string>;
    userPoolArns?: pulumi.Input<pulumi.Input<string>[]>;
    identitySource: string;
    identityValidationExpression?: string;
    resultTtlSeconds: number;
}

/**
 * Checks the authorizers, resolved but for their pass-through fields (`routePassThrough`): the
 * component calls this at construction for plain arguments, or once they resolve.
 */
export function checkAuthorizers(c: ArgChecker, authorizers: Record<string, pulumi.Input<PrivateApiAuthorizer>> | undefined): Record<string, CheckedAuthorizer> {
    const checked: Record<string, CheckedAuthorizer> = {};
    if (authorizers === undefined || authorizers === null) return checked;
    if (typeof authorizers !== "object" || Array.isArray(authorizers) || pulumi.Output.isInstance(authorizers)) {
        c.fail("authorizers", "must be a plain object of authorizers by name, e.g. { tokens: { type: \"TOKEN\", functionArn } }");
    }
    for (const [authName, input] of Object.entries(authorizers)) {
        const f = `authorizers.${authName}`;
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(authName)) c.fail(f, "must be named with 1–64 letters, digits, \"_\" or \"-\"");
        const authorizer = plainHere(input);
        const type = c.oneOf(`${f}.type`, authorizer?.type, authorizerTypes);
        refuseFieldsOfOtherTypes(c, f, authorizer!, type, authorizerFields);
        const fields = authorizer!;
        const resultTtlSeconds = c.integerInRange(`${f}.resultTtlSeconds`, plainHere(fields.resultTtlSeconds) ?? 300, 0, 3600);
        if (type === "COGNITO_USER_POOLS") {
            checked[authName] = {
                type,
                userPoolArns: c.list<string>(`${f}.userPoolArns`, fields.userPoolArns, {
                    required: true,
                    fix: "give the Cognito user pools whose JWTs are accepted",
                    each: (arn, field) => void c.pattern(field, arn, patterns.cognitoUserPoolArn, "a Cognito user pool ARN"),
                }),
                identitySource: checkIdentitySource(c, `${f}.identitySource`, plainHere(fields.identitySource) ?? defaultIdentitySource),
                resultTtlSeconds,
            };
            continue;
        }
        if (fields.functionArn === undefined) c.fail(`${f}.functionArn`, "is required for a Lambda authorizer; give the authorizer function's ARN");
        if (type === "REQUEST" && fields.identitySource === undefined) {
            c.fail(`${f}.identitySource`, "is required for a REQUEST authorizer, e.g. \"method.request.header.Authorization\"");
        }
        const expression = plainHere(fields.identityValidationExpression);
        if (expression !== undefined && typeof expression !== "string") c.fail(`${f}.identityValidationExpression`, "must be a regular expression (a string)");
        checked[authName] = {
            type,
            functionArn: c.matches(`${f}.functionArn`, fields.functionArn, patterns.lambdaFunctionArn, "a Lambda function ARN"),
            identitySource: checkIdentitySource(c, `${f}.identitySource`, plainHere(fields.identitySource) ?? defaultIdentitySource),
            identityValidationExpression: expression,
            resultTtlSeconds,
        };
    }
    return checked;
}

function checkIdentitySource(c: ArgChecker, field: string, value: unknown): string {
    const source = /^(method\.request\.(header|querystring)\.[A-Za-z0-9_.-]+|stageVariables\.[A-Za-z0-9_]+|context\.[A-Za-z0-9_.]+)$/;
    if (typeof value !== "string" || !value.split(",").every((part) => source.test(part.trim()))) {
        c.fail(field, `must be comma-separated sources like method.request.header.Authorization (got ${JSON.stringify(value)})`);
    }
    return value;
}

/**
 * Checks the routes, resolved but for their pass-through fields (`routePassThrough`): the component
 * calls this at construction for plain arguments, or once they resolve.
 */
export function checkRoutes(c: ArgChecker, routes: unknown, authorizers: Record<string, CheckedAuthorizer>): CheckedRoute[] {
    const example = 'give at least one route, e.g. [{ path: "/health", method: "GET", integration: { type: "MOCK" } }]';
    if (routes !== undefined && !Array.isArray(routes)) c.fail("routes", `must be a list of routes (got ${JSON.stringify(routes)}); ${example}`);
    const list = c.nonEmptyArray<pulumi.Input<PrivateApiRoute>>("routes", routes as pulumi.Input<PrivateApiRoute>[] | undefined, example);
    const keys = new Set<string>();
    const modelNames = new Set<string>();
    const variableAt = new Map<string, { name: string; index: number }>();
    return list.map((input, index): CheckedRoute => {
        const f = `routes[${index}]`;
        const route = plainHere(input);
        if (typeof route !== "object" || route === null) c.fail(f, `must be a route like { path: "/health", method: "GET", integration: { type: "MOCK" } } (got ${JSON.stringify(route)})`);
        const method = c.oneOf(`${f}.method`, route.method, methods);
        const segments = checkPath(c, `${f}.path`, route.path);
        segments.forEach((segment, depth) => {
            if (!segment.startsWith("{")) return;
            const parentPath = `/${segments.slice(0, depth).join("/")}`;
            const seen = variableAt.get(parentPath);
            if (seen && seen.name !== segment) {
                c.fail(`${f}.path`, `has ${segment} where routes[${seen.index}] has ${seen.name} below ${parentPath}: API Gateway allows one path variable per level; use the same name`);
            }
            variableAt.set(parentPath, { name: segment, index });
        });
        const key = `${method} /${segments.join("/")}`;
        if (keys.has(key)) c.fail(`${f}`, `repeats ${key}; each method and path may appear once`);
        keys.add(key);

        const pathParameters = segments.filter((s) => s.startsWith("{")).map((s) => s.replace(/[{}+]/g, ""));
        const integration = checkIntegration(c, `${f}.integration`, plainHere(route.integration), method, pathParameters);
        const authorization = checkAuthorization(c, f, route, authorizers);

        let requestSchema: string | undefined;
        if (route.requestSchema !== undefined) {
            const schema: unknown = route.requestSchema;
            if (typeof schema !== "object" || schema === null || Array.isArray(schema) || pulumi.Output.isInstance(schema)) {
                c.fail(`${f}.requestSchema`, "must be a JSON Schema (draft 4) object, e.g. { type: \"object\", required: [\"id\"] }");
            }
            if (method === "GET" || method === "HEAD") c.fail(`${f}.requestSchema`, `validates a request body, which ${method} requests do not have; remove it or change the method`);
            requestSchema = JSON.stringify({ $schema: "http://json-schema.org/draft-04/schema#", ...schema });
        }
        let modelName: string | undefined;
        if (requestSchema !== undefined) {
            // Model names are letters and digits, unique within the API: "PostOrdersIdRequest".
            const base = pascal([method.toLowerCase(), ...segments, "request"]);
            modelName = base;
            for (let n = 2; modelNames.has(modelName); n++) modelName = `${base}${n}`;
            modelNames.add(modelName);
        }
        return { method, path: `/${segments.join("/")}`, segments, pathParameters, integration, authorization, requestSchema, modelName };
    });
}

function checkPath(c: ArgChecker, field: string, path: unknown): string[] {
    if (typeof path !== "string" || !path.startsWith("/")) c.fail(field, `must start with "/" (got ${JSON.stringify(path)})`);
    if (path === "/") return [];
    const segments = path.slice(1).split("/");
    segments.forEach((segment, i) => {
        if (!/^([A-Za-z0-9._-]+|\{[A-Za-z0-9_]+\+?\})$/.test(segment)) {
            c.fail(field, `has segment ${JSON.stringify(segment)}; segments are letters, digits, ".", "_" or "-", or a parameter like {id} (got ${JSON.stringify(path)})`);
        }
        if (segment.endsWith("+}") && i !== segments.length - 1) c.fail(field, `may use a greedy parameter (${segment}) only as its last segment`);
    });
    return segments;
}

function checkIntegration(
    c: ArgChecker,
    f: string,
    integration: PrivateApiIntegration | undefined,
    method: PrivateApiMethod,
    pathParameters: readonly string[],
): CheckedIntegration {
    const type = c.oneOf(`${f}.type`, integration?.type, integrationTypes);
    const fields = plainObject(c, f, integration, "an integration like { type: \"MOCK\" }") as PrivateApiIntegration;
    refuseFieldsOfOtherTypes(c, f, fields, type, integrationFields);
    const timeout = () => c.integerInRange(`${f}.timeoutMilliseconds`, plainHere(fields.timeoutMilliseconds) ?? 29000, 50, 300000);
    switch (type) {
        case "AWS_PROXY": {
            if (fields.functionArn === undefined) c.fail(`${f}.functionArn`, "is required for a Lambda proxy integration; give the function's ARN");
            return {
                type,
                functionArn: c.matches(`${f}.functionArn`, fields.functionArn, patterns.lambdaFunctionArn, "a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)"),
                timeoutMilliseconds: timeout(),
            };
        }
        case "HTTP_PROXY": {
            if (fields.uri === undefined) c.fail(`${f}.uri`, "is required for an HTTP proxy integration; give the backend's https:// URL");
            const vpcLinkId =
                fields.vpcLinkId === undefined ? undefined : c.matches(`${f}.vpcLinkId`, fields.vpcLinkId, patterns.apiGatewayVpcLinkId, "an API Gateway VPC link ID");
            const uri = c.input(fields.uri, (value) => {
                let url: URL | undefined;
                try {
                    url = new URL(String(value).replace(/\{[A-Za-z0-9_]+\}/g, "param"));
                } catch {
                    url = undefined;
                }
                if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) c.fail(`${f}.uri`, `must be an http(s) URL (got ${JSON.stringify(value)})`);
                if (url.protocol === "http:" && vpcLinkId === undefined) {
                    c.fail(`${f}.uri`, `must use https:// (got ${JSON.stringify(value)}): plain http would cross the network unencrypted; use https, or a vpcLinkId to reach an internal NLB`);
                }
                const unknown = uriParameters(String(value)).filter((p) => !pathParameters.includes(p));
                if (unknown.length > 0) {
                    c.fail(`${f}.uri`, `uses {${unknown[0]}}, which is not a parameter of the route's path (${pathParameters.length > 0 ? pathParameters.map((p) => `{${p}}`).join(", ") : "it has none"}); API Gateway could not fill it in`);
                }
            });
            return {
                type,
                uri,
                httpMethod: c.oneOf(`${f}.httpMethod`, plainHere(fields.httpMethod) ?? method, methods),
                vpcLinkId,
                timeoutMilliseconds: timeout(),
            };
        }
        case "MOCK": {
            const responseBody = plainHere(fields.responseBody) ?? '{"ok":true}';
            if (typeof responseBody !== "string") c.fail(`${f}.responseBody`, "must be a string (the JSON returned)");
            return { type, statusCode: c.integerInRange(`${f}.statusCode`, plainHere(fields.statusCode) ?? 200, 200, 599), responseBody };
        }
    }
}

/** `authorization`, `authorizer` and `authorizationScopes` of route `f`. */
function checkAuthorization(c: ArgChecker, f: string, route: PrivateApiRoute, authorizers: Record<string, CheckedAuthorizer>): CheckedAuthorization {
    const authorization: unknown = plainHere(route.authorization);
    const authorizer: unknown = plainHere(route.authorizer);
    const scopes: unknown = plainHere(route.authorizationScopes);
    if (typeof authorization === "object" && authorization !== null) {
        c.fail(
            `${f}.authorization`,
            `must be "AWS_IAM" or "NONE"; the object form ({ authorizer, scopes }) is no longer accepted: name the authorizer in ${f}.authorizer and its scopes in ${f}.authorizationScopes`,
        );
    }
    if (authorizer === undefined) {
        if (scopes !== undefined) c.fail(`${f}.authorizationScopes`, "apply only to a route with a COGNITO_USER_POOLS authorizer; name it in authorizer, or remove them");
        return { type: c.oneOf(`${f}.authorization`, authorization ?? "AWS_IAM", ["AWS_IAM", "NONE"] as const) };
    }
    if (authorization !== undefined) {
        c.fail(`${f}.authorization`, `and authorizer exclude each other: the route is authorized by the authorizer ${JSON.stringify(authorizer)}; remove authorization`);
    }
    if (typeof authorizer !== "string") c.fail(`${f}.authorizer`, `must be the name of one of authorizers (got ${JSON.stringify(authorizer)})`);
    const found = authorizers[authorizer];
    if (!found) {
        const names = Object.keys(authorizers);
        c.fail(`${f}.authorizer`, `names no authorizer (got "${authorizer}"; known: ${names.length > 0 ? names.join(", ") : "none"}); add it to authorizers`);
    }
    if (scopes !== undefined && !Array.isArray(scopes)) c.fail(`${f}.authorizationScopes`, `must be a list of OAuth scopes (got ${JSON.stringify(scopes)})`);
    const list: unknown[] = scopes ?? [];
    if (found.type !== "COGNITO_USER_POOLS") {
        if (list.length > 0) c.fail(`${f}.authorizationScopes`, `apply only to COGNITO_USER_POOLS authorizers ("${authorizer}" is ${found.type}); remove them`);
        return { type: "CUSTOM", authorizer };
    }
    list.forEach((s, i) => {
        if (typeof s !== "string" || s.trim() === "") c.fail(`${f}.authorizationScopes[${i}]`, "must be a non-empty OAuth scope");
    });
    return { type: "COGNITO_USER_POOLS", authorizer, scopes: list as string[] };
}

/**
 * The arguments of a route's method, except the IDs AWS assigns. HTTP proxies declare their path
 * parameters so the integration can pass them on.
 */
export function methodArgsFor(route: CheckedRoute) {
    const auth = route.authorization;
    return {
        httpMethod: route.method,
        authorization: auth.type,
        authorizationScopes: auth.type === "COGNITO_USER_POOLS" && auth.scopes.length > 0 ? auth.scopes : undefined,
        requestParameters:
            route.integration.type === "HTTP_PROXY" ? fromEntries(route.pathParameters.map((p) => [`method.request.path.${p}`, true])) : undefined,
        requestModels: route.modelName ? { "application/json": route.modelName } : undefined,
    };
}

/** The arguments of a route's integration, except the IDs AWS assigns. */
export function integrationArgsFor(route: CheckedRoute, env: ApiEnvironment) {
    const integration = route.integration;
    switch (integration.type) {
        case "AWS_PROXY":
            return {
                type: integration.type,
                integrationHttpMethod: "POST",
                uri: lambdaInvocationUri(env, integration.functionArn),
                timeoutMilliseconds: integration.timeoutMilliseconds,
            };
        case "HTTP_PROXY":
            return {
                type: integration.type,
                integrationHttpMethod: integration.httpMethod,
                uri: integration.uri,
                connectionType: integration.vpcLinkId === undefined ? "INTERNET" : "VPC_LINK",
                connectionId: integration.vpcLinkId,
                // Pass on the path parameters the backend URL uses, e.g. {proxy} of a /{proxy+} route.
                requestParameters: pulumi
                    .output(integration.uri)
                    .apply((uri) => fromEntries(uriParameters(uri).map((p) => [`integration.request.path.${p}`, `method.request.path.${p}`]))),
                timeoutMilliseconds: integration.timeoutMilliseconds,
            };
        case "MOCK":
            return {
                type: integration.type,
                passthroughBehavior: "WHEN_NO_TEMPLATES",
                requestTemplates: { "application/json": JSON.stringify({ statusCode: integration.statusCode }) },
            };
    }
}

/** The URI through which API Gateway invokes a Lambda function in its own region. */
export function lambdaInvocationUri(env: ApiEnvironment, functionArn: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.interpolate`arn:${env.partition}:apigateway:${env.region}:lambda:path/2015-03-31/functions/${functionArn}/invocations`;
}

/** Names of the `{parameter}` placeholders in a backend URL. */
function uriParameters(uri: string): string[] {
    return [...uri.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]!);
}

/** A shell command that calls `route` from an instance in the VPC, authenticated as the route requires. */
export function curlExample(route: CheckedRoute, authorizers: Record<string, CheckedAuthorizer>, invokeUrl: string, region: string): string {
    const path = `/${route.segments.map((s) => (s.startsWith("{") ? "example" : s)).join("/")}`;
    const method = route.method === "ANY" ? "GET" : route.method;
    const parts = ["curl", "-sS", "--fail-with-body"];
    if (method !== "GET") parts.push("-X", method);
    if (["POST", "PUT", "PATCH"].includes(method)) {
        // The stage validates bodies against the route's schema (400 otherwise): send one it accepts.
        const body = route.requestSchema === undefined ? "{}" : JSON.stringify(exampleBody(JSON.parse(route.requestSchema) as unknown));
        parts.push("-H", "'content-type: application/json'", "-d", `'${body.replace(/'/g, "'\\''")}'`);
    }
    const url = `"${invokeUrl.replace(/\/$/, "")}${path === "/" ? "/" : path}"`;
    const auth = route.authorization;
    if (auth.type === "AWS_IAM") {
        // The instance role's credentials, exported by the AWS CLI (v2.9+), signed by curl (7.75+).
        return [
            'eval "$(aws configure export-credentials --format env)" &&',
            ...parts,
            "--aws-sigv4",
            `"aws:amz:${region}:execute-api"`,
            "--user",
            '"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"',
            "-H",
            '"x-amz-security-token: $AWS_SESSION_TOKEN"',
            url,
        ].join(" ");
    }
    if (!("authorizer" in auth)) return [...parts, url].join(" ");
    // The token goes in the authorizer's first header source (Authorization unless configured otherwise).
    const sources = authorizers[auth.authorizer]!.identitySource.split(",").map((s) => s.trim());
    const header = sources.find((s) => s.startsWith("method.request.header."))?.slice("method.request.header.".length) ?? "Authorization";
    return [...parts, "-H", `"${header}: $TOKEN"`, url].join(" ");
}

/**
 * A small JSON value a draft-4 schema (API Gateway's model schemas) accepts, for the example
 * request. In order: the schema's `default`, its first `examples` entry, its first `enum` value;
 * else by declared type (the first of a list), following a local `$ref` (`#/definitions/...`),
 * `allOf` (merged), the first `anyOf`/`oneOf` branch:
 * - string: by `format` (email, uri, date-time, date, uuid, ipv4, hostname), else "example",
 *   padded to `minLength` and cut to `maxLength`;
 * - number/integer: 0 moved into `minimum`/`maximum` (and past an exclusive bound), a multiple of
 *   `multipleOf`;
 * - array: `minItems` examples of `items`;
 * - object (or untyped): every `required` property, recursively.
 * A `pattern` is not followed (a string that must match one is left for the user to edit); so
 * is a schema whose `not` or combination of constraints the above cannot satisfy.
 */
export function exampleBody(schema: unknown, root: unknown = schema, depth = 0): unknown {
    if (typeof schema !== "object" || schema === null || Array.isArray(schema) || depth > 32) return {};
    const s = schema as Record<string, unknown>;
    if (s.default !== undefined) return s.default;
    if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0] as unknown;
    if (s.const !== undefined) return s.const;
    if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0] as unknown;
    const next = (child: unknown): unknown => exampleBody(child, root, depth + 1);
    if (typeof s.$ref === "string") return next(localReference(root, s.$ref));
    if (Array.isArray(s.allOf) && s.allOf.length > 0) {
        const parts = s.allOf.map((part: unknown) => (typeof part === "object" && part !== null && typeof (part as { $ref?: unknown }).$ref === "string" ? localReference(root, (part as { $ref: string }).$ref) : part));
        const { allOf: _allOf, ...rest } = s;
        return next(mergeSchemas([rest, ...parts]));
    }
    for (const key of ["anyOf", "oneOf"] as const) {
        const branches = s[key];
        if (Array.isArray(branches) && branches.length > 0) {
            const { [key]: _branches, ...rest } = s;
            return next(mergeSchemas([rest, branches[0]]));
        }
    }
    const type: unknown = Array.isArray(s.type) ? (s.type as unknown[])[0] : s.type;
    switch (type) {
        case "string":
            return exampleString(s);
        case "number":
        case "integer":
            return exampleNumber(s, type === "integer");
        case "boolean":
            return false;
        case "array": {
            const count = typeof s.minItems === "number" ? Math.min(s.minItems, 64) : 0;
            return Array.from({ length: count }, () => next(s.items));
        }
        case "null":
            return null;
        default: {
            const properties = typeof s.properties === "object" && s.properties !== null ? (s.properties as Record<string, unknown>) : {};
            const required = Array.isArray(s.required) ? s.required.filter((key): key is string => typeof key === "string") : [];
            return Object.fromEntries(required.map((key) => [key, next(Object.prototype.hasOwnProperty.call(properties, key) ? properties[key] : undefined)]));
        }
    }
}

const FORMAT_EXAMPLES: Readonly<Record<string, string>> = {
    email: "user@example.com",
    uri: "https://example.com/",
    "date-time": "2024-01-01T00:00:00Z",
    date: "2024-01-01",
    uuid: "00000000-0000-4000-8000-000000000000",
    ipv4: "192.0.2.1",
    hostname: "example.com",
};

function exampleString(s: Record<string, unknown>): string {
    let value = (typeof s.format === "string" ? FORMAT_EXAMPLES[s.format] : undefined) ?? "example";
    if (typeof s.minLength === "number" && value.length < s.minLength) value = value.padEnd(Math.min(s.minLength, 4096), "x");
    if (typeof s.maxLength === "number" && value.length > s.maxLength) value = value.slice(0, Math.max(0, s.maxLength));
    return value;
}

function exampleNumber(s: Record<string, unknown>, integer: boolean): number {
    const step = typeof s.multipleOf === "number" && s.multipleOf > 0 ? s.multipleOf : integer ? 1 : undefined;
    // Draft 4 writes exclusive bounds as booleans beside minimum/maximum; later drafts as numbers.
    const lower = typeof s.exclusiveMinimum === "number" ? { at: s.exclusiveMinimum, open: true } : typeof s.minimum === "number" ? { at: s.minimum, open: s.exclusiveMinimum === true } : undefined;
    const upper = typeof s.exclusiveMaximum === "number" ? { at: s.exclusiveMaximum, open: true } : typeof s.maximum === "number" ? { at: s.maximum, open: s.exclusiveMaximum === true } : undefined;
    let value = 0;
    if (lower && (value < lower.at || (lower.open && value === lower.at))) {
        value = step ? Math.ceil(lower.at / step) * step : lower.at;
        if (lower.open && value === lower.at) value = step ? value + step : value + 1;
    } else if (upper && (value > upper.at || (upper.open && value === upper.at))) {
        value = step ? Math.floor(upper.at / step) * step : upper.at;
        if (upper.open && value === upper.at) value = step ? value - step : value - 1;
    }
    return value;
}

/** `#/definitions/a/b` inside `root`; undefined (an untyped schema) for anything else. */
function localReference(root: unknown, ref: string): unknown {
    if (!ref.startsWith("#/")) return undefined;
    let node: unknown = root;
    for (const raw of ref.slice(2).split("/")) {
        const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
        if (typeof node !== "object" || node === null || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
        node = (node as Record<string, unknown>)[key];
    }
    return node;
}

/** Schemas that must all hold, as one: properties and required lists merged, other keywords from the first that sets them. */
function mergeSchemas(schemas: unknown[]): Record<string, unknown> {
    const merged: Record<string, unknown> = {};
    const properties: Record<string, unknown> = {};
    const required = new Set<string>();
    for (const schema of schemas) {
        if (typeof schema !== "object" || schema === null || Array.isArray(schema)) continue;
        for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
            if (key === "properties" && typeof value === "object" && value !== null) Object.assign(properties, value);
            else if (key === "required" && Array.isArray(value)) for (const name of value) if (typeof name === "string") required.add(name);
            else if (!(key in merged)) merged[key] = value;
        }
    }
    if (Object.keys(properties).length > 0) merged.properties = properties;
    if (required.size > 0) merged.required = [...required];
    return merged;
}

function pascal(words: string[]): string {
    return words
        .flatMap((w) => w.split(/[^A-Za-z0-9]+/))
        .filter((w) => w.length > 0)
        .map((w) => w[0]!.toUpperCase() + w.slice(1))
        .join("");
}

function fromEntries<T>(entries: Array<[string, T]>): Record<string, T> | undefined {
    return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}
