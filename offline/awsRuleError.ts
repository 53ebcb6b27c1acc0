/**
 * A refusal as AWS (or the provider) words it, followed by which rule of the offline cloud refused
 * which resource and what to change, so that `npm start` fails before anyone deploys.
 */
export class AwsRuleError extends Error {
    constructor(
        readonly rule: string,
        readonly resource: string,
        readonly awsError: string,
        readonly fix: string,
    ) {
        super(`${awsError}\n    offline AWS rule ${rule} refused ${resource}; fix: ${fix}`);
        this.name = "AwsRuleError";
    }
}
