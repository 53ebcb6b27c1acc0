// `firefly-connector relay render`: the relay generator (spec/relaySshd.ts) as a command, for
// operators who run a relay without the TunnelRelay component. Reads the relay options (YAML or
// JSON), writes sshd_config and the files it names into a directory, and says where they go.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import YAML from "yaml";
import { renderRelay, type RelaySshdOptions } from "./spec";

export interface RenderedRelayFile {
    /** The file written in the output directory. */
    readonly written: string;
    /** Where sshd expects it (the path sshd_config names), or "sshd -f" for sshd_config itself. */
    readonly installAt: string;
}

/** Renders the relay files of `configFile` into `outDir`; throws naming the file and field on bad input. */
export function renderRelayFiles(configFile: string, outDir: string): RenderedRelayFile[] {
    const source = resolve(configFile);
    let options: RelaySshdOptions;
    try {
        options = YAML.parse(readFileSync(source, "utf8"), { uniqueKeys: true, maxAliasCount: 100 }) as RelaySshdOptions;
    } catch (err) {
        throw new Error(`${source}: not a readable YAML/JSON file: ${(err as Error).message.split("\n")[0]}`);
    }
    let rendered: ReturnType<typeof renderRelay>;
    try {
        rendered = renderRelay(options);
    } catch (err) {
        throw new Error(`${source}: ${(err as Error).message}`);
    }
    mkdirSync(outDir, { recursive: true });
    const files: [name: string, contents: string | undefined, installAt: string | undefined][] = [
        ["sshd_config", rendered.sshdConfig, "/etc/ssh/sshd_config on a relay-only host, or a second sshd's own file for sshd -f; a whole config, not a drop-in for sshd_config.d (connector/README.md, A relay by hand)"],
        ["authorized_principals", rendered.authorizedPrincipals, options.authorizedPrincipalsFile],
        ["authorized_keys", rendered.authorizedKeys, options.authorizedKeysFile],
        ["revoked_keys", rendered.revokedKeys, options.revokedKeysFile],
    ];
    const out: RenderedRelayFile[] = [];
    for (const [name, contents, installAt] of files) {
        if (contents === undefined || installAt === undefined) continue;
        const written = join(outDir, name);
        writeFileSync(written, contents, { mode: 0o644 });
        out.push({ written, installAt });
    }
    return out;
}
