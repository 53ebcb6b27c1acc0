// What a route of a PrivateApi is: its types as callers write them, the checks that refuse what API
// Gateway would refuse (or what would be insecure), and the API Gateway arguments a checked route
// becomes. PrivateApi creates the resources; a reader looking for "why was my route refused" or
// "what does this integration turn into" starts here.
import * as pulumi from "@pulumi/pulumi";
import { ArgChecker, patterns } from "../shared/validation";

export type PrivateApiMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" | "ANY";

/** Lambda proxy: the function gets the whole request and returns `statusCode`, `headers` and `body`. */
export interface LambdaProxyIntegration {
    type: "AWS_PROXY";
    /**
     * ARN of the function, or of one of its versions or aliases. The component grants API Gateway
     * permission to invoke it from this route only (a `lambda.Permission` scoped to the route's ARN).
     */
    functionArn: pulumi.Input<string>;
    /** Milliseconds API Gateway waits, 50–300000. Default 29000; more needs a raised service quota. */
    timeoutMilliseconds?: number;
}

/** HTTP proxy: the request goes to an HTTP backend unchanged, and its response comes back unchanged. */
export interface HttpProxyIntegration {
    type: "HTTP_PROXY";
    /**
     * Backend URL. Must be `https://` unless `vpcLinkId` is set (the request then stays on AWS's
     * network, and `http://` to an internal NLB is accepted). The route's path parameters are passed
     * through and may be used in it, e.g. `https://orders.internal.example.com/{proxy}` for a
     * `/{proxy+}` route.
     */
    uri: pulumi.Input<string>;
    /** Method used towards the backend. Default: the route's method. */
    httpMethod?: PrivateApiMethod;
    /**
     * ID of an `aws.apigateway.VpcLink` (REST API VPC link, to an NLB) for a backend inside a VPC.
     * Default: none, the backend is called over its public address.
     */
    vpcLinkId?: pulumi.Input<string>;
    /** Milliseconds API Gateway waits, 50–300000. Default 29000; more needs a raised service quota. */
    timeoutMilliseconds?: number;
}

/** Mock: API Gateway answers itself, with a fixed status and JSON body. For tests and smoke checks. */
export interface MockIntegration {
    type: "MOCK";
    /** Status returned, 200–599. Default 200. */
    statusCode?: number;
    /** JSON body returned. Default `{"ok":true}`. */
    responseBody?: string;
}

export type PrivateApiIntegration = LambdaProxyIntegration | HttpProxyIntegration | MockIntegration;

/**
 * How a route authenticates callers:
 * - `"AWS_IAM"` (default): requests must be SigV4-signed; IAM policies decide who may call.
 * - `{ authorizer: "<name>" }`: one of the component's `authorizers` (Lambda or Cognito JWT);
 *   `scopes` are the OAuth scopes a Cognito access token must carry.
 * - `"NONE"`: no authentication; anyone who can reach the endpoint and passes the resource policy.
 *   An explicit opt-out, for health checks behind the endpoint's network controls.
 */
export type PrivateApiAuthorization = "AWS_IAM" | "NONE" | { authorizer: string; scopes?: string[] };

export interface PrivateApiRoute {
    /**
     * `/`, `/orders`, `/orders/{id}`, or `/{proxy+}` (greedy: matches the rest of the path; last
     * segment only). Segments are letters, digits, `.`, `_` and `-`; parameters are `{name}`.
     */
    path: string;
    method: PrivateApiMethod;
    integration: PrivateApiIntegration;
    /** Default `"AWS_IAM"`. */
    authorization?: PrivateApiAuthorization;
    /**
     * JSON Schema (draft 4, what API Gateway models use) for an `application/json` request body.
     * When given, API Gateway answers 400 to a body that does not match, before the integration runs.
     */
    requestSchema?: Record<string, unknown>;
}

/** A Lambda authorizer handed the token of one header (by default `Authorization`). */
export interface TokenAuthorizer {
    type: "TOKEN";
    functionArn: pulumi.Input<string>;
    /** Default `method.request.header.Authorization`. */
    identitySource?: string;
    /** Regular expression a token must match before the function is called at all. */
    identityValidationExpression?: string;
    /** Seconds a decision is cached per token, 0–3600. Default 300. */
    resultTtlSeconds?: number;
}

/** A Lambda authorizer handed request parameters (headers, query strings, stage variables). */
export interface RequestAuthorizer {
    type: "REQUEST";
    functionArn: pulumi.Input<string>;
    /** Comma-separated, e.g. `method.request.header.Authorization,method.request.querystring.tenant`. Required. */
    identitySource: string;
    /** Seconds a decision is cached per identity, 0–3600. Default 300. */
    resultTtlSeconds?: number;
}

/**
 * The JWT authorizer of REST APIs: API Gateway validates JWTs issued by the given Cognito user pools
 * (signature, expiry, issuer, and `scopes` per route). REST APIs have no JWT authorizer for other
 * issuers (that is an HTTP API feature, and HTTP APIs cannot be private): use a TOKEN authorizer.
 */
export interface CognitoJwtAuthorizer {
    type: "COGNITO_USER_POOLS";
    /** A plain list of user pool ARNs. */
    userPoolArns: pulumi.Input<string>[];
    /** Default `method.request.header.Authorization`. */
    identitySource?: string;
    /** Seconds a decision is cached per token, 0–3600. Default 300. */
    resultTtlSeconds?: number;
}

export type PrivateApiAuthorizer = TokenAuthorizer | RequestAuthorizer | CognitoJwtAuthorizer;

export const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"] as const;
const integrationTypes = ["AWS_PROXY", "HTTP_PROXY", "MOCK"] as const;
const authorizerTypes = ["TOKEN", "REQUEST", "COGNITO_USER_POOLS"] as const;
const defaultIdentitySource = "method.request.header.Authorization";

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
    type: PrivateApiAuthorizer["type"];
    functionArn?: pulumi.Input<string>;
    userPoolArns?: pulumi.Input<string>[];
    identitySource: string;
    identityValidationExpression?: string;
    resultTtlSeconds: number;
}

export function checkAuthorizers(c: ArgChecker, authorizers: Record<string, PrivateApiAuthorizer> | undefined): Record<string, CheckedAuthorizer> {
    const checked: Record<string, CheckedAuthorizer> = {};
    if (authorizers === undefined) return checked;
    if (typeof authorizers !== "object" || authorizers === null || Array.isArray(authorizers) || pulumi.Output.isInstance(authorizers)) {
        c.fail("authorizers", "must be a plain object of authorizers by name, e.g. { tokens: { type: \"TOKEN\", functionArn } }");
    }
    for (const [authName, authorizer] of Object.entries(authorizers)) {
        const f = `authorizers.${authName}`;
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(authName)) c.fail(f, "must be named with 1–64 letters, digits, \"_\" or \"-\"");
        const type = c.oneOf(`${f}.type`, authorizer?.type, authorizerTypes);
        // One view of the fields of every authorizer type; which apply is decided by `type`.
        const fields = authorizer as Partial<Omit<TokenAuthorizer, "type"> & Omit<CognitoJwtAuthorizer, "type">>;
        const ttl = fields.resultTtlSeconds ?? 300;
        const resultTtlSeconds = c.integerInRange(`${f}.resultTtlSeconds`, ttl, 0, 3600);
        if (type === "COGNITO_USER_POOLS") {
            const pools = c.plainList(`${f}.userPoolArns`, fields.userPoolArns, "pass a plain list of user pool ARNs");
            c.nonEmptyArray(`${f}.userPoolArns`, pools, "give the Cognito user pools whose JWTs are accepted");
            checked[authName] = {
                type,
                userPoolArns: pools.map((p, i) => c.matches(`${f}.userPoolArns[${i}]`, p, patterns.cognitoUserPoolArn, "a Cognito user pool ARN")),
                identitySource: checkIdentitySource(c, `${f}.identitySource`, fields.identitySource ?? defaultIdentitySource),
                resultTtlSeconds,
            };
            continue;
        }
        if (fields.functionArn === undefined) c.fail(`${f}.functionArn`, "is required for a Lambda authorizer; give the authorizer function's ARN");
        if (type === "REQUEST" && fields.identitySource === undefined) {
            c.fail(`${f}.identitySource`, "is required for a REQUEST authorizer, e.g. \"method.request.header.Authorization\"");
        }
        checked[authName] = {
            type,
            functionArn: c.matches(`${f}.functionArn`, fields.functionArn, patterns.lambdaFunctionArn, "a Lambda function ARN"),
            identitySource: checkIdentitySource(c, `${f}.identitySource`, fields.identitySource ?? defaultIdentitySource),
            identityValidationExpression: type === "TOKEN" ? fields.identityValidationExpression : undefined,
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

export function checkRoutes(c: ArgChecker, routes: PrivateApiRoute[], authorizers: Record<string, CheckedAuthorizer>): CheckedRoute[] {
    c.plainList("routes", routes, "pass a plain list of routes");
    c.nonEmptyArray("routes", routes, 'give at least one route, e.g. [{ path: "/health", method: "GET", integration: { type: "MOCK" } }]');
    const keys = new Set<string>();
    const modelNames = new Set<string>();
    const variableAt = new Map<string, { name: string; index: number }>();
    return routes.map((route, index): CheckedRoute => {
        const f = `routes[${index}]`;
        const method = c.oneOf(`${f}.method`, route?.method, methods);
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
        const integration = checkIntegration(c, `${f}.integration`, route.integration, method, pathParameters);
        const authorization = checkAuthorization(c, `${f}.authorization`, route.authorization, authorizers);

        let requestSchema: string | undefined;
        if (route.requestSchema !== undefined) {
            const schema = route.requestSchema;
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
    const timeout = (value: number | undefined) => c.integerInRange(`${f}.timeoutMilliseconds`, value ?? 29000, 50, 300000);
    switch (type) {
        case "AWS_PROXY": {
            const lambda = integration as LambdaProxyIntegration;
            if (lambda.functionArn === undefined) c.fail(`${f}.functionArn`, "is required for a Lambda proxy integration; give the function's ARN");
            return {
                type,
                functionArn: c.matches(`${f}.functionArn`, lambda.functionArn, patterns.lambdaFunctionArn, "a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)"),
                timeoutMilliseconds: timeout(lambda.timeoutMilliseconds),
            };
        }
        case "HTTP_PROXY": {
            const http = integration as HttpProxyIntegration;
            if (http.uri === undefined) c.fail(`${f}.uri`, "is required for an HTTP proxy integration; give the backend's https:// URL");
            const vpcLinkId =
                http.vpcLinkId === undefined ? undefined : c.matches(`${f}.vpcLinkId`, http.vpcLinkId, patterns.apiGatewayVpcLinkId, "an API Gateway VPC link ID");
            const uri = c.input(http.uri, (value) => {
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
                httpMethod: c.oneOf(`${f}.httpMethod`, http.httpMethod ?? method, methods),
                vpcLinkId,
                timeoutMilliseconds: timeout(http.timeoutMilliseconds),
            };
        }
        case "MOCK": {
            const mock = integration as MockIntegration;
            const responseBody = mock.responseBody ?? '{"ok":true}';
            if (typeof responseBody !== "string") c.fail(`${f}.responseBody`, "must be a string (the JSON returned)");
            return { type, statusCode: c.integerInRange(`${f}.statusCode`, mock.statusCode ?? 200, 200, 599), responseBody };
        }
    }
}

function checkAuthorization(
    c: ArgChecker,
    f: string,
    authorization: PrivateApiAuthorization | undefined,
    authorizers: Record<string, CheckedAuthorizer>,
): CheckedAuthorization {
    const value = authorization ?? "AWS_IAM";
    if (value === "AWS_IAM" || value === "NONE") return { type: value };
    if (typeof value !== "object" || value === null || typeof value.authorizer !== "string") {
        c.fail(f, `must be "AWS_IAM", "NONE" or { authorizer: "<name in authorizers>" } (got ${JSON.stringify(value)})`);
    }
    const authorizer = authorizers[value.authorizer];
    if (!authorizer) {
        const known = Object.keys(authorizers);
        c.fail(`${f}.authorizer`, `names no authorizer (got "${value.authorizer}"; known: ${known.length > 0 ? known.join(", ") : "none"}); add it to authorizers`);
    }
    const scopes = c.plainList(`${f}.scopes`, value.scopes, "pass a plain list of OAuth scopes");
    if (authorizer.type !== "COGNITO_USER_POOLS") {
        if (scopes.length > 0) c.fail(`${f}.scopes`, `apply only to COGNITO_USER_POOLS authorizers ("${value.authorizer}" is ${authorizer.type}); remove them`);
        return { type: "CUSTOM", authorizer: value.authorizer };
    }
    scopes.forEach((s, i) => {
        if (typeof s !== "string" || s.trim() === "") c.fail(`${f}.scopes[${i}]`, "must be a non-empty OAuth scope");
    });
    return { type: "COGNITO_USER_POOLS", authorizer: value.authorizer, scopes: [...scopes] };
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
    if (["POST", "PUT", "PATCH"].includes(method)) parts.push("-H", "'content-type: application/json'", "-d", "'{}'");
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
