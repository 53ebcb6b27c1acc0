// The agent's certificate, watched for its end. An SSH certificate is checked by the relay only
// when a session logs in: a session open when it expires carries on, and the next reconnect (a
// relay restart, a network cut) is refused. So the agent warns while there is time to renew, and
// exports the end as a metric for alarms: at start and every hour, it reads identity.certificateFile
// again (as every connection attempt does), so a renewed certificate ends the warnings.
import type { OpenSshCertificate } from "./ssh2/certAuth";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The longest warning period: the last 7 days of a certificate's validity. */
export const EXPIRY_WARNING_MAX_MS = 7 * DAY_MS;

/** How often the running agent looks at its certificate again. */
export const CERTIFICATE_CHECK_INTERVAL_MS = HOUR_MS;

export interface CertificateExpiryNotice {
    readonly level: "warn" | "error";
    readonly message: string;
    /** Until the end of the validity; negative once expired. */
    readonly expiresInMs: number;
}

/**
 * How long before its end a certificate counts as close to expiry: 7 days, or its last quarter
 * when its whole validity is shorter than 28 days (a 1-day certificate warns in its last 6 hours,
 * not all its life). A certificate valid from "always" has no length to take a quarter of.
 */
export function expiryWarningPeriodMs(cert: Pick<OpenSshCertificate, "validAfter" | "validBefore">): number {
    if (!cert.validBefore || !cert.validAfter) return EXPIRY_WARNING_MAX_MS;
    return Math.min(EXPIRY_WARNING_MAX_MS, (cert.validBefore.getTime() - cert.validAfter.getTime()) / 4);
}

/** "3 d 4 h", "5 h 12 min", "42 s": how long, for people. */
export function humanDuration(ms: number): string {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return `${s} s`;
    const min = Math.floor(s / 60);
    if (min < 60) return `${min} min`;
    const h = Math.floor(min / 60);
    if (h < 24) return `${h} h ${min % 60} min`;
    return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** What to say about `cert` at `now`: an error once expired, a warning in its warning period, else nothing. */
export function certificateExpiryNotice(
    cert: Pick<OpenSshCertificate, "keyId" | "serial" | "validAfter" | "validBefore">,
    now: Date,
): CertificateExpiryNotice | undefined {
    if (!cert.validBefore) return undefined;
    const expiresInMs = cert.validBefore.getTime() - now.getTime();
    const name = `certificate '${cert.keyId}' (serial ${cert.serial})`;
    const renew = "issue a new one and write it to identity.certificateFile (the agent reads it at every connection attempt, no restart needed)";
    if (expiresInMs <= 0) {
        return {
            level: "error",
            expiresInMs,
            message: `${name} expired at ${cert.validBefore.toISOString()}: relay sessions already open carry on, every new one will be refused; ${renew}`,
        };
    }
    if (expiresInMs > expiryWarningPeriodMs(cert)) return undefined;
    return {
        level: "warn",
        expiresInMs,
        message: `${name} expires at ${cert.validBefore.toISOString()}, in ${humanDuration(expiresInMs)}: ${renew}`,
    };
}
