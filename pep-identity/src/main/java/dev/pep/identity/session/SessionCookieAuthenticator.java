package dev.pep.identity.session;

import dev.pep.core.AuthenticationResult;
import dev.pep.core.Authenticator;
import dev.pep.core.Credentials;
import dev.pep.identity.IdentityReasons;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates the gateway's own session cookie: sealed, for this host, not expired, not revoked.
 *
 * <p>Thread-safe; no I/O beyond the {@link SessionStore}; never throws.
 */
public final class SessionCookieAuthenticator implements Authenticator {

    private static final Logger LOG = LoggerFactory.getLogger(SessionCookieAuthenticator.class);

    private final SessionCookieCodec codec;
    private final SessionStore store;

    /** An authenticator over this codec and store. */
    public SessionCookieAuthenticator(SessionCookieCodec codec, SessionStore store) {
        this.codec = Objects.requireNonNull(codec, "codec");
        this.store = Objects.requireNonNull(store, "store");
    }

    @Override
    public AuthenticationResult authenticate(Credentials credentials) {
        Optional<String> value =
                SessionCookieCodec.cookieValue(credentials, SessionCookieCodec.COOKIE_NAME);
        if (value.isEmpty()) {
            return new AuthenticationResult.NotPresented();
        }
        try {
            return judge(openSession(value.get(), credentials), credentials);
        } catch (RuntimeException e) {
            LOG.warn("session cookie check failed internally error={}", e.getClass().getName());
            return new AuthenticationResult.Rejected(
                    IdentityReasons.of(IdentityReasons.IDENTITY_ERROR));
        }
    }

    /** Opens and checks revocation; the proxy uses the session to re-seal (idle refresh). */
    public SessionCookieCodec.Opened openSession(String value, Credentials credentials) {
        SessionCookieCodec.Opened opened = codec.open(value, credentials.host(), credentials.time());
        if (opened instanceof SessionCookieCodec.Opened.Valid valid
                && store.isRevoked(valid.session().id(), credentials.time())) {
            return new SessionCookieCodec.Opened.Refused(
                    IdentityReasons.of(IdentityReasons.SESSION_REVOKED));
        }
        return opened;
    }

    private static AuthenticationResult judge(SessionCookieCodec.Opened opened,
            Credentials credentials) {
        if (opened instanceof SessionCookieCodec.Opened.Valid valid) {
            return new AuthenticationResult.Authenticated(valid.session().subject(),
                    Optional.of(valid.session().expiresAt()));
        }
        var refused = (SessionCookieCodec.Opened.Refused) opened;
        LOG.debug("session cookie rejected reason={} host={}", refused.reason().code(),
                credentials.host());
        return new AuthenticationResult.Rejected(refused.reason());
    }
}
