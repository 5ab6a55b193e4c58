package dev.pep.proxy.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The whole gateway configuration, as read from {@code gateway.yaml}. Immutable; missing
 * sections take their documented defaults.
 *
 * @param instance the name of this gateway instance, in audit events and logs
 * @param listener where partners connect
 * @param tls certificates and protocol settings
 * @param limits timeouts and size limits of the partner-facing listener
 * @param http2 HTTP/2 settings and flood defences
 * @param admin the admin listener (health, readiness, metrics)
 * @param drainTimeout how long SIGTERM waits for in-flight requests
 * @param apps applications by name, when no policy directory declares them
 * @param policy the policy engine's files; null for the interim {@code access} modes of apps
 * @param audit the audit trail
 * @param identity how subjects are authenticated; null when every request is anonymous
 * @param posture how devices are assessed; null when no device is (every device unknown)
 * @param tracing W3C trace context and the export of request spans
 * @param sessions how live sessions are re-decided
 * @param tcp limits of spliced TCP sessions
 * @param connectors the connector listener and its state; null when no connector may dial in
 * @param baseDirectory the directory relative paths in the file are resolved against
 */
public record GatewayConfig(
        String instance,
        ListenerConfig listener,
        TlsConfig tls,
        LimitsConfig limits,
        Http2Config http2,
        AdminConfig admin,
        Duration drainTimeout,
        Map<String, AppConfig> apps,
        PolicyConfig policy,
        AuditSettings audit,
        IdentitySettings identity,
        PostureSettings posture,
        TracingSettings tracing,
        SessionSettings sessions,
        TcpSettings tcp,
        ConnectorsConfig connectors,
        Path baseDirectory) {

    /** Applies defaults and copies. */
    public GatewayConfig {
        instance = instance == null ? "pep" : instance;
        listener = listener == null ? ListenerConfig.DEFAULT : listener;
        tls = Objects.requireNonNull(tls, "tls");
        limits = limits == null ? LimitsConfig.DEFAULT : limits;
        http2 = http2 == null ? Http2Config.DEFAULT : http2;
        admin = admin == null ? AdminConfig.DEFAULT : admin;
        drainTimeout = drainTimeout == null ? Duration.ofSeconds(20) : drainTimeout;
        apps = apps == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(apps));
        audit = audit == null ? AuditSettings.defaults() : audit;
        tracing = tracing == null ? TracingSettings.DEFAULT : tracing;
        sessions = sessions == null ? SessionSettings.DEFAULT : sessions;
        tcp = tcp == null ? TcpSettings.DEFAULT : tcp;
        baseDirectory = baseDirectory == null ? Path.of(".") : baseDirectory;
    }

    /** The same configuration with relative paths resolved against {@code dir}. */
    GatewayConfig withBaseDirectory(Path dir) {
        return new GatewayConfig(instance, listener, tls, limits, http2, admin, drainTimeout, apps,
                policy, audit, identity, posture, tracing, sessions, tcp, connectors, dir);
    }

    /** A path from the file, resolved against the file's directory. */
    public Path resolve(String path) {
        return baseDirectory.resolve(path).normalize();
    }
}
