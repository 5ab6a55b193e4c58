package dev.pep.proxy.connector;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One enrolled connector instance: what its certificate may carry. Several instances may share
 * a name (one token each): they serve the same apps and take over from each other.
 *
 * @param name the connector's name, its certificate's CN
 * @param serial its certificate's serial number, lower-case hex
 * @param apps the apps it may serve
 * @param expires the end of the enrolment; null when it does not expire
 * @param enrolledAt when it enrolled
 * @param enrolledBy who created the token it enrolled with
 * @param revokedAt when it was revoked; null while it is not
 * @param revokedBy who revoked it; null while it is not revoked
 */
public record Enrolment(String name, String serial, List<String> apps, Instant expires, Instant enrolledAt,
        String enrolledBy, Instant revokedAt, String revokedBy) {

    /** Validates and copies. */
    public Enrolment {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(serial, "serial");
        apps = List.copyOf(apps);
        Objects.requireNonNull(enrolledAt, "enrolledAt");
        Objects.requireNonNull(enrolledBy, "enrolledBy");
    }

    /** Why this enrolment cannot carry a tunnel at {@code now}, if it cannot. */
    public Optional<String> unusable(Instant now) {
        if (revokedAt != null) {
            return Optional.of("connector_revoked");
        }
        if (expires != null && !now.isBefore(expires)) {
            return Optional.of("enrolment_expired");
        }
        return Optional.empty();
    }

    /** This enrolment revoked at {@code at} by {@code by}. */
    public Enrolment revoked(Instant at, String by) {
        return new Enrolment(name, serial, apps, expires, enrolledAt, enrolledBy, at, by);
    }
}
