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
