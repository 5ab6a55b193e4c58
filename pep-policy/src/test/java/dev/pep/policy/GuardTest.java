package dev.pep.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.AccessRequest;
import dev.pep.core.Decision;
import dev.pep.core.Effect;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Guards skip rules that cannot match, and never change a decision. */
class GuardTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = " ; ", value = {
        "\"a\" in subject.groups && device.managed ; [a] ; [] ; null",
        "\"a\" in subject.groups && \"b\" in subject.groups ; [a, b] ; [] ; null",
        "\"r\" in subject.roles ; [] ; [r] ; null",
        "request.method in [\"GET\", \"HEAD\"] && device.managed ; [] ; [] ; [GET, HEAD]",
        "request.method == \"POST\" && request.method in [\"GET\", \"POST\"] ; [] ; [] ; [POST]",
        "\"a\" in subject.groups || device.managed ; [] ; [] ; null",
        "subject.groups.exists(g, g == \"a\") ; [] ; [] ; null",
    })
    void of_readsRequiredFactsFromTopLevelConjunction(String when, String groups, String roles,
            String methods) {
        Guard guard = Conditions.compile(when).condition().guard();

        assertThat(sorted(guard.groups())).isEqualTo(groups);
        assertThat(sorted(guard.roles())).isEqualTo(roles);
        assertThat(guard.methods() == null ? "null" : sorted(guard.methods())).isEqualTo(methods);
    }

    @Test
    void decide_withGuards_equalsEvaluatingEveryRule() {
        StringBuilder yaml = new StringBuilder("""
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo" }
                rules:
                  - { id: d1, effect: deny, when: '"g3" in subject.groups && request.method == "DELETE"' }
                  - { id: d2, effect: deny, when: '"r1" in subject.roles && subject.claims["x"] == 1' }
                """);
        for (int i = 0; i < 12; i++) {
            yaml.append("  - { id: a").append(i).append(", apps: [a], effect: allow, when: '")
                    .append(i % 3 == 0 ? "\"r" + (i % 4) + "\" in subject.roles"
                            : "\"g" + (i % 5) + "\" in subject.groups")
                    .append(" && request.method in [\"GET\", \"POST\"] && device.age < duration(\"")
                    .append(i + 1).append("m\")' }\n");
        }
        DefaultPolicyEngine engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml",
                yaml.toString()));
        Random random = new Random(42);
        String[] methods = {"GET", "POST", "DELETE"};

        for (int n = 0; n < 300; n++) {
            Requests r = Requests.to("a").groups(pick(random, "g"))
                    .roles(pick(random, "r")).http(methods[random.nextInt(3)], "/")
                    .managed(Duration.ofSeconds(random.nextInt(900)));
            if (random.nextBoolean()) {
                r.claim("x", random.nextInt(2));
            }
            AccessRequest request = r.build();
            assertThat(engine.decide(request)).as(request.toString())
                    .isEqualTo(byEveryRule(engine.explain(request)));
        }
    }

    /** The decision an engine without guards would make, from the explanation. */
    private static Decision byEveryRule(Explanation e) {
        Decision d = e.decision();
        String expected = "no_matching_rule";
        String rule = null;
        for (Explanation.RuleTrace t : e.rules()) {
            if (t.effect() == Effect.DENY && t.outcome() == Explanation.Outcome.ERROR) {
                return d.primaryReason().code().equals("evaluation_error") ? d : null;
            }
            if (t.effect() == Effect.DENY && t.outcome() == Explanation.Outcome.MATCHED) {
                return d.ruleId().orElse("").equals(t.ruleId()) ? d : null;
            }
        }
        for (Explanation.RuleTrace t : e.rules()) {
            if (t.effect() == Effect.ALLOW && t.outcome() == Explanation.Outcome.MATCHED) {
                rule = t.ruleId();
                break;
            }
            if (t.effect() == Effect.ALLOW && t.outcome() == Explanation.Outcome.ERROR) {
                expected = "evaluation_error";
            }
        }
        if (rule != null) {
            return d.ruleId().orElse("").equals(rule) && d.allowed() ? d : null;
        }
        return d.primaryReason().code().equals(expected) ? d : null;
    }

    private static String[] pick(Random random, String prefix) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            if (random.nextInt(3) == 0) {
                out.add(prefix + i);
            }
        }
        return out.toArray(String[]::new);
    }

    private static String sorted(Set<String> values) {
        return values.stream().sorted().toList().toString();
    }
}
