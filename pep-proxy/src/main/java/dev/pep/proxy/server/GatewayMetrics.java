package dev.pep.proxy.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The data plane's metrics (docs/metrics.md lists them). Labels are bounded: app, sink and
 * provider names come from configuration, statuses are grouped by class, reason codes and
 * session ending reasons are a fixed vocabulary, the policy version label has one series (the
 * version in force). No label ever carries a user, address or request id.
 */
final class GatewayMetrics {

    private final MeterRegistry registry;
    private final ConcurrentHashMap<String, AppMeters> apps = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> rejections = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> decisions = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> posture = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Timer> decisionTimes = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> sessionsEnded = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> handshakes = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> policyReloads = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> revoked = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> kept = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> tcpSessions = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> tcpBytes = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Timer> tcpDurations = new ConcurrentHashMap<>();
    private final AtomicInteger liveSessions = new AtomicInteger();
    private final Counter bytesIn;
    private final Counter bytesOut;
    private final Timer handshakeTime;
    private Gauge policyInfo;

    GatewayMetrics(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder("pep.sessions.live", liveSessions, AtomicInteger::get)
                .description("Sessions admitted and not yet ended").register(registry);
        this.bytesIn = Counter.builder("pep.bytes").tag("direction", "in")
                .description("Bytes on partner connections, TLS records included").register(registry);
        this.bytesOut = Counter.builder("pep.bytes").tag("direction", "out")
                .description("Bytes on partner connections, TLS records included").register(registry);
        this.handshakeTime = Timer.builder("pep.tls.handshake.duration")
                .description("From connection accepted to TLS handshake done")
                .publishPercentileHistogram().register(registry);
    }

    MeterRegistry registry() {
        return registry;
    }

    /** A request of {@code app} ended with {@code status} after {@code elapsed}. */
    void request(String app, int status, Duration elapsed) {
        apps.computeIfAbsent(app, this::meters).record(status, elapsed);
    }

    /** A request was refused before routing (malformed, ambiguous, unknown host). */
    void rejected(String code) {
        rejections.computeIfAbsent(code, c -> Counter.builder("pep.requests.rejected")
                .tag("reason", c).register(registry)).increment();
    }

    /** A decision was made. */
    void decision(String app, String effect, String reason) {
        decisions.computeIfAbsent(app + '|' + effect + '|' + reason, k -> Counter.builder("pep.decisions")
                .tag("app", app).tag("effect", effect).tag("reason", reason).register(registry)).increment();
    }

    /** A posture provider answered ({@code ok}), was late ({@code timeout}) or failed. */
    void posture(String provider, String outcome) {
        posture.computeIfAbsent(provider + '|' + outcome, k -> Counter.builder("pep.posture.assessments")
                .tag("provider", provider).tag("outcome", outcome).register(registry)).increment();
    }

    /** How long the engine took to decide a request of {@code app}. */
    void decisionDuration(String app, Duration elapsed) {
        decisionTimes.computeIfAbsent(app, a -> Timer.builder("pep.decision.duration").tag("app", a)
                .publishPercentileHistogram().register(registry)).record(elapsed);
    }

    /** A session was admitted. */
    void sessionStarted() {
        liveSessions.incrementAndGet();
    }

    /**
     * A TCP session of {@code app} ended: {@code outcome} is {@code refused} (never relayed) or
     * the relay's ending reason; bytes are the app's payload, without TLS records.
     */
    void tcpSession(String app, String outcome, long toApp, long toClient, Duration elapsed) {
        tcpSessions.computeIfAbsent(app + '|' + outcome, k -> Counter.builder("pep.tcp.sessions")
                .tag("app", app).tag("outcome", outcome)
                .description("TCP sessions by how they ended").register(registry)).increment();
        if (toApp > 0) {
            tcpBytes.computeIfAbsent(app + "|to_app", k -> Counter.builder("pep.tcp.bytes").tag("app", app)
                    .tag("direction", "to_app").description("Payload relayed in TCP sessions")
                    .register(registry)).increment(toApp);
        }
        if (toClient > 0) {
            tcpBytes.computeIfAbsent(app + "|to_client", k -> Counter.builder("pep.tcp.bytes").tag("app", app)
                    .tag("direction", "to_client").description("Payload relayed in TCP sessions")
                    .register(registry)).increment(toClient);
        }
        tcpDurations.computeIfAbsent(app, a -> Timer.builder("pep.tcp.session.duration").tag("app", a)
                .description("From the TCP session's handshake to its end").publishPercentileHistogram()
                .register(registry))
                .record(elapsed);
    }

    /** An admitted session ended, for {@code reason} (closed, idle_timeout, session_limit...). */
    void sessionEnded(String reason) {
        liveSessions.decrementAndGet();
        sessionsEnded.computeIfAbsent(reason, r -> Counter.builder("pep.sessions.ended")
                .tag("reason", r).register(registry)).increment();
    }

    /** The gateway ended a live session; {@code trigger} names what made it (policy, logout...). */
    void sessionRevoked(String trigger) {
        revoked.computeIfAbsent(trigger, t -> Counter.builder("pep.sessions.revoked").tag("trigger", t)
                .description("Live sessions the gateway ended").register(registry)).increment();
    }

    /** A re-decision kept a live session. */
    void sessionKept(String trigger) {
        kept.computeIfAbsent(trigger, t -> Counter.builder("pep.sessions.redecided").tag("trigger", t)
                .tag("result", "kept").register(registry)).increment();
    }

    /** Bytes crossed a partner connection. */
    void bytes(long in, long out) {
        if (in > 0) {
            bytesIn.increment(in);
        }
        if (out > 0) {
            bytesOut.increment(out);
        }
    }

    /**
     * A TLS handshake ended: {@code result} {@code success} or {@code failure}, {@code protocol}
     * the negotiated version ({@code TLSv1.3}) or {@code none}.
     */
    void handshake(String result, String protocol, Duration elapsed) {
        handshakes.computeIfAbsent(result + '|' + protocol, k -> Counter.builder("pep.tls.handshakes")
                .tag("result", result).tag("protocol", protocol).register(registry)).increment();
        if (result.equals("success")) {
            handshakeTime.record(elapsed);
        }
    }

    /** The policy version in force: one series, {@code pep_policy_info{version}} = 1. */
    synchronized void policyVersion(String version) {
        if (policyInfo != null) {
            registry.remove(policyInfo);
        }
        policyInfo = Gauge.builder("pep.policy.info", () -> 1).tag("version", version)
                .description("The policy version in force").register(registry);
    }

    /** A policy reload ended: {@code loaded} or {@code refused}. */
    void policyReload(String result) {
        policyReloads.computeIfAbsent(result, r -> Counter.builder("pep.policy.reloads")
                .tag("result", r).register(registry)).increment();
    }

    /**
     * A provider the gateway depends on (a JWKS endpoint, an OpenID provider, a posture service,
     * a key set, a trust or network file): whether it is usable now ({@code pep_provider_up})
     * and how often it failed.
     */
    void provider(ProviderHealth p) {
        Gauge.builder("pep.provider.up", p.up(), u -> u.getAsBoolean() ? 1 : 0)
                .tag("kind", p.kind()).tag("provider", p.name())
                .description("Whether the provider is usable").register(registry);
        FunctionCounter.builder("pep.provider.failures", p.failures(), f -> f.getAsLong())
                .tag("kind", p.kind()).tag("provider", p.name())
                .description("Failed calls to the provider").register(registry);
    }

    private AppMeters meters(String app) {
        return new AppMeters(registry, app);
    }

    private static final class AppMeters {
        private final Counter[] byClass = new Counter[6];
        private final Timer latency;

        AppMeters(MeterRegistry registry, String app) {
            for (int c = 1; c <= 5; c++) {
                byClass[c] = Counter.builder("pep.requests").tag("app", app).tag("status", c + "xx")
                        .register(registry);
            }
            latency = Timer.builder("pep.request.duration").tag("app", app)
                    .publishPercentileHistogram().register(registry);
        }

        void record(int status, Duration elapsed) {
            int c = status / 100;
            if (c >= 1 && c <= 5) {
                byClass[c].increment();
            }
            latency.record(elapsed);
        }
    }
}
