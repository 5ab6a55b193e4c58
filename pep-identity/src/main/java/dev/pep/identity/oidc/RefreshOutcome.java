package dev.pep.identity.oidc;

import dev.pep.core.DecisionReason;
import java.util.Objects;

/** How one refresh at a provider's token endpoint ended. */
public sealed interface RefreshOutcome {

    /** The provider renewed the grant. @param grant the new refresh token (or the old one) and expiry */
    record Refreshed(ProviderGrant grant) implements RefreshOutcome {
        /** Validates. */
        public Refreshed {
            Objects.requireNonNull(grant, "grant");
        }
    }

    /**
     * The provider refused (RFC 6749 5.2: {@code invalid_grant} for a revoked token or a disabled
     * user, or any other error it answered), or its answer failed validation: the session ends.
     *
     * @param reason {@code refresh_refused}
     */
    record Refused(DecisionReason reason) implements RefreshOutcome {
        /** Validates. */
        public Refused {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /**
     * The provider could not be asked: down, too slow, a server error, keys unavailable. The
     * session lives until its grant runs out, then ends; the refresh is retried until then.
     *
     * @param reason {@code provider_unavailable}, {@code keys_stale} or {@code keys_unavailable}
     */
    record Unavailable(DecisionReason reason) implements RefreshOutcome {
        /** Validates. */
        public Unavailable {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
