import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./config";
import { customerProgram } from "./customer";
import { fireflyProgram } from "./firefly";

/** The Pulumi program: the stack's `role` config picks the customer or the firefly side. */
export async function program(): Promise<Record<string, unknown>> {
    const config = loadStackConfig();
    return config.role === "customer" ? customerProgram(config, pulumi.getProject()) : fireflyProgram(config, pulumi.getProject());
}
