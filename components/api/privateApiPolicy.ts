// The IAM documents that make a private API private: the resource policy (who may invoke, and only
// through which VPC endpoints), the execute-api endpoint's own policy, and the identity policy a
// caller needs. Plain functions of plain values, so the tests can evaluate exactly what the
// component deploys with an IAM policy simulator.
import { PolicyDocument, policyDocument, PolicyStatement } from "../shared/iamPolicy";
import { patterns, principalArn } from "../shared/validation";

export interface PrivateApiInvokePolicyArgs {
    /**
     * What the statements cover: `execute-api:/*`, API Gateway's shorthand for the API (or private
     * custom domain name) the policy is attached to, which unlike their ARNs is known before they exist.
     */
    resource: string;
    /** The only VPC endpoints requests may come through (`aws:SourceVpce`). */
    vpcEndpointIds: readonly string[];
    /**
     * Account IDs and IAM principal ARNs that may invoke. Undefined: any caller that comes through
     * the endpoints, which routes without IAM authorization need (their requests carry no principal).
     */
    principals?: readonly string[];
    /** AWS partition, to turn account IDs into root principals. */
    partition: string;
}

/**
 * Allows `execute-api:Invoke` only through the given endpoints, and denies every request that comes
 * another way (a Deny wins over any Allow, including one in the caller's own identity policy).
 *
 * With `principals`, the Allow names them, and a second Deny refuses everyone else: API Gateway
 * grants a same-account caller if *either* its identity policy or the resource policy allows, so an
 * Allow alone would not keep out other identities of the account. Naming an account ID delegates to
 * IAM: identities of that account still need an identity policy granting the invoke.
 */
export function privateApiInvokePolicy(args: PrivateApiInvokePolicyArgs): PolicyDocument {
    const throughEndpoints = { "aws:SourceVpce": [...args.vpcEndpointIds] };
    const statements: PolicyStatement[] = [
        {
            Sid: "InvokeThroughVpcEndpointsOnly",
            Effect: "Allow",
            Principal: args.principals ? { AWS: args.principals.map((p) => principalArn(args.partition, p)) } : "*",
            Action: "execute-api:Invoke",
            Resource: args.resource,
            Condition: { StringEquals: throughEndpoints },
        },
        {
            Sid: "DenyOutsideVpcEndpoints",
            Effect: "Deny",
            Principal: "*",
            Action: "execute-api:Invoke",
            Resource: args.resource,
            Condition: { StringNotEquals: throughEndpoints },
        },
    ];
    if (args.principals) {
        const accountIds = args.principals.filter((p) => patterns.accountId.test(p));
        const principalArns = args.principals.filter((p) => !patterns.accountId.test(p));
        // Both conditions must hold for the Deny to apply: a caller is refused only when it is in
        // none of the listed accounts and is none of the listed principals.
        statements.push({
            Sid: "DenyOtherPrincipals",
            Effect: "Deny",
            Principal: "*",
            Action: "execute-api:Invoke",
            Resource: args.resource,
            Condition: {
                ...(accountIds.length > 0 ? { StringNotEquals: { "aws:PrincipalAccount": accountIds } } : {}),
                ...(principalArns.length > 0 ? { ArnNotEquals: { "aws:PrincipalArn": principalArns } } : {}),
            },
        });
    }
    return policyDocument(...statements);
}

/**
 * Policy for an execute-api interface endpoint: invoke APIs of this account only. With private DNS
 * on, every `*.execute-api` request of the VPC goes through the endpoint, so this also stops code in
 * the VPC from sending data to private APIs in other accounts.
 */
export function executeApiEndpointPolicy(partition: string, region: string, accountId: string): PolicyDocument {
    return policyDocument({
        Sid: "InvokeThisAccountsApisOnly",
        Effect: "Allow",
        Principal: "*",
        Action: "execute-api:Invoke",
        Resource: `arn:${partition}:execute-api:${region}:${accountId}:*`,
    });
}

/** What a caller's role needs (when IAM decides who may call): invoke any route of one stage. */
export function invokerIdentityPolicy(stageExecutionArn: string): PolicyDocument {
    return policyDocument({
        Sid: "InvokePrivateApiStage",
        Effect: "Allow",
        Action: "execute-api:Invoke",
        Resource: `${stageExecutionArn}/*`,
    });
}
