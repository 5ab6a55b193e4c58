package dev.pep.core;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/** What an {@link Authenticator} made of a request's {@link Credentials}. */
public sealed interface AuthenticationResult {

    /**
     * The credentials proved a subject.
     *
     * @param subject who it is
     * @param expiresAt when the credential stops being valid; empty for never
     */
    record Authenticated(Subject subject, Optional<Instant> expiresAt)
            implements AuthenticationResult {
        /** Validates. */
        public Authenticated {
            Objects.requireNonNull(subject, "subject");
            Objects.requireNonNull(expiresAt, "expiresAt");
        }
    }

    /** No credential this authenticator understands was presented. */
    record NotPresented() implements AuthenticationResult {
    }

    /**
     * A credential was presented and rejected (bad signature, expired, unknown issuer).
     *
     * @param reason why, with a stable code
     */
    record Rejected(DecisionReason reason) implements AuthenticationResult {
        /** Validates. */
        public Rejected {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
