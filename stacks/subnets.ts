import * as aws from "@pulumi/aws";
import { StackConfigError } from "./config";

/** A subnet and the ID of its Availability Zone (the same physical zone in every account). */
export interface SubnetZone {
    id: string;
    availabilityZoneId: string;
}

export async function describeSubnets(ids: string[]): Promise<SubnetZone[]> {
    return Promise.all(ids.map(async (id) => ({ id, availabilityZoneId: (await aws.ec2.getSubnet({ id })).availabilityZoneId })));
}

/**
 * AWS takes one subnet per Availability Zone for a load balancer ("A load balancer cannot be
 * attached to multiple subnets in the same Availability Zone") and for an interface endpoint
 * (DuplicateSubnetsInSameZone). A stack whose `key` lists two subnets of one zone is refused when
 * it loads them, naming the key, the subnets and the zone, before anything is created.
 */
export function checkOneSubnetPerZone(subnets: readonly SubnetZone[], key: string, takenBy: string): void {
    const byZone = new Map<string, string[]>();
    for (const { id, availabilityZoneId } of subnets) {
        const ids = byZone.get(availabilityZoneId) ?? [];
        if (!ids.includes(id)) ids.push(id);
        byZone.set(availabilityZoneId, ids);
    }
    const shared = [...byZone.entries()].filter(([, ids]) => ids.length > 1);
    if (shared.length === 0) return;
    throw new StackConfigError(
        shared.map(([zone, ids]) => `${key}: ${ids.slice(0, -1).join(", ")} and ${ids.at(-1)} are ${ids.length === 2 ? "both" : "all"} in ${zone}, and ${takenBy} takes one subnet per Availability Zone (AWS refuses a second); keep one of them`),
    );
}
