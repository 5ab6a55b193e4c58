package dev.pep.proxy.config;

import java.time.Duration;

/**
 * Limits of TCP sessions (apps with {@code protocol: tcp}), spliced after one decision.
 *
 * @param idleTimeout a session on which no byte moved either way for this long is closed
 * @param maxDuration a session is closed this long after it was admitted, whatever its rule's
 *     {@code max-session} says (the shorter of the two wins)
 */
public record TcpSettings(Duration idleTimeout, Duration maxDuration) {

    static final TcpSettings DEFAULT = new TcpSettings(null, null);

    /** Applies defaults. */
    public TcpSettings {
        idleTimeout = idleTimeout == null ? Duration.ofMinutes(5) : idleTimeout;
        maxDuration = maxDuration == null ? Duration.ofHours(24) : maxDuration;
    }
}
