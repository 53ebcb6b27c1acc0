import * as assert from "node:assert/strict";
import * as aws from "@pulumi/aws";
import {
    apiGatewayDomainTlsPolicy,
    apiGatewayRestApiTlsPolicy,
    listenerNoPlainHttp,
    listenerPlainTcpPorts,
    listenerTlsPolicy,
} from "../../policies/tls";
import { PropsOf, UNKNOWN, assertCannotRunDuringPreview, assertNoViolations, assertViolation, plan, violationsOf } from "./helpers";

const forward = [{ type: "forward", targetGroupArn: "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/tg/1" }];

const tlsListener = {
    loadBalancerArn: "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/svc/1",
    protocol: "TLS",
    port: 443,
    certificateArn: "arn:aws:acm:eu-west-1:1:certificate/1",
    sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
    defaultActions: forward,
} satisfies PropsOf<typeof aws.lb.Listener>;

const httpsListener = { ...tlsListener, protocol: "HTTPS" } satisfies PropsOf<typeof aws.lb.Listener>;
const sshListener = { loadBalancerArn: tlsListener.loadBalancerArn, protocol: "TCP", port: 22, defaultActions: forward } satisfies PropsOf<
    typeof aws.lb.Listener
>;
const listener = (props: Record<string, unknown>) => plan(aws.lb.Listener, "svc-listener", props);

describe("lb-listener-tls12-policy", () => {
    const policy = listenerTlsPolicy;

    for (const sslPolicy of [
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
        "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    ]) {
        it(`passes a TLS listener with ${sslPolicy}`, async () => {
            await assertNoViolations(policy, listener({ ...tlsListener, sslPolicy }));
        });
    }

    it("passes an HTTPS listener with a TLS 1.2+ policy", async () => {
        await assertNoViolations(policy, listener(httpsListener));
    });

    it("refuses a TLS listener without sslPolicy (AWS applies ELBSecurityPolicy-2016-08)", async () => {
        const { sslPolicy: _, ...props } = tlsListener;
        await assertViolation(policy, listener(props), "TLS listener 'svc-listener' has no sslPolicy, so AWS applies ELBSecurityPolicy-2016-08");
    });

    it("refuses an HTTPS listener without sslPolicy", async () => {
        const { sslPolicy: _, ...props } = httpsListener;
        await assertViolation(policy, listener(props), "HTTPS listener 'svc-listener' has no sslPolicy");
    });

    for (const sslPolicy of ["ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS-1-1-2017-01", "ELBSecurityPolicy-FS-1-1-2019-08"]) {
        it(`refuses ${sslPolicy}, which accepts TLS older than 1.2`, async () => {
            await assertViolation(policy, listener({ ...tlsListener, sslPolicy }), `uses sslPolicy '${sslPolicy}', which accepts TLS older than 1.2`);
        });
    }

    for (const sslPolicy of ["ELBSecurityPolicy-TLS13-1-0-2021-06", "ELBSecurityPolicy-TLS13-1-1-2021-06"]) {
        it(`refuses ${sslPolicy}: a TLS13 policy that still accepts TLS 1.0/1.1`, async () => {
            await assertViolation(policy, listener({ ...tlsListener, sslPolicy }), "which accepts TLS older than 1.2");
        });
    }

    it("does not judge plain TCP listeners (lb-listener-tcp-encrypted-ports does)", async () => {
        await assertNoViolations(policy, listener(sshListener));
    });

    it("applies to aws.alb.Listener too", async () => {
        const { sslPolicy: _, ...props } = httpsListener;
        await assertViolation(policy, plan(aws.alb.Listener, "api-https", props), "HTTPS listener 'api-https' has no sslPolicy");
    });

    it("cannot decide during preview when sslPolicy is unknown", async () => {
        await assertCannotRunDuringPreview(policy, listener({ ...tlsListener, sslPolicy: UNKNOWN }), ".sslPolicy");
    });
});

describe("lb-listener-no-plain-http", () => {
    const policy = listenerNoPlainHttp;
    const httpListener = { ...sshListener, protocol: "HTTP", port: 80 };
    const redirectToHttps = [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }];

    it("passes HTTPS, TLS and TCP listeners", async () => {
        await assertNoViolations(policy, [listener(httpsListener), plan(aws.lb.Listener, "tls", tlsListener), plan(aws.lb.Listener, "ssh", sshListener)]);
    });

    it("refuses a plain HTTP listener", async () => {
        await assertViolation(policy, listener(httpListener), "Listener 'svc-listener' serves plain HTTP; use protocol HTTPS");
    });

    it("refuses a listener without protocol, which the provider makes HTTP", async () => {
        const { protocol: _, ...props } = httpListener;
        await assertViolation(policy, listener(props), "has no protocol, so it defaults to plain HTTP");
    });

    it("refuses an HTTP listener that only redirects to HTTPS by default", async () => {
        await assertViolation(policy, listener({ ...httpListener, defaultActions: redirectToHttps }), "serves plain HTTP");
    });

    it("passes an HTTP listener that only redirects to HTTPS when allowHttpsRedirects is set", async () => {
        await assertNoViolations(policy, listener({ ...httpListener, defaultActions: redirectToHttps }), {
            config: { [policy.name]: { allowHttpsRedirects: true } },
        });
    });

    it("still refuses an HTTP listener that forwards when allowHttpsRedirects is set", async () => {
        await assertViolation(policy, listener(httpListener), "serves plain HTTP", { config: { [policy.name]: { allowHttpsRedirects: true } } });
    });

    it("does not judge Gateway Load Balancer listeners (no protocol, no port)", async () => {
        await assertNoViolations(policy, listener({ loadBalancerArn: tlsListener.loadBalancerArn, defaultActions: forward }));
    });
});

describe("lb-listener-tcp-encrypted-ports", () => {
    const policy = listenerPlainTcpPorts;

    it("passes TCP on 22 (SSH) and 443 (TLS pass-through) with the default config", async () => {
        await assertNoViolations(policy, [listener(sshListener), plan(aws.lb.Listener, "passthrough", { ...sshListener, port: 443 })]);
    });

    it("refuses TCP on a port that is neither TLS pass-through nor SSH", async () => {
        await assertViolation(
            policy,
            listener({ ...sshListener, port: 5432 }),
            "TCP listener 'svc-listener' on port 5432 is not a configured TLS pass-through (443) or SSH (22) port",
        );
    });

    it("refuses UDP and TCP_UDP listeners on the SSH port (SSH runs over TCP)", async () => {
        await assertViolation(policy, listener({ ...sshListener, protocol: "UDP" }), "UDP listener 'svc-listener' on port 22 accepts UDP, which carries neither SSH nor TLS");
        await assertViolation(policy, listener({ ...sshListener, protocol: "TCP_UDP" }), "TCP_UDP listener 'svc-listener' on port 22 accepts UDP");
    });

    it("refuses UDP on a TLS pass-through port", async () => {
        await assertViolation(policy, listener({ ...sshListener, protocol: "UDP", port: 443 }), "accepts UDP");
    });

    it("refuses UDP and TCP_UDP listeners on other ports", async () => {
        await assertViolation(policy, listener({ ...sshListener, protocol: "UDP", port: 53 }), "UDP listener 'svc-listener' on port 53");
        await assertViolation(policy, listener({ ...sshListener, protocol: "TCP_UDP", port: 53 }), "TCP_UDP listener");
    });

    it("refuses a TCP listener without a port", async () => {
        const { port: _, ...props } = sshListener;
        await assertViolation(policy, listener(props), "TCP listener 'svc-listener' without a port");
    });

    it("passes a port listed in tlsPassthroughPorts", async () => {
        await assertNoViolations(policy, listener({ ...sshListener, port: 8443 }), { config: { [policy.name]: { tlsPassthroughPorts: [443, 8443] } } });
    });

    it("passes a port listed in sshPorts", async () => {
        await assertNoViolations(policy, listener({ ...sshListener, port: 2222 }), { config: { [policy.name]: { sshPorts: [2222] } } });
    });

    it("refuses 22 once sshPorts no longer lists it", async () => {
        await assertViolation(policy, listener(sshListener), "SSH (none) port", { config: { [policy.name]: { sshPorts: [] } } });
    });

    it("does not judge TLS listeners", async () => {
        await assertNoViolations(policy, listener({ ...tlsListener, port: 5432 }));
    });

    it("cannot decide during preview when the port is unknown", async () => {
        await assertCannotRunDuringPreview(policy, listener({ ...sshListener, port: UNKNOWN }), ".port");
    });

    it("rejects a port outside 1-65535 in the config", async () => {
        await assert.rejects(
            violationsOf(policy, listener(sshListener), { config: { [policy.name]: { sshPorts: [70000] } } }),
            /policy "lb-listener-tcp-encrypted-ports", field "sshPorts.0": must be <= 65535/,
        );
        await assert.rejects(
            violationsOf(policy, listener(sshListener), { config: { [policy.name]: { tlsPassthroughPorts: [443, 0] } } }),
            /policy "lb-listener-tcp-encrypted-ports", field "tlsPassthroughPorts.1": must be >= 1/,
        );
    });
});

describe("apigateway-domain-tls12", () => {
    const policy = apiGatewayDomainTlsPolicy;
    const domain = {
        domainName: "api.internal.example.com",
        regionalCertificateArn: "arn:aws:acm:eu-west-1:1:certificate/1",
        endpointConfiguration: { types: "PRIVATE" },
        securityPolicy: "TLS_1_2",
    } satisfies PropsOf<typeof aws.apigateway.DomainName>;
    const domainName = (props: Record<string, unknown>) => plan(aws.apigateway.DomainName, "api-domain", props);

    for (const securityPolicy of [
        "TLS_1_2",
        "SecurityPolicy_TLS13_1_3_2025_09",
        "SecurityPolicy_TLS13_1_2_2021_06",
        "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09",
        // The TLS 1.2 family of enhanced policies (edge-optimized names): minimum TLS 1.2, as the name says.
        "SecurityPolicy_TLS12_2018_EDGE",
        "SecurityPolicy_TLS12_PFS_2025_EDGE",
    ]) {
        it(`passes securityPolicy ${securityPolicy}`, async () => {
            await assertNoViolations(policy, domainName({ ...domain, securityPolicy }));
        });
    }

    for (const securityPolicy of ["SecurityPolicy_TLS13_1_0_2025_01", "SecurityPolicy_TLS13_1_1"]) {
        it(`refuses ${securityPolicy}, a TLS 1.3 family policy whose minimum is below 1.2`, async () => {
            await assertViolation(policy, domainName({ ...domain, securityPolicy }), `uses securityPolicy '${securityPolicy}', which accepts TLS older than 1.2`);
        });
    }

    it("refuses TLS_1_0", async () => {
        await assertViolation(policy, domainName({ ...domain, securityPolicy: "TLS_1_0" }), "uses securityPolicy 'TLS_1_0', which accepts TLS older than 1.2");
    });

    it("refuses a domain without securityPolicy", async () => {
        const { securityPolicy: _, ...props } = domain;
        await assertViolation(policy, domainName(props), "API Gateway domain 'api-domain' has no securityPolicy");
    });

    it("cannot decide during preview when securityPolicy is unknown", async () => {
        await assertCannotRunDuringPreview(policy, domainName({ ...domain, securityPolicy: UNKNOWN }), ".securityPolicy");
    });
});

/** A classic ELB, internal, with one front-end listener; the listener rules judge each listener. */
const classicElb = (listeners: Record<string, unknown>[]) =>
    plan(aws.elb.LoadBalancer, "classic", { internal: true, subnets: ["subnet-a"], listeners } satisfies Record<string, unknown>);
const classicTcp = { lbProtocol: "tcp", lbPort: 22, instanceProtocol: "tcp", instancePort: 22 } satisfies PropsOf<typeof aws.elb.LoadBalancer>["listeners"][number];

describe("classic ELB listeners (lb-listener-no-plain-http, lb-listener-tcp-encrypted-ports)", () => {
    it("pass a classic TCP listener on the SSH port", async () => {
        await assertNoViolations(listenerNoPlainHttp, classicElb([classicTcp]));
        await assertNoViolations(listenerPlainTcpPorts, classicElb([classicTcp]));
    });

    it("refuse a classic HTTP listener", async () => {
        await assertViolation(listenerNoPlainHttp, classicElb([classicTcp, { ...classicTcp, lbProtocol: "http", lbPort: 80 }]), "Listener 'classic:80' serves plain HTTP");
    });

    it("refuse a classic TCP listener on a port that is neither TLS pass-through nor SSH", async () => {
        await assertViolation(listenerPlainTcpPorts, classicElb([{ ...classicTcp, lbPort: 5432 }]), "TCP listener 'classic:5432' on port 5432 is not a configured TLS pass-through");
    });

    it("cannot decide during preview when a listener's protocol is unknown", async () => {
        await assertCannotRunDuringPreview(listenerNoPlainHttp, classicElb([{ ...classicTcp, lbProtocol: UNKNOWN }]), ".listeners.0.lbProtocol");
    });
});

describe("apigateway-rest-api-tls12", () => {
    const policy = apiGatewayRestApiTlsPolicy;
    const privateApi = { name: "private", endpointConfiguration: { types: "PRIVATE" }, securityPolicy: "TLS_1_2" } satisfies PropsOf<typeof aws.apigateway.RestApi>;
    const api = (props: Record<string, unknown>) => plan(aws.apigateway.RestApi, "api", props);

    it("passes a private API with TLS_1_2, and one with an enhanced TLS 1.3 policy", async () => {
        await assertNoViolations(policy, api(privateApi));
        await assertNoViolations(policy, api({ ...privateApi, securityPolicy: "SecurityPolicy_TLS13_1_3_2025_09", endpointAccessMode: "STRICT" }));
    });

    it("passes a private API without securityPolicy (AWS serves private APIs with TLS 1.2)", async () => {
        const { securityPolicy: _, ...props } = privateApi;
        await assertNoViolations(policy, api(props));
    });

    it("refuses securityPolicy TLS_1_0", async () => {
        await assertViolation(policy, api({ ...privateApi, securityPolicy: "TLS_1_0" }), "REST API 'api' uses securityPolicy 'TLS_1_0', which accepts TLS older than 1.2");
    });

    it("refuses a REGIONAL API without securityPolicy (AWS applies TLS 1.0)", async () => {
        await assertViolation(policy, api({ name: "public", endpointConfiguration: { types: "REGIONAL" } }), "REST API 'api' has no securityPolicy");
    });

    it("cannot decide during preview when securityPolicy is unknown", async () => {
        await assertCannotRunDuringPreview(policy, api({ ...privateApi, securityPolicy: UNKNOWN }), ".securityPolicy");
    });
});
