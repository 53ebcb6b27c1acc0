import * as aws from "@pulumi/aws";

/**
 * The AWS regions, as the AWS provider lists them (its `aws.Region` enum): AWS refuses any other
 * name, so a typo (`us-east-9`) in a cross-region setting (`supportedRegions`, `serviceRegion`)
 * is refused where it is written instead of surfacing later as an unrelated error.
 */
export const awsRegions: readonly string[] = Object.freeze([...new Set<string>(Object.values(aws.Region))].sort());

const known = new Set(awsRegions);

/** Whether `value` is a region AWS has (see awsRegions). */
export function isAwsRegion(value: unknown): value is string {
    return typeof value === "string" && known.has(value);
}

/** The region an endpoint service lives in, from its name `[cn.]com.amazonaws.vpce.<region>.vpce-svc-…`. */
export function endpointServiceRegion(serviceName: string): string | undefined {
    return /^(?:cn\.)?com\.amazonaws\.vpce\.([a-z0-9-]+)\.vpce-svc-[0-9a-f]+$/.exec(serviceName)?.[1];
}
