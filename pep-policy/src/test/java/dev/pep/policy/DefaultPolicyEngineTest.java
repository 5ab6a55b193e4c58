package dev.pep.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.Effect;
import dev.pep.core.Obligation;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Decision semantics: every reason code, deny overrides allow, obligations and ttl. */
class DefaultPolicyEngineTest {

    private static final String POLICY = """
            apps:
              a: { hosts: [a.example], upstream: "pep:echo" }
              b: { hosts: [b.example, b2.example], connector: depot-1 }
              old:
                hosts: [old.example]
                upstream: https://10.0.0.1:8443
                lifecycle: episodic
                expires: 2026-12-03T10:30:00Z
            rules:
              - id: a-readers
                apps: [a]
                effect: allow
                when: '"readers" in subject.groups'
                obligations:
                  isolation: read-only
                  max-session: 8h
                  idle: 15m
                  reevaluate: 10m
                  headers: { X-User: "${subject.id}", X-Groups: "${subject.groups}" }
              - id: a-writers
                apps: [a]
                effect: allow
                when: '"writers" in subject.groups'
              - id: old-all
                apps: [old]
                effect: allow
                when: subject.authenticated
              - id: b-claims
                apps: [b]
                effect: allow
                when: subject.claims["level"] > 2
              - id: banned
                effect: deny
                when: '"banned" in subject.groups'
              - id: b-broken-deny
                apps: [b]
                effect: deny
                when: subject.claims["flag"] == true
            """;

    @TempDir
    Path dir;

    private DefaultPolicyEngine engine() {
        return PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml", POLICY));
    }

    @Test
    void decide_matchingAllow_allowsWithRuleObligationsAndTtl() {
        Decision d = engine().decide(Requests.to("a").groups("readers", "ops").build());

        assertThat(d.effect()).isEqualTo(Effect.ALLOW);
        assertThat(d.ruleId()).contains("a-readers");
        assertThat(d.primaryReason().code()).isEqualTo(DecisionReason.RULE_ALLOWED);
        assertThat(d.obligations()).containsExactly(new Obligation.ReadOnly(),
                new Obligation.MaxSessionLength(Duration.ofHours(8)),
                new Obligation.IdleLimit(Duration.ofMinutes(15)),
                new Obligation.Reevaluate(Duration.ofMinutes(10)),
                new Obligation.SetHeader("X-User", "alice"),
                new Obligation.SetHeader("X-Groups", "ops,readers"));
        assertThat(d.ttl()).isEqualTo(Duration.ofMinutes(10));
        assertThat(d.version().id()).startsWith("sha256:");
    }

    @Test
    void decide_twoAllowsMatch_firstDeclaredDecidesWithItsObligationsOnly() {
        // Pins L-104: a-writers also matches; its (absent) obligations are not merged.
        Decision d = engine().decide(Requests.to("a").groups("writers", "readers").build());

        assertThat(d.ruleId()).contains("a-readers");
        assertThat(d.obligations()).hasSize(6);
    }

    @Test
    void decide_allowWithoutReevaluate_usesDefaultTtl() {
        // Pins L-101: the default ttl applies whatever the condition's time-dependence.
        Decision d = engine().decide(Requests.to("a").groups("writers").build());

        assertThat(d.ruleId()).contains("a-writers");
        assertThat(d.obligations()).isEmpty();
        assertThat(d.ttl()).isEqualTo(PolicySet.DEFAULT_TTL);
    }

    @Test
    void decide_denyRuleMatches_overridesAllowWithRuleDenied() {
        Decision d = engine().decide(Requests.to("a").groups("readers", "banned").build());

        assertThat(d.effect()).isEqualTo(Effect.DENY);
        assertThat(d.ruleId()).contains("banned");
        assertThat(d.primaryReason().code()).isEqualTo(DecisionReason.RULE_DENIED);
        assertThat(d.obligations()).isEmpty();
        assertThat(d.ttl()).isZero();
    }

    @Test
    void decide_noRuleMatches_deniesWithNoMatchingRule() {
        Decision d = engine().decide(Requests.to("a").groups("visitors").build());

        assertThat(d.effect()).isEqualTo(Effect.DENY);
        assertThat(d.ruleId()).isEmpty();
        assertThat(d.primaryReason().code()).isEqualTo(DecisionReason.NO_MATCHING_RULE);
    }

    @Test
    void decide_denyRuleFails_deniesWithEvaluationErrorEvenIfAllowMatches() {
        // b-broken-deny reads a claim the subject lacks: it might have denied, so fail closed.
        Decision d = engine().decide(Requests.to("b").claim("level", 5).build());

        assertThat(d.effect()).isEqualTo(Effect.DENY);
        assertThat(d.primaryReason().code()).isEqualTo(DecisionReason.EVALUATION_ERROR);
    }

    @Test
    void decide_onlyAllowFails_deniesWithEvaluationError() {
        Decision d = engine().decide(Requests.to("b").claim("flag", false).build());

        assertThat(d.primaryReason().code()).isEqualTo(DecisionReason.EVALUATION_ERROR);
    }

    @Test
    void decide_appExpired_deniesWithAppExpired() {
        Decision d = engine().decide(Requests.to("old").at("2026-12-03T10:30:00Z").build());

        assertThat(d.effect()).isEqualTo(Effect.DENY);
        assertThat(d.primaryReason().code()).isEqualTo(DecisionReason.APP_EXPIRED);
    }

    @Test
    void decide_episodicAppBeforeExpiry_capsTtlAtExpiry() {
        Decision d = engine().decide(Requests.to("old").at("2026-12-03T10:29:30Z").build());

        assertThat(d.effect()).isEqualTo(Effect.ALLOW);
        assertThat(d.ttl()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void decide_unknownApp_deniesWithUnknownApp() {
        Decision d = engine().decide(Requests.to("payroll").build());

        assertThat(d.effect()).isEqualTo(Effect.DENY);
        assertThat(d.primaryReason().code()).isEqualTo(PolicyReasons.UNKNOWN_APP);
    }

    @Test
    void apps_listsDeclaredAppsWithHostsAndUpstreams() {
        DefaultPolicyEngine engine = engine();

        assertThat(engine.apps()).extracting(a -> a.name()).containsExactly("a", "b", "old");
        assertThat(engine.apps().get(1).hosts()).containsExactly("b.example", "b2.example");
        assertThat(engine.apps().get(1).upstream().toString()).isEqualTo("connector:depot-1");
        assertThat(engine.apps().get(2).episodic()).isTrue();
        assertThat(engine.apps().get(2).expires()).isPresent();
    }

    @Test
    void version_isContentHash_sameForSameContentAndChangesWithIt(@TempDir Path other) {
        PolicyDirs.write(other, "p.yaml", POLICY);
        DefaultPolicyEngine first = engine();

        assertThat(PolicyDirs.engine(other).version()).isEqualTo(first.version());
        PolicyDirs.write(other, "p.yaml", POLICY + "\n# a comment\n");
        assertThat(PolicyDirs.engine(other).version()).isNotEqualTo(first.version());
    }

    @Test
    void explain_rulesOfOtherAppsAreNotConsidered() {
        Explanation e = engine().explain(Requests.to("a").groups("visitors").build());

        assertThat(e.rules()).extracting(Explanation.RuleTrace::ruleId)
                .containsExactly("a-readers", "a-writers", "banned");
    }
}
