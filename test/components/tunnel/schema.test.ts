import * as assert from "node:assert/strict";
import { inferredSchema, type PackageSchema, undocumented } from "../../helpers/schema";

// What Pulumi's component provider makes of the tunnel components' TypeScript types: the schema
// other languages' SDKs are generated from. The analyzer throws at the first type it cannot map.
describe("tunnel components: the schema the component provider infers", function () {
    this.timeout(120_000);
    let schema: PackageSchema;
    before(async () => {
        schema = await inferredSchema();
    });
    const resource = (name: string) => schema.resources[`private-connectivity:index:${name}`]!;
    const type = (name: string) => schema.types?.[`private-connectivity:index:${name}`];

    for (const component of ["TunnelConnector", "TunnelRelay"]) {
        it(`documents every input, output and nested type property of ${component}`, () => {
            assert.ok(resource(component)?.isComponent, `${component} is a component`);
            assert.deepEqual(undocumented(schema, component), []);
        });
    }

    it("takes routes as a list of TunnelRoute, whose via is the TunnelRouteVia enum", () => {
        const routes = resource("TunnelConnector").inputProperties!.routes!;
        assert.equal(routes.type, "array");
        assert.equal(routes.items?.$ref, "#/types/private-connectivity:index:TunnelRoute");
        const route = type("TunnelRoute")!;
        assert.deepEqual(route.required?.sort(), ["listen", "name", "target"]);
        assert.equal(route.properties!.via!.$ref, "#/types/private-connectivity:index:TunnelRouteVia");
        assert.deepEqual(type("TunnelRouteVia")!.enum!.map((e) => e.value), ["direct", "tunnel"]);
        assert.equal(type("TunnelRouteVia")!.type, "string");
    });

    it("takes relays, the dynamic route, the identity and the agent settings as named types, and nodeMajor as a number enum", () => {
        const inputs = resource("TunnelConnector").inputProperties!;
        assert.equal(inputs.relays!.items?.$ref, "#/types/private-connectivity:index:TunnelConnectorRelay");
        assert.equal(type("TunnelConnectorRelay")!.properties!.hostKeys!.type, "array");
        assert.equal(inputs.dynamic!.$ref, "#/types/private-connectivity:index:TunnelDynamicRoute");
        assert.equal(inputs.identity!.$ref, "#/types/private-connectivity:index:TunnelConnectorIdentity");
        assert.equal(inputs.agent!.$ref, "#/types/private-connectivity:index:TunnelConnectorAgentSettings");
        assert.equal(type("TunnelConnectorAgentSettings")!.properties!.keepalive!.$ref, "#/types/private-connectivity:index:TunnelAgentKeepalive");
        assert.equal(inputs.nodeMajor!.$ref, "#/types/private-connectivity:index:TunnelNodeMajor");
        assert.deepEqual(type("TunnelNodeMajor")!.enum!.map((e) => e.value), [20, 22, 24]);
        // Lists of IDs are plain arrays of strings in the schema (Inputs in every SDK).
        assert.deepEqual(inputs.subnetIds, { type: "array", items: { type: "string" }, description: inputs.subnetIds!.description });
        assert.deepEqual(resource("TunnelConnector").requiredInputs?.sort(), ["identity", "relays", "subnetIds", "vpcId"]);
    });

    it("takes customers as a list of TunnelRelayCustomer and gatewayPorts as the TunnelRelayGatewayPorts enum; sshd is an output object", () => {
        const relay = resource("TunnelRelay");
        const customers = relay.inputProperties!.customers!;
        assert.equal(customers.type, "array");
        assert.equal(customers.items?.$ref, "#/types/private-connectivity:index:TunnelRelayCustomer");
        assert.equal(type("TunnelRelayCustomer")!.properties!.listen!.type, "array");
        assert.deepEqual(type("TunnelRelayCustomer")!.required?.sort(), ["listen", "name", "principal"]);
        assert.equal(relay.inputProperties!.gatewayPorts!.$ref, "#/types/private-connectivity:index:TunnelRelayGatewayPorts");
        assert.deepEqual(type("TunnelRelayGatewayPorts")!.enum!.map((e) => e.value), ["no", "clientspecified"]);
        assert.equal(relay.inputProperties!.dns!.$ref, "#/types/private-connectivity:index:TunnelRelayDns");
        assert.equal(relay.inputProperties!.publicSubnetIds!.type, "array");
        assert.equal(relay.properties!.sshd!.$ref, "#/types/private-connectivity:index:TunnelRelaySshdFiles");
        assert.ok(!relay.required?.includes("platformHostName"), "undefined without the internal NLB");
    });
});
