package dev.pep.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.Effect;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Explanations: every rule considered, and which top-level term made a rule miss. */
class ExplainTest {

    private static final String POLICY = """
            apps:
              a: { hosts: [a.example], upstream: "pep:echo" }
            rules:
              - id: readers
                apps: [a]
                effect: allow
                when: >
                  "readers" in subject.groups &&
                  device.managed && device.age < duration("15m")
              - id: night-or-vpn
                apps: [a]
                effect: deny
                when: context.hour < 5 || "vpn" in source.networks
              - id: claim
                apps: [a]
                effect: deny
                when: subject.claims["blocked"] == true
              - id: single
                apps: [a]
                effect: allow
                when: subject.id == "root"
            """;

    @TempDir
    Path dir;

    @Test
    void explain_andCondition_showsWhichTermWasFalse() {
        DefaultPolicyEngine engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml", POLICY));

        Explanation e = engine.explain(Requests.to("a").groups("readers")
                .managed(Duration.ofMinutes(20)).claim("blocked", false).build());

        assertThat(e.decision()).isEqualTo(engine.decide(Requests.to("a").groups("readers")
                .managed(Duration.ofMinutes(20)).claim("blocked", false).build()));
        assertThat(e.rules()).extracting(Explanation.RuleTrace::ruleId)
                .containsExactly("readers", "night-or-vpn", "claim", "single");
        Explanation.RuleTrace readers = e.rules().get(0);
        assertThat(readers.outcome()).isEqualTo(Explanation.Outcome.NOT_MATCHED);
        assertThat(readers.operator()).isEqualTo("&&");
        assertThat(readers.terms()).extracting(t -> t.result() + " " + t.expression())
                .containsExactly("true \"readers\" in subject.groups", "true device.managed",
                        "false device.age < duration(\"15m\")");
        assertThat(readers.location()).endsWith("p.yaml:4:9");
        assertThat(e.rules().get(1).operator()).isEqualTo("||");
        assertThat(e.rules().get(1).terms()).extracting(Explanation.TermTrace::result)
                .containsExactly("false", "false");
        assertThat(e.rules().get(3).terms()).singleElement()
                .satisfies(t -> assertThat(t.expression()).isEqualTo("subject.id == \"root\""));
    }

    @Test
    void explain_failingRule_reportsErrorAndDeniesWithEvaluationError() {
        DefaultPolicyEngine engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml", POLICY));

        Explanation e = engine.explain(Requests.to("a").groups("readers")
                .managed(Duration.ofMinutes(1)).build());

        assertThat(e.decision().effect()).isEqualTo(Effect.DENY);
        assertThat(e.decision().primaryReason().code()).isEqualTo("evaluation_error");
        Explanation.RuleTrace claim = e.rules().get(2);
        assertThat(claim.outcome()).isEqualTo(Explanation.Outcome.ERROR);
        assertThat(claim.error()).contains("blocked");
        assertThat(e.rules().get(0).outcome()).isEqualTo(Explanation.Outcome.MATCHED);
    }

    @Test
    void toText_listsDecisionRulesAndTerms() {
        DefaultPolicyEngine engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml", POLICY));

        String text = engine.explain(Requests.to("a").groups("readers")
                .managed(Duration.ofMinutes(1)).claim("blocked", false).build()).toText();

        assertThat(text).startsWith("decision: allow by rule readers (policy sha256:")
                .contains("reasons: rule_allowed (access allowed by policy)")
                .contains("app: a, 4 rule(s) considered")
                .containsPattern("\\[matched] +readers \\(allow\\) at .*p.yaml:4:9")
                .containsPattern("\\[no match] +night-or-vpn \\(deny\\)")
                .containsPattern("false +\\|\\| \"vpn\" in source.networks");
    }

    @Test
    void explain_unknownApp_hasNoRules() {
        DefaultPolicyEngine engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml", POLICY));

        Explanation e = engine.explain(Requests.to("zzz").build());

        assertThat(e.rules()).isEmpty();
        assertThat(e.decision().primaryReason().code()).isEqualTo(PolicyReasons.UNKNOWN_APP);
    }
}
