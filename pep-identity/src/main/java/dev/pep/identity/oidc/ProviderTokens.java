package dev.pep.identity.oidc;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.openid.connect.sdk.Nonce;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import dev.pep.identity.IdentityReasons;
import dev.pep.identity.jwt.JwksSource;
import java.text.ParseException;
import java.time.Instant;
import java.util.Optional;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Checks of tokens a provider signs (ID tokens, logout tokens), with its background keys. */
final class ProviderTokens {

    private static final Logger LOG = LoggerFactory.getLogger(ProviderTokens.class);

    private ProviderTokens() {
    }

    /** The reason the token's key cannot be used, or null when the key is there. */
    static String keyProblem(OidcProvider provider, JWT token) {
        if (!(token instanceof SignedJWT signed)) {
            return IdentityReasons.TOKEN_ALGORITHM_NOT_ALLOWED;
        }
        String kid = signed.getHeader().getKeyID();
        JwksSource.Lookup lookup = kid == null ? new JwksSource.Unknown()
                : provider.keys().lookup(kid);
        if (lookup instanceof JwksSource.Stale) {
            return IdentityReasons.KEYS_STALE;
        }
        if (lookup instanceof JwksSource.Unavailable) {
            return IdentityReasons.KEYS_UNAVAILABLE;
        }
        return lookup instanceof JwksSource.Unknown ? IdentityReasons.UNKNOWN_KEY : null;
    }

    /**
     * The ID token's claims when it passes every check, else empty.
     *
     * @param nonce the sign-in's nonce; null for an ID token of a refresh (OIDC Core 12.2: the
     *     nonce is then not required)
     */
    static Optional<JWTClaimsSet> validateIdToken(OidcProvider provider, JWT idToken,
            String nonce, Instant now) {
        IDTokenValidator validator = new IDTokenValidator(issuer(provider),
                new ClientID(provider.config().clientId()), keySelector(provider), null);
        validator.setMaxClockSkew((int) provider.config().clockSkew().getSeconds());
        try {
            validator.validate(idToken, nonce == null ? null : new Nonce(nonce));
            JWTClaimsSet claims = idToken.getJWTClaimsSet();
            Instant latest = now.plus(provider.config().clockSkew());
            if (claims.getNotBeforeTime() != null
                    && claims.getNotBeforeTime().toInstant().isAfter(latest)) {
                return Optional.empty();
            }
            // OIDC Core 3.1.3.7: with several audiences, azp must name this client. Nimbus checks
            // azp only when present, so its absence is refused here.
            if (claims.getAudience().size() > 1
                    && !provider.config().clientId().equals(claims.getClaim("azp"))) {
                return Optional.empty();
            }
            return Optional.of(claims);
        } catch (BadJOSEException | com.nimbusds.jose.JOSEException | ParseException e) {
            // The exception class only: Nimbus messages may quote claim values.
            LOG.debug("id token rejected provider={} error={}", provider.name(),
                    e.getClass().getSimpleName());
            return Optional.empty();
        }
    }

    /** Keys by kid from the provider's background key set, under its algorithm allowlist. */
    static JWSVerificationKeySelector<SecurityContext> keySelector(OidcProvider provider) {
        var algorithms = provider.config().algorithms().stream().map(JWSAlgorithm::parse)
                .collect(Collectors.toUnmodifiableSet());
        return new JWSVerificationKeySelector<>(algorithms, new CachedKeySource(provider.keys()));
    }

    /** The provider's issuer as Nimbus wants it. */
    static Issuer issuer(OidcProvider provider) {
        return new Issuer(provider.config().issuer().toString());
    }
}
