// The egress proxy the agent may have to use to reach its relays: HTTP CONNECT, as corporate
// networks offer. Grammar and config schema here; the CONNECT itself is connector/proxyConnect.ts.
import { z } from "zod";
import { formatHostPort, isValidHost, parsedBy, parsePort } from "./address";

export interface ProxyAddress {
    readonly host: string;
    readonly port: number;
    /** From the URL's user:password@, if given there. */
    readonly username?: string;
    readonly password?: string;
}

/** Parses "http://[user:password@]host:port"; returns why not for anything else. */
export function parseProxyUrl(text: string): ProxyAddress | string {
    const fix = 'must be "http://[user:password@]host:port" (an HTTP proxy that allows CONNECT)';
    if (/^https:\/\//i.test(text)) return `${fix}: https:// proxies are not supported, give the proxy's plain HTTP port`;
    let url: URL;
    try {
        url = new URL(text);
    } catch {
        return fix;
    }
    if (url.protocol !== "http:" || !url.port || (url.pathname !== "/" && url.pathname !== "") || url.search || url.hash) return fix;
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = parsePort(url.port);
    if (!isValidHost(host) || port === undefined) return fix;
    if (url.username && !url.password) return `${fix}: the user name needs its password (user:password@)`;
    return {
        host,
        port,
        ...(url.username ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : {}),
    };
}

/** The proxy as logs and errors name it: never its credentials. */
export function proxyLabel(proxy: Pick<ProxyAddress, "host" | "port">): string {
    return `http://${formatHostPort(proxy)}`;
}

const proxyUrl = parsedBy(parseProxyUrl);

export const proxySchema = z
    .union([
        proxyUrl,
        z.strictObject({
            url: proxyUrl,
            credentialsFile: z
                .string()
                .min(1)
                .optional()
                .describe('File holding "user:password" for the proxy (read at each connection attempt). Relative to the config file.'),
            credentialsEnv: z
                .string()
                .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "must be an environment variable name" })
                .optional()
                .describe('Environment variable holding "user:password" for the proxy.'),
        }),
    ])
    .describe('HTTP CONNECT proxy to reach the relays through: "http://[user:password@]host:port", or { url, credentialsFile | credentialsEnv }. Credentials are never logged.');

export type ProxyConfig = z.output<typeof proxySchema>;
