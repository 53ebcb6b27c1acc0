import * as assert from "node:assert/strict";
import { policyDocument, serviceTrustPolicy } from "../../../components/shared/iamPolicy";

describe("iamPolicy", () => {
    describe("serviceTrustPolicy", () => {
        it("lets exactly the given service assume the role, and nothing else", () => {
            assert.deepEqual(serviceTrustPolicy("lambda.amazonaws.com", "LambdaAssumesRole"), {
                Version: "2012-10-17",
                Statement: [{ Sid: "LambdaAssumesRole", Effect: "Allow", Principal: { Service: ["lambda.amazonaws.com"] }, Action: "sts:AssumeRole" }],
            });
        });

        it("adds the condition as given, and no Condition key without one", () => {
            const condition = { StringEquals: { "aws:SourceAccount": "111111111111" }, ArnLike: { "aws:SourceArn": "arn:aws:ec2:us-east-1:111111111111:vpc-flow-log/*" } };
            const conditioned = serviceTrustPolicy("vpc-flow-logs.amazonaws.com", "ThisAccountsFlowLogsOnly", condition);
            assert.deepEqual(conditioned.Statement, [
                { Sid: "ThisAccountsFlowLogsOnly", Effect: "Allow", Principal: { Service: ["vpc-flow-logs.amazonaws.com"] }, Action: "sts:AssumeRole", Condition: condition },
            ]);
            assert.equal("Condition" in serviceTrustPolicy("ec2.amazonaws.com", "Ec2AssumesRole").Statement[0]!, false);
        });

        it("serializes to the same text as the statement written out by hand", () => {
            // The roles that already had a typed trust policy must not see a diff.
            const byHand = policyDocument({ Sid: "ApiGatewayWritesLogs", Effect: "Allow", Principal: { Service: ["apigateway.amazonaws.com"] }, Action: "sts:AssumeRole" });
            assert.equal(JSON.stringify(serviceTrustPolicy("apigateway.amazonaws.com", "ApiGatewayWritesLogs")), JSON.stringify(byHand));
        });
    });
});
