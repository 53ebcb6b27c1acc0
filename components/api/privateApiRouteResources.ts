// The API Gateway resources of a PrivateApi's routes: authorizers, resources per path, methods,
// integrations, mock responses, request models, and the Lambda permissions they need. What a
// checked route turns into is decided in privateApiRoutes.ts; this module creates it.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { sha256 } from "./definitionHash";
import { ApiEnvironment, CheckedAuthorizer, CheckedRoute, integrationArgsFor, lambdaInvocationUri, methodArgsFor } from "./privateApiRoutes";

/**
 * Resources, methods, integrations, authorizers and models. Returns the resources a deployment
 * must wait for, and `spec`: every argument they were created with except the IDs AWS assigns, so
 * that a hash of it changes exactly when the API definition does.
 */
export function createRoutes(
    component: pulumi.Resource,
    name: string,
    api: aws.apigateway.RestApi,
    checked: { routes: CheckedRoute[]; authorizers: Record<string, CheckedAuthorizer> },
    env: ApiEnvironment,
) {
    const parent = { parent: component };
    const resources: pulumi.Resource[] = [];
    const spec: { authorizers: Record<string, unknown>; routes: Record<string, unknown> } = { authorizers: {}, routes: {} };

    const authorizerIds = new Map<string, pulumi.Output<string>>();
    for (const [authName, authorizer] of Object.entries(checked.authorizers)) {
        const authorizerArgs = {
            name: authName,
            type: authorizer.type,
            identitySource: authorizer.identitySource,
            identityValidationExpression: authorizer.identityValidationExpression,
            authorizerResultTtlInSeconds: authorizer.resultTtlSeconds,
            authorizerUri: authorizer.functionArn === undefined ? undefined : lambdaInvocationUri(env, authorizer.functionArn),
            providerArns: authorizer.userPoolArns,
        };
        spec.authorizers[authName] = authorizerArgs;
        const created = new aws.apigateway.Authorizer(`${name}-authorizer-${authName}`, { restApi: api.id, ...authorizerArgs }, parent);
        authorizerIds.set(authName, created.id);
        if (authorizer.functionArn !== undefined) {
            allowApiGatewayToInvoke(component, name, `authorizer-${authName}`, authorizer.functionArn, pulumi.interpolate`${api.executionArn}/authorizers/${created.id}`);
        }
    }

    const validator = checked.routes.some((r) => r.requestSchema !== undefined)
        ? new aws.apigateway.RequestValidator(`${name}-body-validator`, { restApi: api.id, name: "body", validateRequestBody: true, validateRequestParameters: false }, parent)
        : undefined;

    // One API Gateway resource per distinct path prefix, shared by the routes below it.
    const resourceIds = new Map<string, pulumi.Input<string>>([["/", api.rootResourceId]]);
    const resourceIdOf = (segments: readonly string[]): pulumi.Input<string> => {
        const path = `/${segments.join("/")}`;
        const known = resourceIds.get(path);
        if (known !== undefined) return known;
        const resource = new aws.apigateway.Resource(
            `${name}-resource-${path}`,
            { restApi: api.id, parentId: resourceIdOf(segments.slice(0, -1)), pathPart: segments[segments.length - 1]! },
            parent,
        );
        resourceIds.set(path, resource.id);
        return resource.id;
    };

    for (const route of checked.routes) {
        const resourceId = resourceIdOf(route.segments);
        const key = `${route.method}-${route.path}`;
        const auth = route.authorization;

        let model: aws.apigateway.Model | undefined;
        if (route.requestSchema !== undefined && route.modelName !== undefined) {
            model = new aws.apigateway.Model(
                `${name}-model-${key}`,
                { restApi: api.id, name: route.modelName, contentType: "application/json", schema: route.requestSchema },
                parent,
            );
        }
        const methodArgs = methodArgsFor(route);
        const method = new aws.apigateway.Method(
            `${name}-method-${key}`,
            {
                restApi: api.id,
                resourceId,
                ...methodArgs,
                authorizerId: "authorizer" in auth ? authorizerIds.get(auth.authorizer) : undefined,
                requestValidatorId: model ? validator?.id : undefined,
            },
            { parent: component, dependsOn: model ? [model] : [] },
        );

        const integrationArgs = integrationArgsFor(route, env);
        const integration = new aws.apigateway.Integration(
            `${name}-integration-${key}`,
            { restApi: api.id, resourceId, ...integrationArgs, httpMethod: method.httpMethod },
            parent,
        );
        resources.push(method, integration);

        let responseArgs: Record<string, unknown> | undefined;
        if (route.integration.type === "MOCK") {
            const statusCode = String(route.integration.statusCode);
            responseArgs = { statusCode, responseTemplates: { "application/json": route.integration.responseBody } };
            const methodResponse = new aws.apigateway.MethodResponse(
                `${name}-method-response-${key}`,
                { restApi: api.id, resourceId, httpMethod: method.httpMethod, statusCode, responseModels: { "application/json": "Empty" } },
                parent,
            );
            const integrationResponse = new aws.apigateway.IntegrationResponse(
                `${name}-integration-response-${key}`,
                {
                    restApi: api.id,
                    resourceId,
                    httpMethod: method.httpMethod,
                    statusCode: methodResponse.statusCode,
                    responseTemplates: { "application/json": route.integration.responseBody },
                },
                { parent: component, dependsOn: [integration] },
            );
            resources.push(methodResponse, integrationResponse);
        } else if (route.integration.type === "AWS_PROXY") {
            // Any stage, this method and path only.
            const methodAndPath = `${route.method === "ANY" ? "*" : route.method}/${route.segments.map((s) => (s.startsWith("{") ? "*" : s)).join("/")}`;
            allowApiGatewayToInvoke(component, name, key, route.integration.functionArn, pulumi.interpolate`${api.executionArn}/*/${methodAndPath}`);
        }
        spec.routes[key] = {
            method: methodArgs,
            authorizer: "authorizer" in auth ? auth.authorizer : undefined,
            model: route.requestSchema === undefined ? undefined : { name: route.modelName, schema: route.requestSchema },
            integration: integrationArgs,
            response: responseArgs,
        };
    }
    return { resources, spec };
}

/** Lets API Gateway invoke a Lambda function, from `sourceArn` (a route or an authorizer of this API) only. */
function allowApiGatewayToInvoke(component: pulumi.Resource, name: string, key: string, functionArn: pulumi.Input<string>, sourceArn: pulumi.Input<string>): void {
    new aws.lambda.Permission(
        `${name}-invoke-${key}`,
        { action: "lambda:InvokeFunction", function: functionArn, principal: "apigateway.amazonaws.com", sourceArn, statementId: statementId(name, key) },
        { parent: component },
    );
}

/** A Lambda permission statement ID: unique per component and route, within Lambda's 100 characters. */
function statementId(name: string, key: string): string {
    const readable = `${name}-${key}`.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/-+/g, "-").slice(0, 90);
    return `${readable}-${sha256(`${name}/${key}`).slice(0, 8)}`;
}
