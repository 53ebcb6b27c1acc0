// Which destinations the dynamic (reverse SOCKS5) route may reach: "why was this destination
// refused" is answered here and nowhere else. Pure, so config validation can reuse the parser.
//
// Rule forms (each bound to one port):
//   host:port            exact hostname (case-insensitive) or IP literal
//   *.suffix:port        any name strictly below `suffix` (not `suffix` itself)
//   CIDR:port            any address in the block, e.g. 10.0.0.0/8:22 or [fd00::/8]:443
//
// Hostname rules match the name the client asked for; address rules match the address the agent
// actually connects to, so a name that resolves into an allowed block is allowed and a DNS answer
// cannot smuggle a connection to an address outside the list.
import { BlockList, isIP } from "node:net";
import { isValidHost, parsePort, splitHostPort } from "./address";

export type AllowRule =
    | { readonly kind: "host"; readonly host: string; readonly port: number; readonly text: string }
    | { readonly kind: "suffix"; readonly suffix: string; readonly port: number; readonly text: string }
    | {
          readonly kind: "cidr";
          readonly network: string;
          readonly prefix: number;
          readonly family: "ipv4" | "ipv6";
          readonly port: number;
          readonly text: string;
      };

export type AllowDecision =
    | { readonly allowed: true; readonly rule: string }
    | { readonly allowed: false; readonly reason: string };

/** Parses one rule, or returns a sentence saying what is wrong with it. */
export function parseAllowRule(text: string): AllowRule | string {
    const parts = splitHostPort(text.trim());
    if (!parts) return `"${text}" is not host:port, *.suffix:port or CIDR:port (IPv6 in brackets: [fd00::/8]:443)`;
    const port = parsePort(parts.port);
    if (port === undefined) return `"${text}": port must be a number from 1 to 65535`;
    const { host } = parts;
    const slash = host.indexOf("/");
    if (slash !== -1) {
        const network = host.slice(0, slash);
        const prefixText = host.slice(slash + 1);
        const family = isIP(network);
        const maxPrefix = family === 4 ? 32 : 128;
        const prefix = /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
        if (family === 0 || !(prefix >= 0 && prefix <= maxPrefix)) {
            return `"${text}": "${host}" is not a CIDR block (address/prefix, prefix 0-${maxPrefix})`;
        }
        return { kind: "cidr", network, prefix, family: family === 4 ? "ipv4" : "ipv6", port, text };
    }
    if (host.startsWith("*.")) {
        const suffix = host.slice(2).toLowerCase().replace(/\.$/, "");
        if (!isValidHost(suffix) || isIP(suffix) !== 0) return `"${text}": "*.${suffix}" needs a domain after "*."`;
        return { kind: "suffix", suffix, port, text };
    }
    if (!isValidHost(host)) return `"${text}": "${host}" is not a hostname or IP address`;
    return { kind: "host", host: normalizeHost(host), port, text };
}

function normalizeHost(host: string): string {
    return host.toLowerCase().replace(/\.$/, "");
}

/** "::ffff:10.0.0.1" is how an IPv4 peer looks on a dual-stack socket: match it as IPv4. */
function unmapIPv4(address: string): string {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return mapped ? (mapped[1] as string) : address;
}

export class Allowlist {
    readonly rules: readonly AllowRule[];
    private readonly cidrRules: { readonly rule: AllowRule; readonly block: BlockList }[] = [];

    constructor(ruleTexts: readonly string[]) {
        const rules: AllowRule[] = [];
        for (const text of ruleTexts) {
            const rule = parseAllowRule(text);
            if (typeof rule === "string") throw new Error(`invalid allow rule: ${rule}`);
            rules.push(rule);
            if (rule.kind === "cidr") {
                const block = new BlockList();
                block.addSubnet(rule.network, rule.prefix, rule.family);
                this.cidrRules.push({ rule, block });
            }
        }
        this.rules = rules;
    }

    /** Decision on the name (or address literal) a client asked for, before any DNS lookup. */
    checkRequested(host: string, port: number): AllowDecision {
        if (isIP(host) !== 0) return this.checkAddress(host, port);
        const name = normalizeHost(host);
        for (const rule of this.rules) {
            if (rule.port !== port) continue;
            if (rule.kind === "host" && rule.host === name) return { allowed: true, rule: rule.text };
            if (rule.kind === "suffix" && name.endsWith(`.${rule.suffix}`)) return { allowed: true, rule: rule.text };
        }
        return { allowed: false, reason: `${host}:${port} matches no allow rule` };
    }

    /** Decision on an IP address the agent is about to connect to. */
    checkAddress(address: string, port: number): AllowDecision {
        const ip = unmapIPv4(address);
        const family = isIP(ip);
        if (family === 0) return { allowed: false, reason: `${address} is not an IP address` };
        for (const rule of this.rules) {
            if (rule.kind === "host" && rule.port === port && rule.host === ip) return { allowed: true, rule: rule.text };
        }
        const type = family === 4 ? "ipv4" : "ipv6";
        for (const { rule, block } of this.cidrRules) {
            if (rule.port === port && block.check(ip, type)) return { allowed: true, rule: rule.text };
        }
        return { allowed: false, reason: `${address}:${port} matches no allow rule` };
    }

    /** Whether resolving a refused name could still lead to an allowed address (CIDR rules on that port). */
    hasAddressRulesFor(port: number): boolean {
        return this.cidrRules.some(({ rule }) => rule.port === port);
    }
}
