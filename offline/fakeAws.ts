import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { isAwsRegion } from "../components/privatelink/regions";
import { ipv4InCidr } from "../components/shared/validation";
import { AwsRuleError } from "./awsRuleError";
import { checkInputLimits } from "./awsLimits";
import { OfflineCloud } from "./cloud";

export { AwsRuleError };

/**
 * What AWS would answer, for Pulumi's mock runtime. The offline plan (`npm start`) and the tests
 * run the real stack programs and components against this instead of a cloud account.
 *
 * Every identifier is derived from a hash of the resource's type and name, so two runs of the
 * same program print the same plan, and the shapes match what AWS returns (service names,
 * endpoint DNS entries, ARN suffixes), so the components' own format checks accept them.
 */
export interface FakeAwsOptions {
    /** Account the fake credentials belong to (getCallerIdentity, ARNs). */
    accountId: string;
    /** Region of the fake provider (getRegion, ARNs, service names). */
    region: string;
    /** Outputs of other stacks, by fully qualified stack name, served to StackReferences. */
    stackOutputs?: Record<string, Record<string, unknown>>;
    /** Result the fake ConnectivityCheck Lambda returns (JSON). */
    invocationResult?: (inputs: Record<string, unknown>) => unknown;
    /** CIDR blocks by VPC ID (aws.ec2.getVpc, IP targets); default: the example VPCs', else 10.0.0.0/16. */
    vpcCidrs?: Record<string, string[]>;
    /**
     * Inputs of resources that exist from an earlier deployment, by `<type>::<name>`, for the rules
     * about what can change later. Default: the stack config `fake-aws:deployed`, else none.
     */
    deployed?: Record<string, Record<string, unknown>>;
    /** The stack being updated: owner of what it creates in the shared cloud. */
    stack?: string;
    /** What other stacks of the same deployment created (default: nothing, a cloud of this run only). */
    cloud?: OfflineCloud;
}

type State = Record<string, unknown>;

export class FakeAws implements pulumi.runtime.Mocks {
    private readonly rules: PrivateConnectivityRules;
    private readonly cloud: OfflineCloud;

    /** The `defaultTags` of each explicit AWS provider (`new aws.Provider`), by the provider's ID. */
    private readonly providerDefaultTags = new Map<string, Record<string, string>>();

    /**
     * The default tags the provider adds to a resource's own (`tagsAll`): an explicit provider's
     * `defaultTags`, or the stack config `aws:defaultTags` for the default provider.
     */
    private defaultTagsFor(provider: string | undefined): Record<string, string> {
        if (provider) return this.providerDefaultTags.get(provider.split("::").pop() ?? "") ?? {};
        return defaultTagsOf(pulumi.runtime.getConfig("aws:defaultTags"));
    }

    /** Former names (`<type>/<name>` to the name an alias gives), told by the monitor before registration. */
    private readonly formerNames = new Map<string, string>();

    /** The resource `<type>/<name>` is registered with an alias to an earlier name: it keeps that state. */
    tookOverStateOf(type: string, name: string, formerName: string): void {
        this.formerNames.set(`${type}/${name}`, formerName);
    }

    constructor(private readonly options: FakeAwsOptions) {
        // The stack config is set after the mocks, so it is read when the first resource arrives.
        this.rules = new PrivateConnectivityRules(options.vpcCidrs ?? {}, () => options.deployed ?? deployedFromConfig());
        this.cloud = options.cloud ?? new OfflineCloud();
        // An update replaces what the stack had: forget its previous resources.
        this.cloud.release(options.stack ?? "");
    }

    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const inputs = (args.inputs ?? {}) as State;
        if (args.type === "pulumi:pulumi:StackReference") {
            return this.stackReference(args.name, inputs);
        }
        // A resource that took over an earlier resource's state by an alias keeps that resource's ID
        // and attributes, as with the real engine: they are derived from the name it had then.
        const stateName = this.formerNames.get(`${args.type}/${args.name}`) ?? args.name;
        const hex = digest(`${args.type}/${stateName}`);
        // What the provider merges into the resource's tags (tagsAll), for resources that take tags.
        const defaultTags = args.type.startsWith("aws:") && typeof inputs.tags === "object" && inputs.tags !== null && !Array.isArray(inputs.tags) ? this.defaultTagsFor(args.provider) : {};
        // A preview calls no AWS API that could refuse; what it would create is not known yet. A read
        // (`Resource.get`, an import: an ID is given) or a resource an earlier deployment left is.
        if (pulumi.runtime.isDryRun()) {
            if (!args.id && !this.rules.exists(args.type, args.name)) return previewOfCreate(inputs);
        } else {
            // A resource being created gets the name Pulumi generates (`<logical name>-<7 random>`);
            // one that exists (an earlier deployment's, or one an alias carries over) keeps its own.
            const creating = !args.id && !this.rules.exists(args.type, args.name) && stateName === args.name;
            checkInputLimits({ type: args.type, name: args.name, inputs, autoName: creating ? `${args.name}-${hex.slice(0, 7)}` : undefined, defaultTags });
            this.rules.check(args.type, args.name, inputs);
            checkBeforeCreate(args.type, args.name, inputs, this.cloud, this.options.accountId, this.options.region);
        }
        const state: State = { ...inputs, ...this.computed(args.type, args.name, inputs, hex, defaultTags) };
        // A read or an import names its resource: the cloud answers with that ID.
        const id = args.id ? args.id : typeof state.id === "string" ? state.id : `${stateName}-${hex.slice(0, 8)}`;
        delete state.id;
        if (args.type === "pulumi:providers:aws") this.providerDefaultTags.set(id, defaultTagsOf(inputs.defaultTags));
        this.rules.created(args.type, id, state, inputs);
        // AWS's rules across resources and stacks (see the rule functions below).
        const where = { cloud: this.cloud, owner: `${this.options.stack ?? ""}::${args.type}::${args.name}`, accountId: this.options.accountId, region: this.options.region };
        switch (args.type) {
            case "aws:lb/loadBalancer:LoadBalancer":
                recordLoadBalancerZones(where, String(state.arn), inputs);
                break;
            case "aws:ec2/vpcEndpointService:VpcEndpointService":
                Object.assign(state, recordEndpointServiceZones(where, String(state.serviceName), inputs));
                break;
            case "aws:ec2/vpcEndpoint:VpcEndpoint":
                checkEndpointSubnetsOffered(where, inputs);
                checkOnePrivateDnsEndpointPerVpc(where, inputs);
                this.cloud.endpoints.set(id, { owner: where.owner, serviceName: String(inputs.serviceName ?? "") });
                if (state.state === "pendingAcceptance" && this.cloud.acceptedEndpoints.has(id)) state.state = "available";
                break;
            case "aws:route53/zone:Zone":
                checkOnePrivateZonePerNamePerVpc(where, inputs, id);
                break;
            case "aws:ec2/vpcEndpointConnectionAccepter:VpcEndpointConnectionAccepter":
                this.cloud.acceptedEndpoints.set(String(inputs.vpcEndpointId), { owner: where.owner });
                break;
        }
        return { id, state };
    }

    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        const { accountId, region } = this.options;
        switch (args.token) {
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return {
                    accountId,
                    arn: `arn:aws:iam::${accountId}:user/offline-plan`,
                    id: accountId,
                    userId: "AIDAOFFLINEPLAN",
                };
            case "aws:index/getRegion:getRegion":
                return {
                    name: region,
                    region,
                    id: region,
                    description: region,
                    endpoint: `ec2.${region}.amazonaws.com`,
                };
            case "aws:index/getPartition:getPartition": {
                const names = partitionOf(region);
                return { ...names, id: names.partition };
            }
            case "aws:ec2/getVpc:getVpc":
                return this.vpc(String((args.inputs as State).id));
            case "aws:index/getAvailabilityZones:getAvailabilityZones": {
                const zones = ["a", "b", "c", "d", "e", "f"].map((_, i) => availabilityZone(i, accountId, region));
                return { names: zones.map((z) => z.name), zoneIds: zones.map((z) => z.id), id: region };
            }
            case "aws:ec2/getSubnet:getSubnet": {
                const id = String((args.inputs as State).id);
                const zone = subnetAvailabilityZone(id, accountId, region);
                return { id, availabilityZone: zone.name, availabilityZoneId: zone.id, state: "available" };
            }
            case "aws:ssm/getParameter:getParameter": {
                const name = String((args.inputs as State).name);
                return { name, value: `ami-${digest(name).slice(0, 17)}`, type: "String", version: 1, id: name };
            }
            default:
                throw new Error(
                    `offline plan: no fake answer for invoke ${args.token}; add one to offline/fakeAws.ts`,
                );
        }
    }

    private stackReference(name: string, inputs: State): pulumi.runtime.MockResourceResult {
        const stackName = typeof inputs.name === "string" ? inputs.name : name;
        const outputs = this.options.stackOutputs?.[stackName];
        if (outputs === undefined) {
            const known = Object.keys(this.options.stackOutputs ?? {});
            throw new Error(
                `offline plan: no outputs known for stack "${stackName}" (known: ${known.join(", ") || "none"})`,
            );
        }
        return { id: stackName, state: { name: stackName, outputs, secretOutputNames: [] } };
    }

    private vpc(vpcId: string): State {
        const cidrs = this.rules.cidrsOf(vpcId);
        return {
            id: vpcId,
            cidrBlock: cidrs[0],
            cidrBlockAssociations: cidrs.map((cidrBlock, i) => ({ associationId: `vpc-cidr-assoc-${digest(`${vpcId}/${i}`).slice(0, 17)}`, cidrBlock, state: "associated" })),
            state: "available",
            ownerId: this.options.accountId,
        };
    }

    private computed(type: string, name: string, inputs: State, hex: string, defaultTags: Record<string, string>): State {
        const { accountId, region } = this.options;
        const service = type.split(":")[1]?.split("/")[0] ?? "unknown";
        // Pulumi auto-names physical resources as `<logical name>-<7 hex>` unless a name is given.
        const physicalName =
            typeof inputs.name === "string"
                ? inputs.name
                : typeof inputs.namePrefix === "string"
                  ? `${inputs.namePrefix}${hex.slice(0, 26)}`
                  : `${name}-${hex.slice(0, 7)}`;
        const generic: State = {
            name: physicalName,
            arn: `arn:aws:${service}:${region}:${accountId}:${name}/${hex.slice(0, 16)}`,
            // The provider's default tags, then the resource's own (which win).
            tagsAll: { ...defaultTags, ...((inputs.tags as State | undefined) ?? {}) },
        };
        const short = hex.slice(0, 17);
        switch (type) {
            case "aws:lb/loadBalancer:LoadBalancer": {
                const kind = inputs.loadBalancerType === "network" ? "net" : "app";
                const lbName = physicalName.slice(0, 32);
                const suffix = `${kind}/${lbName}/${hex.slice(0, 16)}`;
                return {
                    ...generic,
                    name: lbName,
                    arn: `arn:aws:elasticloadbalancing:${region}:${accountId}:loadbalancer/${suffix}`,
                    arnSuffix: suffix,
                    dnsName: `${lbName}-${hex.slice(0, 16)}.elb.${region}.amazonaws.com`,
                    zoneId: "Z26RNL4JYFTOTI",
                };
            }
            case "aws:lb/targetGroup:TargetGroup": {
                const tgName = physicalName.slice(0, 32);
                const suffix = `targetgroup/${tgName}/${hex.slice(0, 16)}`;
                return {
                    ...generic,
                    name: tgName,
                    arn: `arn:aws:elasticloadbalancing:${region}:${accountId}:${suffix}`,
                    arnSuffix: suffix,
                };
            }
            case "aws:lb/listener:Listener":
                return {
                    ...generic,
                    arn: `arn:aws:elasticloadbalancing:${region}:${accountId}:listener/net/${name}/${hex.slice(0, 16)}`,
                };
            case "aws:ec2/vpcEndpointService:VpcEndpointService": {
                const serviceId = `vpce-svc-${short}`;
                const dnsConfigs =
                    typeof inputs.privateDnsName === "string"
                        ? [
                              {
                                  name: `_${hex.slice(0, 12)}`,
                                  type: "TXT",
                                  value: `vpce:${hex.slice(17, 37)}`,
                                  state: "pendingVerification",
                              },
                          ]
                        : [];
                return {
                    ...generic,
                    id: serviceId,
                    arn: `arn:aws:ec2:${region}:${accountId}:vpc-endpoint-service/${serviceId}`,
                    serviceName: `com.amazonaws.vpce.${region}.${serviceId}`,
                    serviceType: "Interface",
                    state: "Available",
                    privateDnsNameConfigurations: dnsConfigs,
                    baseEndpointDnsNames: [`${serviceId}.${region}.vpce.amazonaws.com`],
                    availabilityZones: [`${region}a`, `${region}b`],
                    managesVpcEndpoints: false,
                };
            }
            case "aws:ec2/vpcEndpoint:VpcEndpoint": {
                const endpointId = `vpce-${short}`;
                const serviceName = String(inputs.serviceName ?? "");
                const serviceId = serviceName.split(".").pop() ?? "vpce-svc-unknown";
                const subnets = Array.isArray(inputs.subnetIds) ? inputs.subnetIds : [];
                // AWS names the endpoint after the service's region (endpoint_id.endpoint_service_id.service_region.vpce.amazonaws.com).
                const serviceRegion = typeof inputs.serviceRegion === "string" && inputs.serviceRegion !== "" ? inputs.serviceRegion : region;
                return {
                    ...generic,
                    id: endpointId,
                    arn: `arn:aws:ec2:${region}:${accountId}:vpc-endpoint/${endpointId}`,
                    dnsEntries: [
                        {
                            dnsName: `${endpointId}-${hex.slice(17, 25)}.${serviceId}.${serviceRegion}.vpce.amazonaws.com`,
                            hostedZoneId: "Z7HUB22UULQXV",
                        },
                    ],
                    networkInterfaceIds: subnets.map((_, i) => `eni-${digest(`${endpointId}/${i}`).slice(0, 17)}`),
                    // AWS services (com.amazonaws.<region>.<service>) accept at once; endpoint
                    // services of other accounts wait for their owner (acceptance required).
                    state: serviceName.startsWith("com.amazonaws.vpce.") || !serviceName.startsWith("com.amazonaws.") ? "pendingAcceptance" : "available",
                    ownerId: accountId,
                };
            }
            case "aws:ec2/securityGroup:SecurityGroup":
                return {
                    ...generic,
                    id: `sg-${short}`,
                    arn: `arn:aws:ec2:${region}:${accountId}:security-group/sg-${short}`,
                };
            case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
                return { ...generic, id: `sgr-${short}`, securityGroupRuleId: `sgr-${short}` };
            case "aws:ec2/vpcEndpointConnectionAccepter:VpcEndpointConnectionAccepter":
                return { ...generic, id: `${inputs.vpcEndpointServiceId}_${inputs.vpcEndpointId}`, vpcEndpointState: "available" };
            case "aws:cloudwatch/logGroup:LogGroup":
                return { ...generic, arn: `arn:aws:logs:${region}:${accountId}:log-group:${physicalName}` };
            case "aws:iam/role:Role":
                return { ...generic, id: physicalName, arn: `arn:aws:iam::${accountId}:role/${physicalName}` };
            case "aws:sns/topic:Topic":
                return { ...generic, id: `arn:aws:sns:${region}:${accountId}:${physicalName}`, arn: `arn:aws:sns:${region}:${accountId}:${physicalName}` };
            case "aws:route53/zone:Zone": {
                const zoneId = `Z${hex.slice(0, 20).toUpperCase()}`;
                return { ...generic, id: zoneId, zoneId, arn: `arn:aws:route53:::hostedzone/${zoneId}`, nameServers: [] };
            }
            case "aws:route53/record:Record":
                return { ...generic, fqdn: inputs.name };
            case "aws:lambda/function:Function":
                return {
                    ...generic,
                    arn: `arn:aws:lambda:${region}:${accountId}:function:${physicalName}`,
                    invokeArn: `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/arn:aws:lambda:${region}:${accountId}:function:${physicalName}/invocations`,
                };
            case "aws:lambda/invocation:Invocation": {
                const result = this.options.invocationResult?.(inputs) ?? offlineProbeOutcome(inputs.input);
                return { ...generic, result: JSON.stringify(result) };
            }
            case "command:local:Command": {
                // The offline plan never runs commands; a connectivity probe reports a pass.
                const env = (inputs.environment ?? {}) as Record<string, string>;
                const event = env.FIREFLY_PROBE_EVENT ? (JSON.parse(env.FIREFLY_PROBE_EVENT) as Record<string, unknown>) : {};
                const input = JSON.stringify(event);
                const result = this.options.invocationResult?.({ input }) ?? offlineProbeOutcome(input);
                return { ...generic, stdout: JSON.stringify(result), stderr: "" };
            }
            // The tunnel components: secrets, the bundle bucket, launch templates, Elastic IPs, the relay's host key.
            case "aws:secretsmanager/secret:Secret": {
                const arn = `arn:aws:secretsmanager:${region}:${accountId}:secret:${physicalName}-${hex.slice(0, 6)}`;
                return { ...generic, id: arn, arn };
            }
            case "aws:secretsmanager/secretVersion:SecretVersion": {
                // As in AWS, a new value is a new version: the tunnel hosts' launch templates name it.
                const versionId = digest(`${type}/${name}/${JSON.stringify(inputs.secretString ?? inputs.secretBinary ?? null)}`).slice(0, 32);
                return { ...generic, id: `${inputs.secretId}|${versionId}`, versionId };
            }
            case "aws:s3/bucket:Bucket": {
                const bucket = physicalName.toLowerCase().slice(0, 63);
                return { ...generic, id: bucket, bucket, arn: `arn:aws:s3:::${bucket}` };
            }
            case "aws:ec2/launchTemplate:LaunchTemplate":
                return { ...generic, id: `lt-${short}`, arn: `arn:aws:ec2:${region}:${accountId}:launch-template/lt-${short}`, latestVersion: 1, defaultVersion: 1 };
            case "aws:ec2/eip:Eip": {
                const publicIp = `203.0.113.${parseInt(hex.slice(0, 2), 16) % 254 + 1}`;
                return { ...generic, id: `eipalloc-${short}`, allocationId: `eipalloc-${short}`, publicIp };
            }
            case "tls:index/privateKey:PrivateKey":
                return { ...generic, ...fakeEd25519Key(hex) };
            case "aws:ec2/flowLog:FlowLog":
                return { ...generic, id: `fl-${short}` };
            case "aws:iam/rolePolicy:RolePolicy":
                return { ...generic, id: `${inputs.role}:${physicalName}` };
            case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
                return { ...generic, id: `${inputs.role}-${hex.slice(0, 26)}` };
            case "aws:lambda/permission:Permission":
                return { ...generic, id: String(inputs.statementId ?? `terraform-${hex.slice(0, 26)}`) };
            // API Gateway REST APIs: 10-character IDs, execute-api ARNs for invoking and IAM, and
            // apigateway ARNs (no account) for management.
            case "aws:apigateway/restApi:RestApi": {
                const apiId = hex.slice(0, 10);
                return {
                    ...generic,
                    id: apiId,
                    arn: `arn:aws:apigateway:${region}::/restapis/${apiId}`,
                    executionArn: `arn:aws:execute-api:${region}:${accountId}:${apiId}`,
                    rootResourceId: hex.slice(10, 20),
                    createdDate: "2025-01-01T00:00:00Z",
                };
            }
            case "aws:apigateway/restApiPolicy:RestApiPolicy":
                return { ...generic, id: String(inputs.restApiId) };
            case "aws:apigateway/resource:Resource":
                return { ...generic, id: hex.slice(0, 10) };
            case "aws:apigateway/method:Method":
                return { ...generic, id: `agm-${inputs.restApi}-${inputs.resourceId}-${inputs.httpMethod}` };
            case "aws:apigateway/integration:Integration":
                return { ...generic, id: `agi-${inputs.restApi}-${inputs.resourceId}-${inputs.httpMethod}` };
            case "aws:apigateway/methodResponse:MethodResponse":
                return { ...generic, id: `agmr-${inputs.restApi}-${inputs.resourceId}-${inputs.httpMethod}-${inputs.statusCode}` };
            case "aws:apigateway/integrationResponse:IntegrationResponse":
                return { ...generic, id: `agir-${inputs.restApi}-${inputs.resourceId}-${inputs.httpMethod}-${inputs.statusCode}` };
            case "aws:apigateway/authorizer:Authorizer": {
                const authorizerId = hex.slice(0, 6);
                return { ...generic, id: authorizerId, arn: `arn:aws:apigateway:${region}::/restapis/${inputs.restApi}/authorizers/${authorizerId}` };
            }
            case "aws:apigateway/model:Model":
            case "aws:apigateway/requestValidator:RequestValidator":
                return { ...generic, id: hex.slice(0, 6) };
            case "aws:apigateway/deployment:Deployment":
                return { ...generic, id: hex.slice(0, 6), createdDate: "2025-01-01T00:00:00Z" };
            case "aws:apigateway/stage:Stage": {
                const { restApi, stageName } = inputs as { restApi: string; stageName: string };
                return {
                    ...generic,
                    id: `ags-${restApi}-${stageName}`,
                    arn: `arn:aws:apigateway:${region}::/restapis/${restApi}/stages/${stageName}`,
                    executionArn: `arn:aws:execute-api:${region}:${accountId}:${restApi}/${stageName}`,
                    invokeUrl: `https://${restApi}.execute-api.${region}.amazonaws.com/${stageName}`,
                };
            }
            case "aws:apigateway/methodSettings:MethodSettings":
                return { ...generic, id: `${inputs.restApi}-${inputs.stageName}-${inputs.methodPath}` };
            case "aws:apigateway/account:Account":
                return { ...generic, id: "api-gateway-account" };
            case "aws:apigateway/domainName:DomainName": {
                // Private custom domain names get an ID of their own: the same name may exist in many accounts.
                const domainNameId = hex.slice(0, 10);
                const domain = String(inputs.domainName);
                return {
                    ...generic,
                    id: `${domain}/${domainNameId}`,
                    domainNameId,
                    arn: `arn:aws:apigateway:${region}:${accountId}:/domainnames/${domain}+${domainNameId}`,
                };
            }
            case "aws:apigateway/domainNameAccessAssociation:DomainNameAccessAssociation": {
                const arn = `arn:aws:apigateway:${region}:${accountId}:/domainnameaccessassociations/domainname/${String(inputs.domainNameArn).split("/domainnames/")[1]}/vpcesource/${inputs.accessAssociationSource}`;
                return { ...generic, id: arn, arn };
            }
            case "aws:apigateway/basePathMapping:BasePathMapping":
                return { ...generic, id: `${inputs.domainName}/${inputs.basePath ?? ""}` };
            default:
                return generic;
        }
    }
}

/**
 * What the connectivity probe answers offline: the skip it records while the path is not ready
 * (no network needed for that); otherwise nothing was probed, and it says so: never a pass.
 */
function offlineProbeOutcome(input: unknown): Record<string, unknown> {
    const event = (typeof input === "string" ? JSON.parse(input) : {}) as { ready?: boolean; notReadyReason?: string };
    if (event.ready === false) return { skipped: true, reason: event.notReadyReason ?? "the path is not ready yet" };
    return { skipped: true, reason: "not run (offline): the offline plan has no network path to probe; pulumi up runs the check" };
}

/** Where a rule runs: the shared cloud, who creates the resource, in which account and region. */
interface RuleContext {
    cloud: OfflineCloud;
    owner: string;
    accountId: string;
    region: string;
}

/**
 * The account's AZ number `index` (0 = a): its name, and its ID. AWS maps names to physical zones
 * independently per account, so `us-east-1a` of one account is not the `us-east-1a` of another;
 * the ID (`use1-az1`) is the same zone everywhere. The fake shifts the mapping by the account ID's
 * digit sum (mod 6): 111111111111 and 222222222222 share a mapping, 987654321098 is shifted by 2.
 */
export function availabilityZone(index: number, accountId: string, region: string): { name: string; id: string } {
    const shift = [...accountId].reduce((sum, d) => sum + (Number(d) || 0), 0) % 6;
    const [area = "xx", direction = "x", number = "1"] = region.split("-");
    return { name: `${region}${"abcdef"[index % 6]}`, id: `${area}${direction[0]}${number}-az${((index + shift) % 6) + 1}` };
}

/** A subnet's AZ in the fake: its ID's last hex digit d picks zone (d - 1) mod 6 (…1 is a, …2 is b). */
export function subnetAvailabilityZone(subnetId: string, accountId: string, region: string): { name: string; id: string } {
    return availabilityZone((parseInt(subnetId.slice(-1), 16) + 5) % 6, accountId, region);
}

/** The subnets a resource is placed in: `subnetIds` (an endpoint), `subnets` or `subnetMappings[].subnetId` (a load balancer). */
function subnetsOf(inputs: State): string[] {
    const ids = [inputs.subnetIds, inputs.subnets].flatMap((list) => (Array.isArray(list) ? list.filter((id): id is string => typeof id === "string") : []));
    const mappings = Array.isArray(inputs.subnetMappings) ? (inputs.subnetMappings as Array<{ subnetId?: unknown }>) : [];
    return [...ids, ...mappings.flatMap((m) => (typeof m?.subnetId === "string" ? [m.subnetId] : []))];
}

/**
 * The rules below that need the cloud, the account or the region, run on a create or update
 * (not in a preview, whose inputs may be unknown) before the resource exists.
 */
function checkBeforeCreate(type: string, name: string, inputs: State, cloud: OfflineCloud, accountId: string, region: string): void {
    switch (type) {
        case "aws:lb/loadBalancer:LoadBalancer":
            return checkOneSubnetPerZone("load balancer", type, name, inputs, accountId, region);
        case "aws:ec2/vpcEndpoint:VpcEndpoint":
            if (inputs.vpcEndpointType !== "Gateway") checkOneSubnetPerZone("endpoint", type, name, inputs, accountId, region);
            return;
        case "aws:ec2/vpcEndpointConnectionAccepter:VpcEndpointConnectionAccepter":
            return checkAcceptedEndpointRequestsService(cloud, name, inputs);
    }
}

/**
 * AWS: a load balancer, and an interface (or Gateway Load Balancer) endpoint, takes one subnet per
 * Availability Zone; a second subnet in a zone is refused when the resource is created or updated.
 */
function checkOneSubnetPerZone(what: "load balancer" | "endpoint", type: string, name: string, inputs: State, accountId: string, region: string): void {
    const loadBalancer = what === "load balancer";
    const seen = new Map<string, string>();
    for (const subnet of subnetsOf(inputs)) {
        const zone = subnetAvailabilityZone(subnet, accountId, region);
        const first = seen.get(zone.id);
        if (first === undefined) {
            seen.set(zone.id, subnet);
            continue;
        }
        if (first === subnet) continue;
        const fix = `give one subnet per Availability Zone: ${first} and ${subnet} are both in ${zone.name} (${zone.id}); keep the one the ${what} should use there`;
        throw new AwsRuleError(
            loadBalancer ? "load-balancer-one-subnet-per-zone" : "endpoint-one-subnet-per-zone",
            `${type} "${name}"`,
            loadBalancer
                ? "InvalidConfigurationRequest: A load balancer cannot be attached to multiple subnets in the same Availability Zone"
                : `DuplicateSubnetsInSameZone: Found another VPC endpoint subnet in the availability zone of ${subnet}. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service.`,
            fix,
        );
    }
}

/**
 * AWS: a service owner accepts connection requests to its own service only. An accepter naming an
 * endpoint this cloud knows to request another service finds no connection to accept; the
 * provider (terraform-provider-aws's accepter, which pulumi-aws runs) then fails while waiting for
 * it, in the words of hashicorp/terraform-provider-aws#27761. An endpoint this cloud did not create
 * (another account's, outside the simulated deployment) is not judged.
 */
function checkAcceptedEndpointRequestsService(cloud: OfflineCloud, name: string, inputs: State): void {
    const serviceId = String(inputs.vpcEndpointServiceId ?? "");
    const endpointId = String(inputs.vpcEndpointId ?? "");
    const endpoint = cloud.endpoints.get(endpointId);
    if (endpoint === undefined || endpoint.serviceName.split(".").pop() === serviceId) return;
    throw new AwsRuleError(
        "accepter-own-service",
        `aws:ec2/vpcEndpointConnectionAccepter:VpcEndpointConnectionAccepter "${name}"`,
        `waiting for VPC Endpoint Connection (${serviceId}_${endpointId}) to be accepted: couldn't find resource`,
        `accept only endpoints that request ${serviceId}: ${endpointId} requests ${endpoint.serviceName} (another customer's endpoint, or a stale ID in acceptEndpointIds)`,
    );
}

function recordLoadBalancerZones(ctx: RuleContext, arn: string, inputs: State): void {
    // `subnets` or `subnetMappings`: an NLB with Elastic IPs or private addresses names its subnets in the latter.
    const zones = subnetsOf(inputs).map((s) => subnetAvailabilityZone(s, ctx.accountId, ctx.region));
    ctx.cloud.loadBalancerZones.set(arn, { owner: ctx.owner, zoneIds: zones.map((z) => z.id), zoneNames: zones.map((z) => z.name) });
}

/**
 * An endpoint service is offered in its NLBs' AZs: `availabilityZones` (names, the owner's) as AWS
 * reports them; and, with `supportedRegions`, to consumers in those regions too (cross-region PrivateLink).
 */
function recordEndpointServiceZones(ctx: RuleContext, serviceName: string, inputs: State): State {
    const arns = Array.isArray(inputs.networkLoadBalancerArns) ? inputs.networkLoadBalancerArns.map(String) : [];
    const zones = arns.map((arn) => ctx.cloud.loadBalancerZones.get(arn)).filter((z) => z !== undefined);
    const supportedRegions = Array.isArray(inputs.supportedRegions) ? inputs.supportedRegions.map(String) : [];
    ctx.cloud.endpointServices.set(serviceName, { owner: ctx.owner, region: ctx.region, zoneIds: [...new Set(zones.flatMap((z) => z.zoneIds))], supportedRegions });
    if (zones.length === 0) return {};
    return { availabilityZones: [...new Set(zones.flatMap((z) => z.zoneNames))].sort() };
}

/**
 * AWS: an interface endpoint reaches a service that exists where it looks (its `serviceRegion`,
 * default its own region) and, in another region, only a service that lists the endpoint's region
 * in its supported regions; to any other endpoint the service does not exist. Its subnets must be
 * in AZs the service offers (matched by AZ ID) when both are in one region; a cross-region
 * endpoint's subnets are in its own region, where the service has no AZs, and any of them will do.
 */
function checkEndpointSubnetsOffered(ctx: RuleContext, inputs: State): void {
    if (inputs.vpcEndpointType !== "Interface") return;
    const serviceName = String(inputs.serviceName ?? "");
    const lookedUpIn = typeof inputs.serviceRegion === "string" && inputs.serviceRegion !== "" ? inputs.serviceRegion : ctx.region;
    // AWS's answer for a service name it cannot find from the caller's region (InvalidServiceName).
    const doesNotExist = `InvalidServiceName: The Vpc Endpoint Service '${serviceName}' does not exist`;
    const resource = `aws:ec2/vpcEndpoint:VpcEndpoint "${ctx.owner.split("::").pop() ?? ""}"`;
    // No service exists in a region AWS does not have (a typo'd serviceRegion).
    if (lookedUpIn !== ctx.region && !isAwsRegion(lookedUpIn)) {
        throw new AwsRuleError("endpoint-service-region", resource, doesNotExist, `set serviceRegion to the endpoint service's region, an AWS region (got ${JSON.stringify(lookedUpIn)})`);
    }
    const service = ctx.cloud.endpointServices.get(serviceName);
    if (service === undefined) return;
    if (service.region !== lookedUpIn) {
        throw new AwsRuleError(
            "endpoint-service-region",
            resource,
            doesNotExist,
            service.region === ctx.region ? "leave serviceRegion unset (or set it to this region): the service is in this region" : `set serviceRegion to ${service.region}, the service's region (a cross-region endpoint)`,
        );
    }
    if (service.region !== ctx.region) {
        if (!service.supportedRegions.includes(ctx.region)) {
            throw new AwsRuleError(
                "endpoint-service-supported-regions",
                resource,
                doesNotExist,
                `the service (in ${service.region}) must list ${ctx.region}, the endpoint's region, in its supportedRegions (it lists ${service.supportedRegions.join(", ") || "none"})`,
            );
        }
        return;
    }
    if (service.zoneIds.length === 0) return;
    for (const subnet of Array.isArray(inputs.subnetIds) ? inputs.subnetIds.map(String) : []) {
        if (!service.zoneIds.includes(subnetAvailabilityZone(subnet, ctx.accountId, ctx.region).id)) {
            throw new Error(`InvalidParameter: The VPC endpoint service ${serviceName} does not support the availability zone of the subnet: ${subnet}.`);
        }
    }
}

/** AWS: one interface endpoint per AWS service and VPC may have private DNS (it owns the service's domain there). */
function checkOnePrivateDnsEndpointPerVpc(ctx: RuleContext, inputs: State): void {
    const serviceName = String(inputs.serviceName ?? "");
    const service = new RegExp(`^com\.amazonaws\.${ctx.region}\.([a-z0-9.-]+)$`).exec(serviceName)?.[1];
    if (inputs.privateDnsEnabled !== true || service === undefined) return;
    const key = `${inputs.vpcId}|${serviceName}`;
    const other = ctx.cloud.privateDnsEndpoints.get(key);
    if (other !== undefined && other.owner !== ctx.owner) {
        const domain = service === "execute-api" ? `*.execute-api.${ctx.region}.amazonaws.com` : `${service}.${ctx.region}.amazonaws.com`;
        throw new Error(`InvalidParameter: private-dns-enabled cannot be set because there is already a conflicting DNS domain for ${domain} in the VPC ${inputs.vpcId}`);
    }
    ctx.cloud.privateDnsEndpoints.set(key, { owner: ctx.owner });
}

/** Route 53: one private hosted zone of a name per VPC (ConflictingDomainExists). */
function checkOnePrivateZonePerNamePerVpc(ctx: RuleContext, inputs: State, zoneId: string): void {
    const vpcs = Array.isArray(inputs.vpcs) ? (inputs.vpcs as Array<{ vpcId?: unknown }>) : [];
    const name = String(inputs.name ?? "").replace(/\.$/, "");
    for (const vpc of vpcs) {
        const key = `${vpc.vpcId}|${name}`;
        const other = ctx.cloud.privateZones.get(key);
        if (other !== undefined && other.owner !== ctx.owner) {
            throw new Error(`ConflictingDomainExists: The VPC ${vpc.vpcId} in region ${ctx.region} has already been associated with the hosted zone ${other.zoneId} with the same domain name.`);
        }
        ctx.cloud.privateZones.set(key, { owner: ctx.owner, zoneId });
    }
}

/**
 * A real ed25519 key pair derived from the resource's hash (so plans repeat), in the shapes the TLS
 * provider returns. The private key in OpenSSH format is a placeholder: nothing offline uses it.
 */
function fakeEd25519Key(hex: string): State {
    const pkcs8Prefix = Buffer.from("302e020100300506032b657004220420", "hex");
    const privateKey = crypto.createPrivateKey({ key: Buffer.concat([pkcs8Prefix, Buffer.from(hex.slice(0, 64), "hex")]), format: "der", type: "pkcs8" });
    const raw = Buffer.from(String(crypto.createPublicKey(privateKey).export({ format: "jwk" }).x), "base64url");
    const sshString = (data: Buffer) => {
        const length = Buffer.alloc(4);
        length.writeUInt32BE(data.length);
        return Buffer.concat([length, data]);
    };
    const blob = Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(raw)]);
    return {
        id: hex.slice(0, 40),
        publicKeyOpenssh: `ssh-ed25519 ${blob.toString("base64")}\n`,
        publicKeyFingerprintSha256: `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
        privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
        privateKeyOpenssh: "-----BEGIN OPENSSH PRIVATE KEY-----\n(offline plan: no real key)\n-----END OPENSSH PRIVATE KEY-----\n",
    };
}

/**
 * What `pulumi preview` knows of a resource it would create: its inputs. Its ID is unknown (the SDK
 * resolves a missing ID as unknown at dryRun) and so is every output the answer leaves out.
 */
function previewOfCreate(inputs: State): pulumi.runtime.MockResourceResult {
    return { id: undefined, state: { ...inputs } };
}

/**
 * The tags of a provider's `defaultTags` (`{ tags: {...} }`), as a provider's inputs carry it (a
 * JSON string: the AWS provider serializes its object inputs) or the stack config `aws:defaultTags`.
 */
export function defaultTagsOf(value: unknown): Record<string, string> {
    const parsed: unknown = typeof value === "string" && value !== "" ? JSON.parse(value) : value;
    const tags = (parsed as { tags?: unknown } | undefined)?.tags;
    if (typeof tags !== "object" || tags === null) return {};
    return Object.fromEntries(Object.entries(tags).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/** `fake-aws:deployed` of the stack config: what an earlier deployment left (see FakeAwsOptions.deployed). */
function deployedFromConfig(): Record<string, Record<string, unknown>> {
    const text = pulumi.runtime.getConfig("fake-aws:deployed");
    return text ? (JSON.parse(text) as Record<string, Record<string, unknown>>) : {};
}

function digest(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}

/** CIDR blocks of the example stacks' VPCs (stacks/Pulumi.*.yaml); any other VPC is 10.0.0.0/16 unless given. */
export const exampleVpcCidrs: Record<string, string[]> = {
    "vpc-0c0ffee0c0ffee001": ["10.20.0.0/16"],
    "vpc-0f1ef1ef1ef1ef101": ["10.30.0.0/16"],
    "vpc-0910be10910be1001": ["10.40.0.0/16"],
};
const defaultVpcCidr = "10.0.0.0/16";

/** The partition AWS serves a region in, and its names. */
export function partitionOf(region: string): { partition: string; dnsSuffix: string; reverseDnsPrefix: string } {
    if (region.startsWith("cn-")) return { partition: "aws-cn", dnsSuffix: "amazonaws.com.cn", reverseDnsPrefix: "cn.com.amazonaws" };
    if (region.startsWith("us-gov-")) return { partition: "aws-us-gov", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
    return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
}

/**
 * The rules AWS enforces on the PrivateLink and private API paths that a mock runtime would let
 * through, checked as each resource is created (in the order the program's dependencies allow):
 * NLB security groups only at creation, NLB health-check intervals, IP targets outside the VPC,
 * one owner of an endpoint's private DNS setting, and the ordering AWS needs (a VPC Lambda after
 * its role may create network interfaces, its invocation after its security group rules, a
 * connection notification after the topic policy that lets the service publish).
 */
export class PrivateConnectivityRules {
    private readonly targetGroupVpc = new Map<string, { vpcId: string; targetType: string }>();
    private readonly endpointSetsPrivateDns = new Map<string, boolean>();
    private readonly rolesWithPolicies = new Set<string>();
    private readonly topicsCreated = new Set<string>();
    private readonly topicsWithPolicy = new Set<string>();
    private readonly groupsWithEgress = new Set<string>();
    private readonly functionGroups = new Map<string, string[]>();
    /** Ingress and egress rules by security group: port and the group on the other side. */
    private readonly ingress = new Map<string, Array<{ port: number; from?: string }>>();
    private readonly egress = new Map<string, Array<{ port: number; to?: string }>>();

    constructor(
        private readonly vpcCidrs: Record<string, string[]>,
        /** Inputs of resources that already exist (`<type>::<name>`), from an earlier deployment. */
        private readonly deployedNow: () => Record<string, Record<string, unknown>>,
    ) {}

    private deployedCache?: Record<string, Record<string, unknown>>;
    private get deployed(): Record<string, Record<string, unknown>> {
        return (this.deployedCache ??= this.deployedNow());
    }

    /** Whether the resource exists from an earlier deployment. */
    exists(type: string, name: string): boolean {
        return this.deployed[`${type}::${name}`] !== undefined;
    }

    cidrsOf(vpcId: string): string[] {
        return this.vpcCidrs[vpcId] ?? exampleVpcCidrs[vpcId] ?? [defaultVpcCidr];
    }

    /** Refuses what AWS would refuse; call before the resource exists. */
    check(type: string, name: string, inputs: Record<string, unknown>): void {
        const resource = `${type} "${name}"`;
        switch (type) {
            case "aws:lb/loadBalancer:LoadBalancer": {
                const before = this.deployed[`${type}::${name}`];
                const hadGroups = Array.isArray(before?.securityGroups) && before.securityGroups.length > 0;
                const hasGroups = Array.isArray(inputs.securityGroups) && inputs.securityGroups.length > 0;
                if (before && inputs.loadBalancerType === "network" && !hadGroups && hasGroups) {
                    throw new AwsRuleError(
                        "nlb-security-groups-at-creation",
                        resource,
                        "InvalidConfigurationRequest: You cannot set security groups on a Network Load Balancer which was created without any security groups.",
                        "give a Network Load Balancer its security groups when it is created; an existing one without any can only get them by being replaced (a new endpoint service name for PrivateLink)",
                    );
                }
                return;
            }
            case "aws:lb/targetGroup:TargetGroup": {
                const interval = (inputs.healthCheck as { interval?: unknown } | undefined)?.interval;
                if (typeof interval === "number" && (interval < 5 || interval > 300)) {
                    const bound = interval < 5 ? "greater than or equal to 5" : "less than or equal to 300";
                    throw new AwsRuleError(
                        "health-check-interval-range",
                        resource,
                        `ValidationError: 1 validation error detected: Value '${interval}' at 'healthCheckIntervalSeconds' failed to satisfy constraint: Member must have value ${bound}`,
                        "choose a health-check interval from 5 to 300 seconds",
                    );
                }
                return;
            }
            case "aws:lb/targetGroupAttachment:TargetGroupAttachment": {
                const group = this.targetGroupVpc.get(String(inputs.targetGroupArn));
                const ip = String(inputs.targetId);
                if (!group || group.targetType !== "ip" || !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return;
                const inside = this.cidrsOf(group.vpcId).some((cidr) => ipv4InCidr(ip, cidr));
                if (!inside && inputs.availabilityZone !== "all") {
                    throw new AwsRuleError(
                        "ip-target-outside-vpc",
                        resource,
                        `ValidationError: The Availability Zone is required for IP address '${ip}' because it is not in the VPC`,
                        `register an IP outside ${group.vpcId} (${this.cidrsOf(group.vpcId).join(", ")}), e.g. in a peered VPC or on premises, with availabilityZone "all"`,
                    );
                }
                if (inside && inputs.availabilityZone === "all") {
                    throw new AwsRuleError(
                        "ip-target-outside-vpc",
                        resource,
                        `ValidationError: The IP address '${ip}' is within the VPC, and cannot have its Availability Zone overridden to 'all'`,
                        "leave availabilityZone unset for targets inside the target group's VPC",
                    );
                }
                return;
            }
            case "aws:vpc/endpointPrivateDns:EndpointPrivateDns":
                if (this.endpointSetsPrivateDns.get(String(inputs.vpcEndpointId))) {
                    throw new AwsRuleError(
                        "endpoint-private-dns-one-owner",
                        resource,
                        `aws.vpc.EndpointPrivateDns: the privateDnsEnabled argument should be omitted on the parent aws.ec2.VpcEndpoint (${inputs.vpcEndpointId}). Setting the value both places can lead to unintended behavior and persistent differences.`,
                        "leave privateDnsEnabled unset on an endpoint whose private DNS aws.vpc.EndpointPrivateDns manages",
                    );
                }
                return;
            case "aws:lambda/function:Function": {
                const vpcConfig = inputs.vpcConfig as { securityGroupIds?: unknown } | undefined;
                const roleName = String(inputs.role ?? "").split("/").pop() ?? "";
                if (vpcConfig && !this.rolesWithPolicies.has(roleName)) {
                    throw new AwsRuleError(
                        "lambda-after-role-policy",
                        resource,
                        "InvalidParameterValueException: The provided execution role does not have permissions to call CreateNetworkInterface on EC2",
                        `create the function after the policy (attachment) of its role ${roleName}: dependsOn it`,
                    );
                }
                return;
            }
            case "aws:lambda/invocation:Invocation": {
                const groups = this.functionGroups.get(String(inputs.functionName)) ?? [];
                this.checkProbePort(resource, groups, inputs.input);
                const closed = groups.filter((g) => !this.groupsWithEgress.has(g));
                if (closed.length > 0) {
                    throw new AwsRuleError(
                        "invocation-after-security-group-rules",
                        resource,
                        `Task timed out: the function's security group ${closed.join(", ")} allowed no egress yet when it was invoked`,
                        "invoke the function after the security group rules it relies on: dependsOn them",
                    );
                }
                return;
            }
            case "aws:ec2/vpcEndpointConnectionNotification:VpcEndpointConnectionNotification": {
                const topic = String(inputs.connectionNotificationArn);
                if (this.topicsCreated.has(topic) && !this.topicsWithPolicy.has(topic)) {
                    throw new AwsRuleError(
                        "notification-after-topic-policy",
                        resource,
                        `InvalidParameter: vpce.amazonaws.com is not authorized to publish to ${topic} (the test notification was refused)`,
                        "create the connection notification after the topic policy that lets vpce.amazonaws.com publish: dependsOn it",
                    );
                }
                return;
            }
        }
    }

    /**
     * A probe reaches the target only on a port the target's security group opens to its clients;
     * the probe's own rule (from its group) opens the port for it, not the service behind it.
     */
    private checkProbePort(resource: string, probeGroups: string[], input: unknown): void {
        const port = (typeof input === "string" ? (JSON.parse(input) as { request?: { port?: unknown } }) : {}).request?.port;
        if (typeof port !== "number") return;
        for (const group of probeGroups) {
            for (const rule of this.egress.get(group) ?? []) {
                if (rule.port !== port || rule.to === undefined) continue;
                const served = (this.ingress.get(rule.to) ?? []).filter((r) => r.from === undefined || !probeGroups.includes(r.from)).map((r) => r.port);
                if (served.length > 0 && !served.includes(port)) {
                    throw new AwsRuleError(
                        "probe-port-served",
                        resource,
                        `connect ETIMEDOUT: port ${port} of the target behind ${rule.to} is not served (its security group opens ${[...new Set(served)].join(", ")} to its clients)`,
                        `probe a port the endpoint's security group opens (${[...new Set(served)].join(", ")})`,
                    );
                }
            }
        }
    }

    /** Remembers what later checks need, once the resource exists. */
    created(type: string, id: string, state: Record<string, unknown>, inputs: Record<string, unknown>): void {
        switch (type) {
            case "aws:lb/targetGroup:TargetGroup":
                this.targetGroupVpc.set(String(state.arn), { vpcId: String(state.vpcId), targetType: String(state.targetType ?? "instance") });
                return;
            case "aws:ec2/vpcEndpoint:VpcEndpoint":
                this.endpointSetsPrivateDns.set(id, state.privateDnsEnabled !== undefined);
                return;
            case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            case "aws:iam/rolePolicy:RolePolicy":
                this.rolesWithPolicies.add(String(state.role));
                return;
            case "aws:sns/topic:Topic":
                this.topicsCreated.add(String(state.arn));
                return;
            case "aws:sns/topicPolicy:TopicPolicy":
                this.topicsWithPolicy.add(String(inputs.arn));
                return;
            case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
                const group = String(state.securityGroupId);
                this.groupsWithEgress.add(group);
                const to = typeof state.referencedSecurityGroupId === "string" ? state.referencedSecurityGroupId : undefined;
                this.egress.set(group, [...(this.egress.get(group) ?? []), { port: Number(state.fromPort), to }]);
                return;
            }
            case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
                const group = String(state.securityGroupId);
                const from = typeof state.referencedSecurityGroupId === "string" ? state.referencedSecurityGroupId : undefined;
                this.ingress.set(group, [...(this.ingress.get(group) ?? []), { port: Number(state.fromPort), from }]);
                return;
            }
            case "aws:lambda/function:Function": {
                const vpcConfig = state.vpcConfig as { securityGroupIds?: unknown } | undefined;
                const groups = Array.isArray(vpcConfig?.securityGroupIds) ? vpcConfig.securityGroupIds.map(String) : [];
                this.functionGroups.set(String(state.name), groups);
                return;
            }
        }
    }
}
