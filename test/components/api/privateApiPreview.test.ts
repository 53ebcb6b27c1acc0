// What `pulumi preview` knows of a PrivateApi: the mock runtime in preview mode against the offline
// cloud, which (like the engine) leaves every ID and computed attribute of a resource it would create
// unknown. The policy pack can only block a pull request on what is known here.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { PrivateApi } from "../../../components/api/privateApi";
import { FakeAws } from "../../../offline/fakeAws";
import { customerAccount } from "../../helpers/pulumi";
import { types } from "../../helpers/resources";

/** The inputs each resource is registered with during a preview of `program`, by `<type>::<name>`. */
async function previewInputs(program: () => void, deployed: Record<string, Record<string, unknown>> = {}): Promise<Map<string, Record<string, unknown>>> {
    const seen = new Map<string, Record<string, unknown>>();
    class Recording extends FakeAws {
        override newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
            seen.set(`${args.type}::${args.name}`, args.inputs as Record<string, unknown>);
            return super.newResource(args);
        }
    }
    await pulumi.runtime.setMocks(new Recording({ accountId: customerAccount, region: "us-east-1", deployed }), "private-connectivity", "preview", true);
    await pulumi.runtime.runInPulumiStack(async () => {
        program();
        return {};
    });
    await pulumi.runtime.disconnect();
    return seen;
}

const routes = [{ path: "/health", method: "GET" as const, integration: { type: "MOCK" as const } }];

describe("PrivateApi at pulumi preview", () => {
    it("registers its resource policy known, through existing endpoints, so mandatory rules can judge it", async () => {
        const inputs = await previewInputs(() => {
            new PrivateApi("acme", { vpcEndpointIds: ["vpce-0a1b2c3d4e5f60718"], routes });
        });
        const policy = inputs.get(`${types.restApiPolicy}::acme-policy`)?.policy;
        assert.equal(typeof policy, "string", "the policy is known at preview");
        const document = JSON.parse(String(policy)) as { Statement: Array<{ Sid: string; Resource: string; Condition?: unknown }> };
        const deny = document.Statement.find((s) => s.Sid === "DenyOutsideVpcEndpoints");
        assert.deepEqual(deny?.Condition, { StringNotEquals: { "aws:SourceVpce": ["vpce-0a1b2c3d4e5f60718"] } });
        assert.ok(document.Statement.every((s) => s.Resource === "execute-api:/*"));
        // The API itself is being created: its ID and ARN are unknown, as in a real preview.
        assert.notEqual(typeof inputs.get(`${types.restApiPolicy}::acme-policy`)?.restApiId, "string");
    });

    it("registers its resource policy known through an endpoint it created earlier", async () => {
        const deployed = { [`${types.vpcEndpoint}::acme-endpoint`]: {} };
        const inputs = await previewInputs(() => {
            new PrivateApi("acme", { endpoint: { vpcId: "vpc-0a1b2c3d4e5f60718", subnetIds: ["subnet-0a1b2c3d4e5f60718"], allowedSourceSecurityGroupIds: ["sg-0a1b2c3d4e5f60718"] }, routes });
        }, deployed);
        assert.equal(typeof inputs.get(`${types.restApiPolicy}::acme-policy`)?.policy, "string");
    });
});
