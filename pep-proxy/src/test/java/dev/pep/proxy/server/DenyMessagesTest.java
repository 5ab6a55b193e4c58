package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.DevicePosture;
import dev.pep.core.Effect;
import dev.pep.core.PolicyVersion;
import dev.pep.core.PostureSignal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DenyMessagesTest {

    static final PolicyVersion V = new PolicyVersion("sha256:1");
    static final DecisionReason NO_MATCH = DecisionReason.of(DecisionReason.NO_MATCHING_RULE,
            "no policy allows this access");
    static final DecisionReason NOT_MANAGED = DecisionReason.of(DecisionReason.DEVICE_NOT_MANAGED,
            "this application requires a managed device");

    static DevicePosture posture(String name, Object value) {
        return new DevicePosture(Map.of(name, new PostureSignal(name, value, "p", Instant.now())));
    }

    @Test
    void message_noDeviceCertificate_plainWords() {
        Decision d = new Decision(Effect.DENY, Optional.empty(), V, List.of(NO_MATCH, NOT_MANAGED),
                List.of(), Duration.ZERO);

        DecisionReason shown = DenyMessages.shown(d);

        assertThat(shown.code()).isEqualTo("device_not_managed");
        assertThat(DenyMessages.message(shown, posture("certificate.status", "absent")))
                .isEqualTo("This application requires a managed device; "
                        + "your device did not present a device certificate.");
    }

    @Test
    void message_otherDenial_primaryReasonWithoutFindings() {
        Decision d = Decision.deny(V, NO_MATCH);

        DecisionReason shown = DenyMessages.shown(d);

        assertThat(shown).isEqualTo(NO_MATCH);
        assertThat(DenyMessages.message(shown, posture("certificate.status", "absent")))
                .isEqualTo("No policy allows this access.");
    }
}
