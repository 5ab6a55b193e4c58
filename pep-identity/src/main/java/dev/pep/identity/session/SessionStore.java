package dev.pep.identity.session;

import java.time.Instant;
import java.util.List;

/**
 * Server-side knowledge of sessions: which are revoked, and which belong to a subject or to an
 * identity-provider session, so logout and back-channel logout can end them.
 *
 * <p>A revoked session id stays revoked until the session's own absolute expiry, whatever cookie
 * is presented. Implementations are thread-safe and never block on I/O for {@link #isRevoked}.
 */
public interface SessionStore {

    /** Records a new session (at login). */
    void register(Session session);

    /** Whether the session was revoked. Unknown ids are not revoked. */
    boolean isRevoked(String sessionId, Instant now);

    /** Revokes one session (logout). */
    void revoke(String sessionId, Instant now);

    /** Revokes every session of a subject of an issuer; returns the session ids ended. */
    List<String> revokeSubject(String issuer, String subjectId, Instant now);

    /** Revokes every session tied to an identity-provider {@code sid}; returns the ids ended. */
    List<String> revokeProviderSession(String issuer, String providerSessionId, Instant now);
}
