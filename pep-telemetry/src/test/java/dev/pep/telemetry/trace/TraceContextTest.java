package dev.pep.telemetry.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The strict reading of {@code traceparent} (W3C Trace Context, section 3.2). */
class TraceContextTest {

    @ParameterizedTest
    @CsvSource({
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01, true",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00, false",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03, true",
        // A later version may carry more fields after a dash; the known ones are read.
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds, true",
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01, true",
    })
    void parse_valid_continuesTheTrace(String traceparent, boolean sampled) {
        TraceContext.Parent p = TraceContext.parse(List.of(traceparent)).orElseThrow();

        assertThat(p.traceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(p.spanId()).isEqualTo("00f067aa0ba902b7");
        assertThat(p.sampled()).isEqualTo(sampled);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
    })
    void parse_malformed_isRefused(String traceparent) {
        assertThat(TraceContext.parse(List.of(traceparent))).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 2})
    void parse_noneOrRepeatedField_isRefused(int copies) {
        String valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

        assertThat(TraceContext.parse(java.util.Collections.nCopies(copies, valid))).isEmpty();
    }
}
