package dev.pep.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DecisionTest {

    private static final PolicyVersion V1 = new PolicyVersion("v1");

    @Test
    void deny_carriesItsReasonAndNoObligations() {
        Decision d = Decision.deny(V1, DecisionReason.of(DecisionReason.NO_MATCHING_RULE, "no rule"));

        assertThat(d.allowed()).isFalse();
        assertThat(d.primaryReason().code()).isEqualTo("no_matching_rule");
        assertThat(d.obligations()).isEmpty();
    }

    @Test
    void construct_withoutReason_isRefused() {
        assertThatThrownBy(() -> new Decision(Effect.ALLOW, Optional.of("r"), V1, List.of(),
                List.of(), Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("reason");
    }

    @Test
    void construct_denyWithObligation_isRefused() {
        assertThatThrownBy(() -> new Decision(Effect.DENY, Optional.empty(), V1,
                List.of(DecisionReason.of("rule_denied", "denied")),
                List.of(new Obligation.ReadOnly()), Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void reasonCode_mustBeSnakeCase() {
        assertThatThrownBy(() -> DecisionReason.of("Bad Code", "x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Bad Code");
    }

    @Test
    void setHeader_refusesCrLfInValue() {
        assertThatThrownBy(() -> new Obligation.SetHeader("X-Org", "a\r\nb"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void postureSignal_ageIsNeverNegative() {
        var now = java.time.Instant.parse("2026-01-01T00:00:00Z");
        var signal = new PostureSignal("managed", true, "test", now.plusSeconds(5));

        assertThat(signal.age(now)).isEqualTo(Duration.ZERO);
        assertThat(signal.age(now.plusSeconds(65))).isEqualTo(Duration.ofMinutes(1));
    }

    @Test
    void devicePosture_unknown_isUnmanaged() {
        assertThat(DevicePosture.unknown().managed()).isFalse();
    }
}
