// Load balancers stay internal. The only expected internet-facing one is the SSH relay's NLB,
// and it is allowed only when the user lists it by name in the policy config; even then it may
// listen only on the ports configured as public (its SSH and HTTPS), so an exception for the
// load balancer is never an exception for every port some other rule allows in the stack.
import * as aws from "@pulumi/aws";
import {
    PolicyConfigSchema,
    PolicyResource,
    ResourceValidationPolicy,
    StackValidationPolicy,
    validateResourceOfType,
} from "@pulumi/policy";
import { configOf, nameExceptions, portList, portNumber } from "./ruleConfig";
import { Peeked, peek, referenceOf, referencedTargets, resourcesOfType } from "./references";

const publicLoadBalancerExceptions = nameExceptions(
    "allowedPublicLoadBalancers",
    "Pulumi resource names of load balancers that may be internet-facing, e.g. the SSH relay's NLB.",
);

function checkInternal(
    kind: string,
    internal: boolean | undefined,
    args: { name: string; getConfig<T extends object>(): T },
    reportViolation: (message: string) => void,
): void {
    if (internal === true) {
        return;
    }
    const allowedPublicLoadBalancers = publicLoadBalancerExceptions.listed(args);
    if (!allowedPublicLoadBalancers.includes(args.name)) {
        reportViolation(
            `${kind} '${args.name}' is internet-facing; set internal: true, or list '${args.name}' under allowedPublicLoadBalancers in this policy's config if it must be public.`,
        );
    }
}

export const loadBalancerInternal: ResourceValidationPolicy = {
    name: "load-balancer-internal",
    description: "Load balancers are internal unless they are listed as allowed to be public in the policy config.",
    enforcementLevel: "mandatory",
    severity: "high",
    tags: ["network-exposure"],
    remediationSteps:
        "Set internal: true. If the load balancer must face the internet (the SSH relay's NLB), add its Pulumi resource " +
        "name to allowedPublicLoadBalancers in the policy pack config.",
    configSchema: publicLoadBalancerExceptions.schema,
    validateResource: [
        validateResourceOfType(aws.lb.LoadBalancer, (lb, args, reportViolation) => {
            // Gateway Load Balancers have no scheme: they only take traffic from GWLB endpoints.
            if (lb.loadBalancerType !== "gateway") {
                checkInternal("Load balancer", lb.internal, args, reportViolation);
            }
        }),
        validateResourceOfType(aws.alb.LoadBalancer, (lb, args, reportViolation) => {
            checkInternal("Load balancer", lb.internal, args, reportViolation);
        }),
        validateResourceOfType(aws.elb.LoadBalancer, (lb, args, reportViolation) => {
            checkInternal("Classic load balancer", lb.internal, args, reportViolation);
        }),
    ],
};

export const endpointServiceLoadBalancersInternal: StackValidationPolicy = {
    name: "endpoint-service-nlb-internal",
    description: "Every Network Load Balancer behind a VPC endpoint service is internal; no config makes an exception.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["privatelink", "network-exposure"],
    remediationSteps:
        "Set internal: true on each load balancer in the endpoint service's networkLoadBalancerArns; PrivateLink " +
        "gives consumers a private path, so the NLB behind it never needs a public scheme.",
    validateStack: (args, reportViolation) => {
        const services = resourcesOfType(args.resources, aws.ec2.VpcEndpointService);
        if (services.length === 0) {
            args.notApplicable("Policy only applies to stacks with a VPC endpoint service");
        }
        const loadBalancers = resourcesOfType(args.resources, aws.lb.LoadBalancer, aws.alb.LoadBalancer);
        let unresolved: Error | undefined;
        for (const service of services) {
            const reference = referenceOf(service, "networkLoadBalancerArns", loadBalancers);
            unresolved ??= reference.unresolved;
            for (const lb of referencedTargets(reference, loadBalancers)) {
                const internal = peek(() => lb.props.internal as unknown);
                if (!internal.known) {
                    unresolved ??= internal.error;
                } else if (internal.value !== true) {
                    reportViolation(
                        `Load balancer '${lb.name}' behind endpoint service '${service.name}' is internet-facing; set internal: true on it, as PrivateLink needs no public scheme.`,
                        lb.urn,
                    );
                }
            }
        }
        // Load balancer ARNs that match nothing in this stack are managed elsewhere and are not judged here.
        if (unresolved) {
            throw unresolved;
        }
    },
};

export const nlbPrivateLinkInboundRulesEnforced: ResourceValidationPolicy = {
    name: "nlb-privatelink-inbound-rules-enforced",
    description:
        "Network Load Balancers keep enforceSecurityGroupInboundRulesOnPrivateLinkTraffic on, so their security group also filters traffic that arrives through PrivateLink.",
    enforcementLevel: "mandatory",
    severity: "high",
    tags: ["privatelink", "network-exposure"],
    remediationSteps:
        "Remove enforceSecurityGroupInboundRulesOnPrivateLinkTraffic or set it to \"on\", and admit the endpoint's traffic in the NLB's security group.",
    validateResource: [aws.lb.LoadBalancer, aws.alb.LoadBalancer].map((cls) =>
        validateResourceOfType(cls, (lb, args, reportViolation) => {
            if (String(lb.enforceSecurityGroupInboundRulesOnPrivateLinkTraffic ?? "on").toLowerCase() === "off") {
                reportViolation(
                    `Load balancer '${args.name}' has enforceSecurityGroupInboundRulesOnPrivateLinkTraffic "off", so PrivateLink traffic bypasses its security group; set it to "on".`,
                );
            }
        }),
    ),
};

interface PublicListenerException {
    port: number;
    loadBalancers: string[];
}

interface PublicListenerPortsConfig {
    publicListenerPorts: number[];
    allowedPublicListeners: PublicListenerException[];
}

const publicListenerPortsSchema: PolicyConfigSchema = {
    properties: {
        publicListenerPorts: portList(
            [22, 443],
            "Ports that any internet-facing load balancer may listen on: the SSH relay's SSH (22) and HTTPS (443).",
        ),
        allowedPublicListeners: {
            type: "array",
            default: [],
            description:
                "Further ports that only the named internet-facing load balancers (Pulumi resource names) may listen on, " +
                "e.g. [{ \"port\": 8443, \"loadBalancers\": [\"web-alb\"] }].",
            items: {
                type: "object",
                additionalProperties: false,
                required: ["port", "loadBalancers"],
                properties: {
                    port: portNumber(),
                    loadBalancers: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1, uniqueItems: true },
                },
            },
        },
    },
};

/**
 * Whether a load balancer of the stack faces the internet: `internal` not true (unset is
 * internet-facing), Gateway Load Balancers excepted (they have no scheme). Unknown when either
 * value that decides it is.
 */
function facesTheInternet(lb: PolicyResource): Peeked<boolean> {
    const internal = peek(() => lb.props.internal as unknown);
    if (!internal.known) {
        return internal;
    }
    if (internal.value === true) {
        return { known: true, value: false };
    }
    if (lb.isType(aws.elb.LoadBalancer)) {
        return { known: true, value: true };
    }
    const type = peek(() => lb.props.loadBalancerType as unknown);
    if (!type.known) {
        return type;
    }
    return { known: true, value: type.value !== "gateway" };
}

/** A listener port as a number, or undefined when absent (or not a port at all). */
function portOf(value: unknown): number | undefined {
    const port = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    return typeof port === "number" && Number.isInteger(port) ? port : undefined;
}

export const publicLoadBalancerListenerPorts: StackValidationPolicy = {
    name: "public-load-balancer-listener-ports",
    description:
        "Listeners of internet-facing load balancers (ALB/NLB listeners, classic ELB listeners) use only the ports configured as public (default 22 and 443), even on a load balancer allowed to be public and whatever ports other rules allow elsewhere in the stack.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["network-exposure"],
    remediationSteps:
        "Serve the port from an internal load balancer (the SSH relay's forwarded ports belong on its internal platform NLB, " +
        "which only the platform's VPC reaches), and remove the listener from the internet-facing one. A port that must be " +
        "public goes in publicListenerPorts (every internet-facing load balancer) or, for named load balancers only, in " +
        "allowedPublicListeners as { port, loadBalancers } in the policy pack config.",
    configSchema: publicListenerPortsSchema,
    validateStack: (args, reportViolation) => {
        const listeners = resourcesOfType(args.resources, aws.lb.Listener, aws.alb.Listener);
        const classics = resourcesOfType(args.resources, aws.elb.LoadBalancer);
        if (listeners.length === 0 && classics.length === 0) {
            args.notApplicable("Policy only applies to stacks with a load balancer listener");
        }
        const { publicListenerPorts, allowedPublicListeners } = configOf<PublicListenerPortsConfig>(publicListenerPortsSchema, args);
        const publicEverywhere = (port: number | undefined): boolean => port !== undefined && publicListenerPorts.includes(port);
        const allowed = (port: number | undefined, lb: string): boolean =>
            publicEverywhere(port) || allowedPublicListeners.some((e) => e.port === port && e.loadBalancers.includes(lb));
        const fix = (port: number | undefined, lb: string): string =>
            port === undefined
                ? `give it a port in publicListenerPorts (${publicListenerPorts.join(", ") || "none"}), or serve it from an internal load balancer`
                : `serve port ${port} from an internal load balancer instead (the platform's VPC reaches it there), or, if it must be public, add ${port} to publicListenerPorts (${publicListenerPorts.join(", ") || "none"}) or { "port": ${port}, "loadBalancers": ["${lb}"] } to allowedPublicListeners in this policy's config`;
        const where = (port: number | undefined): string => (port === undefined ? "without a port" : `on port ${port}`);
        const loadBalancers = resourcesOfType(args.resources, aws.lb.LoadBalancer, aws.alb.LoadBalancer);
        let unresolved: Error | undefined;

        for (const listener of listeners) {
            const port = peek(() => listener.props.port as unknown);
            // A port every public load balancer may use passes whatever the listener is attached to.
            if (port.known && publicEverywhere(portOf(port.value))) {
                continue;
            }
            const reference = referenceOf(listener, "loadBalancerArn", loadBalancers);
            unresolved ??= reference.unresolved;
            // A load balancer ARN that matches nothing in this stack is managed, and judged, elsewhere.
            for (const lb of referencedTargets(reference, loadBalancers)) {
                const facing = facesTheInternet(lb);
                if (!facing.known) {
                    unresolved ??= facing.error;
                } else if (!facing.value) {
                    continue;
                } else if (!port.known) {
                    unresolved ??= port.error;
                } else if (!allowed(portOf(port.value), lb.name)) {
                    const number = portOf(port.value);
                    reportViolation(
                        `Listener '${listener.name}' ${where(number)} of internet-facing load balancer '${lb.name}' puts that port on the internet; ${fix(number, lb.name)}.`,
                        listener.urn,
                    );
                }
            }
        }

        for (const lb of classics) {
            const listed = peek(() => lb.props.listeners as unknown);
            const ports: Peeked<number | undefined>[] = [];
            if (!listed.known) {
                ports.push(listed);
            } else if (Array.isArray(listed.value)) {
                const list = listed.value as unknown[];
                for (let index = 0; index < list.length; index++) {
                    const port = peek(() => {
                        const listener = list[index];
                        return listener !== null && typeof listener === "object" ? (listener as Record<string, unknown>).lbPort : undefined;
                    });
                    ports.push(port.known ? { known: true, value: portOf(port.value) } : port);
                }
            }
            const judged = ports.filter((port) => !port.known || !allowed(port.value, lb.name));
            if (judged.length === 0) {
                continue;
            }
            const facing = facesTheInternet(lb);
            if (!facing.known) {
                unresolved ??= facing.error;
                continue;
            }
            if (!facing.value) {
                continue;
            }
            for (const port of judged) {
                if (!port.known) {
                    unresolved ??= port.error;
                    continue;
                }
                reportViolation(
                    `Listener '${lb.name}:${port.value ?? "(none)"}' ${where(port.value)} of internet-facing classic load balancer '${lb.name}' puts that port on the internet; ${fix(port.value, lb.name)}.`,
                    lb.urn,
                );
            }
        }
        // Listeners on a load balancer that may face the internet, whose port, scheme or load
        // balancer is not known yet and that no dependency explains, yield the SDK's advisory.
        if (unresolved) {
            throw unresolved;
        }
    },
};

export const loadBalancerPolicies = [
    loadBalancerInternal,
    endpointServiceLoadBalancersInternal,
    nlbPrivateLinkInboundRulesEnforced,
    publicLoadBalancerListenerPorts,
];
