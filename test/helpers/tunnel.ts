// Fixtures shared by the tunnel component tests.
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type { TunnelConnectorArgs } from "../../components/tunnel/tunnelConnector";
import { TunnelRelay, type TunnelRelayArgs } from "../../components/tunnel/tunnelRelay";
import { deploy, type ProgramRun } from "./pulumi";
import { single, types } from "./resources";

/** A real ed25519 host key line, the shape TunnelRelay.hostPublicKeys has. */
export const relayHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHd3AaG2w9bQ3bcdEp0S0KLm0dYpcx7vQyWbXK0S2yKJ relay";
export const testPrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
export const testCertificate = "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29t acme";
export const keyArn = "arn:aws:secretsmanager:us-east-1:111111111111:secret:acme/tunnel/key-AbCdEf";
export const certArn = "arn:aws:secretsmanager:us-east-1:111111111111:secret:acme/tunnel/cert-AbCdEf";

export function connectorArgs(overrides: Partial<TunnelConnectorArgs> = {}): TunnelConnectorArgs {
    return {
        vpcId: "vpc-0c0ffee0c0ffee001",
        subnetIds: ["subnet-0c0ffee0c0ffee011", "subnet-0c0ffee0c0ffee012"],
        relays: [{ host: "relay.firefly.example.com", hostKeys: [relayHostKey], cidrs: ["203.0.113.10/32", "203.0.113.11/32"] }],
        routes: [
            { name: "gitlab", listen: "0.0.0.0:40001", target: "10.20.1.15:443" },
            { name: "postgres", listen: "0.0.0.0:40002", target: "db.acme.internal:5432" },
            { name: "platform-api", listen: "127.0.0.1:40003", target: "10.0.9.9:8443", via: "tunnel" },
        ],
        targetCidrs: ["10.20.0.0/16"],
        identity: { privateKey: pulumi.secret(testPrivateKey), certificate: testCertificate },
        ...overrides,
    };
}

/** What the launch template is made of: equal inputs mean no new template version, so no instance refresh. */
export function launchTemplateInputs(run: ProgramRun): Record<string, unknown> {
    return single(run, types.launchTemplate).inputs;
}

/** The `--version-id` each `aws secretsmanager get-secret-value` in the user data asks for, by secret ARN (null: the current version). */
export function fetchedSecretVersions(userData: string): Record<string, string | null> {
    const fetched: Record<string, string | null> = {};
    for (const line of userData.split("\n")) {
        const secret = /(?:--secret-id|^fetch_secret) '([^']+)'/.exec(line);
        if (secret) fetched[secret[1]!] = /--version-id '([^']+)'/.exec(line)?.[1] ?? null;
    }
    return fetched;
}

export function userDataOf(run: ProgramRun): string {
    return Buffer.from(String(single(run, types.launchTemplate).inputs.userData), "base64").toString("utf8");
}

/** What the user data writes between `<<'MARKER'` and MARKER (a file's whole content). */
export function heredocIn(userData: string, marker: string): string {
    const match = new RegExp(`<<'${marker}'\\n([\\s\\S]*?)\\n${marker}\\n`).exec(userData);
    assert.ok(match, `the user data writes ${marker}`);
    return `${match[1]}\n`;
}

/** The config file the connector's user data writes. */
export function configInUserData(userData: string): string {
    return heredocIn(userData, "FIREFLY_CONNECTOR_CONFIG");
}

export const userCaKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIABn4UU4BHB9p2NHPg+HoGfdpwpo8IcU3PDt26e5vpa/ firefly-platform-user-ca";
export const platformWorkers = "sg-0f1ef1ef1ef1ef1a1";
export const relayCustomers = [
    { name: "acme", principal: "customer-acme", listen: ["0.0.0.0:40001", "0.0.0.0:40002"], permitOpen: ["10.0.9.9:8443"] },
    { name: "globex", principal: "customer-globex", listen: ["127.0.0.1:40010"] },
];

export function relayArgs(overrides: Partial<TunnelRelayArgs> = {}): TunnelRelayArgs {
    return {
        vpcId: "vpc-0f1ef1ef1ef1ef101",
        publicSubnetIds: ["subnet-0f1ef1ef1ef1ef121", "subnet-0f1ef1ef1ef1ef122"],
        subnetIds: ["subnet-0f1ef1ef1ef1ef111", "subnet-0f1ef1ef1ef1ef112"],
        userCaPublicKey: userCaKey,
        customers: relayCustomers,
        gatewayPorts: "clientspecified",
        platformSecurityGroupIds: [platformWorkers],
        ...overrides,
    };
}


let defaultRelay: Promise<ProgramRun> | undefined;

/**
 * `new TunnelRelay("relay", relayArgs())` deployed once per test run and shared (tests only read
 * it), with the relay's outputs as the program's outputs.
 */
export function defaultRelayRun(): Promise<ProgramRun> {
    defaultRelay ??= deploy(() => {
        const relay = new TunnelRelay("relay", relayArgs());
        return {
            hostName: relay.hostName,
            port: relay.port,
            hostPublicKeys: relay.hostPublicKeys,
            addresses: relay.addresses,
            hostKeyFingerprints: relay.hostKeyFingerprints,
            platformHostName: relay.platformHostName,
            platformSecurityGroupId: relay.platformSecurityGroupId,
            platformEndpoints: relay.platformEndpoints,
        };
    });
    return defaultRelay;
}
