// Load balancers stay internal. The only expected internet-facing one is the SSH relay's NLB,
// and it is allowed only when the user lists it by name in the policy config.
import * as aws from "@pulumi/aws";
import {
    PolicyConfigSchema,
    ResourceValidationPolicy,
    StackValidationPolicy,
    validateResourceOfType,
} from "@pulumi/policy";
import { configOf, resourceNameList } from "./ruleConfig";
import { peek, referenceOf, referencedTargets, resourcesOfType } from "./references";

interface LoadBalancerInternalConfig {
    allowedPublicLoadBalancers: string[];
}

const loadBalancerInternalSchema: PolicyConfigSchema = {
    properties: {
        allowedPublicLoadBalancers: resourceNameList(
            "Pulumi resource names of load balancers that may be internet-facing, e.g. the SSH relay's NLB.",
        ),
    },
};

function checkInternal(
    kind: string,
    internal: boolean | undefined,
    args: { name: string; getConfig<T extends object>(): T },
    reportViolation: (message: string) => void,
): void {
    if (internal === true) {
        return;
    }
    const { allowedPublicLoadBalancers } = configOf<LoadBalancerInternalConfig>(loadBalancerInternalSchema, args);
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
    configSchema: loadBalancerInternalSchema,
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

export const loadBalancerPolicies = [loadBalancerInternal, endpointServiceLoadBalancersInternal, nlbPrivateLinkInboundRulesEnforced];
