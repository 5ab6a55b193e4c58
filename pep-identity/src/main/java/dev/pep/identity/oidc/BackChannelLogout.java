package dev.pep.identity.oidc;

import dev.pep.core.DecisionReason;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** What a back-channel logout token did. */
public sealed interface BackChannelLogout {

    /**
     * The token was valid; the sessions it names were ended.
     *
     * @param issuer the provider's issuer
     * @param providerSessionId the {@code sid} it named, if any
     * @param subject the {@code sub} it named, if any
     * @param endedSessions the gateway session ids revoked
     */
    record Accepted(String issuer, Optional<String> providerSessionId, Optional<String> subject,
            List<String> endedSessions) implements BackChannelLogout {
        /** Validates and copies. */
        public Accepted {
            Objects.requireNonNull(issuer, "issuer");
            Objects.requireNonNull(providerSessionId, "providerSessionId");
            Objects.requireNonNull(subject, "subject");
            endedSessions = List.copyOf(endedSessions);
        }
    }

    /** The token was refused; answer 400. @param reason why */
    record Refused(DecisionReason reason) implements BackChannelLogout {
        /** Validates. */
        public Refused {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
