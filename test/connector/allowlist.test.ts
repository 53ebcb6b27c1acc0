// The dynamic route's allowlist: which destinations are allowed, and why others are refused.
import { strict as assert } from "node:assert";
import { Allowlist, parseAllowRule } from "../../connector/spec";

describe("SOCKS destination allowlist", () => {
    const list = new Allowlist(["gitlab.internal:443", "*.corp.example:22", "10.0.0.0/8:22", "[fd00::/8]:443", "192.168.1.10:5432"]);

    it("allows an exact hostname on its port only, case-insensitively", () => {
        assert.equal(list.checkRequested("gitlab.internal", 443).allowed, true);
        assert.equal(list.checkRequested("GitLab.Internal.", 443).allowed, true);
        assert.equal(list.checkRequested("gitlab.internal", 80).allowed, false);
    });

    it("allows names strictly below a *.suffix, not the suffix itself or look-alikes", () => {
        assert.equal(list.checkRequested("db.corp.example", 22).allowed, true);
        assert.equal(list.checkRequested("a.b.corp.example", 22).allowed, true);
        assert.equal(list.checkRequested("corp.example", 22).allowed, false);
        assert.equal(list.checkRequested("evilcorp.example", 22).allowed, false);
    });

    it("allows addresses inside a CIDR block on its port, IPv4 and IPv6", () => {
        assert.equal(list.checkAddress("10.20.30.40", 22).allowed, true);
        assert.equal(list.checkAddress("11.0.0.1", 22).allowed, false);
        assert.equal(list.checkAddress("10.0.0.1", 23).allowed, false);
        assert.equal(list.checkAddress("fd12::1", 443).allowed, true);
        assert.equal(list.checkAddress("fe80::1", 443).allowed, false);
    });

    it("matches IPv4-mapped IPv6 addresses as IPv4", () => {
        assert.equal(list.checkAddress("::ffff:10.1.2.3", 22).allowed, true);
    });

    it("treats an IP literal request by address, and exact IP rules as addresses", () => {
        assert.equal(list.checkRequested("10.9.9.9", 22).allowed, true);
        assert.equal(list.checkRequested("192.168.1.10", 5432).allowed, true);
        assert.equal(list.checkRequested("192.168.1.11", 5432).allowed, false);
    });

    it("names the rule that allowed, and the reason for a refusal", () => {
        const allowed = list.checkAddress("10.1.1.1", 22);
        assert.deepEqual(allowed, { allowed: true, rule: "10.0.0.0/8:22" });
        const refused = list.checkRequested("metadata.google.internal", 80);
        assert.deepEqual(refused, { allowed: false, reason: "metadata.google.internal:80 matches no allow rule" });
    });

    it("knows when DNS could still lead to an allowed address", () => {
        assert.equal(list.hasAddressRulesFor(22), true);
        assert.equal(list.hasAddressRulesFor(80), false);
    });

    it("rejects malformed rules with a sentence saying what is wrong", () => {
        assert.match(parseAllowRule("10.0.0.0/8") as string, /not host:port/);
        assert.match(parseAllowRule("10.0.0.0/40:22") as string, /not a CIDR block/);
        assert.match(parseAllowRule("*.:22") as string, /needs a domain/);
        assert.match(parseAllowRule("host:99999") as string, /port must be/);
        assert.equal(typeof parseAllowRule("[::1]:22"), "object");
    });
});
