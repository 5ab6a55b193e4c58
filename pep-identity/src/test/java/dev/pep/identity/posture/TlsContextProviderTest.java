package dev.pep.identity.posture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.Credentials;
import dev.pep.core.DevicePosture;
import dev.pep.core.PostureSignal;
import dev.pep.core.Source;
import dev.pep.core.Subject;
import dev.pep.identity.testing.MutableClock;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TlsContextProviderTest {

    static final String CHROME_FP = "t13d1516h2_8daaf6152771_e5627efa2ab1";
    static final String CURL_FP = "t13d3112h2_e8f1e7e78f70_6bebaf5329ac";
    static final String CHROME_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
            + "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    final MutableClock clock = MutableClock.atRealNow();
    final DeviceBindings bindings = new DeviceBindings(
            (subject, credentials) -> "session-1", List.of(), clock, Duration.ofHours(1), 100);
    final TlsContextProvider provider = new TlsContextProvider("tls", bindings, Duration.ofHours(1), 100);

    static Credentials request(String fingerprint, String userAgent) {
        return new Credentials("h.example", userAgent == null ? Map.of()
                : Map.of("user-agent", List.of(userAgent)), List.of(), Optional.ofNullable(fingerprint),
                new Source(InetAddress.getLoopbackAddress(), 1, Set.of()), Instant.now());
    }

    DevicePosture assess(Credentials c) {
        return PostureAssessor.merge(provider.assess(Subject.anonymous(), c).toCompletableFuture().join());
    }

    static Object value(DevicePosture posture, String name) {
        return posture.signal(name).map(PostureSignal::value).orElse(null);
    }

    @Test
    void assess_fingerprintAndUserAgent_signals() {
        DevicePosture p = assess(request(CHROME_FP, CHROME_UA));

        assertThat(value(p, "tls.fingerprint")).isEqualTo(CHROME_FP);
        assertThat(value(p, "tls.version")).isEqualTo("1.3");
        assertThat(value(p, "tls.fingerprint_changed")).isEqualTo(false);
        assertThat(value(p, "browser.family")).isEqualTo("chrome");
        assertThat(value(p, "browser.version")).isEqualTo(131L);
        assertThat(value(p, "browser.headless")).isEqualTo(false);
    }

    @Test
    void assess_sessionShowsAnotherFingerprint_changed() {
        assess(request(CHROME_FP, CHROME_UA));

        DevicePosture replayedCookie = assess(request(CURL_FP, CHROME_UA));

        assertThat(value(replayedCookie, "tls.fingerprint_changed")).isEqualTo(true);
        assertThat(value(assess(request(CHROME_FP, CHROME_UA)), "tls.fingerprint_changed"))
                .isEqualTo(false);
    }

    @Test
    void assess_agentNamesChromeOverCurlsHello_takenAtItsWord() {
        // Pins L-506: the agent's family is reported even when the hello is not that browser's.
        DevicePosture p = assess(request(CURL_FP, CHROME_UA));

        assertThat(value(p, "browser.family")).isEqualTo("chrome");
        assertThat(value(p, "tls.fingerprint")).isEqualTo(CURL_FP);
    }

    @Test
    void assess_noFingerprintNoAgent_noSignals() {
        assertThat(assess(request(null, null)).signals()).isEmpty();
    }
}
