// The relay generator's output, checked as text and by sshd itself (sshd -t). Its behaviour on a
// running sshd (isolation, forwarding, certificates) is proven in auth/routes/resilience tests,
// whose relays it configures.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseConnectorConfig } from "../../connector/config";
import { relayCustomerForConnector, renderRelay, type RelaySshdOptions } from "../../connector/relay/sshdConfig";
import { SSHD, generateKey, makeWorkDir, removeWorkDir } from "./helpers/relay";

const execFileAsync = promisify(execFile);

function options(overrides: Partial<RelaySshdOptions> = {}): RelaySshdOptions {
    return {
        hostKeyFiles: ["/etc/ssh/ssh_host_ed25519_key"],
        trustedUserCaKeysFile: "/etc/ssh/firefly_user_ca.pub",
        authorizedPrincipalsFile: "/etc/ssh/firefly_principals",
        customers: [
            { name: "acme", principal: "customer-acme", listen: ["127.0.0.1:40001", "127.0.0.1:40002"], permitOpen: ["127.0.0.1:8443"] },
            { name: "globex", principal: "customer-globex", listen: ["127.0.0.1:40010"] },
        ],
        ...overrides,
    };
}

describe("relay sshd_config generator", () => {
    it("locks sshd down to certificate logins that can only forward", () => {
        const { sshdConfig } = renderRelay(options());
        for (const directive of [
            "TrustedUserCAKeys /etc/ssh/firefly_user_ca.pub",
            "AuthorizedPrincipalsFile /etc/ssh/firefly_principals",
            "AuthorizedKeysFile none",
            "AuthenticationMethods publickey",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin no",
            "AllowUsers tunnel",
            "MaxSessions 0",
            "PermitTTY no",
            "X11Forwarding no",
            "AllowAgentForwarding no",
            "AllowTcpForwarding yes",
            "GatewayPorts no",
            "PermitListen 127.0.0.1:40001 127.0.0.1:40002 127.0.0.1:40010",
            "PermitOpen 127.0.0.1:8443",
        ]) {
            assert.ok(sshdConfig.split("\n").includes(directive), `missing: ${directive}`);
        }
        assert.ok(!/^UnusedConnectionTimeout/m.test(sshdConfig), "UnusedConnectionTimeout would cut idle tunnels");
        assert.ok(!/^AllowTcpForwarding remote/m.test(sshdConfig), "'remote' would block the hairpin's direct-tcpip");
    });

    it("pins each customer principal to its own listen ports and hairpin targets", () => {
        const { authorizedPrincipals } = renderRelay(options());
        const lines = authorizedPrincipals.split("\n").filter((l) => l && !l.startsWith("#"));
        assert.deepEqual(lines, [
            'restrict,port-forwarding,permitlisten="127.0.0.1:40001",permitlisten="127.0.0.1:40002",permitopen="127.0.0.1:8443" customer-acme',
            // No hairpin routes: a permitopen that matches nothing, so globex cannot use acme's.
            'restrict,port-forwarding,permitlisten="127.0.0.1:40010",permitopen="nothing.invalid:1" customer-globex',
        ]);
    });

    it("writes plain customer keys with the same restrictions", () => {
        const rendered = renderRelay(
            options({
                authorizedKeysFile: "/etc/ssh/firefly_keys",
                customers: [{ name: "acme", principal: "customer-acme", listen: ["127.0.0.1:40001"], publicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl agent"] }],
            }),
        );
        assert.match(rendered.sshdConfig, /^AuthorizedKeysFile \/etc\/ssh\/firefly_keys$/m);
        assert.match(rendered.authorizedKeys ?? "", /^restrict,port-forwarding,permitlisten="127\.0\.0\.1:40001",permitopen="nothing\.invalid:1" ssh-ed25519 AAAA\S+ agent$/m);
    });

    it("refuses values that could inject options or directives", () => {
        assert.throws(() => renderRelay(options({ customers: [{ name: "x", principal: 'evil" permitopen="*:*', listen: ["127.0.0.1:1"] }] })), /customers\.0\.principal/);
        assert.throws(() => renderRelay(options({ trustedUserCaKeysFile: "/tmp/ca.pub\nPermitRootLogin yes" })), /trustedUserCaKeysFile/);
        assert.throws(() => renderRelay(options({ customers: [{ name: "x", principal: "p", listen: ["127.0.0.1:1\"", "h"] }] })), /customers\.0\.listen/);
    });

    it("refuses two customers on one port, or sharing a principal", () => {
        assert.throws(
            () => renderRelay(options({ customers: [{ name: "a", principal: "pa", listen: ["127.0.0.1:40001"] }, { name: "b", principal: "pb", listen: ["127.0.0.2:40001"] }] })),
            /customers a and b both listen on port 40001/,
        );
        assert.throws(
            () => renderRelay(options({ customers: [{ name: "a", principal: "p", listen: ["127.0.0.1:1"] }, { name: "b", principal: "p", listen: ["127.0.0.1:2"] }] })),
            /share principal p/,
        );
    });

    it("derives a customer's grants from its connector config", () => {
        const config = parseConnectorConfig({
            user: "tunnel",
            identity: { privateKeyFile: "/k" },
            relays: [{ host: "relay", hostKeys: ["SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"] }],
            routes: [
                { name: "gitlab", listen: "127.0.0.1:45678", target: "gitlab.internal:443", via: "direct" },
                { name: "proxy", listen: "127.0.0.1:45680", target: "127.0.0.1:8443", via: "tunnel" },
            ],
            dynamic: { listen: "127.0.0.1:45679", allow: ["gitlab.internal:443"] },
        });
        assert.deepEqual(relayCustomerForConnector("acme", "customer-acme", config), {
            name: "acme",
            principal: "customer-acme",
            listen: ["127.0.0.1:45678", "127.0.0.1:45680", "127.0.0.1:45679"],
            permitOpen: ["127.0.0.1:8443"],
        });
    });

    it("produces a config that sshd -t accepts", async () => {
        const dir = makeWorkDir("generator");
        try {
            const hostKey = await generateKey(dir, "host");
            const ca = await generateKey(dir, "ca");
            const rendered = renderRelay(
                options({
                    hostKeyFiles: [hostKey.privateKeyFile],
                    trustedUserCaKeysFile: ca.publicKeyFile,
                    authorizedPrincipalsFile: join(dir, "principals"),
                    listenAddresses: ["127.0.0.1", "::1"],
                    gatewayPorts: "clientspecified",
                }),
            );
            writeFileSync(join(dir, "sshd_config"), rendered.sshdConfig);
            await execFileAsync(SSHD, ["-t", "-f", join(dir, "sshd_config")]);
        } finally {
            removeWorkDir(dir);
        }
    });
});
