package dev.pep.proxy.session;

import dev.pep.core.Decision;
import java.util.Objects;
import java.util.Optional;

/**
 * Why the gateway ends a live session.
 *
 * @param reason a stable lower-case code: a decision reason ({@code no_matching_rule}), or
 *     {@code session_limit}, {@code idle_limit}, {@code admin_ended}, {@code authentication_ended},
 *     {@code app_removed}, {@code connector_revoked}, {@code enrolment_expired}
 * @param endedBy who or what ended it: {@code policy}, {@code expiry}, {@code admin:NAME}, {@code connector}
 * @param decision the re-decision that ended it, when one did
 */
public record SessionEnding(String reason, String endedBy, Optional<Decision> decision) {

    /** Validates. */
    public SessionEnding {
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(endedBy, "endedBy");
        Objects.requireNonNull(decision, "decision");
    }

    /** An ending decided by a re-decision that denied. */
    public static SessionEnding denied(Decision decision, String trigger) {
        return new SessionEnding(decision.primaryReason().code(), trigger, Optional.of(decision));
    }

    /** An ending without a decision: a limit ran out or someone asked. */
    public static SessionEnding of(String reason, String endedBy) {
        return new SessionEnding(reason, endedBy, Optional.empty());
    }
}
