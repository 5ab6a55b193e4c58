package dev.pep.identity.posture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.DevicePosture;
import dev.pep.core.PostureSignal;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class PostureFindingsTest {

    static DevicePosture posture(Object... nameValue) {
        java.util.Map<String, PostureSignal> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < nameValue.length; i += 2) {
            m.put((String) nameValue[i], new PostureSignal((String) nameValue[i], nameValue[i + 1],
                    "p", Instant.now()));
        }
        return new DevicePosture(m);
    }

    @Test
    void of_noCertificate_plainWords() {
        assertThat(PostureFindings.of(posture("certificate.status", "absent")))
                .containsExactly("your device did not present a device certificate");
    }

    @Test
    void of_severalProviders_eachFindingOnceInOrder() {
        List<String> findings = PostureFindings.of(posture(
                "service.status", "unavailable", "assertion.status", "replayed",
                "certificate.status", "revoked", "compliant", false));

        assertThat(findings).containsExactly("your device certificate has been revoked",
                "your device's posture statement was already used by someone else",
                "the device posture service could not be reached",
                "your device management reports this device as not compliant");
    }

    @Test
    void of_everythingValid_noFinding() {
        assertThat(PostureFindings.of(posture("certificate.status", "valid", "managed", true)))
                .isEmpty();
    }
}
