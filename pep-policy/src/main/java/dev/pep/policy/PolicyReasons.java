package dev.pep.policy;

/**
 * Reason codes the policy engines add to those of {@link dev.pep.core.DecisionReason}.
 *
 * <p>Codes are part of the audit schema: stable, lower_snake_case, never renamed.
 */
public final class PolicyReasons {

    /** The request names an app the loaded policy does not declare. */
    public static final String UNKNOWN_APP = "unknown_app";
    /** An external decision point allowed the request. */
    public static final String DECISION_POINT_ALLOWED = "decision_point_allowed";
    /** An external decision point denied the request. */
    public static final String DECISION_POINT_DENIED = "decision_point_denied";

    private PolicyReasons() {
    }
}
