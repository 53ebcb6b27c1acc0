// Starting a policy pack directory as the Pulumi CLI starts it, minus the CLI: shared by the
// engine tests (the repository's policies/ and the pack installed from its own tarball) and the
// package test (the policies/ directory another project gets in node_modules).
//
// `pulumi preview --policy-pack <dir>` starts the `pulumi-analyzer-policy` shim in <dir>; the shim
// resolves `@pulumi/pulumi/cmd/run-policy-pack` from there with Node and runs it with
// `<engine address> .`. That script loads the directory (package.json `main`), whose PolicyPack
// prints the port of its gRPC Analyzer server.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import * as analyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";

export interface StartedPack {
    child: ChildProcess;
    port: string;
}

/** Starts the pack in `directory` exactly as the `pulumi-analyzer-policy` shim does; resolves with its port. */
export function startPack(directory: string): Promise<StartedPack> {
    const runPolicyPack = execFileSync(process.execPath, ["-e", "console.log(require.resolve('@pulumi/pulumi/cmd/run-policy-pack'))"], {
        cwd: directory,
        encoding: "utf8",
    }).trim();
    const child = spawn(process.execPath, [runPolicyPack, "127.0.0.1:1", "."], { cwd: directory, stdio: ["ignore", "pipe", "pipe"] });
    return new Promise((resolve, reject) => {
        let stderr = "";
        child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.stdout?.once("data", (chunk: Buffer) => resolve({ child, port: chunk.toString().trim() }));
        child.once("exit", (code) => reject(new Error(`policy pack exited with ${code} before serving:\n${stderr}`)));
    });
}

/** An Analyzer client for a started pack, as the engine connects to it. */
export function analyzerClient(started: StartedPack): analyzerGrpc.AnalyzerClient {
    return new analyzerGrpc.AnalyzerClient(`127.0.0.1:${started.port}`, grpc.credentials.createInsecure());
}

/** A gRPC call with a callback as a promise. */
export function promised<T>(run: (callback: (error: grpc.ServiceError | null, response: T) => void) => unknown): Promise<T> {
    return new Promise((resolve, reject) => {
        run((error, response) => (error ? reject(error) : resolve(response)));
    });
}
