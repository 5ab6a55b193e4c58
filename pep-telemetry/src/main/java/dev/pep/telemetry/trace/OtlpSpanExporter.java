package dev.pep.telemetry.trace;

import dev.pep.telemetry.otlp.Otlp;
import dev.pep.telemetry.otlp.OtlpHttpExporter;
import dev.pep.telemetry.otlp.ProtoWriter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exports finished request spans over OTLP/HTTP (binary protobuf, {@code /v1/traces}) in
 * batches, from one thread of its own. Traces are diagnostics, not audit: a full queue drops
 * the span and a failed export drops its batch after one retry, each counted in
 * {@code pep_trace_spans_dropped_total{reason}}; nothing is spooled to disk.
 *
 * <p>Thread-safe; {@link #export} never blocks.
 */
// LIMITATION(L-313): spans wait in memory only and are dropped, counted, when they cannot go.
public final class OtlpSpanExporter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OtlpSpanExporter.class);
    private static final int MAX_BATCH = 512;
    private static final long LOG_EVERY_NANOS = Duration.ofSeconds(10).toNanos();

    private final String instance;
    private final OtlpHttpExporter http;
    private final BlockingQueue<RequestSpan> queue;
    private final Duration flushInterval;
    private final Counter exported;
    private final Counter droppedQueueFull;
    private final Counter droppedExportFailed;
    private final Thread thread;
    private volatile boolean stopping;
    private long lastFailureLog = System.nanoTime() - LOG_EVERY_NANOS;

    /**
     * An exporter for gateway {@code instance}, started at once.
     *
     * @param endpoint the collector's traces endpoint, usually ending in {@code /v1/traces}
     * @param headers extra request headers, for example the collector's credentials
     * @param maxQueued the most finished spans waiting for export
     * @param flushInterval the longest a span waits before its batch is sent
     */
    public OtlpSpanExporter(String instance, URI endpoint, Duration timeout,
            Map<String, String> headers, int maxQueued, Duration flushInterval,
            MeterRegistry registry) {
        this.instance = instance;
        this.http = new OtlpHttpExporter(endpoint, timeout, headers);
        this.queue = new ArrayBlockingQueue<>(maxQueued);
        this.flushInterval = flushInterval;
        this.exported = Counter.builder("pep.trace.spans.exported")
                .description("Request spans accepted by the OTLP receiver").register(registry);
        this.droppedQueueFull = dropped(registry, "queue_full");
        this.droppedExportFailed = dropped(registry, "export_failed");
        this.thread = new Thread(this::run, "pep-trace-export");
        thread.setDaemon(true);
        thread.start();
    }

    /** Queues a finished span; drops and counts it when the queue is full. */
    public void export(RequestSpan span) {
        if (stopping || !queue.offer(span)) {
            droppedQueueFull.increment();
        }
    }

    /** Exports what is queued (for up to the timeout) and stops. */
    @Override
    public void close() {
        stopping = true;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The {@code ExportTraceServiceRequest} of a batch. */
    byte[] request(List<RequestSpan> spans) {
        ProtoWriter scopeSpans = new ProtoWriter().message(1, Otlp.scope("1"));
        spans.forEach(s -> scopeSpans.message(2, span(s)));
        ProtoWriter resourceSpans = new ProtoWriter()
                .message(1, Otlp.resource(instance))
                .message(2, scopeSpans);
        return new ProtoWriter().message(1, resourceSpans).toByteArray();
    }

    private void run() {
        List<RequestSpan> batch = new ArrayList<>();
        while (!stopping || !queue.isEmpty()) {
            try {
                RequestSpan first = queue.poll(flushInterval.toMillis(), TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                if (!stopping) {
                    // Let a batch fill for a moment: one POST per interval under load.
                    Thread.sleep(Math.min(flushInterval.toMillis(), 200));
                }
            } catch (InterruptedException e) {
                if (!stopping) {
                    continue;
                }
            }
            queue.drainTo(batch, MAX_BATCH - batch.size());
            if (!batch.isEmpty()) {
                send(batch);
                batch.clear();
            }
        }
    }

    private void send(List<RequestSpan> batch) {
        byte[] body = request(batch);
        for (int attempt = 1; attempt <= 2; attempt++) {
            try {
                OtlpHttpExporter.PartialSuccess r = http.export(body);
                exported.increment(batch.size() - r.rejected());
                droppedExportFailed.increment(r.rejected());
                return;
            } catch (IOException e) {
                if (attempt == 2 || stopping) {
                    droppedExportFailed.increment(batch.size());
                    logFailure(e);
                    return;
                }
            }
        }
    }

    private void logFailure(IOException e) {
        long now = System.nanoTime();
        if (now - lastFailureLog > LOG_EVERY_NANOS) {
            // At most one line every ten seconds while the collector is away; the counter has all.
            lastFailureLog = now;
            LOG.warn("trace export failed, spans dropped endpoint={} error={}", http.shown(),
                    e.getMessage());
        }
    }

    private static ProtoWriter span(RequestSpan s) {
        TraceContext c = s.context();
        ProtoWriter span = new ProtoWriter()
                .bytes(1, Otlp.idBytes(c.traceId(), 16))
                .bytes(2, Otlp.idBytes(c.spanId(), 8));
        if (!c.traceState().isEmpty()) {
            span.string(3, c.traceState());
        }
        if (!c.parentSpanId().isEmpty()) {
            span.bytes(4, Otlp.idBytes(c.parentSpanId(), 8));
        }
        span.string(5, s.name())
                .varint(6, 2) // SPAN_KIND_SERVER
                .fixed64(7, s.startNanos())
                .fixed64(8, s.endNanos());
        s.attributes().forEach((k, v) -> span.message(9, v instanceof Long l
                ? Otlp.attribute(k, l) : Otlp.attribute(k, (String) v)));
        // Status: code 2 (error) or unset, as the HTTP semantic conventions ask of servers.
        span.message(15, new ProtoWriter().varint(3, s.error() ? 2 : 0));
        return span.fixed32(16, c.sampled() ? 1 : 0);
    }

    private static Counter dropped(MeterRegistry registry, String reason) {
        return Counter.builder("pep.trace.spans.dropped").tag("reason", reason)
                .description("Request spans not exported").register(registry);
    }
}
