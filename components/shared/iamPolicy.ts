// The shape of IAM policy documents the components write (resource, trust, endpoint and identity
// policies), so they are built as typed values and serialized once, instead of as loose JSON.

/** `{ "StringEquals": { "aws:SourceVpce": ["vpce-…"] } }`: operator, then context key, then values. */
export type PolicyCondition = Record<string, Record<string, string | string[]>>;

export type PolicyPrincipal = "*" | { AWS: string[] } | { Service: string[] };

export interface PolicyStatement {
    Sid: string;
    Effect: "Allow" | "Deny";
    /** Present in resource, trust and endpoint policies; absent in identity policies. */
    Principal?: PolicyPrincipal;
    Action: string | string[];
    Resource?: string | string[];
    Condition?: PolicyCondition;
}

export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

export function policyDocument(...statements: PolicyStatement[]): PolicyDocument {
    return { Version: "2012-10-17", Statement: statements };
}

/** A service principal's name, e.g. `lambda.amazonaws.com`. */
export type ServicePrincipal = `${string}.amazonaws.com`;

/**
 * The trust (assume-role) policy of a role that one AWS service assumes: one statement allowing
 * `{ Service: [service] }` to call `sts:AssumeRole`. `condition` narrows which of the service's
 * callers may (e.g. `aws:SourceAccount` against the confused deputy).
 */
export function serviceTrustPolicy(service: ServicePrincipal, sid: string, condition?: PolicyCondition): PolicyDocument {
    const statement: PolicyStatement = { Sid: sid, Effect: "Allow", Principal: { Service: [service] }, Action: "sts:AssumeRole" };
    return policyDocument(condition === undefined ? statement : { ...statement, Condition: condition });
}
