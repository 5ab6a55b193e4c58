package dev.pep.telemetry.trace;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;

/**
 * The gateway's W3C trace context: continues the caller's trace or starts one, and hands the
 * finished request spans of sampled traces to an exporter when one is configured.
 *
 * <p>Thread-safe; never blocks or does I/O on the caller's thread. Metrics:
 * {@code pep_trace_requests_total{origin}} (continued, started, replaced).
 */
public final class Tracing implements AutoCloseable {

    private final double sampleRatio;
    private final LongSupplier random;
    private final OtlpSpanExporter exporter;
    private final Map<TraceContext.Origin, Counter> origins =
            new EnumMap<>(TraceContext.Origin.class);

    /**
     * Tracing with optional export.
     *
     * @param sampleRatio the share of traces the gateway starts that are sampled, 0 to 1; a
     *     continued trace keeps the caller's decision
     * @param exporter where sampled spans go, or null to export none
     * @param random 64 random bits per call, for ids and sampling
     */
    public Tracing(double sampleRatio, OtlpSpanExporter exporter, LongSupplier random,
            MeterRegistry registry) {
        if (!(sampleRatio >= 0 && sampleRatio <= 1)) {
            throw new IllegalArgumentException("sample ratio must be within 0 and 1: "
                    + sampleRatio);
        }
        this.sampleRatio = sampleRatio;
        this.exporter = exporter;
        this.random = Objects.requireNonNull(random, "random");
        for (TraceContext.Origin o : TraceContext.Origin.values()) {
            origins.put(o, Counter.builder("pep.trace.requests")
                    .tag("origin", o.name().toLowerCase(java.util.Locale.ROOT))
                    .description("Requests by where their trace context came from")
                    .register(registry));
        }
    }

    /** Tracing without export, all started traces sampled, thread-local randomness. */
    public static Tracing withoutExport(MeterRegistry registry) {
        return new Tracing(1.0, null, () -> ThreadLocalRandom.current().nextLong(), registry);
    }

    /**
     * The context of a request that carried these {@code traceparent} and {@code tracestate}
     * fields (empty lists when none): the caller's trace continued when valid, a new one
     * otherwise, a new gateway span either way.
     */
    public TraceContext start(List<String> traceparents, List<String> tracestates) {
        Optional<TraceContext.Parent> parent = TraceContext.parse(traceparents);
        TraceContext ctx;
        if (parent.isPresent()) {
            TraceContext.Parent p = parent.get();
            ctx = new TraceContext(p.traceId(), newSpanId(), p.spanId(), p.sampled(),
                    TraceContext.traceState(tracestates), TraceContext.Origin.CONTINUED);
        } else {
            // Section 3.3: without a valid traceparent, tracestate is ignored too.
            TraceContext.Origin origin = traceparents.isEmpty() ? TraceContext.Origin.STARTED
                    : TraceContext.Origin.REPLACED;
            ctx = new TraceContext(newTraceId(), newSpanId(), "", sample(), "", origin);
        }
        origins.get(ctx.origin()).increment();
        return ctx;
    }

    /** Hands a finished span to the exporter when its trace is sampled; never blocks. */
    public void end(RequestSpan span) {
        if (exporter != null && span.context().sampled()) {
            exporter.export(span);
        }
    }

    /** Whether finished spans are exported anywhere. */
    public boolean exporting() {
        return exporter != null;
    }

    @Override
    public void close() {
        if (exporter != null) {
            exporter.close();
        }
    }

    private boolean sample() {
        if (sampleRatio >= 1) {
            return true;
        }
        double draw = (random.getAsLong() >>> 11) * 0x1.0p-53;
        return draw < sampleRatio;
    }

    private String newTraceId() {
        String id;
        do {
            id = hex(random.getAsLong()) + hex(random.getAsLong());
        } while (!TraceContext.isId(id, 32));
        return id;
    }

    private String newSpanId() {
        String id;
        do {
            id = hex(random.getAsLong());
        } while (!TraceContext.isId(id, 16));
        return id;
    }

    private static String hex(long v) {
        return java.util.HexFormat.of().toHexDigits(v);
    }
}
