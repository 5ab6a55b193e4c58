package dev.pep.identity.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.EncryptedJWT;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.AuthenticationResult;
import dev.pep.core.Credentials;
import dev.pep.core.Subject;
import dev.pep.identity.IdentityReasons;
import java.text.ParseException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates {@code Authorization: Bearer} JWTs from configured issuers.
 *
 * <p>Per issuer: {@code alg} from its allowlist (asymmetric only), keys only from its JWKS by
 * {@code kid} (keys or key URLs in the token header, {@code jwk}, {@code jku}, {@code x5u},
 * {@code x5c}, are ignored), {@code typ} checked, {@code iss}, {@code aud}, {@code exp} and the
 * configured claims required, bounded clock skew, a size limit, and no encrypted or nested tokens.
 * A token carrying ID-token claims ({@code nonce}, {@code at_hash}, {@code c_hash}) is refused as
 * an access token.
 *
 * <p>Verified tokens are cached by hash until they expire: a new token costs one verification, a
 * seen one a lookup. Verifications of tokens not in the cache are bounded by a
 * {@link VerificationBudget}, so never-seen tokens cannot buy unbounded signature checks.
 * Thread-safe; no I/O on the calling thread; never throws.
 */
public final class JwtAuthenticator implements dev.pep.core.Authenticator {

    private static final Logger LOG = LoggerFactory.getLogger(JwtAuthenticator.class);
    private static final String BEARER = "bearer ";
    private static final Set<String> ID_TOKEN_CLAIMS = Set.of("nonce", "at_hash", "c_hash");

    private final Map<String, Issuer> issuers;
    private final Clock clock;
    private final VerifiedTokenCache cache;
    private final int maxTokenBytes;
    private final VerificationBudget budget;

    /**
     * Creates an authenticator.
     *
     * @param issuers the trusted issuers, each with its key source
     * @param clock the time tokens are judged at (and the cache's)
     * @param cacheSize how many verified tokens are remembered; 0 disables the cache
     */
    public JwtAuthenticator(Map<IssuerConfig, JwksSource> issuers, Clock clock, int cacheSize) {
        this(issuers, clock, cacheSize, VerificationBudget.unbounded());
    }

    /**
     * Creates an authenticator whose signature checks of tokens not in the cache are bounded by
     * {@code budget}; past it a token is refused with {@code too_many_token_checks}.
     *
     * @param issuers the trusted issuers, each with its key source
     * @param clock the time tokens are judged at (and the cache's)
     * @param cacheSize how many verified tokens are remembered; 0 disables the cache
     * @param budget how many never-seen tokens may have their signature checked per second
     */
    public JwtAuthenticator(Map<IssuerConfig, JwksSource> issuers, Clock clock, int cacheSize,
            VerificationBudget budget) {
        this.budget = Objects.requireNonNull(budget, "budget");
        this.issuers = issuers.entrySet().stream().collect(Collectors.toUnmodifiableMap(
                e -> e.getKey().issuer(), e -> new Issuer(e.getKey(), e.getValue())));
        this.clock = Objects.requireNonNull(clock, "clock");
        this.cache = new VerifiedTokenCache(cacheSize);
        this.maxTokenBytes = issuers.keySet().stream().mapToInt(IssuerConfig::maxTokenBytes)
                .max().orElse(0);
    }

    @Override
    public AuthenticationResult authenticate(Credentials credentials) {
        List<String> values = credentials.header("authorization");
        if (values.isEmpty()) {
            return new AuthenticationResult.NotPresented();
        }
        if (values.size() > 1) {
            return reject(IdentityReasons.TOKEN_MALFORMED, "", "several authorization headers");
        }
        String value = values.get(0);
        if (value.length() < BEARER.length()
                || !value.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            return new AuthenticationResult.NotPresented();
        }
        return authenticateToken(value.substring(BEARER.length()).trim(),
                credentials.time());
    }

    /**
     * Authenticates a bare token (no {@code Bearer} prefix) at {@code now}.
     *
     * @return authenticated, or rejected with an {@link IdentityReasons} code; never throws
     */
    public AuthenticationResult authenticateToken(String token, Instant now) {
        try {
            return authenticateChecked(token, now);
        } catch (RuntimeException e) {
            LOG.warn("bearer token check failed internally error={}", e.getClass().getName());
            return new AuthenticationResult.Rejected(
                    IdentityReasons.of(IdentityReasons.IDENTITY_ERROR));
        }
    }

    /** How many never-seen tokens were refused because the verification budget was spent. */
    public long budgetRefusals() {
        return budget.refusedCount();
    }

    /** How many verified tokens are remembered now. */
    public int cachedTokens() {
        return cache.size();
    }

    private AuthenticationResult authenticateChecked(String token, Instant now) {
        // Checked before hashing or parsing, so an oversized token costs nothing.
        if (token.length() > maxTokenBytes) {
            return reject(IdentityReasons.TOKEN_TOO_LARGE, "", "too large");
        }
        String hash = VerifiedTokenCache.hash(token);
        Optional<VerifiedTokenCache.Entry> cached = cache.get(hash, now);
        if (cached.isPresent()) {
            AuthenticationResult hit = fromCache(cached.get(), hash);
            if (hit != null) {
                return hit;
            }
        }
        return verify(token, hash, now);
    }

    private AuthenticationResult fromCache(VerifiedTokenCache.Entry entry, String hash) {
        Issuer issuer = issuers.get(entry.issuer());
        // Keys that went stale deny even tokens verified before; a key removed by rotation
        // drops the entry so the token is verified again (and rejected as unknown_key).
        JwksSource.Lookup lookup = issuer.keys().lookup(entry.keyId());
        if (lookup instanceof JwksSource.Found) {
            return new AuthenticationResult.Authenticated(entry.subject(),
                    Optional.of(entry.expiresAt().plus(issuer.config().clockSkew())));
        }
        cache.remove(hash);
        return null;
    }

    private AuthenticationResult verify(String token, String hash, Instant now) {
        int dots = (int) token.chars().filter(c -> c == '.').count();
        if (dots != 2 && dots != 4) {
            return reject(IdentityReasons.TOKEN_MALFORMED, "", "not a compact JWT");
        }
        JWT jwt;
        try {
            jwt = JWTParser.parse(token);
        } catch (ParseException e) {
            return reject(IdentityReasons.TOKEN_MALFORMED, "", "unparseable");
        }
        if (jwt instanceof PlainJWT) {
            return reject(IdentityReasons.TOKEN_ALGORITHM_NOT_ALLOWED, "", "alg none");
        }
        if (jwt instanceof EncryptedJWT || !(jwt instanceof SignedJWT signed)) {
            return reject(IdentityReasons.TOKEN_MALFORMED, "", "encrypted tokens not accepted");
        }
        return verifySigned(signed, token, hash, now);
    }

    private AuthenticationResult verifySigned(SignedJWT jwt, String token, String hash,
            Instant now) {
        JWTClaimsSet claims;
        try {
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            return reject(IdentityReasons.TOKEN_MALFORMED, "", "claims unparseable");
        }
        Issuer issuer = claims.getIssuer() == null ? null : issuers.get(claims.getIssuer());
        if (issuer == null) {
            return reject(IdentityReasons.UNKNOWN_ISSUER, "", "issuer not configured");
        }
        IssuerConfig config = issuer.config();
        if (token.length() > config.maxTokenBytes()) {
            return reject(IdentityReasons.TOKEN_TOO_LARGE, config.issuer(), "too large");
        }
        String headerProblem = checkHeader(jwt.getHeader(), config);
        if (headerProblem != null) {
            return reject(headerProblem, config.issuer(), "header");
        }
        String kid = jwt.getHeader().getKeyID();
        JwksSource.Lookup lookup =
                kid == null ? new JwksSource.Unknown() : issuer.keys().lookup(kid);
        if (!(lookup instanceof JwksSource.Found found)) {
            return reject(keyReason(lookup), config.issuer(), "key lookup");
        }
        // Only the signature is costly (about 1 ms for ES256 on Java 17): it alone spends budget.
        if (!budget.tryAcquire()) {
            return reject(IdentityReasons.TOO_MANY_TOKEN_CHECKS, config.issuer(), "budget");
        }
        if (!signatureValid(jwt, found.key())) {
            return reject(IdentityReasons.TOKEN_INVALID_SIGNATURE, config.issuer(), "signature");
        }
        String claimsProblem = checkClaims(claims, config, now);
        if (claimsProblem != null) {
            return reject(claimsProblem, config.issuer(), "claims");
        }
        return accept(claims, config, kid, hash, now);
    }

    private static String checkHeader(JWSHeader header, IssuerConfig config) {
        if (!config.algorithms().contains(header.getAlgorithm().getName())) {
            return IdentityReasons.TOKEN_ALGORITHM_NOT_ALLOWED;
        }
        String type = header.getType() == null ? null : header.getType().getType();
        if (!config.acceptsType(type)) {
            return IdentityReasons.TOKEN_TYPE_MISMATCH;
        }
        // A nested JWT (cty JWT) would hide another token inside this one: refuse it.
        if (header.getContentType() != null
                && "jwt".equals(header.getContentType().toLowerCase(Locale.ROOT))) {
            return IdentityReasons.TOKEN_MALFORMED;
        }
        return null;
    }

    private static String keyReason(JwksSource.Lookup lookup) {
        if (lookup instanceof JwksSource.Stale) {
            return IdentityReasons.KEYS_STALE;
        }
        if (lookup instanceof JwksSource.Unavailable) {
            return IdentityReasons.KEYS_UNAVAILABLE;
        }
        return IdentityReasons.UNKNOWN_KEY;
    }

    static boolean signatureValid(SignedJWT jwt, JWK key) {
        try {
            JWSVerifier verifier = verifierFor(jwt.getHeader().getAlgorithm(), key);
            return verifier != null && jwt.verify(verifier);
        } catch (JOSEException e) {
            return false;
        }
    }

    /** A verifier only when the key's type and declared {@code alg} fit the token's alg. */
    static JWSVerifier verifierFor(JWSAlgorithm alg, JWK key) throws JOSEException {
        if (key.getAlgorithm() != null && !key.getAlgorithm().getName().equals(alg.getName())) {
            return null;
        }
        if (JWSAlgorithm.Family.RSA.contains(alg) && key instanceof RSAKey rsa) {
            return new RSASSAVerifier(rsa.toRSAPublicKey());
        }
        if (JWSAlgorithm.Family.EC.contains(alg) && key instanceof ECKey ec) {
            boolean curveFits = com.nimbusds.jose.jwk.Curve.forJWSAlgorithm(alg).contains(ec.getCurve());
            return curveFits ? new ECDSAVerifier(ec.toECPublicKey()) : null;
        }
        return null;
    }

    static String checkClaims(JWTClaimsSet claims, IssuerConfig config, Instant now) {
        Map<String, Object> all = claims.getClaims();
        for (String name : IssuerConfig.ALWAYS_REQUIRED) {
            if (!all.containsKey(name)) {
                return IdentityReasons.TOKEN_CLAIMS_MISSING;
            }
        }
        if (!all.keySet().containsAll(config.requiredClaims())) {
            return IdentityReasons.TOKEN_CLAIMS_MISSING;
        }
        if (ID_TOKEN_CLAIMS.stream().anyMatch(all::containsKey)) {
            return IdentityReasons.TOKEN_TYPE_MISMATCH;
        }
        String timeProblem = checkTimes(claims, config, now);
        if (timeProblem != null) {
            return timeProblem;
        }
        List<String> audience = claims.getAudience();
        boolean meant = audience.stream().anyMatch(config.audiences()::contains);
        return meant ? null : IdentityReasons.AUDIENCE_MISMATCH;
    }

    private static String checkTimes(JWTClaimsSet claims, IssuerConfig config, Instant now) {
        Instant expiry = claims.getExpirationTime().toInstant();
        if (!now.isBefore(expiry.plus(config.clockSkew()))) {
            return IdentityReasons.TOKEN_EXPIRED;
        }
        Instant earliest = now.plus(config.clockSkew());
        if (claims.getNotBeforeTime() != null
                && claims.getNotBeforeTime().toInstant().isAfter(earliest)) {
            return IdentityReasons.TOKEN_NOT_YET_VALID;
        }
        if (claims.getIssueTime() != null && claims.getIssueTime().toInstant().isAfter(earliest)) {
            return IdentityReasons.TOKEN_NOT_YET_VALID;
        }
        return null;
    }

    private AuthenticationResult accept(JWTClaimsSet claims, IssuerConfig config, String kid,
            String hash, Instant now) {
        Instant issuedAt = claims.getIssueTime() == null ? now : claims.getIssueTime().toInstant();
        Subject subject;
        try {
            subject = config.claimMapping().toSubject(claims.toJSONObject(), config.issuer(),
                    AuthenticationMethod.BEARER, issuedAt);
        } catch (IllegalArgumentException e) {
            return reject(IdentityReasons.TOKEN_CLAIMS_MISSING, config.issuer(), "sub");
        }
        // Cached no longer than exp itself: the skew helps a late clock, not a long cache.
        Instant expiresAt = claims.getExpirationTime().toInstant();
        cache.put(hash, new VerifiedTokenCache.Entry(subject, expiresAt, config.issuer(), kid),
                now);
        LOG.debug("bearer token accepted issuer={} sub={}", config.issuer(), subject.id());
        // Valid to this authenticator until exp plus the skew: a live session ends then, not before.
        return new AuthenticationResult.Authenticated(subject, Optional.of(expiresAt.plus(config.clockSkew())));
    }

    private static AuthenticationResult reject(String code, String issuer, String step) {
        LOG.debug("bearer token rejected reason={} issuer={} step={}", code, issuer, step);
        return new AuthenticationResult.Rejected(IdentityReasons.of(code));
    }

    private record Issuer(IssuerConfig config, JwksSource keys) {
    }
}
