package dev.pep.proxy.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One application as configured in gateway.yaml.
 *
 * @param hosts host names that select the app
 * @param upstream {@code http://host:port}, {@code https://host:port} or {@code pep:echo} (the
 *     built-in demo application)
 * @param access interim access mode until a policy engine is configured: {@code public} or
 *     {@code deny} (the default)
 * @param maxBodySize the largest request body forwarded
 * @param connectTimeout connecting to the upstream must finish within this
 * @param responseTimeout the upstream's response head must arrive within this
 * @param maxConnections pooled plus in-use upstream connections per event loop
 * @param labels free-form labels for policy
 */
public record AppConfig(
        List<String> hosts,
        String upstream,
        Access access,
        ByteSize maxBodySize,
        Duration connectTimeout,
        Duration responseTimeout,
        Integer maxConnections,
        Map<String, String> labels) {

    /** Applies defaults and copies. */
    public AppConfig {
        hosts = hosts == null ? List.of() : List.copyOf(hosts);
        access = access == null ? Access.DENY : access;
        maxBodySize = maxBodySize == null ? ByteSize.mib(10) : maxBodySize;
        connectTimeout = connectTimeout == null ? Duration.ofSeconds(5) : connectTimeout;
        responseTimeout = responseTimeout == null ? Duration.ofSeconds(30) : responseTimeout;
        maxConnections = maxConnections == null ? 256 : maxConnections;
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }

    /** The settings of an app declared by the policy files: every default. */
    public static AppConfig defaults(java.util.List<String> hosts, String upstream) {
        return new AppConfig(hosts, upstream, Access.DENY, null, null, null, null, null);
    }

    /** The interim access mode of an app. */
    public enum Access {
        /** Everyone is allowed. */
        PUBLIC,
        /** No-one is allowed. */
        DENY
    }
}
