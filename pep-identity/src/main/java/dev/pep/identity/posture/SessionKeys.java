package dev.pep.identity.posture;

import dev.pep.core.Credentials;
import dev.pep.core.Subject;

/**
 * Names the session a request belongs to, for the posture state kept per session: the device
 * bound to it, the first TLS fingerprint it showed, its last posture. Implementations are
 * thread-safe and cheap; the key is never logged (it may be derived from a session id).
 */
@FunctionalInterface
public interface SessionKeys {

    /** The key of the session of that request; never null. */
    String of(Subject subject, Credentials credentials);

    /**
     * Without the gateway's own session: the subject on its TLS connection (peer address and
     * port), or the connection alone for an anonymous subject.
     */
    // LIMITATION(L-505): without the gateway's session, bindings last as long as the TLS connection.
    static SessionKeys perConnection() {
        return (subject, credentials) -> {
            String connection = credentials.source().address().getHostAddress() + " "
                    + credentials.source().port();
            return subject.isAnonymous() ? "connection " + connection
                    : "subject " + subject.issuer() + " " + subject.id() + " " + connection;
        };
    }

    /** Who the subject is, across sessions: issuer and id, or the connection when anonymous. */
    static String subjectKey(Subject subject, Credentials credentials) {
        return subject.isAnonymous() ? perConnection().of(subject, credentials)
                : subject.issuer() + " " + subject.id();
    }
}
