package dev.pep.proxy.config;

import java.time.Duration;

/**
 * Timeouts and limits of the partner-facing listener. Every one is explicit so that a slow or
 * greedy client costs a bounded amount.
 *
 * @param handshakeTimeout the TLS handshake must finish within this
 * @param headerReadTimeout a request's head must arrive within this (slowloris)
 * @param idleTimeout a connection with nothing in flight is closed after this
 * @param maxRequestLine the longest HTTP/1.1 request line
 * @param maxHeaderSize the largest header section
 * @param maxHeaders the most header fields in one request
 * @param maxConnections connections open at once, in total
 * @param maxConnectionsPerAddress connections open at once from one client address
 * @param maxTokenChecksPerSecond signature checks of never-seen bearer tokens per second, in
 *     total; past it such tokens get 429 {@code too_many_token_checks}
 */
public record LimitsConfig(
        Duration handshakeTimeout,
        Duration headerReadTimeout,
        Duration idleTimeout,
        ByteSize maxRequestLine,
        ByteSize maxHeaderSize,
        Integer maxHeaders,
        Integer maxConnections,
        Integer maxConnectionsPerAddress,
        Integer maxTokenChecksPerSecond) {

    static final LimitsConfig DEFAULT =
            new LimitsConfig(null, null, null, null, null, null, null, null, null);

    /** Applies defaults. */
    public LimitsConfig {
        handshakeTimeout = handshakeTimeout == null ? Duration.ofSeconds(10) : handshakeTimeout;
        headerReadTimeout = headerReadTimeout == null ? Duration.ofSeconds(10) : headerReadTimeout;
        idleTimeout = idleTimeout == null ? Duration.ofSeconds(60) : idleTimeout;
        maxRequestLine = maxRequestLine == null ? ByteSize.kib(8) : maxRequestLine;
        maxHeaderSize = maxHeaderSize == null ? ByteSize.kib(32) : maxHeaderSize;
        maxHeaders = maxHeaders == null ? 100 : maxHeaders;
        maxConnections = maxConnections == null ? 10_000 : maxConnections;
        maxConnectionsPerAddress = maxConnectionsPerAddress == null ? 256 : maxConnectionsPerAddress;
        maxTokenChecksPerSecond = maxTokenChecksPerSecond == null ? 500 : maxTokenChecksPerSecond;
    }
}
