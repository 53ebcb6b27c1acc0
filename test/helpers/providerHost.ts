// Plays Pulumi's engine for one component provider process: starts the provider the way
// `pulumi-language-nodejs` runs a source-based plugin (`@pulumi/pulumi/cmd/run-plugin <package
// dir> <engine address>`, reading the port it prints), serves the Engine service it logs to and a
// resource monitor backed by the offline cloud (Pulumi's MockMonitor over FakeAws), and calls the
// provider's GetSchema and Construct over gRPC, as `pulumi package get-schema` and a Python or YAML
// program's `pulumi up` would.
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";
import type * as grpcModule from "@grpc/grpc-js";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { FakeAws, type FakeAwsOptions } from "../../offline/fakeAws";

/* eslint-disable @typescript-eslint/no-require-imports */
// The generated clients and services only accept credentials and servers of the grpc-js instance
// the SDK itself loads, so use that one (it differs from ours under `npm run test:sdk-latest`).
const grpc = require(require.resolve("@grpc/grpc-js", { paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))] })) as typeof grpcModule;
// eslint-disable-next-line @typescript-eslint/no-namespace
namespace grpc {
    export type ServiceClientConstructor = grpcModule.ServiceClientConstructor;
    export type ServiceDefinition = grpcModule.ServiceDefinition;
    export type UntypedServiceImplementation = grpcModule.UntypedServiceImplementation;
    export type ServerUnaryCall<A, B> = grpcModule.ServerUnaryCall<A, B>;
    export type sendUnaryData<T> = grpcModule.sendUnaryData<T>;
    export type Client = grpcModule.Client;
    export type ServiceError = grpcModule.ServiceError;
    export type Server = grpcModule.Server;
}
// The SDK's generated protobuf and gRPC modules (no type declarations for the *_grpc_pb services).
type Message = { serializeBinary(): Uint8Array };
type ProtoModule = Record<string, new () => Record<string, (...args: unknown[]) => unknown>>;
const providerProto = require("@pulumi/pulumi/proto/provider_pb") as ProtoModule;
const resourceProto = require("@pulumi/pulumi/proto/resource_pb") as ProtoModule;
const providerGrpc = require("@pulumi/pulumi/proto/provider_grpc_pb") as { ResourceProviderClient: grpc.ServiceClientConstructor };
const resourceGrpc = require("@pulumi/pulumi/proto/resource_grpc_pb") as { ResourceMonitorService: grpc.ServiceDefinition };
const engineGrpc = require("@pulumi/pulumi/proto/engine_grpc_pb") as { EngineService: grpc.ServiceDefinition };
// The same goes for google-protobuf's well-known types (checked with instanceof when serialized).
const sdkRequire = (id: string): unknown => require(require.resolve(id, { paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))] }));
const emptyProto = sdkRequire("google-protobuf/google/protobuf/empty_pb") as { Empty: new () => Message };
const structProto = sdkRequire("google-protobuf/google/protobuf/struct_pb") as { Struct: { fromJavaScript(v: unknown): Message } };
/* eslint-enable @typescript-eslint/no-require-imports */

const root = path.resolve(__dirname, "..", "..");

/** A resource the provider registered with the monitor. */
export interface MonitoredResource {
    urn: string;
    type: string;
    name: string;
    parent: string;
    custom: boolean;
    inputs: Record<string, unknown>;
}

export interface ConstructCall {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    /** Input names that depend on other resources (they reach the component as Outputs, as from a real program). */
    dependencies?: Record<string, string[]>;
    /** `pulumi preview` instead of `pulumi up`. */
    dryRun?: boolean;
}

export interface ConstructResult {
    urn: string;
    state: Record<string, unknown>;
}

export class ProviderHost {
    readonly registered: MonitoredResource[] = [];
    readonly logs: Array<{ severity: number; message: string }> = [];
    stderr = "";
    private child?: ChildProcess;
    private client?: grpc.Client & Record<string, (req: unknown, cb: (err: grpc.ServiceError | null, res: never) => void) => void>;
    private readonly servers: grpc.Server[] = [];
    private monitorAddress = "";
    readonly project = "consumer";
    readonly stack = "dev";

    constructor(private readonly cloud: FakeAwsOptions) {}

    async start(): Promise<void> {
        // The monitor's URNs and the fake cloud use the runtime's stack and project (this process's settings).
        const fake = new FakeAws({ stack: this.stack, ...this.cloud });
        await pulumi.runtime.setMocks(fake, this.project, this.stack, false);
        const monitor = new MockMonitor(fake) as unknown as Record<string, (req: unknown, cb: (err: unknown, res: unknown) => void) => unknown>;
        const monitorImpl: grpc.UntypedServiceImplementation = {};
        for (const method of Object.keys(resourceGrpc.ResourceMonitorService)) {
            monitorImpl[method] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
                const req = call.request as Record<string, () => unknown>;
                if (method === "supportsFeature") {
                    // Output values on (a real engine supports them); MockMonitor turns them off for plain mocks.
                    const res = new resourceProto.SupportsFeatureResponse!();
                    res.setHassupport!(true);
                    return callback(null, res);
                }
                const handler = monitor[method];
                if (typeof handler !== "function") return callback({ code: grpc.status.UNIMPLEMENTED, details: `monitor: ${method}` }, null);
                if (method === "registerResource") {
                    this.registered.push({
                        urn: "",
                        type: req.getType!() as string,
                        name: req.getName!() as string,
                        parent: req.getParent!() as string,
                        custom: req.getCustom!() as boolean,
                        inputs: pulumi.runtime.deserializeProperties(req.getObject!() as never) as Record<string, unknown>,
                    });
                }
                void handler.call(monitor, req, (err: unknown, res: unknown) => {
                    if (err) return callback({ code: grpc.status.UNKNOWN, details: String((err as Error).message ?? err) }, null);
                    if (method === "registerResource") {
                        const urn = (res as { getUrn(): string }).getUrn();
                        const entry = [...this.registered].reverse().find((r) => r.urn === "" && urn.endsWith(`::${r.name}`));
                        if (entry) entry.urn = urn;
                    }
                    const message = res && typeof (res as Message).serializeBinary === "function" ? res : new emptyProto.Empty();
                    callback(null, message);
                });
            };
        }
        this.monitorAddress = await this.serve(resourceGrpc.ResourceMonitorService, monitorImpl);

        const engineImpl: grpc.UntypedServiceImplementation = {
            log: (call: grpc.ServerUnaryCall<Record<string, () => unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
                this.logs.push({ severity: call.request.getSeverity!() as number, message: call.request.getMessage!() as string });
                callback(null, new emptyProto.Empty());
            },
            getRootResource: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
                const { GetRootResourceResponse } = require("@pulumi/pulumi/proto/engine_pb") as ProtoModule; // eslint-disable-line @typescript-eslint/no-require-imports
                const res = new GetRootResourceResponse!();
                res.setUrn!(this.stackUrn);
                callback(null, res);
            },
            setRootResource: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
                const { SetRootResourceResponse } = require("@pulumi/pulumi/proto/engine_pb") as ProtoModule; // eslint-disable-line @typescript-eslint/no-require-imports
                callback(null, new SetRootResourceResponse!());
            },
        };
        const engineAddress = await this.serve(engineGrpc.EngineService, engineImpl);

        // As pulumi-language-nodejs's RunPlugin: node <run-plugin> <program directory> <engine address>.
        const runPlugin = require.resolve("@pulumi/pulumi/cmd/run-plugin", { paths: [root] });
        // Under `npm run test:sdk-latest` the provider process loads the newest SDK too.
        const preload = process.env.PULUMI_SDK_DIR ? ["-r", path.join(root, "test", "setup", "redirectModules.js")] : [];
        const child = spawn(process.execPath, [...preload, runPlugin, root, engineAddress], { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PULUMI_NODEJS_TYPESCRIPT: "true" } });
        this.child = child;
        child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
        const port = await new Promise<string>((resolve, reject) => {
            const lines = readline.createInterface({ input: child.stdout! });
            lines.once("line", (line) => resolve(line.trim()));
            child.once("exit", (code) => reject(new Error(`the provider exited (${code}) before printing its port:\n${this.stderr}`)));
        });
        const client = new providerGrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        this.client = client as unknown as NonNullable<ProviderHost["client"]>;
    }

    get stackUrn(): string {
        return `urn:pulumi:${this.stack}::${this.project}::pulumi:pulumi:Stack::${this.project}-${this.stack}`;
    }

    /** GetSchema, as `pulumi package get-schema <dir>` calls it. */
    async getSchema(): Promise<unknown> {
        const req = new providerProto.GetSchemaRequest!();
        const res = await this.unary<{ getSchema(): string }>("getSchema", req);
        return JSON.parse(res.getSchema()) as unknown;
    }

    /** Construct, as the engine calls it when a program in any language creates the component. */
    async construct(call: ConstructCall): Promise<ConstructResult> {
        const req = new providerProto.ConstructRequest!();
        req.setProject!(this.project);
        req.setStack!(this.stack);
        req.setDryrun!(call.dryRun ?? false);
        req.setParallel!(4);
        req.setMonitorendpoint!(this.monitorAddress);
        req.setType!(call.type);
        req.setName!(call.name);
        req.setParent!(this.stackUrn);
        req.setAcceptsOutputValues!(true);
        req.setInputs!(structProto.Struct.fromJavaScript(await pulumi.runtime.serializeProperties("construct", call.inputs)));
        const deps = (req.getInputdependenciesMap as (noLazy?: boolean) => { set(k: string, v: unknown): void })();
        for (const [key, urns] of Object.entries(call.dependencies ?? {})) {
            const d = new (providerProto.ConstructRequest as unknown as { PropertyDependencies: new () => { setUrnsList(u: string[]): void } }).PropertyDependencies();
            d.setUrnsList(urns);
            deps.set(key, d);
        }
        const res = await this.unary<{ getUrn(): string; getState(): unknown }>("construct", req);
        const state = res.getState();
        return { urn: res.getUrn(), state: state ? (pulumi.runtime.deserializeProperties(state as never) as Record<string, unknown>) : {} };
    }

    async stop(): Promise<void> {
        this.client?.close();
        if (this.child && this.child.exitCode === null) {
            const exited = new Promise((resolve) => this.child!.once("exit", resolve));
            this.child.kill("SIGTERM");
            await exited;
        }
        await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.tryShutdown(() => resolve()))));
    }

    private unary<T>(method: string, req: unknown): Promise<T> {
        return new Promise((resolve, reject) => {
            this.client![method]!(req, (err, res) => (err ? reject(new Error(`${method}: ${err.details || err.message}\n${this.stderr}`)) : resolve(res as T)));
        });
    }

    private serve(service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): Promise<string> {
        const server = new grpc.Server();
        server.addService(service, impl);
        this.servers.push(server);
        return new Promise((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(`127.0.0.1:${port}`))));
    }
}
