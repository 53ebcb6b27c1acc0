// The one grammar of "host:port": the agent's config, the relay's permitlisten/permitopen, the
// SOCKS allowlist and the stacks' tunnel config all use these functions and schemas.
import { isIP } from "node:net";
import { z } from "zod";

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

/**
 * A zod string schema for a value one of the spec's parsers accepts: the parser returns the parsed
 * value or, for bad input, the message that says why.
 */
export function parsedBy<T>(parse: (text: string) => T | string) {
    return z.string().check((ctx) => {
        const parsed = parse(ctx.value);
        if (typeof parsed === "string") ctx.issues.push({ code: "custom", message: parsed, input: ctx.value });
    });
}

/** A "host:port" string; `what` names the address in the error ("the onward destination"). */
export function hostPortText(what?: string) {
    return parsedBy((text) =>
        parseHostPort(text) ??
        `must be host:port${what ? ` for ${what}` : ""} (IPv6 in brackets, e.g. "[::1]:8443"), port 1-65535`,
    );
}

/** A hostname or IP literal (no port). */
export const hostName = z.string().refine(isValidHost, { error: "must be a hostname or IP address" });
