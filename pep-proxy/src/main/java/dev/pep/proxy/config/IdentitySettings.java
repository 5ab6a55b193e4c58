package dev.pep.proxy.config;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * How the gateway works out who is asking: its own session cookie, a local user directory with a
 * login form, bearer JWTs from trusted issuers.
 *
 * @param sessionKeys the key file that seals session cookies; made on first start
 * @param sessionIdleTimeout a session unused this long ends
 * @param sessionMaxLength a session ends this long after login, whatever its use
 * @param localUsers the local user directory; enables the login form at {@code /.pep/login}
 * @param bearer issuers whose access tokens the gateway accepts
 */
public record IdentitySettings(
        String sessionKeys,
        Duration sessionIdleTimeout,
        Duration sessionMaxLength,
        String localUsers,
        List<BearerIssuer> bearer) {

    /** Applies defaults and copies. */
    public IdentitySettings {
        sessionKeys = sessionKeys == null ? ".pep/session-keys" : sessionKeys;
        sessionIdleTimeout = sessionIdleTimeout == null ? Duration.ofMinutes(30) : sessionIdleTimeout;
        sessionMaxLength = sessionMaxLength == null ? Duration.ofHours(8) : sessionMaxLength;
        bearer = bearer == null ? List.of() : List.copyOf(bearer);
    }

    /**
     * An issuer of bearer tokens.
     *
     * @param issuer the exact {@code iss}
     * @param jwksUri where its signing keys are published
     * @param audiences accepted {@code aud} values; at least one
     * @param algorithms accepted signature algorithms; default RS256 and ES256
     * @param organisation the partner organisation its subjects belong to
     */
    public record BearerIssuer(String issuer, URI jwksUri, List<String> audiences, List<String> algorithms,
            String organisation) {
        /** Applies defaults and copies. */
        public BearerIssuer {
            audiences = audiences == null ? List.of() : List.copyOf(audiences);
            algorithms = algorithms == null ? List.of("RS256", "ES256") : List.copyOf(algorithms);
        }
    }
}
