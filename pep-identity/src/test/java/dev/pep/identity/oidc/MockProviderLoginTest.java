package dev.pep.identity.oidc;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.AuthenticationResult;
import dev.pep.identity.IdentityReasons;
import dev.pep.identity.jwt.IssuerConfig;
import dev.pep.identity.jwt.JwksSource;
import dev.pep.identity.jwt.JwtAuthenticator;
import dev.pep.identity.session.AeadSealer;
import dev.pep.identity.session.InMemorySessionStore;
import dev.pep.identity.session.SessionCookieAuthenticator;
import dev.pep.identity.session.SessionCookieCodec;
import dev.pep.identity.session.SessionKeyRing;
import dev.pep.identity.testing.MutableClock;
import dev.pep.identity.testing.TestCredentials;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Full logins and bearer tokens against mock-oauth2-server on 127.0.0.1. */
class MockProviderLoginTest {

    static final String HOST = "logistics.partners.example";
    static final String CLIENT = "pep-gateway";
    static final App APP = new App("logistics", List.of(HOST), AppProtocol.HTTP,
            URI.create("https://10.1.2.3:8443"), Map.of(), false, Optional.empty());

    static MockOAuth2Server server;
    static ScheduledExecutorService scheduler;
    static HttpClient http;
    static String issuer;
    static OIDCProviderMetadata metadata;

    @TempDir
    static Path dir;

    final MutableClock clock = MutableClock.atRealNow();
    final SecureRandom random = new SecureRandom();
    final InMemorySessionStore store = new InMemorySessionStore(Duration.ofHours(8));
    JwksSource keys;
    OidcProvider provider;
    SessionCookieCodec codec;
    RelyingParty rp;

    @BeforeAll
    static void startServer() throws Exception {
        server = new MockOAuth2Server();
        server.start(InetAddress.getByName("127.0.0.1"), 0);
        scheduler = Executors.newSingleThreadScheduledExecutor();
        http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
        issuer = server.issuerUrl("partner-a").toString();
        metadata = ProviderDiscovery.discover(URI.create(issuer), http, Duration.ofSeconds(5))
                .get(10, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stopServer() {
        scheduler.shutdownNow();
        server.shutdown();
    }

    @BeforeEach
    void setUp() throws Exception {
        keys = new JwksSource(issuer, metadata.getJWKSetURI(), http, scheduler, clock,
                JwksSource.Settings.defaults());
        keys.refresh().get();
        provider = new OidcProvider(OidcProviderConfig.of("partner-a", URI.create(issuer),
                CLIENT, "client-secret-1"), metadata, keys);
        AeadSealer sealer = new AeadSealer(SessionKeyRing.loadOrCreate(
                dir.resolve("session-keys"), clock, random), random);
        codec = new SessionCookieCodec(sealer);
        rp = new RelyingParty(List.of(provider), sealer, codec, store, http,
                Executors.newCachedThreadPool(), clock, random, RelyingParty.Settings.defaults());
    }

    static void enqueueUser(List<String> audience) {
        server.enqueueCallback(new DefaultOAuth2TokenCallback("partner-a", "alice", "JWT",
                audience, Map.of("org", "partner-a", "groups", List.of("coalition-logistics"),
                        "email", "alice@partner-a.example", "sid", "idp-session-1"), 3600));
    }

    static String cookieValue(String setCookie) {
        return setCookie.substring(setCookie.indexOf('=') + 1, setCookie.indexOf(';'));
    }

    /** Follows the provider's non-interactive /authorize and returns the callback's query. */
    static String authorize(URI authorizationUri) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(authorizationUri).GET()
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(302);
        URI location = URI.create(response.headers().firstValue("location").orElseThrow());
        assertThat(location.getHost()).isEqualTo(HOST);
        assertThat(location.getPath()).isEqualTo("/_pep/callback");
        return location.getRawQuery();
    }

    LoginOutcome login(String returnTo) throws Exception {
        enqueueUser(List.of(CLIENT));
        RelyingParty.LoginStart start = rp.startLogin(provider, returnTo, APP, HOST);
        String query = authorize(start.authorizationUri());
        return rp.completeLogin(HOST, query, Optional.of(cookieValue(start.loginStateCookie())))
                .get(10, TimeUnit.SECONDS);
    }

    static void assertFailed(LoginOutcome outcome, String code) {
        assertThat(outcome).isInstanceOf(LoginOutcome.Failed.class);
        assertThat(((LoginOutcome.Failed) outcome).reason().code()).isEqualTo(code);
    }

    @Test
    void discovery_mockProvider_metadataForSameIssuer() {
        assertThat(metadata.getIssuer().getValue()).isEqualTo(issuer);
        assertThat(metadata.getJWKSetURI().getHost()).isIn("127.0.0.1", "localhost");
    }

    @Test
    void startLogin_authorizationUrl_hasPkceS256StateNonce() {
        RelyingParty.LoginStart start = rp.startLogin(provider, "/orders", APP, HOST);

        assertThat(start.authorizationUri().getRawQuery())
                .contains("code_challenge_method=S256", "code_challenge=", "state=", "nonce=",
                        "response_type=code", "client_id=" + CLIENT,
                        "redirect_uri=https%3A%2F%2F" + HOST + "%2F_pep%2Fcallback")
                .doesNotContain("code_verifier");
        assertThat(start.loginStateCookie()).startsWith("__Host-pep_login=")
                .contains("; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax");
    }

    @Test
    void completeLogin_codeFlowWithPkce_sessionForSubject() throws Exception {
        LoginOutcome outcome = login("https://" + HOST + "/orders?id=7");

        assertThat(outcome).isInstanceOf(LoginOutcome.Completed.class);
        var completed = (LoginOutcome.Completed) outcome;
        assertThat(completed.returnTo()).isEqualTo("/orders?id=7");
        assertThat(completed.session().subject().id()).isEqualTo("alice");
        assertThat(completed.session().subject().organisation()).isEqualTo("partner-a");
        assertThat(completed.session().subject().groups()).containsExactly("coalition-logistics");
        assertThat(completed.session().subject().method()).isEqualTo(AuthenticationMethod.OIDC);
        assertThat(completed.session().providerSessionId()).isEqualTo("idp-session-1");
        assertThat(completed.setCookies()).hasSize(2);
        var credentials = TestCredentials.headers(HOST, Map.of("cookie", List.of(
                SessionCookieCodec.COOKIE_NAME + "=" + cookieValue(completed.setCookies().get(0)))),
                clock.instant());
        assertThat(new SessionCookieAuthenticator(codec, store).authenticate(credentials))
                .isInstanceOf(AuthenticationResult.Authenticated.class);
    }

    @Test
    void completeLogin_openRedirectReturnTo_returnsToRoot() throws Exception {
        var completed = (LoginOutcome.Completed) login("//evil.example/phish");

        assertThat(completed.returnTo()).isEqualTo("/");
    }

    @Test
    void completeLogin_twoLogins_freshSessionIdEachTime() throws Exception {
        var first = (LoginOutcome.Completed) login("/");
        var second = (LoginOutcome.Completed) login("/");

        assertThat(first.session().id()).isNotEqualTo(second.session().id());
    }

    @Test
    void completeLogin_noLoginStateCookie_refusedAsCsrf() throws Exception {
        enqueueUser(List.of(CLIENT));
        String query = authorize(rp.startLogin(provider, "/", APP, HOST).authorizationUri());

        assertFailed(rp.completeLogin(HOST, query, Optional.empty()).get(),
                IdentityReasons.LOGIN_STATE_INVALID);
    }

    @Test
    void completeLogin_anotherBrowsersLoginState_refusedAsCsrf() throws Exception {
        enqueueUser(List.of(CLIENT));
        String victimQuery = authorize(rp.startLogin(provider, "/", APP, HOST).authorizationUri());
        String attackerCookie = cookieValue(
                rp.startLogin(provider, "/", APP, HOST).loginStateCookie());

        assertFailed(rp.completeLogin(HOST, victimQuery, Optional.of(attackerCookie)).get(),
                IdentityReasons.LOGIN_STATE_INVALID);
        assertFailed(rp.completeLogin(HOST, victimQuery, Optional.of("v1.x.tampered")).get(),
                IdentityReasons.LOGIN_STATE_INVALID);
    }

    @Test
    void completeLogin_stateReplayed_refused() throws Exception {
        enqueueUser(List.of(CLIENT));
        RelyingParty.LoginStart start = rp.startLogin(provider, "/", APP, HOST);
        String query = authorize(start.authorizationUri());
        Optional<String> cookie = Optional.of(cookieValue(start.loginStateCookie()));

        assertThat(rp.completeLogin(HOST, query, cookie).get())
                .isInstanceOf(LoginOutcome.Completed.class);
        assertFailed(rp.completeLogin(HOST, query, cookie).get(),
                IdentityReasons.LOGIN_STATE_REPLAYED);
    }

    @Test
    void completeLogin_loginStateOnAnotherHost_refused() throws Exception {
        enqueueUser(List.of(CLIENT));
        RelyingParty.LoginStart start = rp.startLogin(provider, "/", APP, HOST);
        String query = authorize(start.authorizationUri());

        assertFailed(rp.completeLogin("finance.partners.example", query,
                Optional.of(cookieValue(start.loginStateCookie()))).get(),
                IdentityReasons.LOGIN_STATE_INVALID);
    }

    @Test
    void completeLogin_tooSlow_loginStateExpired() throws Exception {
        enqueueUser(List.of(CLIENT));
        RelyingParty.LoginStart start = rp.startLogin(provider, "/", APP, HOST);
        String query = authorize(start.authorizationUri());
        clock.advance(Duration.ofMinutes(11));

        assertFailed(rp.completeLogin(HOST, query,
                Optional.of(cookieValue(start.loginStateCookie()))).get(),
                IdentityReasons.LOGIN_STATE_EXPIRED);
    }

    @Test
    void completeLogin_issParameterOfAnotherIssuer_refusedAsMixUp() throws Exception {
        enqueueUser(List.of(CLIENT));
        RelyingParty.LoginStart start = rp.startLogin(provider, "/", APP, HOST);
        String query = authorize(start.authorizationUri()).replaceAll("(^|&)iss=[^&]*", "")
                + "&iss=https%3A%2F%2Fevil.example";

        assertFailed(rp.completeLogin(HOST, query,
                Optional.of(cookieValue(start.loginStateCookie()))).get(),
                IdentityReasons.ISSUER_MISMATCH);
    }

    @Test
    void completeLogin_idTokenSignedWithAnotherIssuersKey_unknownKey() throws Exception {
        String otherIssuer = server.issuerUrl("partner-b").toString();
        OIDCProviderMetadata other = ProviderDiscovery.discover(URI.create(otherIssuer), http,
                Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
        OidcProvider mixed = new OidcProvider(OidcProviderConfig.of("partner-b",
                URI.create(otherIssuer), CLIENT, "client-secret-1"), other, keys);
        AeadSealer sealer = new AeadSealer(SessionKeyRing.load(dir.resolve("session-keys")),
                random);
        RelyingParty mixedRp = new RelyingParty(List.of(mixed), sealer, codec, store, http,
                Runnable::run, clock, random, RelyingParty.Settings.defaults());
        RelyingParty.LoginStart start = mixedRp.startLogin(mixed, "/", APP, HOST);
        String query = authorize(start.authorizationUri());

        assertFailed(mixedRp.completeLogin(HOST, query,
                Optional.of(cookieValue(start.loginStateCookie()))).get(),
                IdentityReasons.UNKNOWN_KEY);
    }

    @Test
    void completeLogin_providerError_loginFailed() throws Exception {
        RelyingParty.LoginStart start = rp.startLogin(provider, "/", APP, HOST);
        String state = URI.create("https://x/?" + start.authorizationUri().getRawQuery())
                .getQuery().replaceAll(".*state=([^&]*).*", "$1");

        assertFailed(rp.completeLogin(HOST, "error=access_denied&state=" + state,
                Optional.of(cookieValue(start.loginStateCookie()))).get(),
                IdentityReasons.LOGIN_FAILED);
    }

    @Test
    void logoutUri_hasClientIdAndPostLogoutRedirect() {
        Optional<URI> uri = rp.logoutUri(provider, URI.create("https://" + HOST + "/"));

        assertThat(uri).isPresent();
        assertThat(uri.get().getRawQuery()).contains("client_id=" + CLIENT,
                "post_logout_redirect_uri=https%3A%2F%2F" + HOST);
    }

    @Test
    void backChannelLogout_validToken_endsThatProviderSession() throws Exception {
        var completed = (LoginOutcome.Completed) login("/");
        SignedJWT logoutToken = server.issueToken("partner-a", CLIENT,
                new DefaultOAuth2TokenCallback("partner-a", "alice", "logout+jwt", List.of(CLIENT),
                        Map.of("sid", "idp-session-1", "events", Map.of(
                                "http://schemas.openid.net/event/backchannel-logout", Map.of())),
                        120));

        BackChannelLogout result = rp.backChannelLogout(provider, logoutToken.serialize());

        assertThat(result).isInstanceOf(BackChannelLogout.Accepted.class);
        assertThat(((BackChannelLogout.Accepted) result).endedSessions())
                .containsExactly(completed.session().id());
        assertThat(store.isRevoked(completed.session().id(), clock.instant())).isTrue();
    }

    @Test
    void backChannelLogout_idTokenInsteadOfLogoutToken_refused() {
        SignedJWT idToken = server.issueToken("partner-a", CLIENT,
                new DefaultOAuth2TokenCallback("partner-a", "alice", "JWT", List.of(CLIENT),
                        Map.of("sid", "idp-session-1", "nonce", "n"), 120));

        assertThat(rp.backChannelLogout(provider, idToken.serialize()))
                .isInstanceOf(BackChannelLogout.Refused.class);
    }

    @Test
    void bearer_mockIssuerAccessToken_acceptedAndIdTokenRefused() {
        JwtAuthenticator bearer = new JwtAuthenticator(Map.of(
                IssuerConfig.of(issuer, metadata.getJWKSetURI(), Set.of("logistics-api")), keys),
                clock, 100);
        SignedJWT access = server.issueToken("partner-a", "partner-client",
                new DefaultOAuth2TokenCallback("partner-a", "svc-1", "at+jwt",
                        List.of("logistics-api"), Map.of("org", "partner-a"), 300));
        SignedJWT idToken = server.issueToken("partner-a", "partner-client",
                new DefaultOAuth2TokenCallback("partner-a", "svc-1", "JWT",
                        List.of("logistics-api"), Map.of("nonce", "n-1"), 300));

        var accepted = bearer.authenticateToken(access.serialize(), clock.instant());
        var refused = bearer.authenticateToken(idToken.serialize(), clock.instant());

        assertThat(accepted).isInstanceOf(AuthenticationResult.Authenticated.class);
        assertThat(((AuthenticationResult.Rejected) refused).reason().code())
                .isEqualTo(IdentityReasons.TOKEN_TYPE_MISMATCH);
    }

    @Test
    void secrets_tokensCodesAndCookies_neverInLogOutput() throws Exception {
        Logger root = ((LoggerContext) LoggerFactory.getILoggerFactory())
                .getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        root.addAppender(appender);
        List<String> secrets = new ArrayList<>();
        try {
            enqueueUser(List.of(CLIENT));
            RelyingParty.LoginStart start = rp.startLogin(provider, "/", APP, HOST);
            String query = authorize(start.authorizationUri());
            String loginCookie = cookieValue(start.loginStateCookie());
            var completed = (LoginOutcome.Completed) rp.completeLogin(HOST, query,
                    Optional.of(loginCookie)).get();
            rp.completeLogin(HOST, query, Optional.of(loginCookie)).get();
            String sessionCookie = cookieValue(completed.setCookies().get(0));
            new SessionCookieAuthenticator(codec, store).authenticate(TestCredentials.headers(
                    "other.example", Map.of("cookie", List.of(SessionCookieCodec.COOKIE_NAME + "="
                            + sessionCookie)), clock.instant()));
            JwtAuthenticator bearer = new JwtAuthenticator(Map.of(
                    IssuerConfig.of(issuer, metadata.getJWKSetURI(), Set.of("api")), keys),
                    clock, 100);
            String good = server.issueToken("partner-a", "c", new DefaultOAuth2TokenCallback(
                    "partner-a", "svc", "at+jwt", List.of("api"), Map.of(), 300)).serialize();
            String bad = good.substring(0, good.length() - 4) + "AAAA";
            bearer.authenticate(TestCredentials.headers(HOST,
                    Map.of("authorization", List.of("Bearer " + good)), clock.instant()));
            bearer.authenticate(TestCredentials.headers(HOST,
                    Map.of("authorization", List.of("Bearer " + bad)), clock.instant()));
            secrets.addAll(List.of(loginCookie, sessionCookie, good.split("\\.")[2],
                    bad.split("\\.")[2], query.replaceAll(".*code=([^&]*).*", "$1"),
                    "client-secret-1"));
        } finally {
            root.detachAppender(appender);
        }

        assertThat(appender.list).isNotEmpty();
        for (ILoggingEvent event : appender.list) {
            String text = event.getFormattedMessage()
                    + (event.getThrowableProxy() == null ? "" : event.getThrowableProxy().getMessage());
            for (String secret : secrets) {
                assertThat(text).doesNotContain(secret);
            }
        }
    }
}
