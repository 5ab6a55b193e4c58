package dev.pep.core;

import java.util.Objects;

/**
 * Why a decision came out as it did: a stable code for machines and a short, safe phrase for the
 * partner.
 *
 * <p>Codes are part of the audit schema: never renamed, only added. The message must be safe to
 * show on the deny page: no internal names, no secrets.
 *
 * @param code a stable lower-case code, for example {@code rule_allowed}
 * @param message a short phrase a partner may read
 */
public record DecisionReason(String code, String message) {

    /** A rule allowed the request. */
    public static final String RULE_ALLOWED = "rule_allowed";
    /** A rule denied the request. */
    public static final String RULE_DENIED = "rule_denied";
    /** No rule allowed the request. */
    public static final String NO_MATCHING_RULE = "no_matching_rule";
    /** The engine failed while deciding; the request is denied. */
    public static final String EVALUATION_ERROR = "evaluation_error";
    /** The decision point could not be reached or did not answer in time. */
    public static final String DECISION_POINT_UNAVAILABLE = "decision_point_unavailable";
    /** The app has expired. */
    public static final String APP_EXPIRED = "app_expired";
    /** The app admits everyone (interim access mode of the gateway configuration). */
    public static final String APP_PUBLIC = "app_public";
    /** The app admits no-one (interim access mode of the gateway configuration). */
    public static final String APP_DENIED = "app_denied";
    /** No rule allowed the request, and one would have but for the device not being managed. */
    public static final String DEVICE_NOT_MANAGED = "device_not_managed";
    /** No rule allowed the request, and one would have but for device posture being too old. */
    public static final String DEVICE_POSTURE_STALE = "device_posture_stale";
    /** No rule allowed the request, and one would have but for another device requirement. */
    public static final String DEVICE_REQUIREMENT_NOT_MET = "device_requirement_not_met";

    /** Validates. */
    public DecisionReason {
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(message, "message");
        if (!code.matches("[a-z][a-z0-9_]*")) {
            throw new IllegalArgumentException("reason code must be lower_snake_case: " + code);
        }
    }

    /** A reason with that code and message. */
    public static DecisionReason of(String code, String message) {
        return new DecisionReason(code, message);
    }
}
