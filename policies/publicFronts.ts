// Public fronts: AWS services that put an internet-facing address in front of a private load
// balancer. An internal NLB/ALB (the one PrivateLink keeps private) is reachable from the internet
// as soon as a Global Accelerator endpoint group, a CloudFront VPC origin or an API Gateway v2
// (HTTP API) VPC link points at it, and AWS accepts all three. A Global Accelerator cross-account
// attachment does the same from the load balancer's side: it lets another account's accelerator
// take the load balancer as an endpoint, and that account's endpoint group is in a stack this pack
// never sees, so the attachment is the only place to refuse it. Each is refused unless its Pulumi
// resource name is listed in the rule's config.
import * as aws from "@pulumi/aws";
import {
    PolicyResource,
    ResourceValidationPolicy,
    StackValidationPolicy,
    validateResourceOfType,
} from "@pulumi/policy";
import { peek, referenceOf, resourcesOfType } from "./references";
import { nameExceptions } from "./ruleConfig";

/** An Elastic Load Balancing load balancer ARN (ALB, NLB, or classic), in any partition. */
const LOAD_BALANCER_ARN = /^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:loadbalancer\//;

export function isLoadBalancerArn(value: string): boolean {
    return LOAD_BALANCER_ARN.test(value);
}

interface ExposedLoadBalancers {
    /** How each load balancer reached is named in a message: `'<resource name>'` in this stack, else its ARN. */
    exposed: string[];
    /** Set when part of the reference is unknown and no resource of the stack explains it. */
    unresolved?: Error;
}

/**
 * The load balancers that `resource.props[property]` (through `pick`) points at: those of the stack
 * (by known ARN or, during a preview, by `propertyDependencies`) and any other load balancer ARN.
 * EC2 instances and Elastic IPs of the stack also explain an unknown value, so an endpoint group
 * on an instance gets a verdict (passed) during a preview instead of the advisory.
 */
function loadBalancersReached(
    resource: PolicyResource,
    property: string,
    resources: readonly PolicyResource[],
    pick: (element: Record<string, unknown>) => unknown,
): ExposedLoadBalancers {
    const loadBalancers = resourcesOfType(resources, aws.lb.LoadBalancer, aws.alb.LoadBalancer, aws.elb.LoadBalancer);
    const others = resourcesOfType(resources, aws.ec2.Instance, aws.ec2.Eip);
    const reference = referenceOf(resource, property, [...loadBalancers, ...others], pick);
    const exposed: string[] = [];
    for (const identity of reference.identities) {
        const inStack = loadBalancers.find((lb) => identity.has(`urn:${lb.urn}`));
        if (inStack) {
            exposed.push(`load balancer '${inStack.name}'`);
            continue;
        }
        const arn = [...identity].find((key) => key.startsWith("value:") && isLoadBalancerArn(key.slice("value:".length)));
        if (arn) {
            exposed.push(`load balancer ${arn.slice("value:".length)}`);
        }
    }
    return { exposed, unresolved: reference.unresolved };
}

/** Reports the exposures of every resource of one type not listed in the rule's config, then rethrows an unknown. */
function judgeFronts(
    reportViolation: (message: string, urn?: string) => void,
    fronts: readonly PolicyResource[],
    allowed: readonly string[],
    find: (front: PolicyResource) => ExposedLoadBalancers,
    message: (front: PolicyResource, exposed: string) => string,
): void {
    let unresolved: Error | undefined;
    for (const front of fronts) {
        if (allowed.includes(front.name)) {
            continue;
        }
        const reached = find(front);
        unresolved ??= reached.unresolved;
        if (reached.exposed.length > 0) {
            reportViolation(message(front, reached.exposed.join(", ")), front.urn);
        }
    }
    // A load balancer ARN, an EC2 instance or an EIP decides; an unknown ID that came from none of
    // them cannot be judged yet, and yields the SDK's advisory.
    if (unresolved) {
        throw unresolved;
    }
}

const endpointGroupExceptions = nameExceptions(
    "allowedEndpointGroups",
    "Pulumi resource names of Global Accelerator endpoint groups that may front a load balancer.",
);

export const noGlobalAcceleratorToLoadBalancer: StackValidationPolicy = {
    name: "no-global-accelerator-to-load-balancer",
    description:
        "No Global Accelerator endpoint group has a load balancer as an endpoint: the accelerator's public anycast IPs reach internal ALBs and NLBs too.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["privatelink", "network-exposure"],
    remediationSteps:
        "Remove the load balancer from the endpoint group's endpointConfigurations and give consumers a PrivateLink " +
        "endpoint service (aws.ec2.VpcEndpointService) on the internal NLB instead. An accelerator that must front a " +
        "load balancer goes in allowedEndpointGroups (the endpoint group's Pulumi resource name).",
    configSchema: endpointGroupExceptions.schema,
    validateStack: (args, reportViolation) => {
        const groups = resourcesOfType(args.resources, aws.globalaccelerator.EndpointGroup);
        if (groups.length === 0) {
            args.notApplicable("Policy only applies to stacks with a Global Accelerator endpoint group");
        }
        const allowedEndpointGroups = endpointGroupExceptions.listed(args);
        judgeFronts(
            reportViolation,
            groups,
            allowedEndpointGroups,
            (group) => loadBalancersReached(group, "endpointConfigurations", args.resources, (c) => c.endpointId),
            (group, exposed) =>
                `Global Accelerator endpoint group '${group.name}' makes ${exposed} reachable from the internet through the accelerator's public IPs, internal or not; remove it from endpointConfigurations and publish the service through a PrivateLink endpoint service, or list '${group.name}' under allowedEndpointGroups in this policy's config.`,
        );
    },
};

const attachmentExceptions = nameExceptions(
    "allowedCrossAccountAttachments",
    "Pulumi resource names of Global Accelerator cross-account attachments that may share a load balancer with other accounts' accelerators.",
);

/** The principals of an attachment as a message shows them, or undefined when they are not known yet. */
function principalsOf(attachment: PolicyResource): string | undefined {
    const principals = peek(() => attachment.props.principals as unknown);
    if (!principals.known || !Array.isArray(principals.value)) {
        return undefined;
    }
    const list = principals.value as unknown[];
    const named = list.map((_, index) => peek(() => list[index])).map((p) => (p.known && typeof p.value === "string" ? p.value : "(unknown)"));
    return named.length > 0 ? named.join(", ") : undefined;
}

export const noGlobalAcceleratorCrossAccountLoadBalancer: StackValidationPolicy = {
    name: "no-global-accelerator-cross-account-load-balancer",
    description:
        "No Global Accelerator cross-account attachment lists a load balancer among its resources: it lets other accounts' accelerators put their public anycast IPs in front of it, internal or not.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["privatelink", "network-exposure"],
    remediationSteps:
        "Remove the load balancer from the aws.globalaccelerator.CrossAccountAttachment's resources (or delete the attachment) " +
        "and give the other account a PrivateLink endpoint service (aws.ec2.VpcEndpointService, its account in allowedPrincipals) " +
        "on the internal NLB instead. An attachment that must share a load balancer goes in allowedCrossAccountAttachments " +
        "(the attachment's Pulumi resource name).",
    configSchema: attachmentExceptions.schema,
    validateStack: (args, reportViolation) => {
        const attachments = resourcesOfType(args.resources, aws.globalaccelerator.CrossAccountAttachment);
        if (attachments.length === 0) {
            args.notApplicable("Policy only applies to stacks with a Global Accelerator cross-account attachment");
        }
        const allowedCrossAccountAttachments = attachmentExceptions.listed(args);
        judgeFronts(
            reportViolation,
            attachments,
            allowedCrossAccountAttachments,
            // CIDR resources (BYOIP address pools) have no endpointId and reach nothing in a VPC.
            (attachment) => loadBalancersReached(attachment, "resources", args.resources, (r) => r.endpointId),
            (attachment, exposed) => {
                const principals = principalsOf(attachment);
                const who = principals ? `the accelerators of ${principals}` : "accelerators of the accounts it names";
                return `Global Accelerator cross-account attachment '${attachment.name}' lets ${who} make ${exposed} reachable from the internet through their public IPs, internal or not; remove it from the attachment's resources and give the other account a PrivateLink endpoint service, or list '${attachment.name}' under allowedCrossAccountAttachments in this policy's config.`;
            },
        );
    },
};

const vpcOriginExceptions = nameExceptions(
    "allowedVpcOrigins",
    "Pulumi resource names of CloudFront VPC origins that may front a load balancer.",
);

export const noCloudFrontVpcOrigin: StackValidationPolicy = {
    name: "no-cloudfront-vpc-origin",
    description:
        "No CloudFront VPC origin points at a load balancer: a VPC origin exists to serve an internal ALB or NLB to the internet through CloudFront.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["privatelink", "network-exposure"],
    remediationSteps:
        "Delete the aws.cloudfront.VpcOrigin and give consumers a PrivateLink endpoint service on the internal NLB " +
        "(or a PRIVATE REST API). A distribution that must serve the load balancer publicly goes in allowedVpcOrigins " +
        "(the VPC origin's Pulumi resource name).",
    configSchema: vpcOriginExceptions.schema,
    validateStack: (args, reportViolation) => {
        const origins = resourcesOfType(args.resources, aws.cloudfront.VpcOrigin);
        if (origins.length === 0) {
            args.notApplicable("Policy only applies to stacks with a CloudFront VPC origin");
        }
        const allowedVpcOrigins = vpcOriginExceptions.listed(args);
        judgeFronts(
            reportViolation,
            origins,
            allowedVpcOrigins,
            (origin) => loadBalancersReached(origin, "vpcOriginEndpointConfig", args.resources, (c) => c.arn),
            (origin, exposed) =>
                `CloudFront VPC origin '${origin.name}' makes ${exposed} reachable from the internet through CloudFront, internal or not; delete the VPC origin and publish the service through a PrivateLink endpoint service, or list '${origin.name}' under allowedVpcOrigins in this policy's config.`,
        );
    },
};

const vpcLinkExceptions = nameExceptions(
    "allowedVpcLinks",
    "Pulumi resource names of aws.apigatewayv2.VpcLink and VPC_LINK aws.apigatewayv2.Integration resources that may publish private targets.",
);

const vpcLinkFix =
    "HTTP and WebSocket APIs have no private endpoint type; serve the target through a PrivateLink endpoint service, or a PRIVATE REST API (aws.apigateway) with an aws.apigateway.VpcLink";

export const noApiGatewayV2VpcLink: ResourceValidationPolicy = {
    name: "no-apigatewayv2-vpc-link",
    description:
        "No API Gateway v2 VPC link or VPC_LINK integration: HTTP APIs are always public, so a VPC link publishes internal load balancer listeners and Cloud Map services on the internet.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["privatelink", "network-exposure"],
    remediationSteps:
        "Remove the aws.apigatewayv2.VpcLink and the integrations with connectionType \"VPC_LINK\". Publish the service " +
        "through a PrivateLink endpoint service, or a PRIVATE REST API (aws.apigateway.RestApi with an " +
        "aws.apigateway.VpcLink), which apigateway-rest-api-private and apigateway-private-api-resource-policy judge. " +
        "A deliberate exception goes in allowedVpcLinks (the Pulumi resource name of the link or integration).",
    configSchema: vpcLinkExceptions.schema,
    validateResource: [
        validateResourceOfType(aws.apigatewayv2.VpcLink, (_link, args, reportViolation) => {
            const allowedVpcLinks = vpcLinkExceptions.listed(args);
            if (!allowedVpcLinks.includes(args.name)) {
                reportViolation(
                    `API Gateway v2 VPC link '${args.name}' lets a public HTTP API reach private targets in its subnets (internal load balancer listeners, Cloud Map services); ${vpcLinkFix}, or list '${args.name}' under allowedVpcLinks in this policy's config.`,
                );
            }
        }),
        validateResourceOfType(aws.apigatewayv2.Integration, (integration, args, reportViolation) => {
            if (String(integration.connectionType ?? "INTERNET").toUpperCase() !== "VPC_LINK") {
                return;
            }
            const allowedVpcLinks = vpcLinkExceptions.listed(args);
            if (!allowedVpcLinks.includes(args.name)) {
                reportViolation(
                    `API Gateway v2 integration '${args.name}' has connectionType "VPC_LINK" and publishes its private target (an internal load balancer listener or Cloud Map service) on a public API; ${vpcLinkFix}, or list '${args.name}' under allowedVpcLinks in this policy's config.`,
                );
            }
        }),
    ],
};

export const publicFrontPolicies = [
    noGlobalAcceleratorToLoadBalancer,
    noGlobalAcceleratorCrossAccountLoadBalancer,
    noCloudFrontVpcOrigin,
    noApiGatewayV2VpcLink,
];
