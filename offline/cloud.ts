/**
 * The part of the offline cloud that outlives one `pulumi up`: what one stack created that AWS
 * checks when another stack (or another resource of the same stack) creates something. One
 * OfflineCloud serves a whole simulated deployment (simulateDeployment), so the fake can refuse,
 * with AWS's own message, what AWS refuses across stacks: a second private zone of the same name
 * in a VPC, a second private-DNS execute-api endpoint in a VPC, an endpoint in a subnet whose AZ
 * the endpoint service does not offer, a cross-region endpoint to a service that does not support
 * the endpoint's region, an accepter of an endpoint that requests another service. Entries are owned by the stack that created them; a stack's
 * update starts by releasing its entries (what it does not create again is deleted).
 */
export class OfflineCloud {
    /** Load balancer ARN → its subnets' AZ IDs (the owner's view: IDs are the same in every account). */
    readonly loadBalancerZones = new Map<string, { owner: string; zoneIds: string[]; zoneNames: string[] }>();
    /**
     * Endpoint service name → its region, the AZ IDs it is offered in there (none known: its NLBs
     * are not in this cloud), and the other regions whose consumers may connect (supportedRegions).
     */
    readonly endpointServices = new Map<string, { owner: string; region: string; zoneIds: string[]; supportedRegions: string[] }>();
    /** `<vpc>|<zone name>` → the private hosted zone associated with it. */
    readonly privateZones = new Map<string, { owner: string; zoneId: string }>();
    /** `<vpc>|<service name>` → the interface endpoint that has the service's private DNS in that VPC. */
    readonly privateDnsEndpoints = new Map<string, { owner: string }>();
    /** Endpoint ID → the accepter (in the service owner's stack) that accepted it. */
    readonly acceptedEndpoints = new Map<string, { owner: string }>();
    /** Interface endpoint ID → the service name it requests a connection to. */
    readonly endpoints = new Map<string, { owner: string; serviceName: string }>();

    /** Forgets what `stack` created: its update registers again what it still has. */
    release(stack: string): void {
        for (const registry of [this.loadBalancerZones, this.endpointServices, this.privateZones, this.privateDnsEndpoints, this.acceptedEndpoints, this.endpoints] as Array<Map<string, { owner: string }>>) {
            for (const [key, entry] of registry) if (entry.owner.startsWith(`${stack}::`)) registry.delete(key);
        }
    }
}
