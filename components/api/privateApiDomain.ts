// A private custom domain name for a PrivateApi, reachable only through the API's VPC endpoints.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CheckedArgs, CheckedCustomDomain } from "./privateApiChecks";
import { Known } from "../shared/known";
import { certificateInApiRegion } from "./privateApiChecks";
import { privateApiInvokePolicy } from "./privateApiPolicy";

/** Private custom domain: DomainName (PRIVATE, TLS 1.2+, endpoint-restricted policy), mapping, access associations, DNS. */
export function createCustomDomain(
    component: pulumi.Resource,
    name: string,
    custom: CheckedCustomDomain,
    checked: Pick<CheckedArgs, "securityPolicy" | "endpointAccessMode">,
    ctx: {
        api: aws.apigateway.RestApi;
        stage: aws.apigateway.Stage;
        /** A list, or an Output of one: the access associations are named by its IDs. */
        endpointIds: pulumi.Input<pulumi.Input<string>[]>;
        allEndpointIds: pulumi.Output<string[]>;
        created?: { endpoint: aws.ec2.VpcEndpoint };
        partition: pulumi.Output<string>;
        /** The API's region (the provider's): the certificate must be in it. */
        region: pulumi.Output<string>;
        tags: pulumi.Input<Record<string, pulumi.Input<string>>>;
    },
): pulumi.Output<string | undefined> {
    const parent = { parent: component };
    const domain = new aws.apigateway.DomainName(
        `${name}-domain`,
        {
            domainName: custom.domainName,
            certificateArn: certificateInApiRegion(name, custom.certificateArn, ctx.region),
            endpointConfiguration: { types: "PRIVATE" },
            securityPolicy: checked.securityPolicy,
            endpointAccessMode: checked.endpointAccessMode,
            // The domain's own ARN is not known before it exists, hence API Gateway's shorthand. Who
            // may call is decided by the API's resource policy, evaluated after this one.
            policy: pulumi
                .all([ctx.allEndpointIds, ctx.partition])
                .apply(([vpcEndpointIds, part]) => JSON.stringify(privateApiInvokePolicy({ resource: "execute-api:/*", vpcEndpointIds, partition: part }))),
            tags: ctx.tags,
        },
        parent,
    );
    new aws.apigateway.BasePathMapping(
        `${name}-domain-mapping`,
        { domainName: domain.domainName, domainNameId: domain.domainNameId, restApi: ctx.api.id, stageName: ctx.stage.stageName, basePath: custom.basePath },
        parent,
    );
    // One association per endpoint, named by its ID (by index for an Output element), so created
    // once the list resolves when vpcEndpointIds is an Output.
    Known.fromLists([ctx.endpointIds], ([endpointIds]) =>
        endpointIds!.forEach((endpointId, index) => {
            new aws.apigateway.DomainNameAccessAssociation(
                `${name}-domain-access-${typeof endpointId === "string" ? endpointId : `endpoint-${index}`}`,
                { domainNameArn: domain.arn, accessAssociationSource: endpointId, accessAssociationSourceType: "VPCE", tags: ctx.tags },
                parent,
            );
        }),
    );
    if (custom.privateZoneId !== undefined && ctx.created) {
        const entry = ctx.created.endpoint.dnsEntries.apply((entries) => entries[0]!);
        new aws.route53.Record(
            `${name}-domain-record`,
            {
                zoneId: custom.privateZoneId,
                name: custom.domainName,
                type: "A",
                aliases: [{ name: entry.apply((e) => e.dnsName), zoneId: entry.apply((e) => e.hostedZoneId), evaluateTargetHealth: false }],
            },
            parent,
        );
    }
    return pulumi.all([custom.domainName, custom.basePath]).apply(([domainName, basePath]) => `https://${domainName}${basePath ? `/${basePath}` : ""}`);
}
