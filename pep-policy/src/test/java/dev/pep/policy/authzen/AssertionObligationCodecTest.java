package dev.pep.policy.authzen;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.Effect;
import dev.pep.core.Obligation;
import dev.pep.core.PolicyVersion;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The identity assertion and idle limit obligations cross the AuthZEN wire both ways. */
class AssertionObligationCodecTest {

    @Test
    void response_thenDecision_keepsTheAssertionObligation() {
        Obligation assertion = new Obligation.IdentityAssertion("X-App-Assertion", Duration.ofSeconds(90));
        Decision allow = new Decision(Effect.ALLOW, Optional.of("r"), new PolicyVersion("v1"),
                List.of(DecisionReason.of(DecisionReason.RULE_ALLOWED, "allowed")), List.of(assertion),
                Duration.ofMinutes(1));

        var json = AuthZenCodec.response(allow);
        Decision back = AuthZenCodec.decision(json, new PolicyVersion("x"), "a", "d");

        assertThat(json.toString()).contains("\"type\":\"identity_assertion\"").contains("\"seconds\":90");
        assertThat(back.obligations()).containsExactly(assertion);
    }

    @Test
    void response_thenDecision_keepsTheIdleLimit() {
        Obligation idle = new Obligation.IdleLimit(Duration.ofMinutes(15));
        Decision allow = new Decision(Effect.ALLOW, Optional.of("r"), new PolicyVersion("v1"),
                List.of(DecisionReason.of(DecisionReason.RULE_ALLOWED, "allowed")), List.of(idle),
                Duration.ofMinutes(1));

        var json = AuthZenCodec.response(allow);
        Decision back = AuthZenCodec.decision(json, new PolicyVersion("x"), "a", "d");

        assertThat(json.toString()).contains("{\"type\":\"idle_limit\",\"seconds\":900}");
        assertThat(back.obligations()).containsExactly(idle);
    }
}
