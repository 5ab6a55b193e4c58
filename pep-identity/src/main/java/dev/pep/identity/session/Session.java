package dev.pep.identity.session;

import dev.pep.core.Subject;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Objects;

/**
 * A browser session at the gateway: who, for which app and host, and until when.
 *
 * @param id a fresh random identifier (128 bits), new at every login
 * @param subject who signed in
 * @param app the app the session was issued for
 * @param host the host the cookie was set on
 * @param issuedAt when the login completed
 * @param lastSeenAt when the session was last used (refreshed by {@link #touch(Instant)})
 * @param idleTimeout how long the session survives without use
 * @param absoluteExpiresAt when the session ends whatever its use
 * @param providerSessionId the identity provider's {@code sid}, empty when none; matched by
 *     back-channel logout
 */
public record Session(
        String id,
        Subject subject,
        String app,
        String host,
        Instant issuedAt,
        Instant lastSeenAt,
        Duration idleTimeout,
        Instant absoluteExpiresAt,
        String providerSessionId) {

    /** Validates. */
    public Session {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(app, "app");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(issuedAt, "issuedAt");
        Objects.requireNonNull(lastSeenAt, "lastSeenAt");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(absoluteExpiresAt, "absoluteExpiresAt");
        Objects.requireNonNull(providerSessionId, "providerSessionId");
        if (idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("idleTimeout must be positive: " + idleTimeout);
        }
    }

    /** A new session with a fresh random id: call at every login (no session fixation). */
    public static Session start(Subject subject, String app, String host, Instant now,
            Duration idleTimeout, Duration maxLength, String providerSessionId,
            SecureRandom random) {
        return new Session(newId(random), subject, app, host, now, now, idleTimeout,
                now.plus(maxLength), providerSessionId);
    }

    /** A fresh 128-bit session id, base64url. */
    public static String newId(SecureRandom random) {
        byte[] bytes = new byte[16];
        random.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** When the session ends if not used again: the earlier of idle and absolute expiry. */
    public Instant expiresAt() {
        Instant idle = lastSeenAt.plus(idleTimeout);
        return idle.isBefore(absoluteExpiresAt) ? idle : absoluteExpiresAt;
    }

    /** Whether the session has ended at {@code now}. */
    public boolean expiredAt(Instant now) {
        return !now.isBefore(expiresAt());
    }

    /** The same session, used at {@code now}; re-seal it to slide the idle expiry. */
    public Session touch(Instant now) {
        return new Session(id, subject, app, host, issuedAt, now, idleTimeout,
                absoluteExpiresAt, providerSessionId);
    }
}
