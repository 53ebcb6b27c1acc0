// VPC endpoint services (the customer side of PrivateLink): who may connect, and whether each
// connection needs the service owner's acceptance.
import * as aws from "@pulumi/aws";
import { PolicyConfigSchema, ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { configOf } from "./ruleConfig";

export const endpointServiceAcceptanceRequired: ResourceValidationPolicy = {
    name: "endpoint-service-acceptance-required",
    description: "VPC endpoint services require the owner to accept each endpoint connection (checkov CKV_AWS_123).",
    enforcementLevel: "mandatory",
    severity: "high",
    tags: ["privatelink", "checkov:CKV_AWS_123"],
    remediationSteps:
        "Set acceptanceRequired: true on the aws.ec2.VpcEndpointService and accept the platform's endpoint " +
        "with aws.ec2.VpcEndpointConnectionAccepter once it exists.",
    validateResource: validateResourceOfType(aws.ec2.VpcEndpointService, (service, args, reportViolation) => {
        if (service.acceptanceRequired !== true) {
            reportViolation(
                `Endpoint service '${args.name}' accepts endpoint connections automatically; set acceptanceRequired: true so each connection is accepted explicitly.`,
            );
        }
    }),
};

interface AllowedPrincipalsConfig {
    allowedAccountIds: string[];
}

const allowedPrincipalsSchema: PolicyConfigSchema = {
    properties: {
        allowedAccountIds: {
            type: "array",
            items: { type: "string", pattern: "^[0-9]{12}$" },
            uniqueItems: true,
            default: [],
            description:
                "AWS account IDs whose principals may connect to endpoint services. Empty: any account, but never '*'.",
        },
    },
};

/** The 12-digit account of a principal ARN or a bare account ID; undefined for anything else. */
function accountOf(principal: string): string | undefined {
    if (/^[0-9]{12}$/.test(principal)) {
        return principal;
    }
    return /^arn:aws[a-z-]*:iam::([0-9]{12}):/.exec(principal)?.[1];
}

function principalProblem(principal: string, allowedAccountIds: readonly string[]): string | undefined {
    if (principal.includes("*")) {
        return `allows principal '${principal}', which lets any AWS account connect; list the platform account's principal ARN instead`;
    }
    if (allowedAccountIds.length === 0) {
        return undefined;
    }
    const account = accountOf(principal);
    if (account === undefined) {
        return `allows principal '${principal}', which is not an IAM ARN of an allowed account; use an ARN in one of ${allowedAccountIds.join(", ")}`;
    }
    if (!allowedAccountIds.includes(account)) {
        return `allows principal '${principal}' from account ${account}, which is not in allowedAccountIds (${allowedAccountIds.join(", ")}); remove it or add the account to the policy config`;
    }
    return undefined;
}

export const endpointServiceAllowedPrincipals: ResourceValidationPolicy = {
    name: "endpoint-service-allowed-principals",
    description:
        "VPC endpoint services never allow every principal ('*'), and only allow principals of configured accounts when an account list is set.",
    enforcementLevel: "mandatory",
    severity: "critical",
    tags: ["privatelink"],
    remediationSteps:
        "Replace '*' in allowedPrincipals (or an aws.ec2.VpcEndpointServiceAllowedPrinciple's principalArn) with the " +
        "ARN of the platform account's principal, e.g. arn:aws:iam::<account>:root.",
    configSchema: allowedPrincipalsSchema,
    validateResource: [
        validateResourceOfType(aws.ec2.VpcEndpointService, (service, args, reportViolation) => {
            const { allowedAccountIds } = configOf<AllowedPrincipalsConfig>(allowedPrincipalsSchema, args);
            for (const principal of service.allowedPrincipals ?? []) {
                const problem = principalProblem(principal, allowedAccountIds);
                if (problem) {
                    reportViolation(`Endpoint service '${args.name}' ${problem}.`);
                }
            }
        }),
        validateResourceOfType(aws.ec2.VpcEndpointServiceAllowedPrinciple, (permission, args, reportViolation) => {
            const { allowedAccountIds } = configOf<AllowedPrincipalsConfig>(allowedPrincipalsSchema, args);
            const problem = principalProblem(permission.principalArn, allowedAccountIds);
            if (problem) {
                reportViolation(`Endpoint service permission '${args.name}' ${problem}.`);
            }
        }),
    ],
};

export const endpointServicePolicies = [endpointServiceAcceptanceRequired, endpointServiceAllowedPrincipals];
