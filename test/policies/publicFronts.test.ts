import * as assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import {
    noApiGatewayV2VpcLink,
    noCloudFrontVpcOrigin,
    noGlobalAcceleratorCrossAccountLoadBalancer,
    noGlobalAcceleratorToLoadBalancer,
} from "../../policies/publicFronts";
import {
    PropsOf,
    UNKNOWN,
    assertCannotRunDuringPreview,
    assertNoViolations,
    assertNotApplicable,
    assertViolation,
    plan,
    violationsOf,
} from "./helpers";

const nlbArn = "arn:aws:elasticloadbalancing:eu-west-1:444455556666:loadbalancer/net/svc/0123456789abcdef";
const albArn = "arn:aws:elasticloadbalancing:eu-west-1:444455556666:loadbalancer/app/web/0123456789abcdef";
const listenerArn = "arn:aws:globalaccelerator::444455556666:accelerator/1234/listener/abcd";

const internalNlbProps = { loadBalancerType: "network", internal: true, subnets: ["subnet-a"] } satisfies PropsOf<typeof aws.lb.LoadBalancer>;

/** An internal NLB of the stack; `arn` unknown as during a preview of a new NLB. */
const nlb = (name: string, arn: unknown = nlbArn) =>
    plan(aws.lb.LoadBalancer, name, internalNlbProps, { outputs: { ...internalNlbProps, arn, id: arn } });

describe("no-global-accelerator-to-load-balancer", () => {
    const policy = noGlobalAcceleratorToLoadBalancer;
    const group = (endpointIds: unknown[], propertyDependencies: Record<string, string[]> = {}, name = "edge") =>
        plan(
            aws.globalaccelerator.EndpointGroup,
            name,
            { listenerArn, endpointConfigurations: endpointIds.map((endpointId) => ({ endpointId, weight: 100 })) },
            { propertyDependencies },
        );

    it("refuses an endpoint group on an internal NLB of the stack (matched by ARN), naming the NLB and the fix", async () => {
        const violation = await assertViolation(
            policy,
            [nlb("svc-nlb"), group([nlbArn])],
            "Global Accelerator endpoint group 'edge' makes load balancer 'svc-nlb' reachable from the internet",
        );
        assert.ok(violation.message.includes("PrivateLink endpoint service"), violation.message);
        assert.ok(violation.message.includes("allowedEndpointGroups"), violation.message);
        assert.equal(violation.resourceName, "edge");
    });

    it("refuses a load balancer ARN of another stack or account", async () => {
        await assertViolation(policy, group([albArn]), `makes load balancer ${albArn} reachable`);
    });

    it("during preview, finds the NLB through propertyDependencies when its ARN is unknown", async () => {
        const newNlb = nlb("svc-nlb", UNKNOWN);
        await assertViolation(policy, [newNlb, group([UNKNOWN], { endpointConfigurations: [newNlb.urn] })], "load balancer 'svc-nlb'");
    });

    it("passes endpoint groups on EC2 instances and Elastic IPs, known or (from the stack) unknown", async () => {
        const instance = plan(aws.ec2.Instance, "web", { ami: "ami-1", instanceType: "t3.micro" }, { outputs: { id: UNKNOWN, arn: UNKNOWN } });
        const eip = plan(aws.ec2.Eip, "ip", { domain: "vpc" }, { outputs: { id: UNKNOWN } });
        await assertNoViolations(policy, [group(["i-0123456789abcdef0", "eipalloc-0123456789abcdef0"])]);
        await assertNoViolations(policy, [instance, eip, group([UNKNOWN, UNKNOWN], { endpointConfigurations: [instance.urn, eip.urn] })]);
    });

    it("refuses only the load balancer among other endpoints", async () => {
        const violations = await violationsOf(policy, [nlb("svc-nlb"), group(["i-0123456789abcdef0", nlbArn])]);
        assert.equal(violations.length, 1);
        assert.ok(violations[0]!.message.includes("'svc-nlb'"));
    });

    it("passes an endpoint group listed in allowedEndpointGroups, and still refuses others", async () => {
        const config = { "no-global-accelerator-to-load-balancer": { allowedEndpointGroups: ["edge"] } };
        await assertNoViolations(policy, [nlb("svc-nlb"), group([nlbArn])], { config });
        await assertViolation(policy, [nlb("svc-nlb"), group([nlbArn], {}, "other")], "'other'", { config });
    });

    it("cannot decide during preview when an endpoint ID is unknown and no dependency explains it", async () => {
        await assertCannotRunDuringPreview(policy, group([UNKNOWN]), ".endpointConfigurations.0.endpointId");
    });

    it("is not applicable to a stack without endpoint groups", async () => {
        await assertNotApplicable(policy, [nlb("svc-nlb")]);
    });
});

describe("no-global-accelerator-cross-account-load-balancer", () => {
    const policy = noGlobalAcceleratorCrossAccountLoadBalancer;
    const otherAccount = "999988887777";
    const attachment = (
        resources: Array<Record<string, unknown>>,
        propertyDependencies: Record<string, string[]> = {},
        name = "share-nlb",
        principals: unknown[] = [otherAccount],
    ) =>
        plan(
            aws.globalaccelerator.CrossAccountAttachment,
            name,
            { name, principals, resources },
            { propertyDependencies },
        );

    it("refuses an attachment that shares an internal NLB of the stack with another account, naming the NLB, the account and the fix", async () => {
        const violation = await assertViolation(
            policy,
            [nlb("svc-nlb"), attachment([{ endpointId: nlbArn, region: "eu-west-1" }])],
            `Global Accelerator cross-account attachment 'share-nlb' lets the accelerators of ${otherAccount} make load balancer 'svc-nlb' reachable from the internet`,
        );
        assert.ok(violation.message.includes("PrivateLink endpoint service"), violation.message);
        assert.ok(violation.message.includes("allowedCrossAccountAttachments"), violation.message);
        assert.equal(violation.resourceName, "share-nlb");
    });

    it("refuses any load balancer ARN, whatever the principals (an accelerator ARN, or none yet)", async () => {
        const acceleratorArn = `arn:aws:globalaccelerator::${otherAccount}:accelerator/1234abcd`;
        await assertViolation(policy, attachment([{ endpointId: albArn }], {}, "share-alb", [acceleratorArn]), `lets the accelerators of ${acceleratorArn} make load balancer ${albArn} reachable`);
        await assertViolation(policy, attachment([{ endpointId: albArn }], {}, "share-alb", []), `make load balancer ${albArn} reachable`);
    });

    it("during preview, finds the NLB through propertyDependencies when its ARN is unknown", async () => {
        const newNlb = nlb("svc-nlb", UNKNOWN);
        await assertViolation(policy, [newNlb, attachment([{ endpointId: UNKNOWN }], { resources: [newNlb.urn] })], "load balancer 'svc-nlb'");
    });

    it("passes attachments of EC2 instances, Elastic IPs and BYOIP address pools", async () => {
        await assertNoViolations(policy, attachment([{ endpointId: "i-0123456789abcdef0", region: "eu-west-1" }, { endpointId: "eipalloc-0123456789abcdef0" }, { cidrBlock: "198.51.100.0/24" }]));
    });

    it("passes an attachment listed in allowedCrossAccountAttachments, and still refuses others", async () => {
        const config = { "no-global-accelerator-cross-account-load-balancer": { allowedCrossAccountAttachments: ["share-nlb"] } };
        await assertNoViolations(policy, [nlb("svc-nlb"), attachment([{ endpointId: nlbArn }])], { config });
        await assertViolation(policy, [nlb("svc-nlb"), attachment([{ endpointId: nlbArn }], {}, "other")], "'other'", { config });
    });

    it("cannot decide during preview when an endpoint ID is unknown and no dependency explains it", async () => {
        await assertCannotRunDuringPreview(policy, attachment([{ endpointId: UNKNOWN }]), ".resources.0.endpointId");
    });

    it("is not applicable to a stack without cross-account attachments (an endpoint group is the other rule's business)", async () => {
        await assertNotApplicable(policy, [nlb("svc-nlb")]);
    });
});

describe("no-cloudfront-vpc-origin", () => {
    const policy = noCloudFrontVpcOrigin;
    const origin = (arn: unknown, propertyDependencies: Record<string, string[]> = {}, name = "web-origin") =>
        plan(
            aws.cloudfront.VpcOrigin,
            name,
            {
                vpcOriginEndpointConfig: {
                    name: "web",
                    arn,
                    httpPort: 80,
                    httpsPort: 443,
                    originProtocolPolicy: "https-only",
                    originSslProtocols: { items: ["TLSv1.2"], quantity: 1 },
                },
            },
            { propertyDependencies },
        );

    it("refuses a VPC origin on an internal ALB of the stack, naming it and the fix", async () => {
        const alb = plan(aws.lb.LoadBalancer, "web-alb", { loadBalancerType: "application", internal: true }, { outputs: { internal: true, arn: albArn } });
        const violation = await assertViolation(
            policy,
            [alb, origin(albArn)],
            "CloudFront VPC origin 'web-origin' makes load balancer 'web-alb' reachable from the internet through CloudFront",
        );
        assert.ok(violation.message.includes("PrivateLink endpoint service"), violation.message);
        assert.ok(violation.message.includes("allowedVpcOrigins"), violation.message);
    });

    it("refuses a load balancer ARN outside the stack", async () => {
        await assertViolation(policy, origin(nlbArn), `makes load balancer ${nlbArn} reachable`);
    });

    it("during preview, finds the NLB through propertyDependencies when its ARN is unknown", async () => {
        const newNlb = nlb("svc-nlb", UNKNOWN);
        await assertViolation(policy, [newNlb, origin(UNKNOWN, { vpcOriginEndpointConfig: [newNlb.urn] })], "load balancer 'svc-nlb'");
    });

    it("passes a VPC origin on an EC2 instance (out of scope: no load balancer)", async () => {
        await assertNoViolations(policy, origin("arn:aws:ec2:eu-west-1:444455556666:instance/i-0123456789abcdef0"));
    });

    it("is not applicable to a distribution with a normal S3 or custom origin", async () => {
        const distribution = plan(aws.cloudfront.Distribution, "cdn", {
            enabled: true,
            origins: [
                { originId: "s3", domainName: "bucket.s3.eu-west-1.amazonaws.com" },
                { originId: "web", domainName: "www.example.com", customOriginConfig: { httpPort: 80, httpsPort: 443, originProtocolPolicy: "https-only", originSslProtocols: ["TLSv1.2"] } },
            ],
            defaultCacheBehavior: { allowedMethods: ["GET", "HEAD"], cachedMethods: ["GET", "HEAD"], targetOriginId: "s3", viewerProtocolPolicy: "https-only" },
            restrictions: { geoRestriction: { restrictionType: "none" } },
            viewerCertificate: { cloudfrontDefaultCertificate: true },
        });
        await assertNotApplicable(policy, [distribution]);
    });

    it("passes a VPC origin listed in allowedVpcOrigins", async () => {
        await assertNoViolations(policy, origin(nlbArn), { config: { "no-cloudfront-vpc-origin": { allowedVpcOrigins: ["web-origin"] } } });
    });

    it("cannot decide during preview when the origin ARN is unknown and no dependency explains it", async () => {
        await assertCannotRunDuringPreview(policy, origin(UNKNOWN), ".vpcOriginEndpointConfig.arn");
    });
});

describe("no-apigatewayv2-vpc-link", () => {
    const policy = noApiGatewayV2VpcLink;
    const link = plan(aws.apigatewayv2.VpcLink, "http-link", { securityGroupIds: ["sg-1"], subnetIds: ["subnet-a"] });
    const integration = (props: Record<string, unknown>, name = "to-nlb") =>
        plan(aws.apigatewayv2.Integration, name, { apiId: "a1b2c3", integrationType: "HTTP_PROXY", integrationMethod: "ANY", ...props });

    it("refuses a VPC link, naming it, what it exposes and the fix", async () => {
        const violation = await assertViolation(policy, link, "API Gateway v2 VPC link 'http-link' lets a public HTTP API reach private targets");
        assert.ok(violation.message.includes("PRIVATE REST API"), violation.message);
        assert.ok(violation.message.includes("allowedVpcLinks"), violation.message);
    });

    it("refuses a VPC_LINK integration, even when its link is outside the stack", async () => {
        await assertViolation(
            policy,
            integration({ connectionType: "VPC_LINK", connectionId: "vpclink-1", integrationUri: nlbArn.replace("loadbalancer", "listener") + "/1" }),
            "API Gateway v2 integration 'to-nlb' has connectionType \"VPC_LINK\"",
        );
    });

    it("refuses a VPC_LINK integration whose link and target are unknown during preview (the connection type decides)", async () => {
        await assertViolation(policy, integration({ connectionType: "VPC_LINK", connectionId: UNKNOWN, integrationUri: UNKNOWN }), "'to-nlb'");
    });

    it("passes internet integrations (explicit or unset) and Lambda proxies", async () => {
        await assertNoViolations(policy, [
            integration({ connectionType: "INTERNET", integrationUri: "https://example.com" }, "internet"),
            integration({ integrationUri: "https://example.com" }, "default"),
            integration({ integrationType: "AWS_PROXY", integrationUri: "arn:aws:lambda:eu-west-1:444455556666:function:f" }, "lambda"),
        ]);
    });

    it("passes a REST (v1) VPC link, which the private-API rules cover", async () => {
        await assertNoViolations(policy, plan(aws.apigateway.VpcLink, "rest-link", { targetArn: nlbArn }));
    });

    it("passes resources listed in allowedVpcLinks", async () => {
        const config = { "no-apigatewayv2-vpc-link": { allowedVpcLinks: ["http-link", "to-nlb"] } };
        await assertNoViolations(policy, [link, integration({ connectionType: "VPC_LINK", connectionId: "vpclink-1" })], { config });
    });

    it("cannot decide during preview when the connection type is unknown", async () => {
        await assertCannotRunDuringPreview(policy, integration({ connectionType: UNKNOWN }), ".connectionType");
    });
});
