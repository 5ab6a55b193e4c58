package dev.pep.identity.jwt;

import dev.pep.identity.ClaimMapping;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the gateway accepts from one bearer-token issuer. Immutable.
 *
 * <p>Only asymmetric signature algorithms may be allowed ({@code RS*}, {@code PS*}, {@code ES*}):
 * HMAC and {@code none} are refused here, so a token can never be verified with a public key used
 * as an HMAC secret.
 *
 * @param issuer the exact {@code iss} value
 * @param jwksUri where the issuer publishes its keys; the only source of keys
 * @param audiences accepted {@code aud} values; a token must name at least one
 * @param algorithms the allowed {@code alg} names, for example {@code RS256}
 * @param types accepted {@code typ} header values, compared case-insensitively with an optional
 *     {@code application/} prefix; empty accepts any {@code typ} including none
 * @param requiredClaims claims every token must carry; {@code iss}, {@code sub}, {@code aud} and
 *     {@code exp} are always required
 * @param clockSkew tolerance for {@code exp}, {@code nbf} and {@code iat}; at most 5 minutes
 * @param maxTokenBytes the largest token accepted
 * @param claimMapping how claims become a subject
 */
public record IssuerConfig(
        String issuer,
        URI jwksUri,
        Set<String> audiences,
        Set<String> algorithms,
        Set<String> types,
        Set<String> requiredClaims,
        Duration clockSkew,
        int maxTokenBytes,
        ClaimMapping claimMapping) {

    /** The asymmetric signature algorithms an issuer may be allowed. */
    // LIMITATION(L-206): EdDSA (Ed25519) is not offered; issuers signing only with it are refused.
    public static final Set<String> ASYMMETRIC_ALGORITHMS = Set.of(
            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512");
    /** The claims every token must carry whatever the configuration. */
    public static final Set<String> ALWAYS_REQUIRED = Set.of("iss", "sub", "aud", "exp");
    /** The largest token accepted unless configured otherwise: 8 KiB. */
    public static final int DEFAULT_MAX_TOKEN_BYTES = 8192;

    private static final Duration MAX_SKEW = Duration.ofMinutes(5);

    /** Validates and copies. */
    public IssuerConfig {
        Objects.requireNonNull(issuer, "issuer");
        if (issuer.isBlank()) {
            throw new IllegalArgumentException("issuer is blank");
        }
        Objects.requireNonNull(jwksUri, "jwksUri");
        requireSecureOrLoopback(jwksUri);
        audiences = Set.copyOf(audiences);
        if (audiences.isEmpty()) {
            throw new IllegalArgumentException("issuer " + issuer + " has no audiences");
        }
        algorithms = Set.copyOf(algorithms);
        if (algorithms.isEmpty() || !ASYMMETRIC_ALGORITHMS.containsAll(algorithms)) {
            throw new IllegalArgumentException("issuer " + issuer + " algorithms " + algorithms
                    + " must be a non-empty subset of " + ASYMMETRIC_ALGORITHMS);
        }
        types = types.stream().map(IssuerConfig::normaliseType)
                .collect(Collectors.toUnmodifiableSet());
        requiredClaims = Set.copyOf(requiredClaims);
        Objects.requireNonNull(clockSkew, "clockSkew");
        if (clockSkew.isNegative() || clockSkew.compareTo(MAX_SKEW) > 0) {
            throw new IllegalArgumentException("clockSkew must be within 0..5 minutes: "
                    + clockSkew);
        }
        if (maxTokenBytes < 256 || maxTokenBytes > 65536) {
            throw new IllegalArgumentException("maxTokenBytes must be within 256..65536: "
                    + maxTokenBytes);
        }
        Objects.requireNonNull(claimMapping, "claimMapping");
    }

    /**
     * A configuration with the usual defaults: RS256 and ES256, {@code typ} {@code at+jwt}
     * (RFC 9068), {@code nbf} required, 60 s skew, 8 KiB tokens, default claim names.
     */
    public static IssuerConfig of(String issuer, URI jwksUri, Set<String> audiences) {
        return new IssuerConfig(issuer, jwksUri, audiences, Set.of("RS256", "ES256"),
                Set.of("at+jwt"), Set.of("nbf"), Duration.ofSeconds(60), DEFAULT_MAX_TOKEN_BYTES,
                ClaimMapping.defaults());
    }

    /** A copy accepting these {@code typ} values. */
    public IssuerConfig withTypes(Set<String> newTypes) {
        return new IssuerConfig(issuer, jwksUri, audiences, algorithms, newTypes, requiredClaims,
                clockSkew, maxTokenBytes, claimMapping);
    }

    /** A copy requiring these claims beyond {@link #ALWAYS_REQUIRED}. */
    public IssuerConfig withRequiredClaims(Set<String> claims) {
        return new IssuerConfig(issuer, jwksUri, audiences, algorithms, types, claims,
                clockSkew, maxTokenBytes, claimMapping);
    }

    /** A copy allowing these algorithms. */
    public IssuerConfig withAlgorithms(Set<String> names) {
        return new IssuerConfig(issuer, jwksUri, audiences, names, types, requiredClaims,
                clockSkew, maxTokenBytes, claimMapping);
    }

    /** A copy with this claim mapping. */
    public IssuerConfig withClaimMapping(ClaimMapping mapping) {
        return new IssuerConfig(issuer, jwksUri, audiences, algorithms, types, requiredClaims,
                clockSkew, maxTokenBytes, mapping);
    }

    /** Whether a {@code typ} header value is accepted. */
    boolean acceptsType(String type) {
        if (types.isEmpty()) {
            return true;
        }
        return type != null && types.contains(normaliseType(type));
    }

    static String normaliseType(String type) {
        String lower = type.toLowerCase(Locale.ROOT);
        return lower.startsWith("application/") ? lower.substring("application/".length()) : lower;
    }

    static void requireSecureOrLoopback(URI uri) {
        String scheme = uri.getScheme();
        String host = uri.getHost();
        boolean loopback = "127.0.0.1".equals(host) || "localhost".equals(host)
                || "[::1]".equals(host);
        if (!"https".equals(scheme) && !("http".equals(scheme) && loopback)) {
            throw new IllegalArgumentException("key set URI must be https (http only on "
                    + "loopback): " + uri);
        }
    }
}
