// A git repository served over smart HTTP by Debian's `git http-backend` (CGI) on 127.0.0.1: the
// customer's private resource in the hairpin loop test. Each request runs one http-backend.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface GitHttpServer {
    readonly port: number;
    /** http://127.0.0.1:port/<name>.git */
    readonly url: string;
    /** HEAD of the served repository. */
    readonly head: string;
    /** The served file's name and SHA-256. */
    readonly file: { readonly name: string; readonly sha256: string };
    close(): Promise<void>;
}

/** Makes a bare repository with one commit of `content` as `file.bin` under `dir`, and serves it. */
export async function startGitHttpServer(dir: string, content: Buffer, name = "private"): Promise<GitHttpServer> {
    const work = join(dir, `${name}-work`);
    const root = join(dir, "git-root");
    mkdirSync(work, { recursive: true });
    mkdirSync(root, { recursive: true });
    writeFileSync(join(work, "file.bin"), content);
    const git = (cwd: string, ...args: string[]) => execFileAsync("git", ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main", ...args], { cwd });
    await git(work, "init", "-q");
    await git(work, "add", "file.bin");
    await git(work, "commit", "-q", "-m", "private content");
    await git(dir, "clone", "-q", "--bare", work, join(root, `${name}.git`));
    const head = (await git(work, "rev-parse", "HEAD")).stdout.trim();

    const server = createServer((req, res) => serveCgi(root, req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return {
        port,
        url: `http://127.0.0.1:${port}/${name}.git`,
        head,
        file: { name: "file.bin", sha256: createHash("sha256").update(content).digest("hex") },
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

function serveCgi(root: string, req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://localhost");
    const backend = spawn("git", ["http-backend"], {
        env: {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            GIT_PROJECT_ROOT: root,
            GIT_HTTP_EXPORT_ALL: "1",
            REQUEST_METHOD: req.method ?? "GET",
            PATH_INFO: decodeURIComponent(url.pathname),
            QUERY_STRING: url.search.replace(/^\?/, ""),
            CONTENT_TYPE: req.headers["content-type"] ?? "",
            REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
            ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"]) } : {}),
            ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
        },
        stdio: ["pipe", "pipe", "ignore"],
    });
    req.pipe(backend.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    backend.stdout.on("data", (chunk: Buffer) => {
        if (headersDone) {
            res.write(chunk);
            return;
        }
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        headersDone = true;
        let status = 200;
        for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
            const colon = line.indexOf(":");
            const key = line.slice(0, colon).trim();
            const value = line.slice(colon + 1).trim();
            if (key.toLowerCase() === "status") status = Number(value.split(" ")[0]);
            else res.setHeader(key, value);
        }
        res.writeHead(status);
        res.write(head.subarray(end + 4));
    });
    backend.on("close", () => res.end());
    backend.on("error", () => res.destroy());
}
