package dev.pep.identity.posture;

import dev.pep.core.DevicePosture;
import dev.pep.core.Subject;
import java.time.Instant;
import java.util.Objects;

/**
 * The posture of a session changed: a signal appeared, went away or took another value (ages
 * alone are no change).
 *
 * @param sessionKey the session's key ({@link SessionKeys}); never logged
 * @param app the app the posture was assessed for
 * @param subject who the session belongs to
 * @param previous the posture before
 * @param current the posture now
 * @param at when the change was seen
 */
public record PostureChange(String sessionKey, String app, Subject subject, DevicePosture previous,
        DevicePosture current, Instant at) {

    /** Validates. */
    public PostureChange {
        Objects.requireNonNull(sessionKey, "sessionKey");
        Objects.requireNonNull(app, "app");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(previous, "previous");
        Objects.requireNonNull(current, "current");
        Objects.requireNonNull(at, "at");
    }

    /** Whether the device stopped (or started) being managed with this change. */
    public boolean managedChanged() {
        return previous.managed() != current.managed();
    }
}
