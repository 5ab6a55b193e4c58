package dev.pep.identity.x509;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.identity.testing.TestPki;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ValidChainsTest {

    static final Instant NOW = Instant.now();
    static final TestPki.Ca ROOT = TestPki.root("CN=Root");
    static final TrustBundle BUNDLE = TrustBundle.of(List.of(ROOT.cert()), List.of());

    @Test
    void contains_sameBundleWithinTheTtl_only() {
        List<X509Certificate> chain = List.of(ROOT.issue("CN=alice").build());
        ValidChains valid = new ValidChains();
        valid.add(chain, BUNDLE, NOW);

        assertThat(valid.contains(chain, BUNDLE, NOW.plusSeconds(59))).isTrue();
        assertThat(valid.contains(chain, BUNDLE, NOW.plus(ValidChains.TTL))).isFalse();
        assertThat(valid.contains(chain, BUNDLE, NOW.minusSeconds(1))).as("judged at an earlier time").isFalse();
        TrustBundle reloaded = TrustBundle.of(List.of(ROOT.cert()), List.of());
        assertThat(valid.contains(chain, reloaded, NOW)).as("a reloaded bundle judges afresh").isFalse();
        assertThat(valid.contains(List.of(ROOT.issue("CN=bob").build()), BUNDLE, NOW)).isFalse();
    }

    @Test
    void contains_neverPastTheChainsFirstNotAfter() {
        X509Certificate shortLived = ROOT.issue("CN=short").validity(NOW.minusSeconds(60), NOW.plusSeconds(10))
                .build();
        ValidChains valid = new ValidChains();
        valid.add(List.of(shortLived), BUNDLE, NOW);

        assertThat(valid.contains(List.of(shortLived), BUNDLE, NOW.plusSeconds(5))).isTrue();
        assertThat(valid.contains(List.of(shortLived), BUNDLE, NOW.plus(Duration.ofSeconds(11)))).isFalse();
    }
}
