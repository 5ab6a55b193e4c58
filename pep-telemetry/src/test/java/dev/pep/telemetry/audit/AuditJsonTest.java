package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pep.core.AuditEvent;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AuditJsonTest {

    private static AuditEvent withFields(Map<String, Object> fields) {
        return new AuditEvent("id-1", "admin.action", Fixtures.NOW, "gw-1", "", "", fields);
    }

    @Test
    void encode_event_writesSortedEnvelopeOcsfMetadataAndVerifiableHash() {
        String json = AuditJson.encode(withFields(Map.of("zeta", 1, "alpha", "a")), 7,
                AuditJson.GENESIS_HASH);

        Map<String, Object> tree = AuditJson.parse(json);
        assertThat(List.copyOf(tree.keySet())).isSorted();
        assertThat(tree).containsEntry("schema_version", 1).containsEntry("seq", 7)
                .containsEntry("time", Fixtures.NOW.toEpochMilli())
                .containsEntry("time_dt", "2026-12-03T20:00:00Z")
                .containsEntry("session_id", "").containsEntry("request_id", "");
        assertThat(tree.get("metadata")).isEqualTo(Map.of("uid", "id-1", "version", "1.3.0",
                "log_name", "audit", "product", Map.of("name", "pep", "vendor_name", "pep")));
        assertThat(AuditChainVerifier.verifyLines(List.of(json)).intact()).isTrue();
    }

    @Test
    void encode_decimalThatParsesDifferently_isNormalisedSoTheHashStillVerifies() {
        String json = AuditJson.encode(withFields(Map.of("ratio", new BigDecimal("1.10"))), 1,
                AuditJson.GENESIS_HASH);

        assertThat(json).contains("\"ratio\":1.1");
        assertThat(AuditChainVerifier.verifyLines(List.of(json)).intact()).isTrue();
    }

    @Test
    void encode_fieldUsingEnvelopeKey_isRefused() {
        assertThatThrownBy(() -> AuditJson.encode(withFields(Map.of("hash", "x")), 1,
                AuditJson.GENESIS_HASH)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("hash");
    }

    @Test
    void encode_valueThatIsNotJson_isRefusedWithItsPath() {
        assertThatThrownBy(() -> AuditJson.encode(withFields(Map.of("a", Map.of("b",
                List.of(Fixtures.NOW)))), 1, AuditJson.GENESIS_HASH))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("a.b[0]");
    }
}
