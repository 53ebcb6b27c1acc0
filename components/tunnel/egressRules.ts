// The egress rules of the tunnel components' security groups: collected while the arguments are
// checked (one rule per label, the first wins, so several routes to one destination share a rule),
// then created as `<name>-out-<label>`. The label is each component's own: it is part of the
// resource name, hence of the URN in users' stacks, and must not change (tunnelEgressNames.test.ts).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface EgressRule {
    /** Names the rule: `<component name>-out-<label>`. */
    label: string;
    protocol: "tcp" | "udp";
    port: number;
    /** Exactly one destination. */
    cidrIpv4?: pulumi.Input<string>;
    cidrIpv6?: string;
    prefixListId?: pulumi.Input<string>;
    securityGroupId?: pulumi.Input<string>;
    description: string;
}

/** Rules by label, in the order first added. */
export class EgressRules {
    private readonly byLabel = new Map<string, EgressRule>();

    add(label: string, rule: Omit<EgressRule, "label">): void {
        if (!this.byLabel.has(label)) this.byLabel.set(label, { ...rule, label });
    }

    list(): EgressRule[] {
        return [...this.byLabel.values()];
    }
}

/**
 * A label part from free text: runs of characters outside `keep` (the body of a character class,
 * e.g. "0-9" or "A-Za-z0-9") become one `-`, none at the end.
 */
export function labelPart(text: string, keep: string): string {
    return text.replace(new RegExp(`[^${keep}]+`, "g"), "-").replace(/-+$/, "");
}

/** Creates `<name>-out-<label>` in `securityGroupId` for each rule. */
export function createEgressRules(
    name: string,
    securityGroupId: pulumi.Input<string>,
    rules: readonly EgressRule[],
    tags: pulumi.Input<Record<string, pulumi.Input<string>>>,
    parent: pulumi.Resource,
): aws.vpc.SecurityGroupEgressRule[] {
    return rules.map(
        (rule) =>
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-out-${rule.label}`,
                {
                    securityGroupId,
                    ipProtocol: rule.protocol,
                    fromPort: rule.port,
                    toPort: rule.port,
                    cidrIpv4: rule.cidrIpv4,
                    cidrIpv6: rule.cidrIpv6,
                    prefixListId: rule.prefixListId,
                    referencedSecurityGroupId: rule.securityGroupId,
                    description: rule.description,
                    tags,
                },
                { parent },
            ),
    );
}
