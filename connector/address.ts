// "host:port" strings as they appear in the config, the relay's permitlisten/permitopen and the
// SOCKS allowlist. Pure: the deploy components import this through config.ts.
import { isIP } from "node:net";

export interface HostPort {
    /** Hostname or IP literal, without IPv6 brackets. */
    readonly host: string;
    readonly port: number;
}

// RFC 1123 hostname: dot-separated labels of letters, digits and inner hyphens (underscores are
// tolerated because internal DNS zones use them).
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

export function isValidHost(host: string): boolean {
    return isIP(host) !== 0 || HOSTNAME.test(host);
}

export function parsePort(text: string): number | undefined {
    if (!/^[0-9]{1,5}$/.test(text)) return undefined;
    const port = Number(text);
    return port >= 1 && port <= 65535 ? port : undefined;
}

/** Splits "host:port" or "[v6]:port"; returns undefined for anything else. */
export function splitHostPort(text: string): { host: string; port: string } | undefined {
    const bracketed = /^\[([^\]]+)\]:([^:]+)$/.exec(text);
    if (bracketed) return { host: bracketed[1] as string, port: bracketed[2] as string };
    const colon = text.lastIndexOf(":");
    if (colon <= 0) return undefined;
    const host = text.slice(0, colon);
    // An unbracketed IPv6 address would be ambiguous ("::1:80").
    if (host.includes(":")) return undefined;
    return { host, port: text.slice(colon + 1) };
}

export function parseHostPort(text: string): HostPort | undefined {
    const parts = splitHostPort(text);
    if (!parts || !isValidHost(parts.host)) return undefined;
    const port = parsePort(parts.port);
    return port === undefined ? undefined : { host: parts.host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
    return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True for names and addresses that can only ever mean this host: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
    if (host === "localhost" || host === "::1") return true;
    return isIP(host) === 4 && host.startsWith("127.");
}
