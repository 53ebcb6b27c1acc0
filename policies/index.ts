// The policy pack the Pulumi CLI runs: `pulumi preview --policy-pack policies`.
// Only this file starts the analyzer (a gRPC server); everything else imports rules.ts.
import { PolicyPack } from "@pulumi/policy";
import { policyPackName } from "./pack";
import { allPolicies } from "./rules";

new PolicyPack(policyPackName, { policies: allPolicies });
