package dev.pep.core;

/**
 * Works out who a request comes from.
 *
 * <p>Implementations are thread-safe and do no blocking I/O on the calling thread (keys are
 * fetched in the background). They never throw: an internal failure is a
 * {@link AuthenticationResult.Rejected} with a reason.
 */
public interface Authenticator {

    /** Judges the credentials a request presented. */
    AuthenticationResult authenticate(Credentials credentials);
}
