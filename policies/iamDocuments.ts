// Reading API Gateway resource policies (IAM policy documents) for one question: can a request
// that comes through a VPC endpoint other than the API's own reach any method of the API?
//
// What a policy admits is judged, not whether a VPC key appears in it. An Allow, however narrow,
// never keeps anyone out: API Gateway lets a caller of the API's own account in when *either* its
// identity policy or the resource policy allows, so a caller whose role grants execute-api:Invoke
// walks in through any endpoint unless a Deny stops it. The API is therefore restricted only when
// one Deny statement
//   - applies to every principal (`Principal: "*"` or `{ AWS: "*" }`, no NotPrincipal),
//   - covers execute-api:Invoke (Action glob, or a NotAction that leaves Invoke in),
//   - covers every stage, method and path of this API (a Resource glob containing
//     `execute-api:/*/*/*`, or the API's own execution ARN followed by such a glob), and
//   - is certain to apply to a request from an endpoint it does not name: every condition is a
//     negated match (`StringNotEquals`, `StringNotEqualsIgnoreCase`, `StringNotLike` without
//     wildcards, with or without `IfExists` and the set prefixes; a private API always supplies
//     `aws:SourceVpce` and `aws:SourceVpc`) on `aws:SourceVpce`/`aws:SourceVpc`, or
//     `Null: { key: "false" }` on one of them.
// A pattern with `*` or `?` in a `StringNotLike` may match the other endpoint's ID, and a condition
// on any other key may be false for it: either makes the Deny uncertain, so it does not count.
// Several Denies that only together cover every path are not combined (a false alarm, never a
// hole): write one Deny on `execute-api:/*`.

const invokeAction = "execute-api:invoke";
const vpcKeys = new Set(["aws:sourcevpce", "aws:sourcevpc"]);
const negatedExactOperators = new Set(["stringnotequals", "stringnotequalsignorecase"]);

interface Statement {
    effect: string;
    actions?: string[];
    notActions?: string[];
    resources?: string[];
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

function escapeRegex(text: string): string {
    return text.replace(/[.+^${}()|[\]\\]/g, "\\$&");
}

/** IAM's glob match: `*` any run of characters, `?` one character. */
export function globMatches(pattern: string, value: string, ignoreCase = true): boolean {
    const source = pattern
        .split("*")
        .map((part) => part.split("?").map(escapeRegex).join("."))
        .join(".*");
    return new RegExp(`^${source}$`, ignoreCase ? "is" : "s").test(value);
}

/**
 * Whether every string glob `inner` matches is also matched by glob `outer`. Sound (never says yes
 * wrongly) and complete for the patterns policies use; a `*` in `inner` must meet a `*` in `outer`.
 */
export function globContains(outer: string, inner: string): boolean {
    const memo = new Map<string, boolean>();
    const contained = (i: number, j: number): boolean => {
        const key = `${i},${j}`;
        const cached = memo.get(key);
        if (cached !== undefined) return cached;
        let result: boolean;
        if (j === outer.length) {
            result = i === inner.length;
        } else if (outer[j] === "*") {
            result = contained(i, j + 1) || (i < inner.length && contained(i + 1, j));
        } else if (i === inner.length || inner[i] === "*") {
            result = false;
        } else if (outer[j] === "?") {
            result = contained(i + 1, j + 1);
        } else {
            result = inner[i] !== "?" && inner[i] === outer[j] && contained(i + 1, j + 1);
        }
        memo.set(key, result);
        return result;
    };
    return contained(0, 0);
}

function principalIsEveryone(statement: Record<string, unknown>): boolean {
    if ("NotPrincipal" in statement) return false;
    const principal = statement.Principal;
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
            resources: "Resource" in s ? strings(s.Resource) : undefined,
            principalIsEveryone: principalIsEveryone(s),
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

/**
 * The operator without the parts that make no difference for a key that is always present and
 * single-valued: the `ForAllValues:`/`ForAnyValue:` prefix and the `IfExists` suffix.
 */
function baseOperator(operator: string): string {
    return operator
        .toLowerCase()
        .replace(/^for(all|any)value:/, "")
        .replace(/ifexists$/, "");
}

/** Whether one condition clause is true for every request from an endpoint/VPC the policy does not name. */
function surelyTrueForOtherEndpoints(operator: string, key: string, values: unknown): boolean {
    if (!vpcKeys.has(key.toLowerCase())) {
        return false;
    }
    const base = baseOperator(operator);
    const listed = strings(values);
    if (negatedExactOperators.has(base)) {
        // An empty list names nothing to compare with; AWS does not promise what it then does.
        return listed.length > 0;
    }
    if (base === "stringnotlike") {
        // A wildcard may match the other endpoint's ID, which makes the Deny skip it.
        return listed.every((value) => !/[*?]/.test(value));
    }
    if (base === "null") {
        // The key is never absent on a private API: only "is not null" is certain.
        return listed.length > 0 && listed.every((value) => value.toLowerCase() === "false");
    }
    return false;
}

function certainForOtherEndpoints(statement: Statement): boolean {
    for (const [operator, block] of Object.entries(statement.condition)) {
        if (block === null || typeof block !== "object") return false;
        for (const [key, values] of Object.entries(block)) {
            if (!surelyTrueForOtherEndpoints(operator, key, values)) return false;
        }
    }
    return true;
}

/** Every request path of an API: `<stage>/<METHOD>/<resource path>`. */
const everyRequestPath = "*/*/*";

export type ResourceCoverage = "all" | "partial" | "needs-execution-arn";

/**
 * Whether a Resource pattern covers every request of the API whose execution ARN is given
 * (`arn:aws:execute-api:<region>:<account>:<api id>`; undefined while it is unknown).
 */
export function coverageOf(pattern: string, executionArn: string | undefined): ResourceCoverage {
    if (pattern === "*") return "all";
    const shorthand = /^execute-api:\/(.*)$/s.exec(pattern);
    if (shorthand) {
        return globContains(shorthand[1] ?? "", everyRequestPath) ? "all" : "partial";
    }
    const slash = pattern.indexOf("/");
    const prefix = slash < 0 ? pattern : pattern.slice(0, slash);
    const path = slash < 0 ? "" : pattern.slice(slash + 1);
    // The prefix may itself end in a wildcard that swallows the path ("arn:aws:execute-api:*").
    if (prefix.endsWith("*") && slash < 0) {
        if (executionArn === undefined) return globContains(prefix, "arn:*:execute-api:*:*:*") ? "all" : "needs-execution-arn";
        return globMatches(prefix, `${executionArn}/`) ? "all" : "partial";
    }
    if (!globContains(path, everyRequestPath)) return "partial";
    if (globContains(prefix, "arn:*:execute-api:*:*:*")) return "all";
    if (executionArn === undefined) return "needs-execution-arn";
    return globMatches(prefix, executionArn) ? "all" : "partial";
}

export type DocumentVerdict = "restricted" | "unrestricted" | "invalid" | "needs-execution-arn";

/**
 * Whether a resource policy refuses execute-api:Invoke on every method and path to requests that
 * come through a VPC endpoint it does not name. `executionArn` is the API's (undefined while
 * unknown): it decides whether a Deny written with a full ARN covers this API.
 */
export function invokeRestrictionOf(document: unknown, executionArn?: string): DocumentVerdict {
    let statements: Statement[] | undefined;
    try {
        statements = parseStatements(document);
    } catch {
        return "invalid";
    }
    if (!statements) {
        return "invalid";
    }
    let needsArn = false;
    for (const statement of statements) {
        if (statement.effect.toLowerCase() !== "deny" || !statement.principalIsEveryone || !coversInvoke(statement)) continue;
        if (!certainForOtherEndpoints(statement)) continue;
        const coverage = (statement.resources ?? []).map((pattern) => coverageOf(pattern, executionArn));
        if (coverage.includes("all")) return "restricted";
        needsArn ||= coverage.includes("needs-execution-arn");
    }
    return needsArn ? "needs-execution-arn" : "unrestricted";
}
