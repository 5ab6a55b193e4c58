package dev.pep.identity.oidc;

import dev.pep.identity.ClaimMapping;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One partner organisation's OpenID provider as the gateway uses it. Immutable;
 * {@link #toString()} masks the client secret.
 *
 * @param name a short name for logs, audit and the login-state cookie
 * @param issuer the provider's issuer URL; its metadata is discovered from there
 * @param clientId the gateway's client id at the provider
 * @param clientSecret the gateway's client secret (HTTP Basic at the token endpoint)
 * @param scopes requested scopes; {@code openid} is always added
 * @param algorithms allowed ID-token signature algorithms (asymmetric only)
 * @param clockSkew tolerance for token times, at most 5 minutes
 * @param claimMapping how ID-token claims become a subject
 * @param hosts app hosts whose logins go to this provider
 * @param emailDomains e-mail domains whose users belong to this provider
 */
public record OidcProviderConfig(
        String name,
        URI issuer,
        String clientId,
        String clientSecret,
        List<String> scopes,
        Set<String> algorithms,
        Duration clockSkew,
        ClaimMapping claimMapping,
        Set<String> hosts,
        Set<String> emailDomains) {

    /** Validates and copies. */
    public OidcProviderConfig {
        Objects.requireNonNull(name, "name");
        if (!name.matches("[a-z0-9][a-z0-9_-]{0,31}")) {
            throw new IllegalArgumentException("provider name must be [a-z0-9_-], at most 32: "
                    + name);
        }
        Objects.requireNonNull(issuer, "issuer");
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(clientSecret, "clientSecret");
        scopes = List.copyOf(scopes);
        algorithms = Set.copyOf(algorithms);
        if (algorithms.isEmpty() || !dev.pep.identity.jwt.IssuerConfig.ASYMMETRIC_ALGORITHMS
                .containsAll(algorithms)) {
            throw new IllegalArgumentException("provider " + name + " algorithms " + algorithms
                    + " must be asymmetric signature algorithms");
        }
        Objects.requireNonNull(clockSkew, "clockSkew");
        if (clockSkew.isNegative() || clockSkew.compareTo(Duration.ofMinutes(5)) > 0) {
            throw new IllegalArgumentException("clockSkew must be within 0..5 minutes");
        }
        Objects.requireNonNull(claimMapping, "claimMapping");
        hosts = lower(hosts);
        emailDomains = lower(emailDomains);
    }

    /** A configuration with RS256/ES256, 60 s skew, scopes {@code openid profile email}. */
    public static OidcProviderConfig of(String name, URI issuer, String clientId,
            String clientSecret) {
        return new OidcProviderConfig(name, issuer, clientId, clientSecret,
                List.of("openid", "profile", "email"), Set.of("RS256", "ES256"),
                Duration.ofSeconds(60), ClaimMapping.defaults(), Set.of(), Set.of());
    }

    /** A copy chosen for these hosts and e-mail domains. */
    public OidcProviderConfig withSelection(Set<String> newHosts, Set<String> newDomains) {
        return new OidcProviderConfig(name, issuer, clientId, clientSecret, scopes, algorithms,
                clockSkew, claimMapping, newHosts, newDomains);
    }

    /** A copy with this claim mapping. */
    public OidcProviderConfig withClaimMapping(ClaimMapping mapping) {
        return new OidcProviderConfig(name, issuer, clientId, clientSecret, scopes, algorithms,
                clockSkew, mapping, hosts, emailDomains);
    }

    @Override
    public String toString() {
        return "OidcProviderConfig[name=" + name + ", issuer=" + issuer + ", clientId=" + clientId
                + ", clientSecret=***, scopes=" + scopes + ", algorithms=" + algorithms + "]";
    }

    private static Set<String> lower(Set<String> values) {
        return values.stream().map(v -> v.toLowerCase(Locale.ROOT))
                .collect(Collectors.toUnmodifiableSet());
    }
}
