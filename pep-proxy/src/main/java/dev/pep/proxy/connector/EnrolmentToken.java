package dev.pep.proxy.connector;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What a one-time enrolment token grants, as the store keeps it (under the token's hash, never
 * the token itself).
 *
 * @param name the connector name it enrols
 * @param apps the apps the connector may serve
 * @param tokenExpires when the token stops being accepted
 * @param enrolmentExpires when the enrolment it makes ends; null for none
 * @param createdBy who created it (an operator, or the local user of the command line)
 * @param createdAt when
 */
public record EnrolmentToken(String name, List<String> apps, Instant tokenExpires, Instant enrolmentExpires,
        String createdBy, Instant createdAt) {

    /** Validates and copies. */
    public EnrolmentToken {
        Objects.requireNonNull(name, "name");
        apps = List.copyOf(apps);
        Objects.requireNonNull(tokenExpires, "tokenExpires");
        Objects.requireNonNull(createdBy, "createdBy");
        Objects.requireNonNull(createdAt, "createdAt");
    }
}
