import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ConnectivityCheck, ConnectivityCheckArgs } from "../../../components/privatelink/connectivityCheck";
import { probeModuleSource, probeRunnerScript } from "../../../components/privatelink/probe/probeSource";
import { itRefuses } from "../../helpers/argumentErrors";
import { deploy } from "../../helpers/pulumi";
import { ofType, single, types } from "../../helpers/resources";

const endpointSg = "sg-0e1e2d3c4b5a69788";

function lambdaArgs(overrides: Partial<ConnectivityCheckArgs> = {}): ConnectivityCheckArgs {
    return {
        hostname: "acme.privatelink.firefly.internal",
        vpcId: "vpc-0f1e2d3c4b5a69788",
        subnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60719"],
        targetSecurityGroupId: endpointSg,
        ...overrides,
    };
}

describe("ConnectivityCheck", () => {
    it("runs the probe as a Lambda in the endpoint's subnets and invokes it at deploy time", async () => {
        const run = await deploy(() => {
            const check = new ConnectivityCheck("acme", lambdaArgs({ triggers: ["vpce-0a1b2c3d4e5f60718"] }));
            return { result: check.result };
        });
        const fn = single(run, types.lambdaFunction);
        assert.equal(fn.inputs.handler, "index.handler");
        assert.match(String(fn.inputs.runtime), /^nodejs2\d\.x$/);
        const vpcConfig = fn.inputs.vpcConfig as { subnetIds: string[]; securityGroupIds: string[] };
        assert.deepEqual(vpcConfig.subnetIds, ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60719"]);
        const sg = single(run, types.securityGroup);
        assert.deepEqual(vpcConfig.securityGroupIds, [sg.id]);
        const role = single(run, types.iamRole);
        assert.equal(fn.inputs.role, role.outputs.arn);
        assert.deepEqual(JSON.parse(String(role.inputs.assumeRolePolicy)).Statement, [
            { Sid: "LambdaAssumesRole", Effect: "Allow", Principal: { Service: ["lambda.amazonaws.com"] }, Action: "sts:AssumeRole" },
        ]);

        const invocation = single(run, types.lambdaInvocation);
        assert.equal(invocation.inputs.functionName, fn.outputs.name);
        const event = JSON.parse(String(invocation.inputs.input));
        assert.deepEqual(event.request, {
            host: "acme.privatelink.firefly.internal",
            port: 443,
            tls: true,
            rejectUnauthorized: true,
            timeoutMs: 10000,
            httpHeadPath: "/",
        });
        assert.equal(event.ready, true);
        const triggers = invocation.inputs.triggers as Record<string, string>;
        assert.match(triggers.extra!, /vpce-0a1b2c3d4e5f60718/, "re-runs when the endpoint changes");
        // Offline nothing is probed, and the result says so instead of passing.
        assert.deepEqual(run.outputs.result, { skipped: true, reason: "not run (offline): the offline plan has no network path to probe; pulumi up runs the check" });
    });

    it("ships the probe module itself as the function's code", async () => {
        const run = await deploy(() => {
            new ConnectivityCheck("acme", lambdaArgs());
        });
        // Deserialized assets hold promises, as pulumi.asset.AssetArchive does.
        const code = single(run, types.lambdaFunction).inputs.code as { assets: Promise<Record<string, { text: Promise<string> }>> };
        const assets = await code.assets;
        assert.deepEqual(Object.keys(assets), ["index.js"]);
        const text = await assets["index.js"]!.text;
        assert.equal(text, probeModuleSource());
        assert.match(text, /exports\.handler = handler/);
    });

    it("opens exactly one path: probe group to the endpoint group on the port", async () => {
        const run = await deploy(() => {
            new ConnectivityCheck("acme", lambdaArgs({ port: 8443 }));
        });
        const sg = single(run, types.securityGroup);
        const egress = single(run, types.securityGroupEgressRule);
        assert.deepEqual(
            [egress.inputs.securityGroupId, egress.inputs.referencedSecurityGroupId, egress.inputs.fromPort, egress.inputs.toPort],
            [sg.id, endpointSg, 8443, 8443],
        );
        const ingress = single(run, types.securityGroupIngressRule);
        assert.deepEqual(
            [ingress.inputs.securityGroupId, ingress.inputs.referencedSecurityGroupId, ingress.inputs.fromPort],
            [endpointSg, sg.id, 8443],
        );
    });

    it("passes readiness through, so a pending endpoint records a skip instead of failing", async () => {
        const run = await deploy(
            () => {
                const check = new ConnectivityCheck("acme", lambdaArgs({ ready: pulumi.output(false), notReadyReason: "pending acceptance" }));
                return { result: check.result };
            },
            // The fake Lambda answers a skip as the real handler does (connectivityProbe.test.ts runs
            // the handler itself); what the component controls is the event it sends.
            { invocationResult: (inputs) => (JSON.parse(String(inputs.input)).ready === false ? { skipped: true, reason: JSON.parse(String(inputs.input)).notReadyReason } : { ok: true }) },
        );
        const event = JSON.parse(String(single(run, types.lambdaInvocation).inputs.input));
        assert.equal(event.ready, false);
        assert.equal(event.notReadyReason, "pending acceptance");
        assert.deepEqual(run.outputs.result, { skipped: true, reason: "pending acceptance" });
    });

    it("runs on the deploy runner with @pulumi/command when asked, piping the probe into node", async () => {
        const run = await deploy(() => {
            new ConnectivityCheck("acme", { hostname: "acme.privatelink.firefly.internal", runFrom: "runner", httpHead: false, servername: "gitlab.acme.com" });
        });
        assert.equal(ofType(run, types.lambdaFunction).length, 0);
        const cmd = single(run, types.localCommand);
        assert.equal(cmd.inputs.create, "node -");
        assert.equal(cmd.inputs.stdin, probeRunnerScript());
        const event = JSON.parse((cmd.inputs.environment as Record<string, string>).FIREFLY_PROBE_EVENT!);
        assert.equal(event.request.servername, "gitlab.acme.com");
        assert.equal(event.request.httpHeadPath, undefined);
    });

    describe("argument validation", () => {
        itRefuses<ConnectivityCheckArgs>(`${types.connectivityCheck} "acme"`, (overrides) => new ConnectivityCheck("acme", lambdaArgs(overrides)), [
            ["a port outside 1-65535", { port: 0 }, /port must be an integer port between 1 and 65535/],
            ["a timeout over a minute", { timeoutSeconds: 120 }, /timeoutSeconds must be an integer between 1 and 60/],
            ["a path without a leading slash", { httpHeadPath: "health" }, /httpHeadPath must be a path starting with "\/"/],
            ["0.1's httpHeadPath: false", { httpHeadPath: false as unknown as string }, /httpHeadPath no longer takes false; write httpHead: false for no HTTP request/],
            ["a path with httpHead: false", { httpHead: false, httpHeadPath: "/health" }, /httpHeadPath is only used with httpHead: true/],
            ["a servername without TLS", { tls: false, servername: "x.example.com" }, /servername is only used with tls: true/],
            ["a lambda probe without a VPC", { vpcId: undefined }, /vpcId is required to run the probe in the VPC/],
            ["a lambda probe without subnets", { subnetIds: [] }, /subnetIds must list at least one entry/],
            ["a lambda probe without the target's security group", { targetSecurityGroupId: undefined }, /targetSecurityGroupId is required/],
            ["an unknown runFrom", { runFrom: "ec2" as "lambda" }, /runFrom must be one of "lambda", "runner"/],
            ["lambda settings with the runner", { runFrom: "runner" }, /vpcId is only used with runFrom: "lambda"/],
            ["a log retention CloudWatch does not offer", { logRetentionInDays: 2 }, /logRetentionInDays must be a retention CloudWatch Logs accepts: .* \(got 2\)/],
        ]);
    });
});
