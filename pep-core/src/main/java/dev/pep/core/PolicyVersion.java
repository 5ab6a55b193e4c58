package dev.pep.core;

import java.util.Objects;

/**
 * Which policy made a decision: a content hash of the loaded policy files, or an engine's own
 * version string.
 *
 * @param id the version, never blank
 */
public record PolicyVersion(String id) {

    /** Validates. */
    public PolicyVersion {
        Objects.requireNonNull(id, "id");
        if (id.isBlank()) {
            throw new IllegalArgumentException("policy version is blank");
        }
    }

    @Override
    public String toString() {
        return id;
    }
}
