package dev.pep.core;

import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * An application that partners reach through the gateway.
 *
 * @param name the app's unique name, used in policy and audit
 * @param hosts the normalised host names (lower case, no trailing dot, no port) that select it
 * @param protocol how the gateway speaks to it
 * @param upstream where a direct connector reaches it; a {@code pep:} URI names a built-in app
 *     and {@code connector:NAME} an outbound tunnel connector
 * @param labels free-form labels for policy
 * @param episodic whether the app is temporary
 * @param expires when the app stops being routed to; empty for never
 * @param preamble what its clients may send before TLS; only a TCP app has one other than
 *     {@link StreamPreamble#NONE}
 */
public record App(
        String name,
        List<String> hosts,
        AppProtocol protocol,
        URI upstream,
        Map<String, String> labels,
        boolean episodic,
        Optional<Instant> expires,
        StreamPreamble preamble) {

    /** Validates and copies. */
    public App {
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("app name is blank");
        }
        hosts = List.copyOf(hosts);
        if (hosts.isEmpty()) {
            throw new IllegalArgumentException("app " + name + " has no hosts");
        }
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(upstream, "upstream");
        labels = Map.copyOf(labels);
        Objects.requireNonNull(expires, "expires");
        Objects.requireNonNull(preamble, "preamble");
        if (preamble != StreamPreamble.NONE && protocol != AppProtocol.TCP) {
            throw new IllegalArgumentException("app " + name + ": a preamble is for tcp apps");
        }
    }

    /** An app whose clients send nothing before TLS. */
    public App(String name, List<String> hosts, AppProtocol protocol, URI upstream,
            Map<String, String> labels, boolean episodic, Optional<Instant> expires) {
        this(name, hosts, protocol, upstream, labels, episodic, expires, StreamPreamble.NONE);
    }

    /** Whether the app has expired at {@code now}. */
    public boolean expiredAt(Instant now) {
        return expires.map(e -> !now.isBefore(e)).orElse(false);
    }
}
