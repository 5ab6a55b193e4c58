package dev.pep.telemetry.trace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.telemetry.otlp.OtlpReceiver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** Continuing, starting and replacing traces, and exporting request spans over OTLP. */
class TracingTest {

    private static final String PARENT =
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final AtomicLong counter = new AtomicLong(0x1000);

    private Tracing tracing(double ratio, OtlpSpanExporter exporter) {
        return new Tracing(ratio, exporter, counter::incrementAndGet, registry);
    }

    @Test
    void start_validTraceparent_continuesTheTraceWithANewGatewaySpanAndKeepsTracestate() {
        TraceContext c = tracing(0, null).start(List.of(PARENT), List.of("a=1", "b=2"));

        assertThat(c.traceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(c.parentSpanId()).isEqualTo("00f067aa0ba902b7");
        assertThat(c.spanId()).isNotEqualTo("00f067aa0ba902b7").hasSize(16);
        assertThat(c.sampled()).as("the caller's decision wins over the ratio").isTrue();
        assertThat(c.traceState()).isEqualTo("a=1,b=2");
        assertThat(c.origin()).isEqualTo(TraceContext.Origin.CONTINUED);
        assertThat(c.traceparent()).isEqualTo("00-4bf92f3577b34da6a3ce929d0e0e4736-"
                + c.spanId() + "-01");
    }

    @Test
    void start_malformedTraceparent_replacesTheTraceAndDropsTracestate() {
        TraceContext c = tracing(1, null).start(List.of(PARENT.toUpperCase()), List.of("a=1"));

        assertThat(c.traceId()).isNotEqualTo("4bf92f3577b34da6a3ce929d0e0e4736").hasSize(32);
        assertThat(c.parentSpanId()).isEmpty();
        assertThat(c.traceState()).isEmpty();
        assertThat(c.origin()).isEqualTo(TraceContext.Origin.REPLACED);
        assertThat(registry.get("pep.trace.requests").tag("origin", "replaced").counter().count())
                .isEqualTo(1);
    }

    @Test
    void start_noTraceparent_startsATraceSampledByTheRatio() {
        assertThat(tracing(1, null).start(List.of(), List.of()).sampled()).isTrue();
        assertThat(tracing(0, null).start(List.of(), List.of()).sampled()).isFalse();
        assertThat(tracing(1, null).start(List.of(), List.of()).origin())
                .isEqualTo(TraceContext.Origin.STARTED);
    }

    @Test
    void end_sampledSpan_isExportedAsAServerSpanTheReceiverDecodes() throws Exception {
        try (OtlpReceiver receiver = OtlpReceiver.start();
                OtlpSpanExporter exporter = new OtlpSpanExporter("gw-1",
                        receiver.uri("/v1/traces"), Duration.ofSeconds(5), Map.of(), 100,
                        Duration.ofMillis(50), registry);
                Tracing tracing = tracing(1, exporter)) {
            TraceContext c = tracing.start(List.of(PARENT), List.of());
            TraceContext unsampled = tracing.start(List.of(PARENT.replace("-01", "-00")),
                    List.of());
            tracing.end(new RequestSpan(c, "GET logistics", 1_000, 2_000,
                    Map.of("http.request.method", "GET", "http.response.status_code", 502L),
                    true));
            tracing.end(new RequestSpan(unsampled, "GET logistics", 1_000, 2_000, Map.of(),
                    false));

            Awaitility.await().atMost(Duration.ofSeconds(5))
                    .until(() -> !receiver.traces.isEmpty());
            assertThat(receiver.errors).isEmpty();
            List<Span> spans = receiver.traces.get(0).getResourceSpans(0).getScopeSpans(0)
                    .getSpansList();
            assertThat(spans).hasSize(1);
            Span span = spans.get(0);
            assertThat(HexFormat.of().formatHex(span.getTraceId().toByteArray()))
                    .isEqualTo(c.traceId());
            assertThat(HexFormat.of().formatHex(span.getSpanId().toByteArray()))
                    .isEqualTo(c.spanId());
            assertThat(HexFormat.of().formatHex(span.getParentSpanId().toByteArray()))
                    .isEqualTo("00f067aa0ba902b7");
            assertThat(span.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_SERVER);
            assertThat(span.getName()).isEqualTo("GET logistics");
            assertThat(span.getStartTimeUnixNano()).isEqualTo(1_000);
            assertThat(span.getEndTimeUnixNano()).isEqualTo(2_000);
            assertThat(span.getStatus().getCode())
                    .isEqualTo(io.opentelemetry.proto.trace.v1.Status.StatusCode.STATUS_CODE_ERROR);
            assertThat(span.getAttributesList().stream().collect(Collectors.toMap(
                    KeyValue::getKey, kv -> kv.getValue().toString().trim())))
                    .containsEntry("http.request.method", "string_value: \"GET\"")
                    .containsEntry("http.response.status_code", "int_value: 502");
        }
        assertThat(registry.get("pep.trace.spans.exported").counter().count()).isEqualTo(1);
    }

    @Test
    void export_receiverDown_dropsAndCountsWithoutBlocking() throws Exception {
        OtlpReceiver receiver = OtlpReceiver.start();
        receiver.mode = OtlpReceiver.Mode.UNAVAILABLE;
        try (receiver; OtlpSpanExporter exporter = new OtlpSpanExporter("gw-1",
                receiver.uri("/v1/traces"), Duration.ofSeconds(5), Map.of(), 100,
                Duration.ofMillis(50), registry)) {
            TraceContext c = tracing(1, exporter).start(List.of(), List.of());
            exporter.export(new RequestSpan(c, "GET a", 1, 2, Map.of(), false));

            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> registry
                    .get("pep.trace.spans.dropped").tag("reason", "export_failed").counter()
                    .count() == 1);
        }
    }
}
