import * as assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import { endpointServiceAcceptanceRequired, endpointServiceAllowedPrincipals } from "../../policies/endpointServices";
import {
    PropsOf,
    UNKNOWN,
    assertCannotRunDuringPreview,
    assertNoViolations,
    assertViolation,
    plan,
    violationsOf,
} from "./helpers";

const platformRoot = "arn:aws:iam::111122223333:root";

const compliantService = {
    acceptanceRequired: true,
    allowedPrincipals: [platformRoot],
    networkLoadBalancerArns: ["arn:aws:elasticloadbalancing:eu-west-1:444455556666:loadbalancer/net/svc/0123456789abcdef"],
} satisfies PropsOf<typeof aws.ec2.VpcEndpointService>;

const service = (props: Record<string, unknown>) => plan(aws.ec2.VpcEndpointService, "svc", props);
const permission = (principalArn: unknown) =>
    plan(aws.ec2.VpcEndpointServiceAllowedPrinciple, "svc-platform", { vpcEndpointServiceId: "vpce-svc-0123", principalArn });

describe("endpoint-service-acceptance-required", () => {
    const policy = endpointServiceAcceptanceRequired;

    it("passes a service that requires acceptance", async () => {
        await assertNoViolations(policy, service(compliantService));
    });

    it("refuses a service that accepts connections automatically", async () => {
        await assertViolation(policy, service({ ...compliantService, acceptanceRequired: false }), "set acceptanceRequired: true");
    });

    it("refuses a service that leaves acceptanceRequired unset", async () => {
        const { acceptanceRequired: _, ...props } = compliantService;
        await assertViolation(policy, service(props), "Endpoint service 'svc' accepts endpoint connections automatically");
    });

    it("cannot decide during preview when acceptanceRequired is unknown", async () => {
        await assertCannotRunDuringPreview(policy, service({ ...compliantService, acceptanceRequired: UNKNOWN }), ".acceptanceRequired");
    });

    it("ignores resources of other types", async () => {
        await assertNoViolations(policy, plan(aws.ec2.Vpc, "vpc", { cidrBlock: "10.0.0.0/16" }));
    });
});

describe("endpoint-service-allowed-principals", () => {
    const policy = endpointServiceAllowedPrincipals;
    const onlyPlatform = { "endpoint-service-allowed-principals": { allowedAccountIds: ["111122223333"] } };

    it("passes a service that allows one named principal", async () => {
        await assertNoViolations(policy, service(compliantService));
    });

    it("passes a service with no principals at all", async () => {
        await assertNoViolations(policy, service({ ...compliantService, allowedPrincipals: [] }));
    });

    it("refuses '*' as an allowed principal", async () => {
        await assertViolation(policy, service({ ...compliantService, allowedPrincipals: ["*"] }), "allows principal '*', which lets any AWS account connect");
    });

    it("refuses a principal ARN with a wildcard account", async () => {
        await assertViolation(policy, service({ ...compliantService, allowedPrincipals: ["arn:aws:iam::*:root"] }), "'arn:aws:iam::*:root'");
    });

    it("passes principals of allowed accounts, in any partition", async () => {
        const principals = [platformRoot, "arn:aws:iam::111122223333:role/firefly", "arn:aws-us-gov:iam::111122223333:root"];
        await assertNoViolations(policy, service({ ...compliantService, allowedPrincipals: principals }), { config: onlyPlatform });
    });

    it("refuses a principal from an account outside allowedAccountIds", async () => {
        await assertViolation(
            policy,
            service({ ...compliantService, allowedPrincipals: ["arn:aws:iam::999988887777:root"] }),
            "from account 999988887777, which is not in allowedAccountIds (111122223333)",
            { config: onlyPlatform },
        );
    });

    it("refuses a principal whose account cannot be read when accounts are restricted", async () => {
        await assertViolation(
            policy,
            service({ ...compliantService, allowedPrincipals: ["arn:aws:organizations::111122223333:organization/o-abc"] }),
            "is not an IAM ARN of an allowed account",
            { config: onlyPlatform },
        );
    });

    it("reports each offending principal", async () => {
        const violations = await violationsOf(policy, service({ ...compliantService, allowedPrincipals: ["*", "arn:aws:iam::999988887777:root"] }), {
            config: onlyPlatform,
        });
        assert.equal(violations.length, 2);
        assert.ok(violations[0].message.includes("allows principal '*'"));
        assert.ok(violations[1].message.includes("allows principal 'arn:aws:iam::999988887777:root' from account 999988887777"));
    });

    it("passes a VpcEndpointServiceAllowedPrinciple for an allowed account", async () => {
        await assertNoViolations(policy, permission(platformRoot), { config: onlyPlatform });
    });

    it("refuses a VpcEndpointServiceAllowedPrinciple for '*'", async () => {
        await assertViolation(policy, permission("*"), "Endpoint service permission 'svc-platform' allows principal '*'");
    });

    it("refuses a VpcEndpointServiceAllowedPrinciple outside allowedAccountIds", async () => {
        await assertViolation(policy, permission("arn:aws:iam::999988887777:root"), "not in allowedAccountIds", { config: onlyPlatform });
    });

    it("cannot decide during preview when a principal is unknown", async () => {
        await assertCannotRunDuringPreview(policy, service({ ...compliantService, allowedPrincipals: [UNKNOWN] }), ".allowedPrincipals.0");
    });

    it("rejects an allowedAccountIds entry that is not a 12-digit account ID", async () => {
        await assert.rejects(
            assertNoViolations(policy, service(compliantService), { config: { [policy.name]: { allowedAccountIds: ["1111"] } } }),
            /policy "endpoint-service-allowed-principals", field "allowedAccountIds.0": must match pattern/,
        );
    });
});
