package dev.pep.proxy.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The data plane's metrics. Labels are bounded: app names come from configuration, statuses are
 * grouped by class, reason codes are a fixed vocabulary.
 */
final class GatewayMetrics {

    private final MeterRegistry registry;
    private final ConcurrentHashMap<String, AppMeters> apps = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> rejections = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> decisions = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> posture = new ConcurrentHashMap<>();

    GatewayMetrics(MeterRegistry registry) {
        this.registry = registry;
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
