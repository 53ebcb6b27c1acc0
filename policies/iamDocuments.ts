// Reading API Gateway resource policies (IAM policy documents) for one question: is
// `execute-api:Invoke` limited to traffic from a VPC endpoint or VPC?
//
// It is when either
//   - a Deny statement for everyone covering execute-api:Invoke is conditioned only on a negated
//     `aws:SourceVpce` / `aws:SourceVpc` match (the pattern AWS documents for private APIs), or
//   - there is an Allow covering execute-api:Invoke and every such Allow is conditioned on a
//     positive `aws:SourceVpce` / `aws:SourceVpc` match.
// `Resource` is not analysed: a statement scoped to some methods counts as restricting the API.

const invokeAction = "execute-api:invoke";
const vpcKeys = new Set(["aws:sourcevpce", "aws:sourcevpc"]);
const positiveOperators = new Set([
    "stringequals",
    "stringequalsignorecase",
    "stringlike",
    "foranyvalue:stringequals",
    "foranyvalue:stringequalsignorecase",
    "foranyvalue:stringlike",
]);
const negatedOperators = new Set([
    "stringnotequals",
    "stringnotequalsignorecase",
    "stringnotlike",
    "forallvalues:stringnotequals",
    "forallvalues:stringnotequalsignorecase",
    "forallvalues:stringnotlike",
]);

interface Statement {
    effect: string;
    actions?: string[];
    notActions?: string[];
    principalIsEveryone: boolean;
    condition: Record<string, Record<string, unknown>>;
}

function asList(value: unknown): unknown[] {
    if (value === undefined || value === null) return [];
    return Array.isArray(value) ? value : [value];
}

function strings(value: unknown): string[] {
    return asList(value).filter((v): v is string => typeof v === "string");
}

function globMatches(pattern: string, value: string): boolean {
    const regex = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "i");
    return regex.test(value);
}

function principalIsEveryone(principal: unknown): boolean {
    if (principal === "*") return true;
    if (principal !== null && typeof principal === "object" && !Array.isArray(principal)) {
        return strings((principal as Record<string, unknown>).AWS).includes("*");
    }
    return false;
}

function parseStatements(document: unknown): Statement[] | undefined {
    const parsed: unknown = typeof document === "string" ? JSON.parse(document) : document;
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        return undefined;
    }
    return asList((parsed as Record<string, unknown>).Statement)
        .filter((s): s is Record<string, unknown> => s !== null && typeof s === "object" && !Array.isArray(s))
        .map((s) => ({
            effect: typeof s.Effect === "string" ? s.Effect : "",
            actions: "Action" in s ? strings(s.Action) : undefined,
            notActions: "NotAction" in s ? strings(s.NotAction) : undefined,
            principalIsEveryone: principalIsEveryone(s.Principal),
            condition:
                s.Condition !== null && typeof s.Condition === "object" && !Array.isArray(s.Condition)
                    ? (s.Condition as Record<string, Record<string, unknown>>)
                    : {},
        }));
}

function coversInvoke(statement: Statement): boolean {
    if (statement.actions) {
        return statement.actions.some((action) => globMatches(action, invokeAction));
    }
    if (statement.notActions) {
        return !statement.notActions.some((action) => globMatches(action, invokeAction));
    }
    return false;
}

/** Condition clauses as [operator, key, values], names lower-cased (IAM compares them case-insensitively). */
function clauses(statement: Statement): Array<[string, string, string[]]> {
    const result: Array<[string, string, string[]]> = [];
    for (const [operator, block] of Object.entries(statement.condition)) {
        if (block === null || typeof block !== "object") continue;
        for (const [key, values] of Object.entries(block)) {
            result.push([operator.toLowerCase(), key.toLowerCase(), strings(values)]);
        }
    }
    return result;
}

/** A match against real endpoint/VPC IDs, not a pattern that lets every value through. */
function namesSpecificVpcs(values: string[]): boolean {
    return values.length > 0 && values.every((value) => value.replace(/[*?]/g, "").length > 0);
}

function allowIsRestricted(statement: Statement): boolean {
    return clauses(statement).some(
        ([operator, key, values]) => positiveOperators.has(operator) && vpcKeys.has(key) && namesSpecificVpcs(values),
    );
}

function denyRestricts(statement: Statement): boolean {
    const conditions = clauses(statement);
    return (
        statement.principalIsEveryone &&
        conditions.length > 0 &&
        conditions.every(([operator, key, values]) => negatedOperators.has(operator) && vpcKeys.has(key) && namesSpecificVpcs(values))
    );
}

export type DocumentVerdict = "restricted" | "unrestricted" | "invalid";

/** Whether a resource policy limits execute-api:Invoke to a VPC endpoint or VPC. */
export function invokeRestrictionOf(document: unknown): DocumentVerdict {
    let statements: Statement[] | undefined;
    try {
        statements = parseStatements(document);
    } catch {
        return "invalid";
    }
    if (!statements) {
        return "invalid";
    }
    const invoking = statements.filter(coversInvoke);
    const deny = invoking.filter((s) => s.effect.toLowerCase() === "deny");
    const allow = invoking.filter((s) => s.effect.toLowerCase() === "allow");
    if (deny.some(denyRestricts)) {
        return "restricted";
    }
    return allow.length > 0 && allow.every(allowIsRestricted) ? "restricted" : "unrestricted";
}
