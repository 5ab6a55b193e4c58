package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.Effect;
import dev.pep.core.Obligation;
import dev.pep.core.PolicyVersion;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class TcpSessionTest {

    private static final PolicyVersion VERSION = new PolicyVersion("sha256:0123456789abcdef");

    static Stream<Arguments> obligations() {
        return Stream.of(
                Arguments.of(List.of(), "allow", "rule_allowed"),
                Arguments.of(List.of(new Obligation.MaxSessionLength(Duration.ofHours(1)),
                        new Obligation.Reevaluate(Duration.ofMinutes(5))), "allow", "rule_allowed"),
                Arguments.of(List.of(new Obligation.ReadOnly()), "deny", "obligation_not_enforceable"),
                Arguments.of(List.of(new Obligation.MaxSessionLength(Duration.ofHours(1)),
                        new Obligation.SetHeader("X-Partner", "northwind")), "deny", "obligation_not_enforceable"));
    }

    @ParameterizedTest
    @MethodSource("obligations")
    void enforced_allowWithObligations_keptOnlyWhenAStreamCanHonourThem(List<Obligation> obligations,
            String effect, String reason) {
        Decision allow = new Decision(Effect.ALLOW, Optional.of("r1"), VERSION,
                List.of(DecisionReason.of("rule_allowed", "allowed")), obligations, Duration.ZERO);

        Decision enforced = TcpSession.enforced(allow);

        assertThat(enforced.effect().name().toLowerCase()).isEqualTo(effect);
        assertThat(enforced.primaryReason().code()).isEqualTo(reason);
        assertThat(enforced.version()).isEqualTo(VERSION);
    }

    @org.junit.jupiter.api.Test
    void enforced_deny_isUnchanged() {
        Decision deny = Decision.deny(VERSION, DecisionReason.of("no_matching_rule", "no rule"));

        assertThat(TcpSession.enforced(deny)).isSameAs(deny);
    }
}
