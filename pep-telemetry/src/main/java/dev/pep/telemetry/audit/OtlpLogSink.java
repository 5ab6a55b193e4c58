package dev.pep.telemetry.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pep.telemetry.otlp.Otlp;
import dev.pep.telemetry.otlp.OtlpHttpExporter;
import dev.pep.telemetry.otlp.ProtoWriter;
import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ships batches of events as OpenTelemetry log records over OTLP/HTTP (binary protobuf, the
 * protocol's default encoding) to a collector, for example {@code http://collector:4318/v1/logs}.
 *
 * <p>Each record's body is the event's canonical JSON line, unchanged, so the chain still
 * verifies downstream; its attributes carry {@code pep.audit.id}, {@code pep.audit.seq} and
 * {@code pep.audit.type}; its trace and span ids are the event's {@code trace_id} and
 * {@code span_id} when it has them. A retried batch carries the same events, so receivers
 * de-duplicate by {@code pep.audit.id}. A partial success (some records refused) is logged and
 * not retried, as the OTLP specification asks.
 */
public final class OtlpLogSink implements DeliverySink {

    private static final Logger LOG = LoggerFactory.getLogger(OtlpLogSink.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int SEVERITY_INFO = 9;
    private static final int SEVERITY_WARN = 13;

    private final String name;
    private final String instance;
    private final OtlpHttpExporter exporter;
    private final Clock clock;

    /**
     * A sink named {@code name} exporting the events of gateway {@code instance}.
     *
     * @param endpoint the collector's logs endpoint, usually ending in {@code /v1/logs}
     * @param timeout the longest one batch may take
     * @param headers extra request headers, for example the collector's credentials
     */
    public OtlpLogSink(String name, String instance, URI endpoint, Duration timeout,
            Map<String, String> headers, Clock clock) {
        this.name = Objects.requireNonNull(name, "name");
        this.instance = Objects.requireNonNull(instance, "instance");
        this.exporter = new OtlpHttpExporter(endpoint, timeout, headers);
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void deliver(List<SpooledEvent> batch) throws IOException {
        OtlpHttpExporter.PartialSuccess result = exporter.export(request(batch));
        // LIMITATION(L-314): records refused in a partial success are logged, not dead-lettered.
        if (result.rejected() > 0) {
            LOG.warn("otlp receiver refused audit records, not retried sink={} first_seq={}"
                    + " rejected={} message={}", name, batch.get(0).seq(), result.rejected(),
                    result.message());
        }
    }

    /** The {@code ExportLogsServiceRequest} of a batch. */
    byte[] request(List<SpooledEvent> batch) throws IOException {
        ProtoWriter scopeLogs = new ProtoWriter().message(1, Otlp.scope(AuditJson.OCSF_VERSION));
        long observed = clock.millis() * 1_000_000L;
        for (SpooledEvent e : batch) {
            scopeLogs.message(2, logRecord(e, observed));
        }
        ProtoWriter resourceLogs = new ProtoWriter()
                .message(1, Otlp.resource(instance))
                .message(2, scopeLogs);
        return new ProtoWriter().message(1, resourceLogs).toByteArray();
    }

    private static ProtoWriter logRecord(SpooledEvent e, long observedNanos) throws IOException {
        JsonNode event = MAPPER.readTree(e.json());
        String type = event.path("type").asText("");
        boolean warn = event.path("severity_id").asInt(1) >= 3;
        ProtoWriter record = new ProtoWriter()
                .fixed64(1, e.timeMillis() * 1_000_000L)
                .varint(2, warn ? SEVERITY_WARN : SEVERITY_INFO)
                .string(3, warn ? "WARN" : "INFO")
                .message(5, Otlp.stringValue(e.json()))
                .message(6, Otlp.attribute("pep.audit.id", e.id()))
                .message(6, Otlp.attribute("pep.audit.seq", e.seq()))
                .message(6, Otlp.attribute("pep.audit.type", type));
        byte[] traceId = Otlp.idBytes(event.path("trace_id").asText(null), 16);
        byte[] spanId = Otlp.idBytes(event.path("span_id").asText(null), 8);
        if (traceId != null && spanId != null) {
            record.bytes(9, traceId).bytes(10, spanId);
        }
        return record.fixed64(11, observedNanos).string(12, "pep.audit." + type);
    }
}
