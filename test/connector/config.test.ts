// The config schema: the issue's example is accepted as written, and each mistake is reported
// against the field it is in.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
    ConnectorConfigError,
    connectorConfigJsonSchema,
    parseConnectorConfig,
    renderConnectorConfig,
    resolveConfigPaths,
    type ConnectorConfigInput,
} from "../../connector/spec";
import { ConnectorMetrics } from "../../connector/metrics";
import { schemaFields } from "../helpers/jsonSchema";
import { markdownSection } from "../helpers/markdown";

const ED25519_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl relay";

const EXAMPLE = `
user: tunnel
identity: { privateKeyFile: ./id_ed25519, certificateFile: ./id_ed25519-cert.pub }
relays:
  - { host: 127.0.0.1, port: 2222, hostKeys: ["${ED25519_HOST_KEY}"] }
routes:
  - { name: gitlab, listen: "127.0.0.1:45678", target: "gitlab.internal:443", via: direct }
  - { name: proxy,  listen: "127.0.0.1:45680", target: "127.0.0.1:8443", via: tunnel }
dynamic: { listen: "127.0.0.1:45679", allow: ["gitlab.internal:443", "10.0.0.0/8:22"] }
keepalive: { intervalSeconds: 15, countMax: 3 }
reconnect: { initialDelayMs: 500, maxDelayMs: 30000 }
health: { listen: "127.0.0.1:9464" }
`;

function base(): ConnectorConfigInput {
    return {
        user: "tunnel",
        identity: { privateKeyFile: "/etc/firefly-connector/id_ed25519" },
        relays: [{ host: "relay.example.net", hostKeys: ["SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"] }],
        routes: [{ name: "app", listen: "127.0.0.1:40000", target: "app.internal:443" }],
    };
}

function problems(input: unknown): string[] {
    try {
        parseConnectorConfig(input);
    } catch (err) {
        assert.ok(err instanceof ConnectorConfigError, String(err));
        return err.problems.map((p) => `${p.field}: ${p.message}`);
    }
    assert.fail("config was accepted");
}

describe("connector config schema", () => {
    it("accepts the issue's example YAML and fills in defaults", () => {
        const config = parseConnectorConfig(EXAMPLE);
        assert.equal(config.relays[0]?.port, 2222);
        assert.equal(config.routes[1]?.via, "tunnel");
        assert.equal(config.shutdown.gracePeriodSeconds, 30);
        assert.equal(config.connectTimeoutSeconds, 15);
    });

    it("defaults relay port 22, via direct, keepalive 15s x3 and backoff 200ms..30s", () => {
        const config = parseConnectorConfig(base());
        assert.equal(config.relays[0]?.port, 22);
        assert.equal(config.routes[0]?.via, "direct");
        assert.deepEqual(config.keepalive, { intervalSeconds: 15, countMax: 3 });
        assert.deepEqual(config.reconnect, { initialDelayMs: 200, maxDelayMs: 30_000 });
    });

    it("accepts the same config written as JSON", () => {
        const fromYaml = parseConnectorConfig(EXAMPLE);
        assert.deepEqual(parseConnectorConfig(JSON.stringify(fromYaml, null, 2), "connector.json"), fromYaml);
    });

    it("renders YAML that parses back to the same config", () => {
        const config = parseConnectorConfig(EXAMPLE);
        assert.deepEqual(parseConnectorConfig(renderConnectorConfig(config)), config);
    });

    it("names the field of every problem at once", () => {
        const found = problems({
            ...base(),
            user: "not a user",
            relays: [{ host: "relay", hostKeys: ["ssh-ed25519 AAAA"] }],
            routes: [{ name: "app", listen: "40000", target: "app:443" }],
        });
        assert.deepEqual(
            found.map((p) => p.split(":")[0]),
            ["user", "relays[0].hostKeys[0]", "routes[0].listen"],
        );
    });

    it("refuses an empty host key list: unknown host keys are never accepted", () => {
        assert.match(problems({ ...base(), relays: [{ host: "relay", hostKeys: [] }] }).join(), /relays\[0\]\.hostKeys: pin at least one relay host key/);
    });

    it("refuses host certificates and malformed fingerprints as pins", () => {
        const found = problems({
            ...base(),
            relays: [{ host: "relay", hostKeys: ["ssh-ed25519-cert-v01@openssh.com AAAA", "SHA256:short"] }],
        });
        assert.match(found[0] as string, /hostKeys\[0\]: host certificates are not supported/);
        assert.match(found[1] as string, /hostKeys\[1\]: .* is not a SHA256 fingerprint/);
    });

    it("refuses a health listener on a non-loopback address", () => {
        assert.match(problems({ ...base(), health: { listen: "0.0.0.0:9464" } }).join(), /health\.listen: must be a loopback address/);
        assert.doesNotThrow(() => parseConnectorConfig({ ...base(), health: { listen: "[::1]:9464" } }));
    });

    it("refuses bad allow rules, naming the rule", () => {
        const found = problems({ ...base(), dynamic: { listen: "127.0.0.1:40001", allow: ["10.0.0.0/33:22", "*.corp", "db:0"] } });
        assert.equal(found.length, 3);
        assert.match(found[0] as string, /^dynamic\.allow\[0\]: .*not a CIDR block/);
        assert.match(found[1] as string, /^dynamic\.allow\[1\]: /);
        assert.match(found[2] as string, /^dynamic\.allow\[2\]: .*port must be a number/);
    });

    it("refuses duplicate route names and listen addresses", () => {
        const found = problems({
            ...base(),
            routes: [
                { name: "app", listen: "127.0.0.1:40000", target: "a:1" },
                { name: "app", listen: "127.0.0.1:40000", target: "b:1" },
            ],
        });
        assert.ok(found.some((p) => /^routes\[1\]\.name: duplicate route name/.test(p)), found.join("\n"));
        assert.ok(found.some((p) => /^routes\[1\]\.listen: listen 127\.0\.0\.1:40000 is already used by routes\.0\.listen/.test(p)), found.join("\n"));
    });

    it("refuses unknown keys (typos) instead of ignoring them", () => {
        assert.match(problems({ ...base(), keepAlive: { intervalSeconds: 5 } }).join(), /Unrecognized key: "keepAlive"/);
    });

    it("needs at least one route or a dynamic route", () => {
        assert.match(problems({ ...base(), routes: [] }).join(), /routes: configure at least one route or a dynamic route/);
    });

    it("refuses maxDelayMs below initialDelayMs", () => {
        assert.match(problems({ ...base(), reconnect: { initialDelayMs: 5000, maxDelayMs: 1000 } }).join(), /reconnect\.maxDelayMs: must be at least/);
    });

    it("refuses hostile files with a config error: alias bombs, __proto__ keys, binary garbage, huge values", () => {
        const level = (name: string, below: string) => `${name}: &${name} [${Array(10).fill(`*${below}`).join(",")}]`;
        const bomb = ["a: &a [x,x,x,x,x,x,x,x,x,x]", level("b", "a"), level("c", "b"), level("d", "c"), level("e", "d"), level("f", "e"), "g: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]"].join("\n");
        const hostile: [string, RegExp][] = [
            [bomb, /alias/i],
            [`{"__proto__": {"polluted": true}, "user": "tunnel"}`, /Unrecognized key: "__proto__"/],
            ["\u0000\u0001\u00ff{{{", /./],
            [`user: ${"a".repeat(1_000_000)}\nidentity: { privateKeyFile: k }\nrelays: [{ host: r, hostKeys: ["SHA256:${"A".repeat(43)}"] }]\nroutes: [{ name: a, listen: "127.0.0.1:1", target: "x:1" }]`, /^ {2}- user: must be a POSIX user name/m],
        ];
        for (const [text, expected] of hostile) {
            let error: unknown;
            try {
                parseConnectorConfig(text, "hostile.yaml");
            } catch (err) {
                error = err;
            }
            assert.ok(error instanceof ConnectorConfigError, `not a config error: ${String(error)}`);
            assert.match(error.message, expected);
            assert.ok(error.message.length < 2000, "the error does not echo the hostile input");
        }
        assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype untouched");
    });

    it("reports YAML syntax errors as such", () => {
        assert.match(problems("user: [unclosed").join(), /not valid YAML/);
    });

    it("makes identity paths absolute relative to the config file's directory", () => {
        const config = resolveConfigPaths(parseConnectorConfig(EXAMPLE), "/etc/firefly-connector");
        assert.equal(config.identity.privateKeyFile, "/etc/firefly-connector/id_ed25519");
        assert.equal(config.identity.certificateFile, "/etc/firefly-connector/id_ed25519-cert.pub");
    });

    it("exports a JSON Schema with the documented fields", () => {
        const schema = connectorConfigJsonSchema() as { properties: Record<string, { description?: string }>; required: string[] };
        assert.deepEqual(schema.required.sort(), ["identity", "relays", "user"]);
        assert.match(schema.properties.relays?.description ?? "", /One outbound SSH connection per relay/);
    });
});

describe("connector config schema: missing fields", () => {
    it("says a missing required field is required", () => {
        assert.match(problems({ ...base(), identity: {} }).join(), /identity\.privateKeyFile: is required \(string\)/);
    });
});

describe("the tunnel specification module (connector/spec)", function () {
    this.timeout(20_000);
    it("load without ssh2, pino or prom-client, so the Pulumi components can import them", () => {
        const probe = spawnSync(
            process.execPath,
            [
                "-r",
                "ts-node/register/transpile-only",
                "-e",
                `require("./connector/spec");
                 const heavy = Object.keys(require.cache).filter((k) => /node_modules\\/(ssh2|pino|prom-client|commander)\\//.test(k));
                 process.stdout.write(JSON.stringify(heavy));`,
            ],
            { cwd: resolve(__dirname, "..", ".."), encoding: "utf8" },
        );
        assert.equal(probe.status, 0, probe.stderr);
        assert.deepEqual(JSON.parse(probe.stdout), []);
    });
});

describe("connector/README.md's configuration reference", () => {
    // The reference table is what operators read; the schema is what the agent enforces. Every
    // field of the schema must have a row, and a field that takes several forms (a union) must
    // name the fields of its object form in its row.
    const readme = readFileSync(resolve(__dirname, "..", "..", "connector", "README.md"), "utf8");
    const section = markdownSection(readme, "## Configuration reference");
    /** Row name cell -> the whole row: "`relays[].host`, `.port`" names relays[].host and relays[].port. */
    const rows = new Map<string, string>();
    for (const line of section.split("\n").filter((l) => /^\| `/.test(l))) {
        let previous = "";
        for (const [, name] of line.split("|")[1]!.matchAll(/`([^`]+)`/g)) {
            const full = name!.startsWith(".") ? previous.slice(0, previous.lastIndexOf(".")) + name : name!;
            rows.set(full, line);
            previous = full;
        }
    }

    const fields = schemaFields(connectorConfigJsonSchema());

    it("reads the schema's fields (a check on the walk itself)", () => {
        for (const path of ["user", "identity.privateKeyFile", "relays[].hostKeys", "proxy", "proxy.credentialsEnv", "routes[].via", "shutdown.gracePeriodSeconds"]) {
            assert.ok(fields.some((f) => f.path === path), path);
        }
    });

    it("has a row for every field, and each union's row names the fields of its object form", () => {
        const missing: string[] = [];
        for (const field of fields) {
            if (field.union) {
                const row = rows.get(field.union) ?? "";
                if (!row.includes(field.name)) missing.push(`${field.path} (not named in the ${field.union} row)`);
            } else if ((!field.hasFields || field.isUnion) && !rows.has(field.path)) {
                missing.push(field.path);
            }
        }
        assert.deepEqual(missing, [], "fields the README's configuration reference does not document");
    });

    it("has no row for a field the schema does not have", () => {
        const known = new Set(fields.map((f) => f.path));
        assert.deepEqual([...rows.keys()].filter((name) => !known.has(name)), []);
    });
});

describe("connector/README.md's metrics table", () => {
    it("has a row for every metric the agent registers (prom-client's process_ and nodejs_ defaults in one row), with its labels", async () => {
        const section = markdownSection(readFileSync(resolve(__dirname, "..", "..", "connector", "README.md"), "utf8"), "## Operations");
        const rows = section.split("\n").filter((line) => /^\| `/.test(line));
        const metrics = new ConnectorMetrics();
        const problems: string[] = [];
        for (const metric of await metrics.registry.getMetricsAsJSON()) {
            const name = metric.name.replace(/^firefly_connector_/, "");
            if (/^(process|nodejs)_/.test(name)) continue;
            const row = rows.find((line) => [...line.split("|")[1]!.matchAll(/`([^`]+)`/g)].some((m) => m[1] === name));
            if (!row) {
                problems.push(`${name}: no row`);
                continue;
            }
            const labels = row.split("|")[2]!.split(",").map((label) => label.trim()).filter(Boolean).sort();
            const registered = [...((metrics.registry.getSingleMetric(metric.name) as unknown as { labelNames: string[] }).labelNames ?? [])].sort();
            if (JSON.stringify(labels) !== JSON.stringify(registered)) problems.push(`${name}: labels ${labels.join(", ")} in the README, ${registered.join(", ")} registered`);
        }
        assert.deepEqual(problems, []);
    });
});
