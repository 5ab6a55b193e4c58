package dev.pep.core;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a {@link PolicyEngine} decided for one {@link AccessRequest}.
 *
 * @param effect allow or deny
 * @param ruleId the rule that decided; empty when no rule did (no match, an error)
 * @param version the policy version that decided
 * @param reasons why, at least one
 * @param obligations what the gateway must do on an allow; empty on a deny
 * @param ttl how long the decision may be reused for the same inputs; zero for not at all
 */
public record Decision(
        Effect effect,
        Optional<String> ruleId,
        PolicyVersion version,
        List<DecisionReason> reasons,
        List<Obligation> obligations,
        Duration ttl) {

    /** Validates and copies. */
    public Decision {
        Objects.requireNonNull(effect, "effect");
        Objects.requireNonNull(ruleId, "ruleId");
        Objects.requireNonNull(version, "version");
        reasons = List.copyOf(reasons);
        if (reasons.isEmpty()) {
            throw new IllegalArgumentException("every decision carries a reason");
        }
        obligations = List.copyOf(obligations);
        if (effect == Effect.DENY && !obligations.isEmpty()) {
            throw new IllegalArgumentException("a deny carries no obligations");
        }
        Objects.requireNonNull(ttl, "ttl");
        if (ttl.isNegative()) {
            throw new IllegalArgumentException("negative ttl: " + ttl);
        }
    }

    /** A deny with no deciding rule, for example when no rule matched or deciding failed. */
    public static Decision deny(PolicyVersion version, DecisionReason reason) {
        return new Decision(Effect.DENY, Optional.empty(), version, List.of(reason), List.of(),
                Duration.ZERO);
    }

    /** Whether the effect is allow. */
    public boolean allowed() {
        return effect == Effect.ALLOW;
    }

    /** The first reason, the one shown to the partner. */
    public DecisionReason primaryReason() {
        return reasons.get(0);
    }
}
