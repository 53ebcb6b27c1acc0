// TLS only: listeners terminate TLS 1.2+ or pass through traffic that is already encrypted
// (TLS on 443, SSH on 22); API Gateway custom domains negotiate TLS 1.2+.
import * as aws from "@pulumi/aws";
import {
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    validateResourceOfType,
} from "@pulumi/policy";
import { endpointTypesOf, isPrivateOnly } from "./apiGateway";
import { configOf, portList } from "./ruleConfig";

/** The listener fields the TLS rules read; aws.lb.Listener and aws.alb.Listener share them. */
interface ListenerProps {
    protocol?: string;
    port?: number;
    sslPolicy?: string;
    defaultActions: { type: string; redirect?: { protocol?: string } }[];
}

type ListenerCheck = (listener: ListenerProps, args: ResourceValidationArgs, reportViolation: ReportViolation) => void;

/** One check for aws.lb.Listener and its aws.alb.Listener alias. */
function forEveryListener(check: ListenerCheck): ResourceValidation[] {
    return [validateResourceOfType(aws.lb.Listener, check), validateResourceOfType(aws.alb.Listener, check)];
}

/**
 * A listener without protocol and port is a Gateway Load Balancer's (GENEVE, set by AWS); an
 * ALB/NLB listener without protocol gets the provider default, HTTP.
 */
function protocolOf(listener: Pick<ListenerProps, "protocol" | "port">): string | undefined {
    if (listener.protocol === undefined && listener.port === undefined) {
        return undefined;
    }
    return (listener.protocol ?? "HTTP").toUpperCase();
}

/**
 * ELB security policies whose minimum is TLS 1.2. `ELBSecurityPolicy-TLS13-1-0-*` and
 * `-TLS13-1-1-*` add TLS 1.3 but still accept TLS 1.0/1.1, so the TLS13 family is matched by its
 * minimum version, not by prefix.
 */
const tls12PlusElbPolicy = /^ELBSecurityPolicy-(TLS13-1-[23]-|TLS-1-2-|FS-1-2-)/;

const checkSslPolicy: ListenerCheck = (listener, { name }, reportViolation) => {
    const protocol = protocolOf(listener);
    if (protocol !== "HTTPS" && protocol !== "TLS") {
        return;
    }
    if (listener.sslPolicy === undefined) {
        reportViolation(
            `${protocol} listener '${name}' has no sslPolicy, so AWS applies ELBSecurityPolicy-2016-08 (TLS 1.0); set sslPolicy to a TLS 1.2+ policy such as ELBSecurityPolicy-TLS13-1-2-2021-06.`,
        );
    } else if (!tls12PlusElbPolicy.test(listener.sslPolicy)) {
        reportViolation(
            `${protocol} listener '${name}' uses sslPolicy '${listener.sslPolicy}', which accepts TLS older than 1.2; use an ELBSecurityPolicy-TLS13-1-2-*, -TLS-1-2-* or -FS-1-2-* policy.`,
        );
    }
};

export const listenerTlsPolicy: ResourceValidationPolicy = {
    name: "lb-listener-tls12-policy",
    description: "HTTPS and TLS listeners use a security policy whose minimum protocol is TLS 1.2.",
    enforcementLevel: "mandatory",
    severity: "high",
    tags: ["tls"],
    remediationSteps:
        "Set sslPolicy to ELBSecurityPolicy-TLS13-1-2-2021-06 (or another ELBSecurityPolicy-TLS13-1-2-*, -TLS-1-2-* or " +
        "-FS-1-2-* policy). Leaving it unset gives ELBSecurityPolicy-2016-08, which accepts TLS 1.0.",
    validateResource: forEveryListener(checkSslPolicy),
};

interface NoHttpConfig {
    allowHttpsRedirects: boolean;
}

const noHttpSchema: PolicyConfigSchema = {
    properties: {
        allowHttpsRedirects: {
            type: "boolean",
            default: false,
            description:
                "Let HTTP listeners whose every default action redirects to HTTPS through. They still read requests in clear text.",
        },
    },
};

function redirectsEverythingToHttps(listener: ListenerProps): boolean {
    return (
        listener.defaultActions.length > 0 &&
        listener.defaultActions.every(
            (action) => action.type === "redirect" && action.redirect?.protocol?.toUpperCase() === "HTTPS",
        )
    );
}

/** A classic ELB's listener as the ALB/NLB checks read it: its front-end protocol and port. */
function classicListeners(lb: { listeners: { lbProtocol: string; lbPort: number }[] }): ListenerProps[] {
    return (lb.listeners ?? []).map((listener) => ({ protocol: listener.lbProtocol, port: listener.lbPort, defaultActions: [] }));
}

/** The check on each listener of a classic load balancer, named `<lb>` in messages. */
function forEveryClassicListener(check: ListenerCheck): ResourceValidation {
    return validateResourceOfType(aws.elb.LoadBalancer, (lb, args, reportViolation) => {
        for (const listener of classicListeners(lb)) {
            check(listener, { ...args, name: `${args.name}:${listener.port}` }, reportViolation);
        }
    });
}

const checkNoHttp: ListenerCheck = (listener, args, reportViolation) => {
    if (protocolOf(listener) !== "HTTP") {
        return;
    }
    const { allowHttpsRedirects } = configOf<NoHttpConfig>(noHttpSchema, args);
    if (allowHttpsRedirects && redirectsEverythingToHttps(listener)) {
        return;
    }
    const how = listener.protocol === undefined ? "has no protocol, so it defaults to plain HTTP" : "serves plain HTTP";
    reportViolation(`Listener '${args.name}' ${how}; use protocol HTTPS with a certificate and a TLS 1.2+ sslPolicy.`);
};

export const listenerNoPlainHttp: ResourceValidationPolicy = {
    name: "lb-listener-no-plain-http",
    description: "Load balancer listeners (ALB/NLB and classic ELB) do not serve plain HTTP.",
    enforcementLevel: "mandatory",
    severity: "high",
    tags: ["tls", "checkov:CKV_AWS_2"],
    remediationSteps:
        "Use protocol HTTPS with a certificateArn and a TLS 1.2+ sslPolicy. An HTTP listener that only redirects to " +
        "HTTPS passes when allowHttpsRedirects is true in the policy config.",
    configSchema: noHttpSchema,
    validateResource: [...forEveryListener(checkNoHttp), forEveryClassicListener(checkNoHttp)],
};

interface PlainTcpConfig {
    tlsPassthroughPorts: number[];
    sshPorts: number[];
}

const plainTcpSchema: PolicyConfigSchema = {
    properties: {
        tlsPassthroughPorts: portList([443], "Ports where a TCP listener passes TLS through to targets that terminate it."),
        sshPorts: portList([22], "Ports where a TCP listener carries SSH, which encrypts on its own."),
    },
};

const layer4Protocols = new Set(["TCP", "UDP", "TCP_UDP"]);

const checkPlainTcp: ListenerCheck = (listener, args, reportViolation) => {
    const protocol = protocolOf(listener);
    if (protocol === undefined || !layer4Protocols.has(protocol)) {
        return;
    }
    if (protocol !== "TCP") {
        // SSH and TLS run over TCP: a UDP port carries neither, whatever its number.
        reportViolation(
            `${protocol} listener '${args.name}' on port ${listener.port ?? "(none)"} accepts UDP, which carries neither SSH nor TLS; use protocol TCP (or TLS) on that port.`,
        );
        return;
    }
    const { tlsPassthroughPorts, sshPorts } = configOf<PlainTcpConfig>(plainTcpSchema, args);
    if (listener.port !== undefined && (tlsPassthroughPorts.includes(listener.port) || sshPorts.includes(listener.port))) {
        return;
    }
    const where = listener.port === undefined ? "without a port" : `on port ${listener.port}`;
    reportViolation(
        `${protocol} listener '${args.name}' ${where} is not a configured TLS pass-through (${tlsPassthroughPorts.join(", ") || "none"}) or SSH (${sshPorts.join(", ") || "none"}) port; use protocol TLS, or add the port to tlsPassthroughPorts or sshPorts in this policy's config if the traffic is already encrypted.`,
    );
};

export const listenerPlainTcpPorts: ResourceValidationPolicy = {
    name: "lb-listener-tcp-encrypted-ports",
    description:
        "TCP listeners (which do not encrypt) only listen on ports configured as TLS pass-through (default 443) or SSH (default 22); UDP and TCP_UDP listeners carry neither and are refused. Classic ELB TCP listeners included.",
    enforcementLevel: "mandatory",
    severity: "high",
    tags: ["tls"],
    remediationSteps:
        "Terminate TLS at the listener (protocol TLS with a TLS 1.2+ sslPolicy), or, when the protocol on that port is " +
        "already encrypted end to end, add the port to tlsPassthroughPorts or sshPorts in the policy pack config.",
    configSchema: plainTcpSchema,
    validateResource: [...forEveryListener(checkPlainTcp), forEveryClassicListener(checkPlainTcp)],
};

/**
 * API Gateway's legacy TLS_1_2; an enhanced policy of the TLS 1.2 family (`SecurityPolicy_TLS12_*`,
 * e.g. `SecurityPolicy_TLS12_2018_EDGE` and `SecurityPolicy_TLS12_PFS_2025_EDGE` of edge-optimized
 * names, minimum TLS 1.2); or one of the TLS 1.3 family whose minimum is TLS 1.2 or 1.3 (any
 * TLS13_1_0 / TLS13_1_1 variant is refused, should AWS add one). The names are API Gateway's
 * `SecurityPolicy` enum (AWS SDKs, 2025).
 */
function isTls12PlusApiPolicy(policy: string): boolean {
    return (
        policy === "TLS_1_2" ||
        /^SecurityPolicy_TLS12_/.test(policy) ||
        (/^SecurityPolicy_TLS13_/.test(policy) && !/^SecurityPolicy_TLS13_1_[01](_|$)/.test(policy))
    );
}

export const apiGatewayDomainTlsPolicy: ResourceValidationPolicy = {
    name: "apigateway-domain-tls12",
    description: "API Gateway custom domain names use TLS_1_2 or an enhanced SecurityPolicy_TLS12_* / SecurityPolicy_TLS13_* security policy with a minimum of TLS 1.2 (checkov CKV_AWS_206).",
    enforcementLevel: "mandatory",
    severity: "high",
    tags: ["tls", "checkov:CKV_AWS_206"],
    remediationSteps:
        "Set securityPolicy: \"TLS_1_2\" (or an enhanced SecurityPolicy_TLS13_1_2_* / SecurityPolicy_TLS13_1_3_* policy) " +
        "on the aws.apigateway.DomainName.",
    validateResource: validateResourceOfType(aws.apigateway.DomainName, (domain, args, reportViolation) => {
        if (domain.securityPolicy === undefined) {
            reportViolation(
                `API Gateway domain '${args.name}' has no securityPolicy, so it accepts TLS 1.0; set securityPolicy: "TLS_1_2".`,
            );
        } else if (!isTls12PlusApiPolicy(domain.securityPolicy)) {
            reportViolation(
                `API Gateway domain '${args.name}' uses securityPolicy '${domain.securityPolicy}', which accepts TLS older than 1.2; set securityPolicy: "TLS_1_2" or a SecurityPolicy_TLS13_* policy.`,
            );
        }
    }),
};

export const apiGatewayRestApiTlsPolicy: ResourceValidationPolicy = {
    name: "apigateway-rest-api-tls12",
    description:
        "API Gateway REST APIs set a TLS 1.2+ securityPolicy on their default execute-api endpoint; unset is TLS 1.2 only for PRIVATE APIs (AWS applies TLS 1.0 to EDGE and REGIONAL ones).",
    enforcementLevel: "mandatory",
    severity: "high",
    tags: ["tls"],
    remediationSteps:
        "Set securityPolicy: \"TLS_1_2\" (or an enhanced SecurityPolicy_TLS13_1_2_* / SecurityPolicy_TLS13_1_3_* policy with endpointAccessMode) on the aws.apigateway.RestApi.",
    validateResource: validateResourceOfType(aws.apigateway.RestApi, (api, args, reportViolation) => {
        if (api.securityPolicy === undefined) {
            if (!isPrivateOnly(endpointTypesOf(api.endpointConfiguration))) {
                reportViolation(
                    `REST API '${args.name}' has no securityPolicy, so its public execute-api endpoint accepts TLS 1.0; set securityPolicy: "TLS_1_2".`,
                );
            }
        } else if (!isTls12PlusApiPolicy(api.securityPolicy)) {
            reportViolation(
                `REST API '${args.name}' uses securityPolicy '${api.securityPolicy}', which accepts TLS older than 1.2; set securityPolicy: "TLS_1_2" or a SecurityPolicy_TLS13_* policy.`,
            );
        }
    }),
};

export const tlsPolicies = [listenerTlsPolicy, listenerNoPlainHttp, listenerPlainTcpPorts, apiGatewayDomainTlsPolicy, apiGatewayRestApiTlsPolicy];
