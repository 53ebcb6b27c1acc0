// Stable hashes of plain values: a deployment is redeployed exactly when the hash of its definition
// changes, and Lambda permission statement IDs stay within their length limit.
import * as crypto from "node:crypto";

export function sha256(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}

/** JSON with object keys sorted and undefined members left out, so equal definitions hash equally. */
export function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        const members = Object.keys(record)
            .sort()
            .filter((k) => record[k] !== undefined)
            .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
        return `{${members.join(",")}}`;
    }
    return JSON.stringify(value) ?? "null";
}
