package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pep.core.AuditEvent;
import dev.pep.telemetry.otlp.OtlpReceiver;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import java.io.IOException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The OTLP log sink against a receiver that decodes with the official OTLP classes. */
class OtlpLogSinkTest {

    private OtlpReceiver receiver;

    @BeforeEach
    void start() throws IOException {
        receiver = OtlpReceiver.start();
    }

    @AfterEach
    void stop() {
        receiver.close();
    }

    private OtlpLogSink sink() {
        return new OtlpLogSink("otlp", "gw-1", receiver.uri("/v1/logs"), Duration.ofSeconds(5),
                Map.of("Authorization", "Bearer collector-secret"), Fixtures.CLOCK);
    }

    private static SpooledEvent spooled(AuditEvent event, long seq) {
        String json = AuditJson.encode(event, seq, AuditJson.GENESIS_HASH);
        return new SpooledEvent(seq, event.id(), event.time().toEpochMilli(), json);
    }

    @Test
    void deliver_batch_receiverDecodesOneLogRecordPerEventWithTheJsonBody() throws Exception {
        AuditEvents events = Fixtures.events();
        AuditEvent traced = AuditEvents.traced(events.decision(Fixtures.request(),
                Fixtures.allow(), "sess-1"), "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
        AuditEvent failed = events.loginFailed("req-2", "", dev.pep.core.AuthenticationMethod.OIDC,
                Fixtures.source(), "token_expired");
        List<SpooledEvent> batch = List.of(spooled(traced, 1), spooled(failed, 2));

        sink().deliver(batch);

        assertThat(receiver.errors).isEmpty();
        assertThat(receiver.logs).hasSize(1);
        ResourceLogs resource = receiver.logs.get(0).getResourceLogs(0);
        assertThat(attributes(resource.getResource().getAttributesList()))
                .containsEntry("service.name", "pep").containsEntry("service.instance.id", "gw-1");
        assertThat(resource.getScopeLogs(0).getScope().getName()).isEqualTo("dev.pep");
        List<LogRecord> records = resource.getScopeLogs(0).getLogRecordsList();
        assertThat(records).extracting(r -> r.getBody().getStringValue())
                .containsExactly(batch.get(0).json(), batch.get(1).json());
        LogRecord first = records.get(0);
        assertThat(first.getTimeUnixNano()).isEqualTo(Fixtures.NOW.toEpochMilli() * 1_000_000L);
        assertThat(first.getSeverityText()).isEqualTo("INFO");
        assertThat(attributes(first.getAttributesList()))
                .containsEntry("pep.audit.id", traced.id())
                .containsEntry("pep.audit.seq", "1")
                .containsEntry("pep.audit.type", "decision");
        assertThat(HexFormat.of().formatHex(first.getTraceId().toByteArray()))
                .isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(HexFormat.of().formatHex(first.getSpanId().toByteArray()))
                .isEqualTo("00f067aa0ba902b7");
        assertThat(records.get(1).getSeverityText()).isEqualTo("WARN");
        assertThat(records.get(1).getTraceId().isEmpty()).isTrue();
    }

    @Test
    void deliver_receiverUnavailable_failsSoThePipelineRetries() {
        receiver.mode = OtlpReceiver.Mode.UNAVAILABLE;

        assertThatThrownBy(() -> sink().deliver(List.of(spooled(
                Fixtures.events().logout("s", Fixtures.subject()), 1))))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("answered 503");
    }

    @Test
    void deliver_partialSuccess_isNotRetried() throws Exception {
        receiver.mode = OtlpReceiver.Mode.PARTIAL;

        sink().deliver(List.of(spooled(Fixtures.events().logout("s", Fixtures.subject()), 1)));

        assertThat(receiver.logs).hasSize(1);
    }

    private static Map<String, String> attributes(List<KeyValue> kvs) {
        return kvs.stream().collect(Collectors.toMap(KeyValue::getKey, kv -> kv.getValue().hasIntValue()
                ? Long.toString(kv.getValue().getIntValue()) : kv.getValue().getStringValue()));
    }
}
