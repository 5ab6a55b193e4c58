package dev.pep.proxy.server;

import dev.pep.core.AuditSink;
import dev.pep.core.PolicyEngine;
import dev.pep.proxy.config.AuditSettings;
import dev.pep.telemetry.audit.AuditEvents;
import dev.pep.telemetry.trace.Tracing;
import dev.pep.proxy.config.GatewayConfig;
import dev.pep.proxy.http.Http1Limits;
import dev.pep.proxy.route.Router;
import dev.pep.proxy.session.SessionRegistry;
import dev.pep.proxy.upstream.AppDialer;
import dev.pep.proxy.upstream.Upstreams;
import io.netty.util.AttributeKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What every connection of the gateway shares: configuration, router, engine, upstreams,
 * metrics and the drain flag. Thread-safe; the router and engine can be swapped at run time.
 */
final class GatewayContext {

    /** The SNI name the client sent, on the connection channel; absent when it sent none. */
    static final AttributeKey<String> SNI = AttributeKey.valueOf("pep.sni");
    /** The client's TLS certificate chain, leaf first, on the connection channel; absent: none. */
    static final AttributeKey<List<X509Certificate>> PEER_CERTIFICATES =
            AttributeKey.valueOf("pep.peer-certificates");

    final GatewayConfig config;
    final Http1Limits http1Limits;
    final Upstreams upstreams;
    final GatewayMetrics metrics;
    final Clock clock;
    final AuditSink audit;
    final AuditEvents events;
    final boolean strictAudit;
    final Tracing tracing;
    GatewayIdentity identity;
    /** Signs the identity assertions apps ask for, and publishes their keys. */
    GatewayAssertions assertions;
    /** Every live admitted exchange, re-decided while it lasts. */
    SessionRegistry sessions;
    /** How TCP sessions reach their app: the only source of a spliced stream. Set once at start. */
    AppDialer dialer;
    /** The posture providers; null when gateway.yaml configures none (every device unknown). */
    GatewayPosture posture;
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicBoolean draining = new AtomicBoolean();
    private final AtomicReference<Router> router;
    private final AtomicReference<PolicyEngine> engine;
    private final SecureRandom random = new SecureRandom();

    GatewayContext(GatewayConfig config, Router router, PolicyEngine engine, Upstreams upstreams,
            GatewayMetrics metrics, Clock clock, AuditSink audit, AuditEvents events, Tracing tracing) {
        this.config = config;
        this.http1Limits = new Http1Limits(config.limits().maxRequestLine().intValue(),
                config.limits().maxHeaderSize().intValue(), config.limits().maxHeaders(), 64 * 1024);
        this.router = new AtomicReference<>(router);
        this.engine = new AtomicReference<>(engine);
        this.upstreams = upstreams;
        this.metrics = metrics;
        this.clock = clock;
        this.strictAudit = config.audit().mode() == AuditSettings.Mode.STRICT;
        // Strict: a refused event of a partner session ends that session's live exchanges.
        this.audit = strictAudit ? new StrictSessionAudit(audit, () -> sessions) : audit;
        this.events = events;
        this.tracing = tracing;
    }

    Router router() {
        return router.get();
    }

    PolicyEngine engine() {
        return engine.get();
    }

    void swap(Router newRouter, PolicyEngine newEngine) {
        router.set(newRouter);
        engine.set(newEngine);
    }

    /** A fresh request id: 16 random hex digits, unguessable so it can go on the deny page. */
    String newRequestId() {
        byte[] b = new byte[8];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
