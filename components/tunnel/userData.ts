// User data of the tunnel hosts: plain functions from resolved values to a bash script, so the
// tests read exactly what an instance runs (and run the connector's script in a throwaway root).
//
// Both scripts run once, as root, at first boot (cloud-init), on Amazon Linux 2023. Every path
// they write is prefixed with $FIREFLY_ROOT, which is empty on an instance; tests set it to a temp
// directory and put stand-ins for dnf, aws, systemctl, useradd and chown first on PATH.
import { AGENT_NODE_FLAGS } from "../../connector/nodeFlags";
import { bundleEntryPoint } from "./bundle";
/** The connector's files on an instance. */
export const connectorPaths = {
    user: "firefly-connector",
    appDir: "/opt/firefly-connector",
    etcDir: "/etc/firefly-connector",
    config: "/etc/firefly-connector/config.yaml",
    privateKey: "/etc/firefly-connector/agent_key",
    // The agent and OpenSSH both expect the certificate next to the key as <key>-cert.pub.
    certificate: "/etc/firefly-connector/agent_key-cert.pub",
    logDir: "/var/log/firefly-connector",
    logFile: "/var/log/firefly-connector/agent.log",
    unit: "firefly-connector.service",
    readinessUnit: "firefly-connector-readiness",
} as const;

/** The relay's files on an instance. */
export const relayPaths = {
    hostKey: "/etc/ssh/firefly_relay_host_ed25519_key",
    userCaKeys: "/etc/ssh/firefly_user_ca.pub",
    principals: "/etc/ssh/firefly_principals",
    revokedKeys: "/etc/ssh/firefly_revoked_keys",
    sshdConfig: "/etc/ssh/sshd_config",
    healthScript: "/usr/local/sbin/firefly-relay-health",
    /** `<healthUnit>.service` runs the check, `<healthUnit>.timer` every `relayHealthCheck.intervalSeconds`. */
    healthUnit: "firefly-relay-health",
} as const;

/**
 * The relay host's own sshd check. Its group replaces hosts on EC2 status checks only (the customer
 * ports' target groups report standby hosts unhealthy by design), so a host whose sshd died would
 * stay in service; the check asks Auto Scaling to replace it. Four failures 30 s apart outlast
 * systemd's own restart of a crashed sshd (RestartSec=42s on Amazon Linux 2023).
 */
export const relayHealthCheck = { intervalSeconds: 30, failuresBeforeUnhealthy: 4, connectTimeoutSeconds: 5 } as const;

export interface ConnectorUserDataInput {
    /** The agent's config file, rendered by connector/spec/agentConfig.ts. */
    configYaml: string;
    bundle: { bucket: string; key: string; sha256: string };
    privateKeySecretArn: string;
    certificateSecretArn: string;
    /**
     * The secret versions the stack wrote (identity given as values): hosts fetch exactly those, and a
     * new value is a new launch template version, which rolls the group. Absent for secrets the stack
     * does not write (given by ARN): hosts fetch their current version.
     */
    privateKeySecretVersionId?: string;
    certificateSecretVersionId?: string;
    region: string;
    logGroupName: string;
    /** The readiness metric the alarm watches. */
    metric: { namespace: string; name: string; dimensionName: string; dimensionValue: string };
    /** Loopback port of the agent's /readyz. */
    healthPort: number;
    /** Node.js major version installed from the AL2023 repositories (nodejs<major>). */
    nodeMajor: number;
    /** Seconds systemd waits after SIGTERM: the agent's drain grace period plus a margin. */
    stopTimeoutSeconds: number;
}

/** Single-quotes a value for bash. */
function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** ` --version-id '<id>'` for a secret version the stack wrote, else nothing (the current version). */
function versionArgument(versionId: string | undefined): string {
    return versionId === undefined ? "" : ` --version-id ${shellQuote(versionId)}`;
}

/** `cat > file <<'MARKER'` with content that must not contain the marker line. */
function heredoc(target: string, marker: string, content: string): string {
    if (content.split("\n").includes(marker)) throw new Error(`content for ${target} contains the line ${marker}`);
    return `cat > ${target} <<'${marker}'\n${content.endsWith("\n") ? content : `${content}\n`}${marker}`;
}

/**
 * The hardened unit. `@NODE_BIN@` is replaced at boot by the path of the installed Node.js.
 * Not MemoryDenyWriteExecute: V8's JIT needs writable executable memory.
 */
function renderConnectorUnit(stopTimeoutSeconds: number): string {
    const p = connectorPaths;
    return [
        "[Unit]",
        "Description=Firefly tunnel connector (outbound SSH to the platform relays)",
        "Documentation=https://github.com/firefly/private-connectivity",
        "Wants=network-online.target",
        "After=network-online.target",
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=simple",
        `User=${p.user}`,
        `Group=${p.user}`,
        `ExecStart=@NODE_BIN@ ${AGENT_NODE_FLAGS.join(" ")} ${p.appDir}/current/${bundleEntryPoint} run --config ${p.config}`,
        // SIGHUP re-reads the config file and applies it without a restart (connector/README.md, Reload).
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "RestartSec=5",
        "KillSignal=SIGTERM",
        `TimeoutStopSec=${stopTimeoutSeconds}`,
        `StandardOutput=append:${p.logFile}`,
        "StandardError=inherit",
        "UMask=0077",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "ProtectProc=invisible",
        "ProcSubset=pid",
        "RestrictNamespaces=yes",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
        "RemoveIPC=yes",
        "LockPersonality=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        "SystemCallArchitectures=native",
        "SystemCallFilter=@system-service",
        "SystemCallFilter=~@privileged @resources",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

/**
 * The agent's gauges that leave the host each minute, summed over their labels: the metric name in
 * CloudWatch, and the Prometheus series on /metrics. Pushed by the reporter (put-metric-data over
 * the HTTPS egress the hosts already have), so nothing scrapes the host: no inbound port.
 */
export const exportedAgentMetrics: readonly { readonly name: string; readonly series: string }[] = [
    { name: "RelaysConnected", series: "firefly_connector_relay_connected" },
    { name: "RoutesForwarded", series: "firefly_connector_route_forwarded" },
    { name: "StreamsActive", series: "firefly_connector_streams_active" },
    { name: "NativeCrypto", series: "firefly_connector_native_crypto" },
];

/**
 * Seconds until the agent's certificate expires (from `firefly_connector_certificate_expiry_timestamp_seconds`),
 * sent beside the readiness metric when the agent reports a certificate end; TunnelConnector's
 * `<name>-certificate-expiring` alarm watches it.
 */
export const certificateMetricName = "CertificateSecondsLeft";
const certificateSeries = "firefly_connector_certificate_expiry_timestamp_seconds";

/**
 * Every minute: 1 (ready) or 0 as the readiness metric the alarm watches, the agent's main
 * gauges from its loopback /metrics (0 when the agent does not answer), and the time its
 * certificate has left (only when the agent reports one).
 */
function readinessScript(input: ConnectorUserDataInput): string {
    const m = input.metric;
    const dimensions = `[{"Name":"${m.dimensionName}","Value":"${m.dimensionValue}"}]`;
    const datum = (name: string, value: string, unit = "Count") => `{"MetricName":"${name}","Dimensions":${dimensions},"Unit":"${unit}","Value":${value}}`;
    const data = `[${[datum(m.name, "$value"), ...exportedAgentMetrics.map((metric) => datum(metric.name, `$(total ${metric.series})`))].join(",")}\${certificate}]`;
    return [
        "#!/bin/bash",
        "# Rendered by components/tunnel/userData.ts: publishes the agent's readiness (/readyz) and main gauges (/metrics) to CloudWatch.",
        "set -uo pipefail",
        `if curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:${input.healthPort}/readyz; then value=1; else value=0; fi`,
        `metrics="$(curl -fsS --max-time 5 http://127.0.0.1:${input.healthPort}/metrics || true)"`,
        "# The sum of a series over its labels (0 if absent).",
        `total() { printf '%s\n' "$metrics" | awk -v name="$1" '$1 == name || index($1, name "{") == 1 { sum += $NF } END { printf "%g", sum + 0 }'; }`,
        "# The certificate's end (Unix time), when the agent has one: the time left goes too.",
        `certificate_end="$(printf '%s\n' "$metrics" | awk -v name=${certificateSeries} '$1 == name || index($1, name "{") == 1 { printf "%d", $NF; exit }')"`,
        `certificate=""`,
        `if [ -n "$certificate_end" ]; then certificate=",${datum(certificateMetricName, "$((certificate_end - $(date +%s)))", "Seconds").replace(/"/g, '\\"')}"; fi`,
        `exec aws cloudwatch put-metric-data --region ${shellQuote(input.region)} --namespace ${shellQuote(m.namespace)} --metric-data "${data.replace(/"/g, '\\"')}"`,
        "",
    ].join("\n");
}

function readinessUnits(): { service: string; timer: string } {
    const p = connectorPaths;
    return periodicUnits({
        description: "Publish the Firefly tunnel connector's readiness to CloudWatch",
        service: [`User=${p.user}`, `ExecStart=${p.appDir}/bin/report-readiness`],
        timerDescription: "Publish the Firefly tunnel connector's readiness every minute",
        schedule: ["OnBootSec=2min", "OnUnitActiveSec=60s"],
    });
}

/**
 * A oneshot service and the timer that runs it, sandboxed alike: the shape of both hosts'
 * periodic checks (the connector's readiness report, the relay's sshd check).
 */
function periodicUnits(spec: {
    description: string;
    /** Lines of [Unit] after the description. */
    unit?: readonly string[];
    /** Lines of [Service] after Type=oneshot: the user, the command, its state. */
    service: readonly string[];
    /** Sandboxing beyond what both have. */
    extraSandbox?: readonly string[];
    timerDescription: string;
    /** The [Timer] lines that say when. */
    schedule: readonly string[];
}): { service: string; timer: string } {
    return {
        service: [
            "[Unit]",
            `Description=${spec.description}`,
            ...(spec.unit ?? []),
            "",
            "[Service]",
            "Type=oneshot",
            ...spec.service,
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "PrivateDevices=yes",
            ...(spec.extraSandbox ?? []),
            "CapabilityBoundingSet=",
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
            "",
        ].join("\n"),
        timer: ["[Unit]", `Description=${spec.timerDescription}`, "", "[Timer]", ...spec.schedule, "AccuracySec=5s", "", "[Install]", "WantedBy=timers.target", ""].join("\n"),
    };
}

function cloudWatchAgentConfig(logGroupName: string): string {
    return `${JSON.stringify(
        {
            agent: { run_as_user: "root" },
            logs: {
                logs_collected: {
                    files: {
                        collect_list: [{ file_path: connectorPaths.logFile, log_group_name: logGroupName, log_stream_name: "{instance_id}", timezone: "UTC" }],
                    },
                },
            },
        },
        null,
        2,
    )}\n`;
}

/**
 * How long the native crypto build may take at first boot, packages included: it must leave room
 * within the instance refresh's warm-up (TunnelConnector's healthCheckGracePeriod, 300 s) for the
 * rest of the first boot, so a refresh never counts a host that is still building as serving.
 */
export const nativeCryptoBuildBudgetSeconds = 150;

/**
 * Builds ssh2's native crypto binding in the unpacked release (the bundle carries its sources, not
 * the deployer's binaries: bundle.ts). Best effort: without the binding the agent runs
 * ssh2's fallback through Node's crypto at about twice the CPU per byte, says so in its log and in
 * the `firefly_connector_native_crypto` metric, and works. The packages installed for the build
 * are removed afterwards, whether it worked or not; every step shares one time budget.
 */
function nativeCryptoBuild(nodeMajor: number): string[] {
    const toolchain = ["gcc-c++", "make", `nodejs${nodeMajor}-npm`, `nodejs${nodeMajor}-devel`];
    const devel = toolchain[3]!;
    return [
        "",
        'log "native crypto: building ssh2\'s binding (optional: without it the agent needs about twice the CPU per byte)"',
        `native_deadline=$((SECONDS + ${nativeCryptoBuildBudgetSeconds}))`,
        "native_left() { local left=$((native_deadline - SECONDS)); echo $((left > 1 ? left : 1)); }",
        'added=""',
        `for pkg in ${toolchain.join(" ")}; do if ! rpm -q "$pkg" >/dev/null 2>&1; then added="$added $pkg"; fi; done`,
        `if timeout "$(native_left)" dnf install -y ${toolchain.slice(0, 3).join(" ")}; then`,
        `    timeout "$(native_left)" dnf install -y ${devel} || log "native crypto: no ${devel}, node-gyp downloads the Node headers"`,
        "    # node-gyp wants the prefix above include/node/node.h, wherever the devel package put it.",
        `    header="$(rpm -ql ${devel} 2>/dev/null | grep '/include/node/node\\.h$' | head -n 1 || true)"`,
        "    nodedir=()",
        '    if [ -n "$header" ]; then nodedir=(--nodedir="${header%/include/node/node.h}"); fi',
        `    (cd "$release" && timeout "$(native_left)" npm-${nodeMajor} rebuild ssh2 --foreground-scripts "\${nodedir[@]}") || log "native crypto: the build failed or ran out of its ${nativeCryptoBuildBudgetSeconds} s"`,
        "fi",
        `if (cd "$release" && "$NODE_BIN" ${bundleEntryPoint} native-crypto >/dev/null); then`,
        '    log "native crypto: built"',
        "else",
        '    log "native crypto: not built; the agent runs ssh2\'s fallback (it warns, and reports firefly_connector_native_crypto 0)"',
        "fi",
        'remove=""',
        'for pkg in $added; do if rpm -q "$pkg" >/dev/null 2>&1; then remove="$remove $pkg"; fi; done',
        'if [ -n "$remove" ]; then dnf remove -y $remove || log "native crypto: could not remove the build tools:$remove"; fi',
    ];
}

/** The connector host's first-boot script. */
export function renderConnectorUserData(input: ConnectorUserDataInput): string {
    const p = connectorPaths;
    const units = readinessUnits();
    const q = shellQuote;
    return [
        "#!/bin/bash",
        "# Firefly tunnel connector: first-boot installation (rendered by components/tunnel/userData.ts).",
        "set -euo pipefail",
        "umask 022",
        'ROOT="${FIREFLY_ROOT:-}"',
        `REGION=${q(input.region)}`,
        `SERVICE_USER=${p.user}`,
        `BUNDLE_URI=${q(`s3://${input.bundle.bucket}/${input.bundle.key}`)}`,
        `BUNDLE_SHA256=${q(input.bundle.sha256)}`,
        'log() { echo "firefly-connector install: $*"; }',
        "",
        "log 'packages: Node.js, CloudWatch agent (the AWS CLI and curl come with Amazon Linux 2023)'",
        `dnf install -y nodejs${input.nodeMajor} amazon-cloudwatch-agent logrotate`,
        `NODE_BIN="$(command -v node-${input.nodeMajor} || command -v node)"`,
        "",
        "log 'service user'",
        'if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then',
        '    useradd --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin "$SERVICE_USER"',
        "fi",
        "",
        "log 'agent bundle'",
        'work="$(mktemp -d)"',
        "trap 'rm -rf \"$work\"' EXIT",
        'aws s3 cp --region "$REGION" --only-show-errors "$BUNDLE_URI" "$work/bundle.tar.gz"',
        'if ! echo "$BUNDLE_SHA256  $work/bundle.tar.gz" | sha256sum --check --status; then',
        '    log "the bundle at $BUNDLE_URI does not have the expected SHA-256 $BUNDLE_SHA256"; exit 1',
        "fi",
        `release="$ROOT${p.appDir}/releases/$BUNDLE_SHA256"`,
        'mkdir -p "$release" "$ROOT' + p.appDir + '/bin"',
        'tar -xzf "$work/bundle.tar.gz" -C "$release" --no-same-owner',
        ...nativeCryptoBuild(input.nodeMajor),
        'chmod -R u=rwX,go=rX "$release"',
        `ln -sfn "$release" "$ROOT${p.appDir}/current"`,
        "",
        "log 'configuration and identity'",
        `install -d -m 0750 "$ROOT${p.etcDir}"`,
        `chown "root:$SERVICE_USER" "$ROOT${p.etcDir}"`,
        heredoc(`"$ROOT${p.config}"`, "FIREFLY_CONNECTOR_CONFIG", input.configYaml),
        `chmod 0640 "$ROOT${p.config}"`,
        `chown "root:$SERVICE_USER" "$ROOT${p.config}"`,
        "fetch_secret() { # secret ARN, file, then optionally --version-id <id>",
        '    (umask 077; aws secretsmanager get-secret-value --region "$REGION" --secret-id "$1" "${@:3}" --query SecretString --output text > "$2.new")',
        '    chmod 0640 "$2.new"',
        '    chown "root:$SERVICE_USER" "$2.new"',
        '    mv -f "$2.new" "$2"',
        "}",
        `fetch_secret ${q(input.privateKeySecretArn)} "$ROOT${p.privateKey}"${versionArgument(input.privateKeySecretVersionId)}`,
        `fetch_secret ${q(input.certificateSecretArn)} "$ROOT${p.certificate}"${versionArgument(input.certificateSecretVersionId)}`,
        "",
        "log 'logs'",
        `install -d -m 0755 "$ROOT${p.logDir}"`,
        `install -d -m 0755 "$ROOT/etc/logrotate.d"`,
        heredoc(
            `"$ROOT/etc/logrotate.d/firefly-connector"`,
            "FIREFLY_LOGROTATE",
            `${p.logFile} {\n    daily\n    rotate 7\n    compress\n    missingok\n    notifempty\n    copytruncate\n}\n`,
        ),
        heredoc(`"$ROOT${p.etcDir}/cloudwatch-agent.json"`, "FIREFLY_CWAGENT", cloudWatchAgentConfig(input.logGroupName)),
        "",
        "log 'systemd units'",
        `install -d -m 0755 "$ROOT/etc/systemd/system"`,
        heredoc(`"$ROOT/etc/systemd/system/${p.unit}"`, "FIREFLY_UNIT", renderConnectorUnit(input.stopTimeoutSeconds)),
        `sed -i "s|@NODE_BIN@|$NODE_BIN|" "$ROOT/etc/systemd/system/${p.unit}"`,
        heredoc(`"$ROOT${p.appDir}/bin/report-readiness"`, "FIREFLY_READINESS", readinessScript(input)),
        `chmod 0755 "$ROOT${p.appDir}/bin/report-readiness"`,
        heredoc(`"$ROOT/etc/systemd/system/${p.readinessUnit}.service"`, "FIREFLY_READINESS_SERVICE", units.service),
        heredoc(`"$ROOT/etc/systemd/system/${p.readinessUnit}.timer"`, "FIREFLY_READINESS_TIMER", units.timer),
        "",
        "log 'start'",
        `amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c "file:$ROOT${p.etcDir}/cloudwatch-agent.json"`,
        "systemctl daemon-reload",
        `systemctl enable --now ${p.unit} ${p.readinessUnit}.timer`,
        "log 'done'",
        "",
    ].join("\n");
}

export interface RelayUserDataInput {
    region: string;
    hostKeySecretArn: string;
    /** The host key's secret version: hosts fetch exactly it, and a new one is a new launch template version. */
    hostKeySecretVersionId: string;
    /** The platform's user CA public key (TrustedUserCAKeys). */
    userCaPublicKey: string;
    /** Login user of the agents (created without a password, shell or home). */
    loginUser: string;
    /** Output of connector/spec/relaySshd.ts renderRelay(). */
    sshdConfig: string;
    authorizedPrincipals: string;
    /** The RevokedKeys file (renderRelay's `revokedKeys`): always written, since sshd refuses every key without it. */
    revokedKeys: string;
    /** sshd's port, which the health check connects to on 127.0.0.1. */
    sshPort: number;
}

/**
 * The health check (run by a timer as root): healthy while sshd.service is active and 127.0.0.1:<port>
 * answers with an SSH banner. After `failuresBeforeUnhealthy` failed checks in a row it reads the
 * instance ID from IMDSv2 and marks the instance Unhealthy, and Auto Scaling replaces it. The count
 * lives in the unit's RuntimeDirectory (systemd sets $RUNTIME_DIRECTORY), so a reboot starts over.
 */
function relayHealthScript(input: RelayUserDataInput): string {
    const h = relayHealthCheck;
    return [
        "#!/bin/bash",
        "# Rendered by components/tunnel/userData.ts: has Auto Scaling replace this relay host when its sshd stops answering.",
        "set -uo pipefail",
        `REGION=${shellQuote(input.region)}`,
        `SSH_PORT=${input.sshPort}`,
        `LIMIT=${h.failuresBeforeUnhealthy}`,
        `STATE="\${RUNTIME_DIRECTORY:-/run/${relayPaths.healthUnit}}/failures"`,
        'log() { echo "firefly-relay-health: $*"; }',
        "",
        'problem=""',
        "if ! systemctl is-active --quiet sshd.service; then",
        '    problem="sshd.service is not active"',
        "else",
        "    # The first bytes sshd sends on every connection; a listening but hung sshd sends nothing.",
        `    banner="$(timeout ${h.connectTimeoutSeconds} bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && head -c 8 <&3' check "$SSH_PORT" 2>/dev/null)"`,
        '    if [ "$banner" != "SSH-2.0-" ]; then problem="127.0.0.1:$SSH_PORT does not answer with an SSH banner"; fi',
        "fi",
        'if [ -z "$problem" ]; then',
        '    rm -f "$STATE"',
        "    exit 0",
        "fi",
        'failures=$(( $(cat "$STATE" 2>/dev/null || echo 0) + 1 ))',
        'echo "$failures" > "$STATE"',
        'log "check failed ($failures in a row, replaced after $LIMIT): $problem"',
        'if [ "$failures" -lt "$LIMIT" ]; then exit 0; fi',
        "",
        "# IMDSv2 (the launch template requires tokens; hop limit 1 is enough on the host).",
        `token="$(curl -fsS --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)"`,
        'instance="$(curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)"',
        'if [ -z "$token" ] || [ -z "$instance" ]; then log "cannot read this instance ID from the instance metadata service"; exit 1; fi',
        'log "marking $instance Unhealthy: Auto Scaling replaces it"',
        'exec aws autoscaling set-instance-health --region "$REGION" --instance-id "$instance" --health-status Unhealthy',
        "",
    ].join("\n");
}

function relayHealthUnits(): { service: string; timer: string } {
    const p = relayPaths;
    return periodicUnits({
        description: "Check that sshd answers; have Auto Scaling replace this relay host when it keeps failing",
        unit: ["After=sshd.service"],
        service: [
            `ExecStart=${p.healthScript}`,
            // Nothing in the check needs root (systemctl is-active, a TCP connect, IMDS, the AWS CLI).
            "DynamicUser=yes",
            `RuntimeDirectory=${p.healthUnit}`,
            // The failure count must survive between runs of this oneshot (not reboots: /run).
            "RuntimeDirectoryPreserve=yes",
            `Environment=HOME=/run/${p.healthUnit}`,
        ],
        extraSandbox: ["ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectControlGroups=yes"],
        timerDescription: `Check the relay's sshd every ${relayHealthCheck.intervalSeconds} seconds`,
        schedule: ["OnActiveSec=60s", `OnUnitInactiveSec=${relayHealthCheck.intervalSeconds}s`],
    });
}

/** The relay host's first-boot script: host key, CA key, principals, revoked keys, sshd_config, restart sshd, health check. */
export function renderRelayUserData(input: RelayUserDataInput): string {
    const p = relayPaths;
    const q = shellQuote;
    const health = relayHealthUnits();
    return [
        "#!/bin/bash",
        "# Firefly SSH relay: first-boot configuration (rendered by components/tunnel/userData.ts).",
        "set -euo pipefail",
        "umask 022",
        'ROOT="${FIREFLY_ROOT:-}"',
        `REGION=${q(input.region)}`,
        `LOGIN_USER=${q(input.loginUser)}`,
        'log() { echo "firefly-relay install: $*"; }',
        "",
        "log 'login user: no password (but not locked: sshd refuses locked accounts even with certificates), no shell'",
        'if ! id -u "$LOGIN_USER" >/dev/null 2>&1; then',
        '    useradd --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin "$LOGIN_USER"',
        "fi",
        "usermod -p '*' \"$LOGIN_USER\"",
        "",
        "log 'host key (generated by the stack, pinned by the connectors)'",
        `install -d -m 0755 "$ROOT/etc/ssh"`,
        `(umask 077; aws secretsmanager get-secret-value --region "$REGION" --secret-id ${q(input.hostKeySecretArn)} --version-id ${q(input.hostKeySecretVersionId)} --query SecretString --output text > "$ROOT${p.hostKey}")`,
        `ssh-keygen -y -f "$ROOT${p.hostKey}" > "$ROOT${p.hostKey}.pub"`,
        "",
        "log 'user CA, principals, sshd_config'",
        heredoc(`"$ROOT${p.userCaKeys}"`, "FIREFLY_USER_CA", `${input.userCaPublicKey.trim()}\n`),
        heredoc(`"$ROOT${p.principals}"`, "FIREFLY_PRINCIPALS", input.authorizedPrincipals),
        // Before sshd_config names it: a missing RevokedKeys file makes sshd refuse every key.
        heredoc(`"$ROOT${p.revokedKeys}"`, "FIREFLY_REVOKED_KEYS", input.revokedKeys),
        heredoc(`"$ROOT${p.sshdConfig}.firefly"`, "FIREFLY_SSHD_CONFIG", input.sshdConfig),
        `chmod 0644 "$ROOT${p.userCaKeys}" "$ROOT${p.principals}" "$ROOT${p.revokedKeys}"`,
        `chmod 0600 "$ROOT${p.sshdConfig}.firefly"`,
        `sshd -t -f "$ROOT${p.sshdConfig}.firefly"`,
        `mv -f "$ROOT${p.sshdConfig}.firefly" "$ROOT${p.sshdConfig}"`,
        "systemctl restart sshd.service",
        "",
        "log 'sshd health check: Auto Scaling replaces this host when sshd stops answering'",
        `install -d -m 0755 "$ROOT/usr/local/sbin" "$ROOT/etc/systemd/system"`,
        heredoc(`"$ROOT${p.healthScript}"`, "FIREFLY_HEALTH_SCRIPT", relayHealthScript(input)),
        `chmod 0755 "$ROOT${p.healthScript}"`,
        heredoc(`"$ROOT/etc/systemd/system/${p.healthUnit}.service"`, "FIREFLY_HEALTH_SERVICE", health.service),
        heredoc(`"$ROOT/etc/systemd/system/${p.healthUnit}.timer"`, "FIREFLY_HEALTH_TIMER", health.timer),
        "systemctl daemon-reload",
        `systemctl enable --now ${p.healthUnit}.timer`,
        "log 'done'",
        "",
    ].join("\n");
}
