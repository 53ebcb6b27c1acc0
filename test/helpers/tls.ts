import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A throwaway CA and a server certificate it signed, made by the openssl CLI in a temp dir. */
export interface TestPki {
    dir: string;
    caPem: string;
    certPem: string;
    keyPem: string;
    cleanup(): void;
}

/**
 * Makes a CA and a server certificate for `dnsNames` and `ips` (P-256, valid for one day).
 * Real certificates, so the code under test does real verification against them.
 */
export function makeTestPki(dnsNames: string[], ips: string[] = ["127.0.0.1"]): TestPki {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "firefly-pki-"));
    const file = (name: string) => path.join(dir, name);
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", file("ca.key"), "-out", file("ca.crt"), "-days", "1", "-subj", "/CN=Firefly Test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", `/CN=${dnsNames[0] ?? ips[0]}`);
    const san = [...dnsNames.map((n) => `DNS:${n}`), ...ips.map((ip) => `IP:${ip}`)].join(",");
    fs.writeFileSync(file("ext.cnf"), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
    openssl("x509", "-req", "-in", file("server.csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key"),
        "-CAcreateserial", "-out", file("server.crt"), "-days", "1", "-extfile", file("ext.cnf"));
    return {
        dir,
        caPem: fs.readFileSync(file("ca.crt"), "utf8"),
        certPem: fs.readFileSync(file("server.crt"), "utf8"),
        keyPem: fs.readFileSync(file("server.key"), "utf8"),
        cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}
