package dev.pep.identity.oidc;

import dev.pep.core.DecisionReason;
import dev.pep.identity.session.Session;
import java.util.List;
import java.util.Objects;

/** How a login callback ended. */
public sealed interface LoginOutcome {

    /** The {@code Set-Cookie} header values the response must carry. */
    List<String> setCookies();

    /**
     * The partner is signed in.
     *
     * @param session the new session (already registered in the store)
     * @param returnTo the checked path to redirect to on the login host
     * @param setCookies the session cookie and the cleared login-state cookie
     */
    record Completed(Session session, String returnTo, List<String> setCookies)
            implements LoginOutcome {
        /** Validates and copies. */
        public Completed {
            Objects.requireNonNull(session, "session");
            Objects.requireNonNull(returnTo, "returnTo");
            setCookies = List.copyOf(setCookies);
        }
    }

    /**
     * The login failed; show the reason and offer to retry.
     *
     * @param reason why, with an {@code IdentityReasons} code
     * @param setCookies clears the login-state cookie
     */
    record Failed(DecisionReason reason, List<String> setCookies) implements LoginOutcome {
        /** Validates and copies. */
        public Failed {
            Objects.requireNonNull(reason, "reason");
            setCookies = List.copyOf(setCookies);
        }
    }
}
