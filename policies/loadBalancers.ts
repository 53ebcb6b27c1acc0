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

/** A port excepted for the named load balancers only (Pulumi resource names): `{ port, loadBalancers }`. */
const PORT_FOR_LOAD_BALANCERS: PolicyConfigSchema["properties"][string] = {
    type: "object",
    additionalProperties: false,
    required: ["port", "loadBalancers"],
    properties: {
        port: portNumber(),
        loadBalancers: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1, uniqueItems: true },
    },
};

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
            items: PORT_FOR_LOAD_BALANCERS,
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

/**
 * The stack's ALB/NLB listeners and classic load balancers (whose listeners are inline); a stack
 * with neither is not one the listener rules apply to.
 */
function listenersOf(args: { resources: readonly PolicyResource[]; notApplicable(reason?: string): never }): { listeners: PolicyResource[]; classics: PolicyResource[] } {
    const listeners = resourcesOfType(args.resources, aws.lb.Listener, aws.alb.Listener);
    const classics = resourcesOfType(args.resources, aws.elb.LoadBalancer);
    if (listeners.length === 0 && classics.length === 0) {
        args.notApplicable("Policy only applies to stacks with a load balancer listener");
    }
    return { listeners, classics };
}

/**
 * Judges the inline listeners of classic load balancer `lb` by their `field` port: when it faces
 * the internet, `report` each port that `refused` refuses. Returns the first unknown value that
 * stops a verdict (its scheme, the listeners, or a port that would need judging).
 */
function judgeClassicListeners(
    lb: PolicyResource,
    field: "lbPort" | "instancePort",
    refused: (port: number | undefined) => boolean,
    report: (port: number | undefined) => void,
): Error | undefined {
    const listed = peek(() => lb.props.listeners as unknown);
    const ports: Peeked<number | undefined>[] = [];
    if (!listed.known) {
        ports.push(listed);
    } else if (Array.isArray(listed.value)) {
        const list = listed.value as unknown[];
        for (let index = 0; index < list.length; index++) {
            const port = peek(() => {
                const listener = list[index];
                return listener !== null && typeof listener === "object" ? (listener as Record<string, unknown>)[field] : undefined;
            });
            ports.push(port.known ? { known: true, value: portOf(port.value) } : port);
        }
    }
    const judged = ports.filter((port) => !port.known || refused(port.value));
    if (judged.length === 0) {
        return undefined;
    }
    const facing = facesTheInternet(lb);
    if (!facing.known) {
        return facing.error;
    }
    if (!facing.value) {
        return undefined;
    }
    let unresolved: Error | undefined;
    for (const port of judged) {
        if (!port.known) {
            unresolved ??= port.error;
        } else {
            report(port.value);
        }
    }
    return unresolved;
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
        const { listeners, classics } = listenersOf(args);
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
            unresolved ??= judgeClassicListeners(
                lb,
                "lbPort",
                (port) => !allowed(port, lb.name),
                (port) =>
                    reportViolation(
                        `Listener '${lb.name}:${port ?? "(none)"}' ${where(port)} of internet-facing classic load balancer '${lb.name}' puts that port on the internet; ${fix(port, lb.name)}.`,
                        lb.urn,
                    ),
            );
        }
        // Listeners on a load balancer that may face the internet, whose port, scheme or load
        // balancer is not known yet and that no dependency explains, yield the SDK's advisory.
        if (unresolved) {
            throw unresolved;
        }
    },
};

interface PublicTargetPortsConfig {
    publicTargetPorts: number[];
    allowedPublicTargets: PublicListenerException[];
}

const publicTargetPortsSchema: PolicyConfigSchema = {
    properties: {
        publicTargetPorts: portList(
            [22, 443],
            "Ports that the targets behind any internet-facing load balancer's listener may be reached on: the SSH relay's SSH (22) and HTTPS (443).",
        ),
        allowedPublicTargets: {
            type: "array",
            default: [],
            description:
                "Further target ports that only the named internet-facing load balancers (Pulumi resource names) may forward to, " +
                "e.g. [{ \"port\": 8080, \"loadBalancers\": [\"web-alb\"] }].",
            items: PORT_FOR_LOAD_BALANCERS,
        },
    },
};

/**
 * The target group ARNs of a listener's `defaultActions` or a listener rule's `actions` element:
 * `targetGroupArn`, and each `forward.targetGroups[].arn` (weighted forwarding).
 */
function targetGroupArnsOfAction(action: Record<string, unknown>): unknown[] {
    const arns: unknown[] = [];
    if (action.targetGroupArn !== undefined && action.targetGroupArn !== null) {
        arns.push(action.targetGroupArn);
    }
    const forward = action.forward;
    if (forward !== undefined && forward !== null && typeof forward === "object") {
        const groups = (forward as Record<string, unknown>).targetGroups;
        if (Array.isArray(groups)) {
            for (const group of groups as unknown[]) {
                if (group !== null && typeof group === "object") {
                    arns.push((group as Record<string, unknown>).arn);
                }
            }
        }
    }
    return arns;
}

export const publicLoadBalancerTargetPorts: StackValidationPolicy = {
    name: "public-load-balancer-target-ports",
    description:
        "What listeners of internet-facing load balancers forward to is reached on a port configured as public (default 22 and 443): " +
        "the target group's port, or an attachment's own port. A listener on 443 of the SSH relay's public NLB forwarding to a " +
        "customer's tunnel port would put that customer's private service on the internet.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["network-exposure"],
    remediationSteps:
        "Point the public listener at a target group on a public port (the relay's SSH, 22), and reach the SSH relay's forwarded " +
        "ports through its internal platform NLB only. A target port that an internet-facing load balancer must forward to " +
        "(an ALB's application port) goes in publicTargetPorts (every internet-facing load balancer) or, for named load " +
        "balancers only, in allowedPublicTargets as { port, loadBalancers } in the policy pack config.",
    configSchema: publicTargetPortsSchema,
    validateStack: (args, reportViolation) => {
        const { listeners, classics } = listenersOf(args);
        const { publicTargetPorts, allowedPublicTargets } = configOf<PublicTargetPortsConfig>(publicTargetPortsSchema, args);
        const allowed = (port: number, lb: string): boolean =>
            publicTargetPorts.includes(port) || allowedPublicTargets.some((e) => e.port === port && e.loadBalancers.includes(lb));
        const fix = (port: number, lb: string): string =>
            `forward it to a target group on ${publicTargetPorts.join(" or ") || "a public port"} instead and reach port ${port} ` +
            `through an internal load balancer (the SSH relay's forwarded ports belong on its internal platform NLB), or, if it must ` +
            `be reached from the internet, add ${port} to publicTargetPorts (${publicTargetPorts.join(", ") || "none"}) or ` +
            `{ "port": ${port}, "loadBalancers": ["${lb}"] } to allowedPublicTargets in this policy's config`;
        const loadBalancers = resourcesOfType(args.resources, aws.lb.LoadBalancer, aws.alb.LoadBalancer);
        const targetGroups = resourcesOfType(args.resources, aws.lb.TargetGroup, aws.alb.TargetGroup);
        const attachments = resourcesOfType(args.resources, aws.lb.TargetGroupAttachment, aws.alb.TargetGroupAttachment);
        const rules = resourcesOfType(args.resources, aws.lb.ListenerRule, aws.alb.ListenerRule);
        // What each listener rule and each attachment points at, worked out once for every listener and group.
        const rulesOn = rules.map((rule) => ({ rule, on: referenceOf(rule, "listenerArn", listeners) }));
        const attachedTo = attachments.map((attachment) => ({ attachment, to: referenceOf(attachment, "targetGroupArn", targetGroups) }));
        let unresolved: Error | undefined;

        /** Judges the target groups `reference` reaches, on behalf of `front` (a listener or listener rule) of `lb`. */
        const judgeTargets = (front: PolicyResource, lb: PolicyResource, property: string): void => {
            const reference = referenceOf(front, property, targetGroups, targetGroupArnsOfAction);
            unresolved ??= reference.unresolved;
            // A target group ARN that matches nothing in this stack is managed, and judged, elsewhere.
            for (const group of referencedTargets(reference, targetGroups)) {
                const targetType = peek(() => group.props.targetType as unknown);
                if (!targetType.known) {
                    unresolved ??= targetType.error;
                    continue;
                }
                // Lambda targets have no port; an ALB target is that ALB's listener, judged as its own load balancer.
                if (targetType.value === "lambda" || targetType.value === "alb") {
                    continue;
                }
                const ports: { port: Peeked<unknown>; via: string }[] = [{ port: peek(() => group.props.port as unknown), via: "" }];
                for (const { attachment, to } of attachedTo) {
                    const own = peek(() => attachment.props.port as unknown);
                    if (own.known && (own.value === undefined || own.value === null)) {
                        continue; // no port of its own: the group's is judged
                    }
                    if (to.keys.has(`urn:${group.urn}`)) {
                        ports.push({ port: own, via: ` through attachment '${attachment.name}'` });
                    } else {
                        // Its group is not known yet: it may be this one, with a port of its own.
                        unresolved ??= to.unresolved;
                    }
                }
                for (const { port, via } of ports) {
                    if (!port.known) {
                        unresolved ??= port.error;
                        continue;
                    }
                    const number = portOf(port.value);
                    if (number !== undefined && !allowed(number, lb.name)) {
                        const what = front.isType(aws.lb.ListenerRule) || front.isType(aws.alb.ListenerRule) ? "Listener rule" : "Listener";
                        reportViolation(
                            `${what} '${front.name}' of internet-facing load balancer '${lb.name}' forwards to target group '${group.name}' on port ${number}${via}, which puts that port on the internet; ${fix(number, lb.name)}.`,
                            front.urn,
                        );
                    }
                }
            }
        };

        for (const listener of listeners) {
            const reference = referenceOf(listener, "loadBalancerArn", loadBalancers);
            unresolved ??= reference.unresolved;
            for (const lb of referencedTargets(reference, loadBalancers)) {
                const facing = facesTheInternet(lb);
                if (!facing.known) {
                    unresolved ??= facing.error;
                    continue;
                }
                if (!facing.value) {
                    continue;
                }
                judgeTargets(listener, lb, "defaultActions");
                for (const { rule, on } of rulesOn) {
                    unresolved ??= on.unresolved;
                    if (on.keys.has(`urn:${listener.urn}`)) {
                        judgeTargets(rule, lb, "actions");
                    }
                }
            }
        }

        for (const lb of classics) {
            unresolved ??= judgeClassicListeners(
                lb,
                "instancePort",
                (port) => port !== undefined && !allowed(port, lb.name),
                (port) =>
                    reportViolation(
                        `Classic load balancer '${lb.name}' is internet-facing and forwards to instance port ${port}, which puts that port on the internet; ${fix(port!, lb.name)}.`,
                        lb.urn,
                    ),
            );
        }
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
    publicLoadBalancerTargetPorts,
];
