// The pack as the Pulumi CLI runs it, minus the CLI.
//
// `pulumi preview --policy-pack policies` starts the `pulumi-analyzer-policy` shim in the pack
// directory; the shim resolves `@pulumi/pulumi/cmd/run-policy-pack` from there with Node and runs
// it with `<engine address> .`. That script loads the directory (package.json `main`, i.e. the
// compiled pack in bin/), whose PolicyPack prints the port of its gRPC Analyzer server. We do the
// same (startPack.ts, which test/package/consumer.test.ts shares) and then speak the Analyzer protocol as the engine does, which proves that:
//   - the pack directory starts in this repository (a copy of policies/ under .cache, see
//     packTarball.ts, resolving its dependencies as policies/ does), and installed alone from its `npm pack`
//     tarball (what `pulumi policy publish` uploads) with nothing but its own dependencies
//     (the copy inside the installed package, policies/, is test/package/consumer.test.ts's);
//   - index.ts registers every rule in allPolicies, with its metadata and config schema;
//   - the offline evaluator reports exactly what the real analyzer reports for the same inputs.
import * as assert from "node:assert/strict";
import { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import type * as analyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerProto from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { EnforcementLevel, Severity } from "@pulumi/policy";
import { PlannedResource, evaluatePolicies } from "../../policies/offline";
import { reconcilePolicyPackConfig } from "../../policies/packConfig";
import { policyPackName, policyPackVersion } from "../../policies/pack";
import { allPolicies } from "../../policies/rules";
import { CONNECTOR_ROLE_TAG_KEY, CONNECTOR_ROLE_TAG_VALUE } from "../../policies/conventions";
import { types } from "../helpers/resources";
import { UNKNOWN, component, plan } from "./helpers";
import { installAlone, packDir, packPolicyPack, tarballFiles } from "./packTarball";
import { analyzerClient, promised, startPack } from "./startPack";


const levels: Record<EnforcementLevel, analyzerProto.EnforcementLevel> = {
    advisory: analyzerProto.EnforcementLevel.ADVISORY,
    mandatory: analyzerProto.EnforcementLevel.MANDATORY,
    disabled: analyzerProto.EnforcementLevel.DISABLED,
    remediate: analyzerProto.EnforcementLevel.REMEDIATE,
};
const levelNames = new Map(Object.entries(levels).map(([name, value]) => [value, name]));

const severityNames = new Map<analyzerProto.PolicySeverity, Severity>([
    [analyzerProto.PolicySeverity.POLICY_SEVERITY_LOW, "low"],
    [analyzerProto.PolicySeverity.POLICY_SEVERITY_MEDIUM, "medium"],
    [analyzerProto.PolicySeverity.POLICY_SEVERITY_HIGH, "high"],
    [analyzerProto.PolicySeverity.POLICY_SEVERITY_CRITICAL, "critical"],
]);

function struct(value: Record<string, unknown>): Struct {
    // The engine never sends undefined members; JSON drops them the same way.
    return Struct.fromJavaScript(JSON.parse(JSON.stringify(value)));
}

function options(resource: PlannedResource): analyzerProto.AnalyzerResourceOptions {
    const opts = new analyzerProto.AnalyzerResourceOptions();
    if (resource.parent) {
        opts.setParent(resource.parent);
    }
    return opts;
}

/** What both sides report, in the analyzer's wording ("<description>\n<message>"). */
interface Reported {
    policyName: string;
    enforcementLevel: string;
    message: string;
    urn: string;
}

function fromDiagnostic(diagnostic: analyzerProto.AnalyzeDiagnostic): Reported {
    return {
        policyName: diagnostic.getPolicyname(),
        enforcementLevel: levelNames.get(diagnostic.getEnforcementlevel()) ?? "?",
        message: diagnostic.getMessage(),
        urn: diagnostic.getUrn(),
    };
}

/** A plan that breaks most rules: some values known, some unknown and only explained by dependencies. */
function mixedPlan(): PlannedResource[] {
    const relay = component(types.tunnelRelay, "relay");
    const nlb = plan(aws.lb.LoadBalancer, "svc-nlb", { loadBalancerType: "network", internal: false }, { outputs: { loadBalancerType: "network", internal: false, arn: UNKNOWN } });
    const api = plan(aws.apigateway.RestApi, "api", { endpointConfiguration: { types: "PRIVATE" } }, { outputs: { endpointConfiguration: { types: "PRIVATE" }, id: UNKNOWN } });
    const connectorGroup = plan(aws.ec2.SecurityGroup, "connector-sg", { tags: { [CONNECTOR_ROLE_TAG_KEY]: CONNECTOR_ROLE_TAG_VALUE } }, {
        outputs: { tags: { [CONNECTOR_ROLE_TAG_KEY]: CONNECTOR_ROLE_TAG_VALUE }, id: UNKNOWN },
    });
    return [
        relay,
        { ...plan(aws.lb.LoadBalancer, "relay-nlb", { loadBalancerType: "network", internal: false }), parent: relay.urn },
        { ...plan(aws.ec2.SecurityGroup, "relay-sg", { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }] }), parent: relay.urn },
        nlb,
        plan(aws.ec2.VpcEndpointService, "svc", { acceptanceRequired: false, allowedPrincipals: ["*", UNKNOWN], networkLoadBalancerArns: [UNKNOWN] }, {
            propertyDependencies: { networkLoadBalancerArns: [nlb.urn] },
        }),
        plan(aws.lb.Listener, "svc-tls", { protocol: "TLS", port: 443, defaultActions: [] }),
        plan(aws.lb.Listener, "svc-pg", { protocol: "TCP", port: 5432, defaultActions: [] }),
        api,
        plan(aws.apigateway.RestApiPolicy, "api-policy", { restApiId: UNKNOWN, policy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "execute-api:Invoke" }] }) }, {
            propertyDependencies: { restApiId: [api.urn] },
        }),
        plan(aws.apigateway.Stage, "api-v1", { restApi: UNKNOWN, deployment: UNKNOWN, stageName: "v1" }),
        plan(aws.apigateway.DomainName, "api-domain", { domainName: "api.example.com", securityPolicy: "TLS_1_0" }),
        plan(aws.ec2.VpcEndpoint, "endpoint", { vpcId: "vpc-1", vpcEndpointType: "Interface", subnetIds: ["subnet-a"] }),
        plan(aws.ec2.Instance, "host", { associatePublicIpAddress: true, metadataOptions: { httpTokens: UNKNOWN } }),
        plan(aws.ec2.LaunchTemplate, "connector-lt", { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 3 } }),
        connectorGroup,
        plan(aws.vpc.SecurityGroupIngressRule, "connector-in", { securityGroupId: UNKNOWN, ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "10.0.0.0/8" }, {
            propertyDependencies: { securityGroupId: [connectorGroup.urn] },
        }),
    ];
}

const config = {
    "load-balancer-internal": { allowedPublicLoadBalancers: ["relay-nlb"] },
    "security-group-no-public-ingress": { enforcementLevel: "advisory", allowedPublicIngress: [{ port: 443 }] },
    "apigateway-stage-xray-tracing": "disabled",
};

describe("the pack under the real analyzer (run as `pulumi preview --policy-pack policies` runs it)", function () {
    this.timeout(60_000);
    let child: ChildProcess | undefined;
    let client: analyzerGrpc.AnalyzerClient;

    before(async function () {
        // The CLI runs the compiled pack (bin/); packing builds it from the current sources (in the copy).
        packPolicyPack();
        const started = await startPack(packDir());
        child = started.child;
        client = analyzerClient(started);
    });

    after(() => {
        client?.close();
        child?.kill();
    });

    it("serves the private-connectivity pack with every rule of allPolicies as declared, at its declared enforcement level and severity", async () => {
        const info = await promised<analyzerProto.AnalyzerInfo>((done) => client.getAnalyzerInfo(new Empty(), done));
        assert.equal(info.getName(), policyPackName);
        assert.equal(info.getName(), "private-connectivity");
        assert.equal(info.getVersion(), policyPackVersion);
        assert.equal(info.getSupportsconfig(), true);
        const served = info.getPoliciesList().map((p) => ({
            name: p.getName(),
            enforcementLevel: levelNames.get(p.getEnforcementlevel()),
            severity: severityNames.get(p.getSeverity()) ?? `unspecified (${p.getSeverity()})`,
            remediationSteps: p.getRemediationSteps(),
            tags: p.getTagsList(),
            configProperties: Object.keys((p.getConfigschema()?.getProperties()?.toJavaScript() ?? {}) as object).sort(),
        }));
        const declared = allPolicies.map((p) => ({
            name: p.name,
            enforcementLevel: p.enforcementLevel,
            // Each rule's severity as it declares it (policies/README.md's table is checked against
            // these in readme.test.ts): here, that the engine serves exactly that.
            severity: p.severity,
            remediationSteps: p.remediationSteps,
            tags: p.tags,
            configProperties: Object.keys(p.configSchema?.properties ?? {}).sort(),
        }));
        assert.deepEqual(served, declared);
    });

    it("reports what the offline evaluator reports, resource by resource and for the stack", async () => {
        const resources = mixedPlan();

        const configure = new analyzerProto.ConfigureAnalyzerRequest();
        for (const [name, reconciled] of reconcilePolicyPackConfig(allPolicies, config)) {
            const policyConfig = new analyzerProto.PolicyConfig();
            policyConfig.setEnforcementlevel(levels[reconciled.enforcementLevel]);
            policyConfig.setProperties(struct(reconciled.properties));
            configure.getPolicyconfigMap().set(name, policyConfig);
        }
        await promised<Empty>((done) => client.configure(configure, done));

        const real: Reported[] = [];
        for (const resource of resources) {
            const request = new analyzerProto.AnalyzeRequest();
            request.setType(resource.type).setUrn(resource.urn).setName(resource.name).setProperties(struct(resource.props)).setOptions(options(resource));
            const response = await promised<analyzerProto.AnalyzeResponse>((done) => client.analyze(request, done));
            // Resource diagnostics carry no URN on the wire; the engine adds the resource's.
            real.push(...response.getDiagnosticsList().map((d) => ({ ...fromDiagnostic(d), urn: resource.urn })));
        }
        const stackRequest = new analyzerProto.AnalyzeStackRequest();
        stackRequest.setResourcesList(
            resources.map((resource) => {
                const wire = new analyzerProto.AnalyzerResource();
                wire.setType(resource.type).setUrn(resource.urn).setName(resource.name).setProperties(struct(resource.outputs ?? resource.props)).setOptions(options(resource));
                wire.setParent(resource.parent ?? "").setDependenciesList(resource.dependencies);
                for (const [property, urns] of Object.entries(resource.propertyDependencies)) {
                    wire.getPropertydependenciesMap().set(property, new analyzerProto.AnalyzerPropertyDependencies().setUrnsList(urns));
                }
                return wire;
            }),
        );
        const stackResponse = await promised<analyzerProto.AnalyzeResponse>((done) => client.analyzeStack(stackRequest, done));
        real.push(...stackResponse.getDiagnosticsList().map(fromDiagnostic));

        const offline: Reported[] = (await evaluatePolicies(resources, { config })).map((v) => ({
            policyName: v.policyName,
            enforcementLevel: v.enforcementLevel,
            message: v.unknownDuringPreview ? v.message : `${v.description}\n${v.message}`,
            urn: v.urn ?? "",
        }));

        assert.deepEqual(offline, real);
        // The plan is meant to exercise most rules; make sure it still does.
        const policiesSeen = new Set(real.map((r) => r.policyName));
        assert.ok(policiesSeen.size >= 14, `only ${[...policiesSeen].join(", ")} reported`);
        assert.ok(real.some((r) => r.message.startsWith("can't run policy")), "the plan should include an unknown-value advisory");
    });
});

describe("the pack installed alone from its `npm pack` tarball (what `pulumi policy publish` uploads)", function () {
    this.timeout(120_000);
    let child: ChildProcess | undefined;
    let client: analyzerGrpc.AnalyzerClient;
    let installed: string;
    let files: string[];

    before(async function () {
        const tarball = packPolicyPack();
        files = tarballFiles(tarball);
        installed = installAlone(tarball);
        const started = await startPack(installed);
        child = started.child;
        client = analyzerClient(started);
    });

    after(() => {
        client?.close();
        child?.kill();
    });

    it("holds the compiled pack, its manifest with dependencies and PulumiPolicy.yaml, and no TypeScript", () => {
        for (const file of ["package/package.json", "package/PulumiPolicy.yaml", "package/bin/index.js", "package/bin/rules.js"]) {
            assert.ok(files.includes(file), `${file} is in the tarball`);
        }
        assert.deepEqual(files.filter((file) => file.endsWith(".ts")), []);
        const manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8")) as { main: string; dependencies: Record<string, string> };
        assert.equal(manifest.main, "bin/index.js");
        assert.ok(manifest.dependencies["@pulumi/policy"] && manifest.dependencies["@pulumi/aws"]);
        assert.ok(!fs.realpathSync(installed).startsWith(packDir()), "the installed pack is a copy, not a link to the repository");
    });

    it("serves every rule, and reports a violation for a resource it is sent", async () => {
        const info = await promised<analyzerProto.AnalyzerInfo>((done) => client.getAnalyzerInfo(new Empty(), done));
        assert.equal(info.getName(), policyPackName);
        assert.equal(info.getVersion(), policyPackVersion);
        assert.deepEqual(info.getPoliciesList().map((p) => p.getName()), allPolicies.map((p) => p.name));

        const configure = new analyzerProto.ConfigureAnalyzerRequest();
        for (const [name, reconciled] of reconcilePolicyPackConfig(allPolicies, {})) {
            const policyConfig = new analyzerProto.PolicyConfig();
            policyConfig.setEnforcementlevel(levels[reconciled.enforcementLevel]);
            policyConfig.setProperties(struct(reconciled.properties));
            configure.getPolicyconfigMap().set(name, policyConfig);
        }
        await promised<Empty>((done) => client.configure(configure, done));

        const service = plan(aws.ec2.VpcEndpointService, "svc", { acceptanceRequired: false, allowedPrincipals: ["arn:aws:iam::222222222222:root"], networkLoadBalancerArns: ["arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/svc/1"] });
        const request = new analyzerProto.AnalyzeRequest();
        request.setType(service.type).setUrn(service.urn).setName(service.name).setProperties(struct(service.props)).setOptions(options(service));
        const response = await promised<analyzerProto.AnalyzeResponse>((done) => client.analyze(request, done));
        assert.deepEqual(
            response.getDiagnosticsList().map((d) => [d.getPolicyname(), levelNames.get(d.getEnforcementlevel())]),
            [["endpoint-service-acceptance-required", "mandatory"]],
        );
    });
});
