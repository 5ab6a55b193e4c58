package dev.pep.telemetry.audit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.function.ToDoubleFunction;

/**
 * The audit pipeline's meters. Names follow Prometheus conventions once exported
 * ({@code pep_audit_events_emitted_total}, {@code pep_audit_spool_bytes}); labels are bounded:
 * a fixed reason set and the configured sink names.
 */
final class AuditMetrics {

    private final MeterRegistry registry;
    private final Counter emitted;
    private final Counter spooled;
    private final Counter droppedQueueFull;
    private final Counter droppedSpoolFull;
    private final Counter rejectedQueueFull;
    private final Counter rejectedSpoolFull;
    private final Counter writeErrors;

    AuditMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.emitted = Counter.builder("pep.audit.events.emitted")
                .description("Audit events accepted by emit()").register(registry);
        this.spooled = Counter.builder("pep.audit.events.spooled")
                .description("Audit events written to the spool").register(registry);
        this.droppedQueueFull = droppedCounter("queue_full");
        this.droppedSpoolFull = droppedCounter("spool_full");
        this.rejectedQueueFull = rejectedCounter("queue_full");
        this.rejectedSpoolFull = rejectedCounter("spool_full");
        this.writeErrors = Counter.builder("pep.audit.spool.write.errors")
                .description("Failed spool writes or fsyncs").register(registry);
    }

    /** Registers a gauge read from {@code source} when scraped. */
    <T> void gauge(String name, String description, String unit, T source,
            ToDoubleFunction<T> value) {
        Gauge.builder(name, source, value).description(description).baseUnit(unit)
                .strongReference(true).register(registry);
    }

    /** Registers a per-sink gauge. */
    <T> void sinkGauge(String name, String sink, String unit, T source,
            ToDoubleFunction<T> value) {
        Gauge.builder(name, source, value).tag("sink", sink).baseUnit(unit)
                .strongReference(true).register(registry);
    }

    /** A per-sink counter. */
    Counter sinkCounter(String name, String sink, String description) {
        return Counter.builder(name).tag("sink", sink).description(description)
                .register(registry);
    }

    void emitted() {
        emitted.increment();
    }

    void spooled(int n) {
        spooled.increment(n);
    }

    void dropped(String reason) {
        (reason.equals("queue_full") ? droppedQueueFull : droppedSpoolFull).increment();
    }

    void rejected(String reason) {
        (reason.equals("queue_full") ? rejectedQueueFull : rejectedSpoolFull).increment();
    }

    void writeError() {
        writeErrors.increment();
    }

    private Counter droppedCounter(String reason) {
        return Counter.builder("pep.audit.events.dropped").tag("reason", reason)
                .description("Audit events dropped in best-effort mode").register(registry);
    }

    private Counter rejectedCounter(String reason) {
        return Counter.builder("pep.audit.events.rejected").tag("reason", reason)
                .description("Audit events refused in strict mode").register(registry);
    }
}
