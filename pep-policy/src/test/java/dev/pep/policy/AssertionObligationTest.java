package dev.pep.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.Decision;
import dev.pep.core.Obligation;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code assertion} obligation: parsed, defaulted, bounded, rendered into decisions. */
class AssertionObligationTest {

    @TempDir
    Path dir;

    private static String policy(String assertion) {
        return """
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo" }
                rules:
                  - id: a-users
                    apps: [a]
                    effect: allow
                    when: "true"
                    obligations:
                      assertion: %s
                """.formatted(assertion);
    }

    @Test
    void decide_ruleAsksForAssertion_obligationWithItsHeaderAndLifetime() {
        var engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml",
                policy("{ header: X-App-Assertion, lifetime: 90s }")));

        Decision d = engine.decide(Requests.to("a").subject("alice").build());

        assertThat(d.obligations()).containsExactly(
                new Obligation.IdentityAssertion("X-App-Assertion", Duration.ofSeconds(90)));
    }

    @Test
    void decide_emptyAssertion_defaultHeaderAndTwoMinutes() {
        var engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml", policy("{}")));

        Decision d = engine.decide(Requests.to("a").subject("alice").build());

        assertThat(d.obligations()).containsExactly(
                new Obligation.IdentityAssertion("X-Pep-Assertion", Duration.ofMinutes(2)));
    }

    @Test
    void load_lifetimeAboveFifteenMinutes_errorAtItsPosition() {
        List<PolicyError> errors = PolicyDirs.errors(PolicyDirs.write(dir, "p.yaml",
                policy("{ lifetime: 1h }")));

        assertThat(errors).singleElement().satisfies(e -> {
            assertThat(e.line()).isEqualTo(9);
            assertThat(e.message()).contains("assertion").contains("at most 15m");
        });
    }

    @Test
    void load_badHeaderOrUnknownKey_errors() {
        assertThat(PolicyDirs.errors(PolicyDirs.write(dir, "p.yaml", policy("{ header: \"X Bad\" }"))))
                .singleElement().satisfies(e -> assertThat(e.message()).contains("not an HTTP token"));
        assertThat(PolicyDirs.errors(PolicyDirs.write(dir, "p.yaml", policy("{ audience: x }"))))
                .singleElement().satisfies(e -> assertThat(e.message()).contains("unknown key 'audience'"));
    }
}
