// Structured JSON logs (pino) on stdout, for journald/CloudWatch. Nothing in the connector logs
// key material; the redaction below is a second fence in case a future field carries some.
import pino from "pino";

export type Logger = pino.Logger;
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace";

export interface LoggerOptions {
    readonly level?: LogLevel;
    /** Where JSON lines go; default stdout (synchronous, so nothing is lost on exit). */
    readonly destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
    return pino(
        {
            level: options.level ?? "info",
            base: { service: "firefly-connector" },
            timestamp: pino.stdTimeFunctions.isoTime,
            formatters: { level: (label) => ({ level: label }) },
            redact: {
                paths: ["privateKey", "*.privateKey", "passphrase", "*.passphrase", "key", "*.key"],
                censor: "[redacted]",
            },
        },
        options.destination ?? pino.destination({ dest: 1, sync: true }),
    );
}
