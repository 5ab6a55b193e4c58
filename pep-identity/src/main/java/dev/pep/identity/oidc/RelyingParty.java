package dev.pep.identity.oidc;

import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.openid.connect.sdk.AuthenticationErrorResponse;
import com.nimbusds.openid.connect.sdk.AuthenticationRequest;
import com.nimbusds.openid.connect.sdk.AuthenticationResponse;
import com.nimbusds.openid.connect.sdk.AuthenticationResponseParser;
import com.nimbusds.openid.connect.sdk.AuthenticationSuccessResponse;
import com.nimbusds.openid.connect.sdk.LogoutRequest;
import com.nimbusds.openid.connect.sdk.Nonce;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.token.OIDCTokens;
import com.nimbusds.openid.connect.sdk.claims.LogoutTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.validators.LogoutTokenValidator;
import dev.pep.core.App;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.DecisionReason;
import dev.pep.core.Subject;
import dev.pep.identity.IdentityReasons;
import dev.pep.identity.session.AeadSealer;
import dev.pep.identity.session.Session;
import dev.pep.identity.session.SessionCookieCodec;
import dev.pep.identity.session.SessionStore;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway as an OpenID Connect relying party: authorization code flow with PKCE (S256),
 * state and nonce, built on the Nimbus OAuth 2.0 SDK.
 *
 * <p>{@link #startLogin} makes the redirect to the provider and a sealed {@code __Host-} cookie
 * binding state, nonce, PKCE verifier and return address to the browser. {@link #completeLogin}
 * checks the callback against that cookie (no cookie or another state is refused: CSRF), accepts
 * each state once, checks the RFC 9207 {@code iss} parameter when present, exchanges the code
 * asynchronously, validates the ID token in full (signature under the allowlist with keys from
 * the background key source, iss, aud, azp, exp, iat, nbf, nonce, bounded skew), and starts a new
 * session with a fresh id. Thread-safe; nothing blocks the caller.
 */
public final class RelyingParty {

    /** The login-state cookie's name. */
    // LIMITATION(L-204): one login-state cookie per host: a second login tab voids the first.
    public static final String LOGIN_COOKIE = "__Host-pep_login";

    private static final Logger LOG = LoggerFactory.getLogger(RelyingParty.class);
    private static final String PURPOSE = "login-state";
    /** Bounds the used-state memory; past it logins fail closed until states age out. */
    private static final int MAX_USED_STATES = 100_000;

    private final Map<String, OidcProvider> providers = new ConcurrentHashMap<>();
    private final AeadSealer sealer;
    private final SessionCookieCodec codec;
    private final SessionStore store;
    private final HttpClient http;
    private final Executor executor;
    private final Clock clock;
    private final SecureRandom random;
    private final Settings settings;
    private final Map<String, Instant> usedStates = new ConcurrentHashMap<>();
    private final TokenEndpoint tokens;

    /**
     * A relying party.
     *
     * @param providers the partner providers, by name
     * @param sealer seals the login-state cookie (the session cookie's key ring)
     * @param codec seals sessions into cookies
     * @param store where new sessions are registered
     * @param http calls the token endpoints (asynchronously)
     * @param executor validates responses off the caller's thread
     * @param clock the time of checks
     * @param random state, nonce, verifier and session ids
     * @param settings paths and lifetimes
     */
    public RelyingParty(List<OidcProvider> providers, AeadSealer sealer, SessionCookieCodec codec,
            SessionStore store, HttpClient http, Executor executor, Clock clock,
            SecureRandom random, Settings settings) {
        providers.forEach(this::register);
        this.sealer = Objects.requireNonNull(sealer, "sealer");
        this.codec = Objects.requireNonNull(codec, "codec");
        this.store = Objects.requireNonNull(store, "store");
        this.http = Objects.requireNonNull(http, "http");
        this.executor = Objects.requireNonNull(executor, "executor");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.tokens = new TokenEndpoint(http, executor, clock, settings.tokenTimeout());
    }

    /**
     * Adds a provider whose metadata and keys became available after construction, or replaces
     * the one of the same name (rediscovered).
     */
    public void register(OidcProvider provider) {
        providers.put(provider.name(), Objects.requireNonNull(provider, "provider"));
    }

    /**
     * Starts a login on {@code host} of {@code app}, with the redirect URI on {@code host}.
     *
     * @param returnTo where the partner wanted to go; checked, {@code /} when refused
     * @return the provider URL to redirect to and the login-state {@code Set-Cookie} value
     */
    public LoginStart startLogin(OidcProvider provider, String returnTo, App app, String host) {
        return startLogin(provider, returnTo, app, host, host);
    }

    /**
     * Starts a login on {@code host} of {@code app}, with the redirect URI on {@code authority}
     * (the host with the port browsers name, when not 443).
     *
     * @param returnTo where the partner wanted to go; checked, {@code /} when refused
     * @return the provider URL to redirect to and the login-state {@code Set-Cookie} value
     */
    public LoginStart startLogin(OidcProvider provider, String returnTo, App app, String host,
            String authority) {
        requireKnown(provider);
        State state = new State();
        Nonce nonce = new Nonce();
        CodeVerifier verifier = new CodeVerifier();
        String checked = ReturnToValidator.validateOrRoot(returnTo, app);
        LoginState login = new LoginState(provider.name(), state.getValue(), nonce.getValue(),
                verifier.getValue(), checked, app.name(), host, clock.instant());
        URI authorization = new AuthenticationRequest.Builder(new ResponseType("code"),
                new Scope(provider.config().scopes().toArray(String[]::new)),
                new ClientID(provider.config().clientId()), redirectUri(authority))
                .endpointURI(provider.metadata().getAuthorizationEndpointURI())
                .state(state)
                .nonce(nonce)
                .codeChallenge(verifier, CodeChallengeMethod.S256)
                .build().toURI();
        String sealed = sealer.seal(login.toJson().getBytes(StandardCharsets.UTF_8), PURPOSE);
        String cookie = SessionCookieCodec.setCookie(LOGIN_COOKIE, sealed,
                settings.loginStateLifetime());
        return new LoginStart(authorization, cookie);
    }

    /**
     * Completes a login from the provider's redirect to the callback path on {@code host}.
     *
     * @param callbackQuery the raw query string of the callback request
     * @param loginStateCookie the {@code __Host-pep_login} cookie value, if the browser sent one
     * @return a future that never fails: completed, or failed with a reason
     */
    public CompletableFuture<LoginOutcome> completeLogin(String host, String callbackQuery,
            Optional<String> loginStateCookie) {
        return completeLogin(host, host, callbackQuery, loginStateCookie);
    }

    /**
     * Completes a login from the provider's redirect to the callback path on {@code authority};
     * the redirect URI sent with the code is on {@code authority}, as at the start.
     *
     * @param callbackQuery the raw query string of the callback request
     * @param loginStateCookie the {@code __Host-pep_login} cookie value, if the browser sent one
     * @return a future that never fails: completed, or failed with a reason
     */
    public CompletableFuture<LoginOutcome> completeLogin(String host, String authority,
            String callbackQuery, Optional<String> loginStateCookie) {
        try {
            Checked checked = checkCallback(host, callbackQuery, loginStateCookie);
            if (checked.failure() != null) {
                return CompletableFuture.completedFuture(checked.failure());
            }
            return exchange(checked.provider(), checked.login(), checked.code(), authority)
                    .exceptionally(e -> failed(TokenEndpoint.unreachable(e) ? IdentityReasons.PROVIDER_UNAVAILABLE
                            : IdentityReasons.TOKEN_EXCHANGE_FAILED, e));
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(failed(IdentityReasons.IDENTITY_ERROR, e));
        }
    }

    /**
     * Renews a grant at the provider's token endpoint (RFC 6749 section 6, built and parsed with
     * the Nimbus SDK). A new ID token in the answer is validated like the sign-in's (without a
     * nonce) and must name the same {@code subjectId}. Asynchronous; the future never fails.
     *
     * @param grant the refresh token and expiry the sign-in or the last refresh left
     * @param subjectId the session's subject, as the provider named it ({@code sub})
     * @return refreshed (a new grant), refused (the session must end) or unavailable (retry)
     */
    public CompletableFuture<RefreshOutcome> refresh(OidcProvider provider, ProviderGrant grant,
            String subjectId) {
        return tokens.refresh(provider, grant, subjectId);
    }

    /**
     * The provider's RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0), or empty
     * when the provider publishes no end-session endpoint.
     */
    public Optional<URI> logoutUri(OidcProvider provider, URI postLogoutRedirect) {
        return logoutUri(provider, postLogoutRedirect, Optional.empty());
    }

    /**
     * The provider's RP-initiated logout URL with the session's ID token as {@code id_token_hint},
     * so the provider ends its session without asking; empty without an end-session endpoint.
     */
    public Optional<URI> logoutUri(OidcProvider provider, URI postLogoutRedirect,
            Optional<JWT> idTokenHint) {
        URI endpoint = provider.metadata().getEndSessionEndpointURI();
        if (endpoint == null) {
            return Optional.empty();
        }
        return Optional.of(new LogoutRequest(endpoint, idTokenHint.orElse(null), null,
                new ClientID(provider.config().clientId()), postLogoutRedirect, new State(),
                null).toURI());
    }

    /**
     * Validates a back-channel logout token (OpenID Connect Back-Channel Logout 1.0) and ends
     * the sessions it names in the store.
     */
    public BackChannelLogout backChannelLogout(OidcProvider provider, String logoutToken) {
        requireKnown(provider);
        Instant now = clock.instant();
        try {
            JWT jwt = com.nimbusds.jwt.JWTParser.parse(logoutToken);
            String keyProblem = ProviderTokens.keyProblem(provider, jwt);
            if (keyProblem != null) {
                return new BackChannelLogout.Refused(IdentityReasons.of(keyProblem));
            }
            LogoutTokenValidator validator = new LogoutTokenValidator(ProviderTokens.issuer(provider),
                    new ClientID(provider.config().clientId()), false,
                    ProviderTokens.keySelector(provider), null);
            validator.setMaxClockSkew((int) provider.config().clockSkew().getSeconds());
            LogoutTokenClaimsSet claims = validator.validate(jwt);
            return endSessions(provider, claims, now);
        } catch (ParseException | BadJOSEException | com.nimbusds.jose.JOSEException e) {
            LOG.debug("logout token rejected provider={} error={}", provider.name(),
                    e.getClass().getSimpleName());
            return new BackChannelLogout.Refused(
                    IdentityReasons.of(IdentityReasons.LOGOUT_TOKEN_INVALID));
        }
    }

    /** The callback URL on {@code host}; register it at every provider for every app host. */
    public URI redirectUri(String host) {
        return URI.create("https://" + host + settings.callbackPath());
    }

    private BackChannelLogout endSessions(OidcProvider provider, LogoutTokenClaimsSet claims,
            Instant now) {
        String issuer = provider.config().issuer().toString();
        Optional<String> sid = Optional.ofNullable(claims.getSessionID()).map(s -> s.getValue());
        Optional<String> sub = Optional.ofNullable(claims.getSubject()).map(s -> s.getValue());
        List<String> ended = sid.isPresent()
                ? store.revokeProviderSession(issuer, sid.get(), now)
                : store.revokeSubject(issuer, sub.orElseThrow(), now);
        LOG.debug("back-channel logout provider={} sessions={}", provider.name(), ended.size());
        return new BackChannelLogout.Accepted(issuer, sid, sub, ended);
    }

    private Checked checkCallback(String host, String query, Optional<String> cookie) {
        Optional<LoginState> login = cookie.flatMap(v -> sealer.unseal(v, PURPOSE))
                .flatMap(RelyingParty::parseState);
        if (login.isEmpty() || !login.get().host().equals(host)) {
            return Checked.fail(failed(IdentityReasons.LOGIN_STATE_INVALID, null));
        }
        Instant now = clock.instant();
        if (!now.isBefore(login.get().createdAt().plus(settings.loginStateLifetime()))) {
            return Checked.fail(failed(IdentityReasons.LOGIN_STATE_EXPIRED, null));
        }
        OidcProvider provider = providers.get(login.get().provider());
        if (provider == null) {
            return Checked.fail(failed(IdentityReasons.LOGIN_STATE_INVALID, null));
        }
        return checkResponse(provider, login.get(), host, query, now);
    }

    private Checked checkResponse(OidcProvider provider, LoginState login, String host,
            String query, Instant now) {
        AuthenticationResponse response;
        try {
            response = AuthenticationResponseParser.parse(
                    URI.create(redirectUri(host) + "?" + (query == null ? "" : query)));
        } catch (com.nimbusds.oauth2.sdk.ParseException | IllegalArgumentException e) {
            return Checked.fail(failed(IdentityReasons.LOGIN_STATE_INVALID, null));
        }
        if (response.getState() == null
                || !response.getState().getValue().equals(login.state())) {
            return Checked.fail(failed(IdentityReasons.LOGIN_STATE_INVALID, null));
        }
        // RFC 9207: a response naming another issuer is a mix-up attack.
        if (response.getIssuer() != null
                && !response.getIssuer().getValue().equals(provider.config().issuer().toString())) {
            return Checked.fail(failed(IdentityReasons.ISSUER_MISMATCH, null));
        }
        if (response instanceof AuthenticationErrorResponse) {
            return Checked.fail(failed(IdentityReasons.LOGIN_FAILED, null));
        }
        if (!markUsed(login.state(), now)) {
            return Checked.fail(failed(IdentityReasons.LOGIN_STATE_REPLAYED, null));
        }
        AuthorizationCode code = ((AuthenticationSuccessResponse) response).getAuthorizationCode();
        if (code == null) {
            return Checked.fail(failed(IdentityReasons.LOGIN_FAILED, null));
        }
        return new Checked(provider, login, code, null);
    }

    // LIMITATION(L-205): used states are remembered per process, not across gateway instances.
    private boolean markUsed(String state, Instant now) {
        usedStates.values().removeIf(until -> !now.isBefore(until));
        if (usedStates.size() >= MAX_USED_STATES) {
            LOG.warn("login state memory full, refusing logins size={}", usedStates.size());
            return false;
        }
        Instant until = now.plus(settings.loginStateLifetime());
        return usedStates.putIfAbsent(state, until) == null;
    }

    private CompletableFuture<LoginOutcome> exchange(OidcProvider provider, LoginState login,
            AuthorizationCode code, String authority) {
        TokenRequest request = new TokenRequest(provider.metadata().getTokenEndpointURI(),
                new ClientSecretBasic(new ClientID(provider.config().clientId()),
                        new Secret(provider.config().clientSecret())),
                new AuthorizationCodeGrant(code, redirectUri(authority),
                        new CodeVerifier(login.codeVerifier())));
        return tokens.send(request).thenApplyAsync(response -> finish(provider, login, response), executor);
    }

    private LoginOutcome finish(OidcProvider provider, LoginState login,
            HttpResponse<String> response) {
        TokenResponse parsed = TokenEndpoint.parse(response);
        Optional<OIDCTokens> answer = parsed != null && parsed.indicatesSuccess()
                && parsed.toSuccessResponse() instanceof OIDCTokenResponse oidc
                ? Optional.of(oidc.getOIDCTokens()) : Optional.empty();
        Optional<JWT> idToken = answer.map(OIDCTokens::getIDToken);
        if (idToken.isEmpty()) {
            LOG.debug("token response without id token status={}", response.statusCode());
            return failed(IdentityReasons.TOKEN_EXCHANGE_FAILED, null);
        }
        String keyProblem = ProviderTokens.keyProblem(provider, idToken.get());
        if (keyProblem != null) {
            return failed(keyProblem, null);
        }
        Optional<JWTClaimsSet> claims = ProviderTokens.validateIdToken(provider, idToken.get(),
                login.nonce(), clock.instant());
        if (claims.isEmpty()) {
            return failed(IdentityReasons.ID_TOKEN_INVALID, null);
        }
        Optional<ProviderGrant> grant = TokenEndpoint.grant(answer.get(), claims.get(), clock.instant());
        return startSession(provider, login, claims.get(), idToken.get(), grant);
    }

    private LoginOutcome startSession(OidcProvider provider, LoginState login,
            JWTClaimsSet claims, JWT idToken, Optional<ProviderGrant> grant) {
        Instant now = clock.instant();
        Subject subject;
        try {
            subject = provider.config().claimMapping().toSubject(claims.toJSONObject(),
                    provider.config().issuer().toString(), AuthenticationMethod.OIDC, now);
        } catch (IllegalArgumentException e) {
            return failed(IdentityReasons.ID_TOKEN_INVALID, null);
        }
        String sid = claims.getClaim("sid") instanceof String s ? s : "";
        Session session = Session.start(subject, login.app(), login.host(), now,
                settings.sessionIdleTimeout(), settings.sessionMaxLength(), sid, random);
        store.register(session);
        LOG.debug("login completed provider={} session={}", provider.name(), session.id());
        return new LoginOutcome.Completed(session, login.returnTo(), List.of(
                codec.setCookie(session, now), SessionCookieCodec.clearCookie(LOGIN_COOKIE)),
                provider.name(), Optional.of(idToken), grant);
    }

    private void requireKnown(OidcProvider provider) {
        if (providers.get(provider.name()) != provider) {
            throw new IllegalArgumentException("provider not configured: " + provider.name());
        }
    }

    private static Optional<LoginState> parseState(byte[] json) {
        try {
            return Optional.of(LoginState.fromJson(new String(json, StandardCharsets.UTF_8)));
        } catch (ParseException e) {
            return Optional.empty();
        }
    }

    private static LoginOutcome failed(String code, Throwable cause) {
        DecisionReason reason = IdentityReasons.of(code);
        if (cause != null) {
            LOG.debug("login failed reason={} error={}", code, cause.getClass().getSimpleName());
        } else {
            LOG.debug("login failed reason={}", code);
        }
        return new LoginOutcome.Failed(reason, List.of(SessionCookieCodec.clearCookie(LOGIN_COOKIE)));
    }

    /**
     * The redirect that starts a login.
     *
     * @param authorizationUri where to send the browser
     * @param loginStateCookie the {@code Set-Cookie} value binding the login to the browser
     */
    public record LoginStart(URI authorizationUri, String loginStateCookie) {
    }

    /**
     * Paths and lifetimes of the relying party.
     *
     * @param callbackPath the path of the callback on every app host
     * @param loginStateLifetime how long a login may take
     * @param sessionIdleTimeout how long a session lives unused
     * @param sessionMaxLength how long a session lives at most
     * @param tokenTimeout how long the token endpoint may take
     */
    public record Settings(String callbackPath, Duration loginStateLifetime,
            Duration sessionIdleTimeout, Duration sessionMaxLength, Duration tokenTimeout) {
        /** Validates. */
        public Settings {
            Objects.requireNonNull(callbackPath, "callbackPath");
            if (!callbackPath.matches("/[A-Za-z0-9._/-]*")) {
                throw new IllegalArgumentException("callbackPath must be a plain path: "
                        + callbackPath);
            }
            Objects.requireNonNull(loginStateLifetime, "loginStateLifetime");
            Objects.requireNonNull(sessionIdleTimeout, "sessionIdleTimeout");
            Objects.requireNonNull(sessionMaxLength, "sessionMaxLength");
            Objects.requireNonNull(tokenTimeout, "tokenTimeout");
        }

        /** {@code /_pep/callback}, 10 min logins, 30 min idle, 8 h sessions, 10 s token calls. */
        public static Settings defaults() {
            return new Settings("/_pep/callback", Duration.ofMinutes(10), Duration.ofMinutes(30),
                    Duration.ofHours(8), Duration.ofSeconds(10));
        }
    }

    private record Checked(OidcProvider provider, LoginState login, AuthorizationCode code,
            LoginOutcome failure) {
        static Checked fail(LoginOutcome failure) {
            return new Checked(null, null, null, failure);
        }
    }
}
