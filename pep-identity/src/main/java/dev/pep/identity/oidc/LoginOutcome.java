package dev.pep.identity.oidc;

import com.nimbusds.jwt.JWT;
import dev.pep.core.DecisionReason;
import dev.pep.identity.session.Session;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

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
     * @param provider the name of the provider the partner signed in with
     * @param idToken the validated ID token, kept only as the hint of RP-initiated logout; a
     *     secret like any token: never logged
     * @param grant the provider's refresh token and token expiry, when it issued a refresh token;
     *     kept on the gateway to renew the session, never sent to the browser
     */
    record Completed(Session session, String returnTo, List<String> setCookies, String provider,
            Optional<JWT> idToken, Optional<ProviderGrant> grant) implements LoginOutcome {
        /** Validates and copies. */
        public Completed {
            Objects.requireNonNull(session, "session");
            Objects.requireNonNull(returnTo, "returnTo");
            setCookies = List.copyOf(setCookies);
            Objects.requireNonNull(provider, "provider");
            Objects.requireNonNull(idToken, "idToken");
            Objects.requireNonNull(grant, "grant");
        }

        @Override
        public String toString() {
            return "Completed[session=" + session.id() + ", provider=" + provider + "]";
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
