package dev.pep.identity.oidc;

import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.TokenErrorResponse;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.oauth2.sdk.token.Tokens;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import com.nimbusds.openid.connect.sdk.token.OIDCTokens;
import dev.pep.identity.IdentityReasons;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls to a provider's token endpoint for the {@link RelyingParty}: requests built and answers
 * parsed by the Nimbus SDK, sent with the JDK client, each bounded by the token timeout; and the
 * refresh grant (RFC 6749 section 6) with what its answer means for the session. Thread-safe;
 * never blocks the caller.
 */
final class TokenEndpoint {

    private static final Logger LOG = LoggerFactory.getLogger(TokenEndpoint.class);

    private final HttpClient http;
    private final Executor executor;
    private final Clock clock;
    private final Duration timeout;

    TokenEndpoint(HttpClient http, Executor executor, Clock clock, Duration timeout) {
        this.http = http;
        this.executor = executor;
        this.clock = clock;
        this.timeout = timeout;
    }

    /** Renews {@code grant} (see {@link RelyingParty#refresh}); the future never fails. */
    CompletableFuture<RefreshOutcome> refresh(OidcProvider provider, ProviderGrant grant,
            String subjectId) {
        try {
            TokenRequest request = new TokenRequest(provider.metadata().getTokenEndpointURI(),
                    new ClientSecretBasic(new ClientID(provider.config().clientId()),
                            new Secret(provider.config().clientSecret())),
                    new RefreshTokenGrant(new RefreshToken(grant.refreshToken())));
            return send(request)
                    .thenApplyAsync(r -> refreshed(provider, grant, subjectId, r), executor)
                    .exceptionally(e -> {
                        LOG.debug("refresh failed provider={} error={}", provider.name(),
                                rootCause(e).getClass().getSimpleName());
                        return unavailable(unreachable(e) ? IdentityReasons.PROVIDER_UNAVAILABLE
                                : IdentityReasons.IDENTITY_ERROR);
                    });
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(unavailable(IdentityReasons.IDENTITY_ERROR));
        }
    }

    /**
     * Sends a token request; bounded by the token timeout as a whole (the JDK client's own
     * timeout stops at the response headers, so a body that trickles is cut off here too).
     */
    CompletableFuture<HttpResponse<String>> send(TokenRequest request) {
        long millis = timeout.toMillis();
        return http.sendAsync(toJdk(request.toHTTPRequest()), HttpResponse.BodyHandlers.ofString())
                .orTimeout(millis, TimeUnit.MILLISECONDS);
    }

    private HttpRequest toJdk(HTTPRequest request) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(request.getURI())
                .timeout(timeout)
                .POST(HttpRequest.BodyPublishers.ofString(request.getBody()));
        Map<String, List<String>> headers = request.getHeaderMap();
        headers.forEach((name, values) -> values.forEach(v -> builder.header(name, v)));
        return builder.build();
    }

    private RefreshOutcome refreshed(OidcProvider provider, ProviderGrant before, String subjectId,
            HttpResponse<String> response) {
        TokenResponse parsed = parse(response);
        if (parsed == null || !parsed.indicatesSuccess()) {
            return refusedOrUnavailable(provider, response.statusCode(), parsed);
        }
        Tokens tokens = parsed.toSuccessResponse().getTokens();
        Instant now = clock.instant();
        JWTClaimsSet claims = null;
        if (tokens instanceof OIDCTokens oidc && oidc.getIDToken() != null) {
            String keyProblem = ProviderTokens.keyProblem(provider, oidc.getIDToken());
            if (IdentityReasons.KEYS_STALE.equals(keyProblem)
                    || IdentityReasons.KEYS_UNAVAILABLE.equals(keyProblem)) {
                return unavailable(keyProblem);
            }
            claims = keyProblem != null ? null : ProviderTokens.validateIdToken(provider,
                    oidc.getIDToken(), null, now).orElse(null);
            if (claims == null || !subjectId.equals(claims.getSubject())) {
                LOG.debug("refresh refused, id token invalid provider={}", provider.name());
                return new RefreshOutcome.Refused(IdentityReasons.of(IdentityReasons.REFRESH_REFUSED));
            }
        }
        RefreshToken next = tokens.getRefreshToken();
        // RFC 6749 section 6: a provider that does not rotate refresh tokens keeps the old one valid.
        String token = next != null ? next.getValue() : before.refreshToken();
        Instant expiresAt = expiry(tokens, claims, now).orElse(before.expiresAt());
        if (!expiresAt.isAfter(now)) {
            return new RefreshOutcome.Refused(IdentityReasons.of(IdentityReasons.REFRESH_REFUSED));
        }
        return new RefreshOutcome.Refreshed(new ProviderGrant(token, expiresAt));
    }

    private static RefreshOutcome refusedOrUnavailable(OidcProvider provider, int status,
            TokenResponse parsed) {
        // RFC 6749 section 5.2: an error object with 400 or 401 is the provider's answer (revoked
        // grant, disabled user, client no longer allowed); anything else says nothing about it.
        if (parsed instanceof TokenErrorResponse error && (status == 400 || status == 401)) {
            ErrorObject e = error.getErrorObject();
            LOG.debug("refresh refused provider={} status={} error={}", provider.name(), status,
                    e == null ? "-" : e.getCode());
            return new RefreshOutcome.Refused(IdentityReasons.of(IdentityReasons.REFRESH_REFUSED));
        }
        LOG.debug("refresh answer unusable provider={} status={}", provider.name(), status);
        return unavailable(IdentityReasons.PROVIDER_UNAVAILABLE);
    }

    /** The grant of a sign-in when the provider issued a refresh token. */
    static Optional<ProviderGrant> grant(Tokens tokens, JWTClaimsSet idClaims, Instant now) {
        if (tokens.getRefreshToken() == null) {
            return Optional.empty();
        }
        return expiry(tokens, idClaims, now).filter(now::isBefore)
                .map(at -> new ProviderGrant(tokens.getRefreshToken().getValue(), at));
    }

    /** When the provider's tokens run out: the access token's lifetime, else the ID token's exp. */
    private static Optional<Instant> expiry(Tokens tokens, JWTClaimsSet idClaims, Instant now) {
        long lifetime = tokens.getAccessToken() == null ? 0 : tokens.getAccessToken().getLifetime();
        if (lifetime > 0) {
            return Optional.of(now.plusSeconds(lifetime));
        }
        return Optional.ofNullable(idClaims).map(JWTClaimsSet::getExpirationTime)
                .map(java.util.Date::toInstant);
    }

    /** The token endpoint's answer as Nimbus reads it, or null when it cannot be read. */
    static TokenResponse parse(HttpResponse<String> response) {
        try {
            HTTPResponse nimbus = new HTTPResponse(response.statusCode());
            response.headers().firstValue("content-type").ifPresent(ct -> {
                try {
                    nimbus.setContentType(ct);
                } catch (com.nimbusds.oauth2.sdk.ParseException e) {
                    // Left unset: the parser below then refuses the body.
                }
            });
            nimbus.setBody(response.body());
            TokenResponse parsed = OIDCTokenResponseParser.parse(nimbus);
            if (!parsed.indicatesSuccess()) {
                LOG.debug("token endpoint refused status={}", response.statusCode());
            }
            return parsed;
        } catch (com.nimbusds.oauth2.sdk.ParseException | RuntimeException e) {
            LOG.debug("token response unusable status={}", response.statusCode());
            return null;
        }
    }

    /** Whether a token call failed for want of an answer: refused connection, timeout, reset. */
    static boolean unreachable(Throwable e) {
        Throwable cause = rootCause(e);
        return cause instanceof IOException || cause instanceof TimeoutException;
    }

    private static Throwable rootCause(Throwable e) {
        Throwable cause = e;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    private static RefreshOutcome unavailable(String code) {
        return new RefreshOutcome.Unavailable(IdentityReasons.of(code));
    }
}
