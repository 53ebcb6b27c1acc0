#!/usr/bin/env node
// Runs before `npm test` (npm's `pretest`): makes a fresh machine able to run the whole suite.
//
// 1. ssh2's native crypto binding (AES-GCM, ChaCha20 in C). npm 11 skips dependency install
//    scripts that package.json's `allowScripts` does not approve, and an install on a machine
//    without a compiler leaves ssh2 on its slow pure-JS fallback without failing. We check the
//    binding loads and build it with ssh2's own install script when it does not.
// 2. OpenSSH: the connector tests run a real sshd as the relay. Install `openssh-server` with
//    apt-get when it is missing (as root), without letting the package start a system sshd.
//    The openssl CLI comes along: TLS tests make a throwaway CA and server certificates with it,
//    and autossh: the bench's smoke test runs the OpenSSH side under it, as `npm run bench` does;
//    tinyproxy, an HTTP CONNECT proxy for the egress proxy tests (started privately by them);
//    socat, the bench's C floor relay (the same relay job as the agent's, without SSH); podman,
//    which builds the agent's container image (connector/container; `podman run` is not needed);
//    valgrind, under which `npm run bench:callgrind` counts a round trip's instructions.
// 3. The relay's login user `tunnel`, as on a production relay: no home, no shell, no password,
//    but not *locked* (sshd refuses locked accounts even for certificates), so `usermod -p '*'`.
//    The connector tests need root: sshd must switch to that user.
//
// Plain JavaScript on purpose: it runs before anything is compiled.
"use strict";

const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..", "..");

function log(message) {
    process.stdout.write(`[prepare-machine] ${message}\n`);
}

function fail(message) {
    process.stderr.write(`[prepare-machine] ERROR: ${message}\n`);
    process.exit(1);
}

function run(cmd, args, options = {}) {
    const result = spawnSync(cmd, args, { stdio: "inherit", ...options });
    return result.status === 0;
}

function ssh2BindingLoads() {
    // A child process, because a failed require() of a native module is cached in this one.
    const probe = spawnSync(
        process.execPath,
        ["-e", "process.exit(require('ssh2/lib/protocol/crypto.js').bindingAvailable ? 0 : 3)"],
        { cwd: root, stdio: "ignore" },
    );
    return probe.status === 0;
}

function ensureSsh2Binding() {
    let ssh2Dir;
    try {
        ssh2Dir = path.dirname(require.resolve("ssh2/package.json", { paths: [root] }));
    } catch {
        fail("ssh2 is not installed: run `npm ci` first.");
    }
    if (ssh2BindingLoads()) {
        log("ssh2 native crypto binding: present");
        return;
    }
    log("ssh2 native crypto binding missing (install script skipped?): building it now");
    run(process.execPath, ["install.js"], { cwd: ssh2Dir });
    if (!ssh2BindingLoads()) {
        fail(
            "ssh2's native crypto binding could not be built. Install a C++ toolchain and Node headers " +
                "(Debian: apt-get install -y python3 make g++), then run `npm rebuild ssh2 --allow-scripts=ssh2`.",
        );
    }
    log("ssh2 native crypto binding: built");
}

function findSshd() {
    return ["/usr/sbin/sshd", "/usr/local/sbin/sshd"].find((p) => fs.existsSync(p));
}

function hasCommand(name) {
    return run("sh", ["-c", `command -v ${name} >/dev/null`]);
}

function ensureOpenSsh() {
    if (findSshd() && hasCommand("ssh-keygen") && hasCommand("ssh") && hasCommand("openssl") && hasCommand("autossh") && hasCommand("tinyproxy") && hasCommand("socat") && hasCommand("podman") && hasCommand("valgrind")) {
        log(`OpenSSH server: ${findSshd()}`);
    } else {
        const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
        const hasApt = run("sh", ["-c", "command -v apt-get >/dev/null"]);
        if (!isRoot || !hasApt) {
            fail(
                "OpenSSH (sshd, ssh, ssh-keygen), autossh, openssl, tinyproxy, socat, podman or valgrind is missing and cannot be installed automatically " +
                    "(needs root and apt-get). Install them: sudo apt-get install -y openssh-server openssh-client autossh openssl tinyproxy socat podman valgrind",
            );
        }
        log("OpenSSH server, client, autossh, openssl, tinyproxy, socat, podman or valgrind missing: installing them with apt-get");
        // policy-rc.d exit 101 tells Debian maintainer scripts not to start services: the tests
        // start their own sshd on 127.0.0.1 and must not find a system sshd on port 22.
        const policy = "/usr/sbin/policy-rc.d";
        const hadPolicy = fs.existsSync(policy);
        if (!hadPolicy) fs.writeFileSync(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
        const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
        try {
            if (!run("apt-get", ["update"], { env })) fail("apt-get update failed");
            if (!run("apt-get", ["install", "-y", "--no-install-recommends", "openssh-server", "openssh-client", "autossh", "openssl", "tinyproxy", "socat", "podman", "valgrind"], { env })) {
                fail("apt-get install openssh-server failed");
            }
        } finally {
            if (!hadPolicy) fs.rmSync(policy, { force: true });
        }
        if (!findSshd()) fail("openssh-server installed but sshd was not found in /usr/sbin");
        log(`OpenSSH server: installed ${findSshd()}`);
    }
    // sshd refuses to start without its privilege separation directory.
    if (typeof process.getuid === "function" && process.getuid() === 0) {
        fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    }
}

const TEST_LOGIN_USER = "tunnel";

function ensureLoginUser() {
    const exists = spawnSync("id", ["-u", TEST_LOGIN_USER], { stdio: "ignore" }).status === 0;
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    if (!isRoot) {
        fail(
            "the connector tests run a real sshd that logs agents in as the user " +
                `'${TEST_LOGIN_USER}', which needs root. Run the tests as root (CI does).`,
        );
    }
    if (!exists) {
        log(`creating relay login user '${TEST_LOGIN_USER}' (no shell, no password)`);
        if (!run("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_LOGIN_USER])) {
            fail(`useradd ${TEST_LOGIN_USER} failed`);
        }
    }
    // A locked account ('!' in /etc/shadow) is refused by sshd; '*' means "no password" instead.
    if (!run("usermod", ["-p", "*", TEST_LOGIN_USER])) fail(`usermod -p '*' ${TEST_LOGIN_USER} failed`);
    log(`relay login user: ${TEST_LOGIN_USER}`);
}

ensureSsh2Binding();
ensureOpenSsh();
ensureLoginUser();
