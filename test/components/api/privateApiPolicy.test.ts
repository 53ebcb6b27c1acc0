// The resource policy PrivateApi deploys, evaluated by an IAM policy simulator
// (@cloud-copilot/iam-simulate) against the request contexts API Gateway builds: a caller, the VPC
// endpoint the request came through (or none), and the caller's own identity policies.
import * as assert from "node:assert/strict";
import { runSimulation, Simulation } from "@cloud-copilot/iam-simulate";
import { PolicyDocument } from "../../../components/shared/iamPolicy";
import { PrivateApi, PrivateApiArgs } from "../../../components/api/privateApi";
import { customerAccount, deploy, platformAccount } from "../../helpers/pulumi";
import { single, types } from "../../helpers/resources";

const rightEndpoint = "vpce-0a1b2c3d4e5f60718";
const otherAllowedEndpoint = "vpce-1a1b2c3d4e5f60718";
const wrongEndpoint = "vpce-0fedcba9876543210";
const workersRole = `arn:aws:iam::${customerAccount}:role/workers`;

/** Who calls: an IAM role session (SigV4-signed request) or nobody (unsigned). */
type Caller = { roleArn: string } | "anonymous";

interface Request {
    caller: Caller;
    /** The endpoint the request came through; absent for a request that did not use one. */
    vpce?: string;
    /** Identity policies attached to the caller's role. */
    identityPolicies?: PolicyDocument[];
}

interface Deployed {
    resourcePolicy: PolicyDocument;
    invokerPolicy: PolicyDocument;
    /** ARN of one concrete request: stage v1, GET /orders/123. */
    requestArn: string;
}

async function deployPolicy(args: Partial<PrivateApiArgs>): Promise<Deployed> {
    const run = await deploy(() => {
        const api = new PrivateApi("acme", {
            vpcEndpointIds: [rightEndpoint, otherAllowedEndpoint],
            routes: [{ path: "/orders/{id}", method: "GET", integration: { type: "MOCK" } }],
            ...args,
        });
        return { resourcePolicy: api.resourcePolicy, invokerPolicy: api.invokerPolicy, executionArn: api.executionArn };
    });
    // What the simulator evaluates is exactly what the API gets attached.
    assert.equal(single(run, types.restApiPolicy).inputs.policy, run.outputs.resourcePolicy);
    // API Gateway stores `execute-api:/…` in a resource policy as the ARN of the API it is attached
    // to; the simulator evaluates the stored form.
    const stored = String(run.outputs.resourcePolicy).split('"execute-api:/').join(`"${run.outputs.executionArn}/`);
    return {
        resourcePolicy: JSON.parse(stored) as PolicyDocument,
        invokerPolicy: JSON.parse(String(run.outputs.invokerPolicy)) as PolicyDocument,
        requestArn: `${run.outputs.executionArn}/v1/GET/orders/123`,
    };
}

/**
 * The request context keys API Gateway supplies: the principal's ARN and account for signed
 * requests (a role session's `aws:PrincipalArn` is the role's ARN), and `aws:SourceVpce` when the
 * request came through an interface endpoint.
 */
async function evaluate(api: Deployed, request: Request): Promise<string> {
    const context: Record<string, string> = {};
    let principal: Simulation["request"]["principal"] = { type: "Anonymous" };
    if (request.caller !== "anonymous") {
        const [, account, roleName] = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(request.caller.roleArn)!;
        principal = `arn:aws:sts::${account}:assumed-role/${roleName}/i-0123456789abcdef0`;
        context["aws:PrincipalArn"] = request.caller.roleArn;
        context["aws:PrincipalAccount"] = account!;
    }
    if (request.vpce) context["aws:SourceVpce"] = request.vpce;
    const result = await runSimulation(
        {
            request: { principal, action: "execute-api:Invoke", resource: { resource: api.requestArn, accountId: customerAccount }, contextVariables: context },
            identityPolicies: (request.identityPolicies ?? []).map((policy, i) => ({ name: `identity-${i}`, policy })),
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            resourcePolicy: api.resourcePolicy,
        },
        { simulationMode: "Strict" },
    );
    if (result.resultType === "error") assert.fail(`the simulator refused the simulation: ${JSON.stringify(result.errors)}`);
    return result.overallResult;
}

describe("PrivateApi resource policy, evaluated by an IAM policy simulator", function () {
    this.timeout(10000);

    describe("default: AWS_IAM routes, IAM decides who may call", () => {
        let api: Deployed;
        before(async () => {
            api = await deployPolicy({});
        });

        it("allows a caller of the account whose role grants the invoke, through an allowed endpoint", async () => {
            const caller = { roleArn: workersRole };
            assert.equal(await evaluate(api, { caller, vpce: rightEndpoint, identityPolicies: [api.invokerPolicy] }), "Allowed");
            assert.equal(await evaluate(api, { caller, vpce: otherAllowedEndpoint, identityPolicies: [api.invokerPolicy] }), "Allowed");
        });

        it("denies the same caller through any other endpoint, even with an identity policy allowing everything", async () => {
            const everything: PolicyDocument = { Version: "2012-10-17", Statement: [{ Sid: "All", Effect: "Allow", Action: "*", Resource: "*" }] };
            assert.equal(await evaluate(api, { caller: { roleArn: workersRole }, vpce: wrongEndpoint, identityPolicies: [everything] }), "ExplicitlyDenied");
        });

        it("denies a request that came through no VPC endpoint", async () => {
            assert.equal(await evaluate(api, { caller: { roleArn: workersRole }, identityPolicies: [api.invokerPolicy] }), "ExplicitlyDenied");
        });

        it("does not let an identity of the account in without an identity policy", async () => {
            assert.equal(await evaluate(api, { caller: { roleArn: workersRole }, vpce: rightEndpoint }), "ImplicitlyDenied");
        });

        it("denies a principal of another account, whatever its own policies say", async () => {
            const foreign = { roleArn: `arn:aws:iam::${platformAccount}:role/workers` };
            assert.equal(await evaluate(api, { caller: foreign, vpce: rightEndpoint, identityPolicies: [api.invokerPolicy] }), "ExplicitlyDenied");
        });

        it("denies unsigned requests, which name no account", async () => {
            assert.equal(await evaluate(api, { caller: "anonymous", vpce: rightEndpoint }), "ExplicitlyDenied");
        });
    });

    describe("limited to given principals", () => {
        let api: Deployed;
        before(async () => {
            api = await deployPolicy({ allowedPrincipals: [workersRole, platformAccount] });
        });

        it("allows a named role through an allowed endpoint", async () => {
            assert.equal(await evaluate(api, { caller: { roleArn: workersRole }, vpce: rightEndpoint }), "Allowed");
        });

        it("allows a role of a named account whose own policy grants the invoke", async () => {
            const platformWorker = { roleArn: `arn:aws:iam::${platformAccount}:role/firefly-workers` };
            assert.equal(await evaluate(api, { caller: platformWorker, vpce: rightEndpoint, identityPolicies: [api.invokerPolicy] }), "Allowed");
        });

        it("denies the wrong principal, even one of the API's own account with an identity policy", async () => {
            const other = { roleArn: `arn:aws:iam::${customerAccount}:role/batch` };
            assert.equal(await evaluate(api, { caller: other, vpce: rightEndpoint, identityPolicies: [api.invokerPolicy] }), "ExplicitlyDenied");
        });

        it("still denies a named role outside the endpoints", async () => {
            assert.equal(await evaluate(api, { caller: { roleArn: workersRole }, vpce: wrongEndpoint }), "ExplicitlyDenied");
            assert.equal(await evaluate(api, { caller: { roleArn: workersRole } }), "ExplicitlyDenied");
        });
    });

    describe("routes behind an authorizer: the network path is what the policy decides", () => {
        let api: Deployed;
        before(async () => {
            api = await deployPolicy({
                authorizers: { tokens: { type: "TOKEN", functionArn: `arn:aws:lambda:us-east-1:${customerAccount}:function:token-check` } },
                routes: [{ path: "/orders/{id}", method: "GET", integration: { type: "MOCK" }, authorizer: "tokens" }],
            });
        });

        it("lets unsigned requests through an allowed endpoint on to the authorizer", async () => {
            assert.equal(await evaluate(api, { caller: "anonymous", vpce: rightEndpoint }), "Allowed");
        });

        it("denies them through another endpoint or none", async () => {
            assert.equal(await evaluate(api, { caller: "anonymous", vpce: wrongEndpoint }), "ExplicitlyDenied");
            assert.equal(await evaluate(api, { caller: "anonymous" }), "ExplicitlyDenied");
        });
    });
});
