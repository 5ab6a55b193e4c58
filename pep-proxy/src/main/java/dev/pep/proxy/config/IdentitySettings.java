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
 * @param clientCertificates partner CAs whose client certificates authenticate subjects
 */
public record IdentitySettings(
        String sessionKeys,
        Duration sessionIdleTimeout,
        Duration sessionMaxLength,
        String localUsers,
        List<BearerIssuer> bearer,
        List<ClientCertificates> clientCertificates) {

    /** Applies defaults and copies. */
    public IdentitySettings {
        sessionKeys = sessionKeys == null ? ".pep/session-keys" : sessionKeys;
        sessionIdleTimeout = sessionIdleTimeout == null ? Duration.ofMinutes(30) : sessionIdleTimeout;
        sessionMaxLength = sessionMaxLength == null ? Duration.ofHours(8) : sessionMaxLength;
        bearer = bearer == null ? List.of() : List.copyOf(bearer);
        clientCertificates = clientCertificates == null ? List.of() : List.copyOf(clientCertificates);
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

    /**
     * A partner CA whose client certificates authenticate subjects on some hosts.
     *
     * @param caBundle PEM file of the partner's CA certificates
     * @param crls revocation lists (PEM or DER) checked with the bundle; none: no check
     * @param subjectId which certificate field becomes the subject id: {@code common-name}
     *     (default), {@code san-email} or {@code subject-dn}
     * @param hosts the app hosts on which these certificates are accepted; at least one
     */
    public record ClientCertificates(String caBundle, List<String> crls, String subjectId,
            List<String> hosts) {
        /** Applies defaults and copies. */
        public ClientCertificates {
            crls = crls == null ? List.of() : List.copyOf(crls);
            subjectId = subjectId == null ? "common-name" : subjectId;
            hosts = hosts == null ? List.of() : List.copyOf(hosts);
        }
    }
}
