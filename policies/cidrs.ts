// How much of the public internet a set of CIDR blocks admits, IPv4 and IPv6 apart. Rules judge
// the union of the blocks, so 0.0.0.0/1 + 128.0.0.0/1 counts as the whole internet, and a block
// inside private or reserved space (10/8, fc00::/7, ...) counts for nothing.

type Family = "ipv4" | "ipv6";
type Range = [start: bigint, end: bigint]; // inclusive

const bits: Record<Family, number> = { ipv4: 32, ipv6: 128 };

function parseIpv4(address: string): bigint | undefined {
    const parts = address.split(".");
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reduce((value, part) => (value << 8n) | BigInt(Number(part)), 0n);
}

function parseIpv6(address: string): bigint | undefined {
    const halves = address.split("::");
    if (halves.length > 2) return undefined;
    const groups = (text: string) => (text === "" ? [] : text.split(":"));
    const head = groups(halves[0] ?? "");
    const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
    const missing = 8 - head.length - tail.length;
    if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
    const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
    if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
    return all.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** A CIDR block as an inclusive range of addresses; undefined when it is not one. */
export function parseCidr(cidr: string): { family: Family; range: Range } | undefined {
    const [address = "", prefixText] = cidr.trim().split("/");
    const family: Family = address.includes(":") ? "ipv6" : "ipv4";
    const value = family === "ipv4" ? parseIpv4(address) : parseIpv6(address);
    const width = bits[family];
    const prefix = prefixText === undefined ? width : Number(prefixText);
    if (value === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > width) return undefined;
    const size = 1n << BigInt(width - prefix);
    const start = (value / size) * size;
    return { family, range: [start, start + size - 1n] };
}

function ranges(cidrs: readonly string[]): Range[] {
    return cidrs.map((cidr) => parseCidr(cidr)?.range).filter((r): r is Range => r !== undefined);
}

/**
 * NAT64 prefixes: the well-known 64:ff9b::/96 (RFC 6052, what an AWS NAT gateway translates for
 * DNS64 subnets) and the local-use 64:ff9b:1::/48 (RFC 8215). An address in them stands for an IPv4
 * address, any of the IPv4 internet, so they are public although they lie outside 2000::/3.
 */
const nat64: Range[] = ranges(["64:ff9b::/96", "64:ff9b:1::/48"]);

/** `range` without the (sorted, disjoint, inside it) `holes`. */
function without(range: Range, holes: readonly Range[]): Range[] {
    const result: Range[] = [];
    let start = range[0];
    for (const [holeStart, holeEnd] of holes) {
        if (holeStart > start) result.push([start, holeStart - 1n]);
        start = holeEnd + 1n;
    }
    if (start <= range[1]) result.push([start, range[1]]);
    return result;
}

/** Address space no one on the internet can send from or be reached at. */
const notPublic: Record<Family, Range[]> = {
    ipv4: ranges(["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/3"]),
    // Everything but global unicast (2000::/3) is link-local, unique-local, multicast or unassigned,
    // except the NAT64 prefixes, which reach the IPv4 internet through a NAT64 gateway.
    ipv6: [...without([0n, (0x2000n << 112n) - 1n], nat64), [0x4000n << 112n, (1n << 128n) - 1n]],
};

function merge(list: Range[]): Range[] {
    const sorted = [...list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const merged: Range[] = [];
    for (const [start, end] of sorted) {
        const last = merged[merged.length - 1];
        if (last && start <= last[1] + 1n) {
            last[1] = end > last[1] ? end : last[1];
        } else {
            merged.push([start, end]);
        }
    }
    return merged;
}

/** How many public addresses of each family the union of the blocks admits. */
export function publicAddresses(cidrs: readonly string[]): Record<Family, bigint> {
    const result: Record<Family, bigint> = { ipv4: 0n, ipv6: 0n };
    for (const family of ["ipv4", "ipv6"] as const) {
        const union = merge(cidrs.map(parseCidr).filter((c) => c?.family === family).map((c) => c!.range));
        for (const [start, end] of union) {
            let count = end - start + 1n;
            for (const [rs, re] of notPublic[family]) {
                const overlapStart = start > rs ? start : rs;
                const overlapEnd = end < re ? end : re;
                if (overlapStart <= overlapEnd) count -= overlapEnd - overlapStart + 1n;
            }
            result[family] += count;
        }
    }
    return result;
}

/**
 * More public addresses than one organisation's block: a /16 of IPv4 (65 536 addresses) or a /32
 * of IPv6 (a whole provider's allocation). A source wider than that is "the internet" for our rules.
 */
export const publicLimits: Record<Family, bigint> = { ipv4: 1n << 16n, ipv6: 1n << 96n };

/** Whether the union of the blocks admits more of the internet than {@link publicLimits}. */
export function admitsTheInternet(cidrs: readonly string[]): boolean {
    const count = publicAddresses(cidrs);
    return count.ipv4 > publicLimits.ipv4 || count.ipv6 > publicLimits.ipv6;
}

/** Whether every address of the block is private or reserved (10/8, 172.16/12, fc00::/7, ...). */
export function isPrivateCidr(cidr: string): boolean {
    if (parseCidr(cidr) === undefined) return false;
    const count = publicAddresses([cidr]);
    return count.ipv4 === 0n && count.ipv6 === 0n;
}
