package dev.pep.identity.session;

import dev.pep.core.Credentials;
import dev.pep.core.DecisionReason;
import dev.pep.identity.IdentityReasons;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Seals a {@link Session} into the gateway's session cookie and opens it again.
 *
 * <p>The cookie is {@code __Host-pep_session}, sealed with AES-256-GCM ({@link AeadSealer}),
 * set with {@code Secure; HttpOnly; SameSite=Lax; Path=/} and no {@code Domain}, so the browser
 * sends it only to the exact host it came from. Opening checks the seal, then that the session was
 * issued for the host asking, then its idle and absolute expiry. Thread-safe.
 */
public final class SessionCookieCodec {

    /** The cookie's name; the {@code __Host-} prefix makes browsers enforce host-only, Secure. */
    public static final String COOKIE_NAME = "__Host-pep_session";
    /** Browsers drop cookies above about 4 KiB; sessions that would not fit are refused. */
    public static final int MAX_COOKIE_BYTES = 3800;

    private static final String PURPOSE = "session";

    private final AeadSealer sealer;

    /** A codec sealing with these keys. */
    public SessionCookieCodec(AeadSealer sealer) {
        this.sealer = Objects.requireNonNull(sealer, "sealer");
    }

    /**
     * The sealed cookie value.
     *
     * @throws IllegalArgumentException when the session is too large for a cookie
     */
    // LIMITATION(L-202): a subject with very many groups or claims does not fit in a cookie.
    public String seal(Session session) {
        byte[] json = SessionJson.write(session).getBytes(StandardCharsets.UTF_8);
        String value = sealer.seal(json, PURPOSE);
        if (value.length() > MAX_COOKIE_BYTES) {
            throw new IllegalArgumentException("session too large for a cookie: "
                    + value.length() + " bytes, limit " + MAX_COOKIE_BYTES);
        }
        return value;
    }

    /**
     * Opens a cookie value presented on {@code host} at {@code now}.
     *
     * @return the session, or a reason: {@code cookie_invalid}, {@code cookie_audience_mismatch},
     *     {@code session_expired}
     */
    public Opened open(String value, String host, Instant now) {
        Optional<byte[]> plain = sealer.unseal(value, PURPOSE);
        if (plain.isEmpty()) {
            return new Opened.Refused(IdentityReasons.of(IdentityReasons.COOKIE_INVALID));
        }
        Session session;
        try {
            session = SessionJson.read(new String(plain.get(), StandardCharsets.UTF_8));
        } catch (ParseException e) {
            return new Opened.Refused(IdentityReasons.of(IdentityReasons.COOKIE_INVALID));
        }
        if (!session.host().equals(host)) {
            return new Opened.Refused(IdentityReasons.of(IdentityReasons.COOKIE_AUDIENCE_MISMATCH));
        }
        if (session.expiredAt(now)) {
            return new Opened.Refused(IdentityReasons.of(IdentityReasons.SESSION_EXPIRED));
        }
        return new Opened.Valid(session);
    }

    /** The session cookie's value among the request's {@code Cookie} headers, if present. */
    public static Optional<String> cookieValue(Credentials credentials, String name) {
        for (String header : credentials.header("cookie")) {
            for (String pair : header.split(";")) {
                String trimmed = pair.strip();
                if (trimmed.startsWith(name + "=")) {
                    return Optional.of(trimmed.substring(name.length() + 1));
                }
            }
        }
        return Optional.empty();
    }

    /** A {@code Set-Cookie} header value setting the session cookie until its absolute expiry. */
    public static String setCookie(String name, String value, Duration maxAge) {
        return name + "=" + value + "; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age="
                + Math.max(0, maxAge.getSeconds());
    }

    /** A {@code Set-Cookie} header value that deletes the cookie. */
    public static String clearCookie(String name) {
        return name + "=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0";
    }

    /** The {@code Set-Cookie} value for a sealed session at {@code now}. */
    public String setCookie(Session session, Instant now) {
        return setCookie(COOKIE_NAME, seal(session),
                Duration.between(now, session.absoluteExpiresAt()));
    }

    /** What opening a cookie gave. */
    public sealed interface Opened {
        /** A valid session. @param session the session */
        record Valid(Session session) implements Opened {
        }

        /** Refused. @param reason why */
        record Refused(DecisionReason reason) implements Opened {
        }
    }
}
