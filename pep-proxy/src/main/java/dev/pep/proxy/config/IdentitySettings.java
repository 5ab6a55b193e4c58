package dev.pep.proxy.config;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * How the gateway works out who is asking: its own session cookie, a local user directory with a
 * login form, bearer JWTs from trusted issuers, OpenID Connect providers (one per partner
 * organisation) for browser sign-in.
 *
 * @param sessionKeys the key file that seals session cookies; made on first start
 * @param sessionIdleTimeout a session unused this long ends
 * @param sessionMaxLength a session ends this long after login, whatever its use
 * @param localUsers the local user directory; enables the login form at {@code /.pep/login}
 * @param bearer issuers whose access tokens the gateway accepts
 * @param clientCertificates partner CAs whose client certificates authenticate subjects
 * @param providers OpenID providers browsers sign in with; empty when none
 * @param providerTimeout how long a call to a provider's token endpoint may take (the sign-in's
 *     code exchange, a refresh); default 10 s
 */
public record IdentitySettings(
        String sessionKeys,
        Duration sessionIdleTimeout,
        Duration sessionMaxLength,
        String localUsers,
        List<BearerIssuer> bearer,
        List<ClientCertificates> clientCertificates,
        List<Provider> providers,
        Duration providerTimeout) {

    /** Applies defaults and copies. */
    public IdentitySettings {
        providerTimeout = providerTimeout == null ? Duration.ofSeconds(10) : providerTimeout;
        sessionKeys = sessionKeys == null ? ".pep/session-keys" : sessionKeys;
        sessionIdleTimeout = sessionIdleTimeout == null ? Duration.ofMinutes(30) : sessionIdleTimeout;
        sessionMaxLength = sessionMaxLength == null ? Duration.ofHours(8) : sessionMaxLength;
        bearer = bearer == null ? List.of() : List.copyOf(bearer);
        clientCertificates = clientCertificates == null ? List.of() : List.copyOf(clientCertificates);
        providers = providers == null ? List.of() : List.copyOf(providers);
    }

    /**
     * An issuer of bearer tokens.
     *
     * @param issuer the exact {@code iss}
     * @param jwksUri where its signing keys are published
     * @param audiences accepted {@code aud} values; at least one
     * @param algorithms accepted signature algorithms; default RS256 and ES256
     * @param organisation the partner organisation its subjects belong to (the same as
     *     {@code claims.fixed-organisation}; at most one of the two)
     * @param types accepted {@code typ} header values; default {@code at+jwt} (RFC 9068)
     * @param requiredClaims claims every token must carry beyond iss, sub, aud and exp;
     *     default {@code nbf}
     * @param clockSkew tolerance for token times; default 60 s, at most 5 min
     * @param claims how token claims become subject attributes
     */
    public record BearerIssuer(String issuer, URI jwksUri, List<String> audiences, List<String> algorithms,
            String organisation, List<String> types, List<String> requiredClaims, Duration clockSkew,
            Claims claims) {
        /** Applies defaults and copies. */
        public BearerIssuer {
            audiences = audiences == null ? List.of() : List.copyOf(audiences);
            algorithms = algorithms == null ? List.of("RS256", "ES256") : List.copyOf(algorithms);
            types = types == null ? List.of("at+jwt") : List.copyOf(types);
            requiredClaims = requiredClaims == null ? List.of("nbf") : List.copyOf(requiredClaims);
            clockSkew = clockSkew == null ? Duration.ofSeconds(60) : clockSkew;
            claims = claims == null ? new Claims(null, null, null, null, null, null) : claims;
        }

        /** The organisation every subject of this issuer belongs to, from either key; null: from a claim. */
        public String fixedOrganisation() {
            return organisation != null ? organisation : claims.fixedOrganisation();
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

    /**
     * One partner organisation's OpenID provider for browser sign-in. The client secret is named
     * by a file or an environment variable, never written here; {@link #toString()} shows neither
     * its value nor more than its source.
     *
     * @param name a short name: logs, audit, the chooser page, the back-channel logout path
     * @param issuer the provider's issuer URL; metadata is discovered from it
     * @param clientId the gateway's client id at the provider
     * @param clientSecretFile a file holding the client secret (trimmed), relative to gateway.yaml
     * @param clientSecretEnv an environment variable holding the client secret
     * @param scopes requested scopes; default openid, profile, email
     * @param algorithms accepted ID-token signature algorithms; default RS256 and ES256
     * @param clockSkew tolerance for token times; default 60 s, at most 5 min
     * @param hosts app hosts whose sign-ins this provider serves; empty: every app host
     * @param emailDomains e-mail domains whose users this provider serves (chooser page)
     * @param claims how ID-token claims become subject attributes
     * @param insecureHttp accept an {@code http} issuer: for local development and tests only
     * @param refreshTokens keep the provider's refresh token and renew the session with it when
     *     the provider's tokens run out; default true
     * @param refreshInterval renew at least this often, even when the provider's tokens live
     *     longer; null: when they run out
     */
    public record Provider(String name, URI issuer, String clientId, String clientSecretFile,
            String clientSecretEnv, List<String> scopes, List<String> algorithms, Duration clockSkew,
            List<String> hosts, List<String> emailDomains, Claims claims, Boolean insecureHttp,
            Boolean refreshTokens, Duration refreshInterval) {
        /** Applies defaults and copies. */
        public Provider {
            refreshTokens = refreshTokens == null || refreshTokens;
            scopes = scopes == null ? List.of("openid", "profile", "email") : List.copyOf(scopes);
            algorithms = algorithms == null ? List.of("RS256", "ES256") : List.copyOf(algorithms);
            clockSkew = clockSkew == null ? Duration.ofSeconds(60) : clockSkew;
            hosts = hosts == null ? List.of() : List.copyOf(hosts);
            emailDomains = emailDomains == null ? List.of() : List.copyOf(emailDomains);
            claims = claims == null ? new Claims(null, null, null, null, null, null) : claims;
            insecureHttp = insecureHttp != null && insecureHttp;
        }

        @Override
        public String toString() {
            return "Provider[name=" + name + ", issuer=" + issuer + ", clientId=" + clientId
                    + ", clientSecret=" + (clientSecretFile != null ? "file" : "env") + "]";
        }
    }

    /**
     * Which claims of an ID token (of an access token, for bearer issuers) hold the subject's
     * attributes; dotted names reach into nested objects ({@code realm_access.roles}).
     *
     * @param organisation the claim naming the organisation; default {@code org}
     * @param fixedOrganisation the organisation of every user of this provider; wins over the claim
     * @param groups the claim holding groups; default {@code groups}
     * @param roles the claim holding roles; default {@code roles}
     * @param email the claim holding the e-mail address; default {@code email}
     * @param extra further claims copied into the subject's claims
     */
    public record Claims(String organisation, String fixedOrganisation, String groups, String roles,
            String email, List<String> extra) {
        /** Applies defaults and copies. */
        public Claims {
            organisation = organisation == null ? "org" : organisation;
            groups = groups == null ? "groups" : groups;
            roles = roles == null ? "roles" : roles;
            email = email == null ? "email" : email;
            extra = extra == null ? List.of() : List.copyOf(extra);
        }
    }
}
