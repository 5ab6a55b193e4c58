package dev.pep.proxy.config;

import java.net.URI;
import java.time.Duration;
import java.util.Map;

/**
 * W3C trace context: the gateway always continues or starts a trace and passes it to the app;
 * with an OTLP endpoint it also exports one span per request.
 *
 * @param otlpEndpoint the collector's traces endpoint (OTLP/HTTP, for example
 *     {@code http://collector:4318/v1/traces}); null exports nothing
 * @param headers extra request headers for the collector, for example its credentials
 * @param sampleRatio the share of the traces the gateway starts that are sampled, 0 to 1; a
 *     continued trace keeps its caller's decision
 * @param timeout the longest one export may take
 * @param maxQueuedSpans the most finished spans waiting for export; more are dropped and counted
 */
public record TracingSettings(URI otlpEndpoint, Map<String, String> headers, Double sampleRatio,
        Duration timeout, Integer maxQueuedSpans) {

    static final TracingSettings DEFAULT = new TracingSettings(null, null, null, null, null);

    /** Applies defaults and copies. */
    public TracingSettings {
        headers = headers == null ? Map.of() : Map.copyOf(headers);
        sampleRatio = sampleRatio == null ? 1.0 : sampleRatio;
        timeout = timeout == null ? Duration.ofSeconds(10) : timeout;
        maxQueuedSpans = maxQueuedSpans == null ? 2048 : maxQueuedSpans;
    }
}
