package dev.pep.policy;

import dev.pep.core.Decision;
import dev.pep.core.Effect;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Why a decision came out as it did: the decision and every rule considered for the app.
 *
 * @param decision the decision, identical to what {@code decide} returns for the request
 * @param app the app the request names
 * @param rules the rules considered for the app, in declaration order (deny overrides allow
 *     whatever the order)
 */
public record Explanation(Decision decision, String app, List<RuleTrace> rules) {

    /** Validates and copies. */
    public Explanation {
        Objects.requireNonNull(decision, "decision");
        Objects.requireNonNull(app, "app");
        rules = List.copyOf(rules);
    }

    /** What became of one rule. */
    public enum Outcome {
        /** The condition was true. */
        MATCHED,
        /** The condition was false. */
        NOT_MATCHED,
        /** The condition could not be evaluated. */
        ERROR
    }

    /**
     * One rule considered.
     *
     * @param ruleId the rule's id
     * @param effect the rule's effect
     * @param location where the rule's id is, {@code file:line:column}
     * @param outcome what became of it
     * @param error the evaluation error, empty unless {@link Outcome#ERROR}
     * @param operator {@code &&} or {@code ||} when the condition was split into terms, else
     *     empty
     * @param terms each top-level term of the condition with its own result
     */
    public record RuleTrace(String ruleId, Effect effect, String location, Outcome outcome,
            String error, String operator, List<TermTrace> terms) {

        /** Validates and copies. */
        public RuleTrace {
            Objects.requireNonNull(ruleId, "ruleId");
            Objects.requireNonNull(effect, "effect");
            Objects.requireNonNull(location, "location");
            Objects.requireNonNull(outcome, "outcome");
            Objects.requireNonNull(error, "error");
            Objects.requireNonNull(operator, "operator");
            terms = List.copyOf(terms);
        }
    }

    /**
     * One top-level term of a condition.
     *
     * @param expression the term, as CEL text
     * @param result {@code true}, {@code false} or {@code error: message}
     */
    public record TermTrace(String expression, String result) {

        /** Validates. */
        public TermTrace {
            Objects.requireNonNull(expression, "expression");
            Objects.requireNonNull(result, "result");
        }
    }

    /** A text rendering for people, one rule per paragraph. */
    public String toText() {
        StringBuilder out = new StringBuilder();
        out.append("decision: ").append(decision.effect().name().toLowerCase())
                .append(decision.ruleId().map(r -> " by rule " + r).orElse(""))
                .append(" (policy ").append(decision.version()).append(")\n");
        out.append("reasons: ").append(decision.reasons().stream()
                .map(r -> r.code() + " (" + r.message() + ")")
                .collect(Collectors.joining(", "))).append('\n');
        if (!decision.obligations().isEmpty()) {
            out.append("obligations: ").append(decision.obligations()).append('\n');
        }
        out.append("ttl: ").append(decision.ttl()).append('\n');
        out.append("app: ").append(app).append(", ").append(rules.size())
                .append(" rule(s) considered\n");
        for (RuleTrace rule : rules) {
            out.append(String.format("  %-11s %s (%s) at %s%n", label(rule.outcome()),
                    rule.ruleId(), rule.effect().name().toLowerCase(), rule.location()));
            if (!rule.error().isEmpty()) {
                out.append("      error: ").append(rule.error()).append('\n');
            }
            for (TermTrace term : rule.terms()) {
                out.append(String.format("      %-6s %s%s%n", term.result(),
                        rule.operator().isEmpty() ? "" : rule.operator() + " ",
                        term.expression()));
            }
        }
        return out.toString();
    }

    private static String label(Outcome outcome) {
        return switch (outcome) {
            case MATCHED -> "[matched]";
            case NOT_MATCHED -> "[no match]";
            case ERROR -> "[error]";
        };
    }
}
