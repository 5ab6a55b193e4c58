package dev.pep.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Which apps a new policy version decides otherwise: what live sessions are re-decided for. */
class AppFingerprintTest {

    private static final String APPS = """
            apps:
              a: { hosts: [a.example], upstream: "pep:echo" }
              b: { hosts: [b.example], upstream: "pep:echo", labels: { tier: "1", zone: x } }
            """;
    private static final String RULES = """
            rules:
              - id: a-open
                apps: [a]
                effect: allow
                when: "true"
              - id: b-group
                apps: [b]
                effect: allow
                when: '"g" in subject.groups'
                obligations: { max-session: 1h }
            """;

    @TempDir
    Path dir;

    static Stream<Arguments> changes() {
        return Stream.of(
                Arguments.of("a's condition", APPS, RULES.replace("when: \"true\"", "when: \"false\""), "a"),
                Arguments.of("b's obligation", APPS, RULES.replace("1h", "2h"), "b"),
                Arguments.of("b's idle obligation", APPS, RULES.replace("{ max-session: 1h }",
                        "{ max-session: 1h, idle: 5m }"), "b"),
                Arguments.of("b's rule id", APPS, RULES.replace("b-group", "b-members"), "b"),
                Arguments.of("a's host", APPS.replace("a.example", "a2.example"), RULES, "a"),
                Arguments.of("b's label", APPS.replace("tier: \"1\"", "tier: \"2\""), RULES, "b"),
                Arguments.of("a rule for every app", APPS, RULES + """
                          - id: nobody-at-night
                            effect: deny
                            when: context.time.getHours() < 6
                        """, "a,b"),
                Arguments.of("a comment and blank lines", APPS, "# reviewed\n\n" + RULES, ""),
                Arguments.of("b's labels written in another order",
                        APPS.replace("tier: \"1\", zone: x", "zone: x, tier: \"1\""), RULES, ""));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("changes")
    void appFingerprints_changedOnlyForTheAppsTheChangeDecidesOtherwise(String change, String apps,
            String rules, String expected) {
        Map<String, String> before = load(APPS, RULES);

        Map<String, String> after = load(apps, rules);

        String changed = String.join(",", before.keySet().stream().sorted()
                .filter(app -> !before.get(app).equals(after.get(app))).toList());
        assertThat(changed).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("changes")
    void appFingerprints_sameFilesTwice_agree(String change, String apps, String rules, String expected) {
        assertThat(load(apps, rules)).isEqualTo(load(apps, rules));
    }

    private Map<String, String> load(String apps, String rules) {
        PolicyDirs.write(dir, "apps.yaml", apps);
        PolicyDirs.write(dir, "rules.yaml", rules);
        return PolicyDirs.engine(dir).appFingerprints();
    }
}
