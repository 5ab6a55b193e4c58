package dev.pep.identity.oidc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.identity.IdentityReasons;
import dev.pep.identity.jwt.JwksSource;
import dev.pep.identity.session.AeadSealer;
import dev.pep.identity.session.InMemorySessionStore;
import dev.pep.identity.session.Session;
import dev.pep.identity.session.SessionCookieCodec;
import dev.pep.identity.session.SessionKeyRing;
import dev.pep.identity.testing.MutableClock;
import dev.pep.identity.testing.TokenFaults;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Refresh tokens against mock-oauth2-server on 127.0.0.1, with a clock moved by hand and the
 * sweep called directly: renewed before the tokens run out, ended when the provider refuses,
 * retried while it hangs and ended when the tokens run out, capped by the session's absolute
 * expiry.
 */
class SessionRefresherTest {

    static final String HOST = "logistics.partners.example";
    static final String CLIENT = "pep-gateway";
    static final App APP = new App("logistics", List.of(HOST), AppProtocol.HTTP,
            URI.create("https://10.1.2.3:8443"), Map.of(), false, Optional.empty());
    /** The access token's lifetime the mock announces ({@code expires_in}). */
    static final int LIFETIME = 600;

    static final TokenFaults faults = new TokenFaults();
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
    final List<String> ended = new CopyOnWriteArrayList<>();
    final ExecutorService work = Executors.newFixedThreadPool(2);
    OidcProvider provider;
    RelyingParty rp;
    SessionRefresher refresher;

    @BeforeAll
    static void startServer() throws Exception {
        server = new MockOAuth2Server(faults);
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
        JwksSource keys = new JwksSource(issuer, metadata.getJWKSetURI(), http, scheduler, clock,
                JwksSource.Settings.defaults());
        keys.refresh().get();
        provider = new OidcProvider(OidcProviderConfig.of("partner-a", URI.create(issuer), CLIENT,
                "client-secret-1"), metadata, keys);
        AeadSealer sealer = new AeadSealer(SessionKeyRing.loadOrCreate(dir.resolve("keys"), clock,
                random), random);
        rp = new RelyingParty(List.of(provider), sealer, new SessionCookieCodec(sealer), store, http,
                work, clock, random, new RelyingParty.Settings("/_pep/callback",
                        Duration.ofMinutes(10), Duration.ofHours(1), Duration.ofHours(8),
                        Duration.ofSeconds(1)));
        refresher = new SessionRefresher(rp, store, scheduler, clock, SessionRefresher.Settings.defaults(),
                (id, subject, p, reason) -> ended.add(id + " " + reason));
    }

    @AfterEach
    void tearDown() {
        faults.clear();
        refresher.close();
        work.shutdownNow();
    }

    @Test
    void signIn_providerIssuesRefreshToken_grantKeptWithTheTokensLifetime_neverPrinted() throws Exception {
        LoginOutcome.Completed login = login();

        ProviderGrant grant = login.grant().orElseThrow();
        assertThat(grant.expiresAt()).isBetween(clock.instant().plusSeconds(LIFETIME - 5),
                clock.instant().plusSeconds(LIFETIME));
        assertThat(grant.toString()).doesNotContain(grant.refreshToken());
        assertThat(login.toString()).doesNotContain(grant.refreshToken());
    }

    @Test
    void sweep_beforeTheLeadTime_asksNothing_thenRefreshesAndExtends() throws Exception {
        Session session = track(login());
        Instant before = refresher.expiresAt(session.id()).orElseThrow();

        clock.advance(Duration.ofSeconds(LIFETIME - 60));
        refresher.sweep();
        assertThat(refresher.refreshedCount()).isZero();

        clock.advance(Duration.ofSeconds(35));
        refresher.sweep();
        await().atMost(Duration.ofSeconds(10)).until(() -> refresher.refreshedCount() == 1);
        assertThat(refresher.expiresAt(session.id()).orElseThrow()).isAfter(before);
        assertThat(store.isRevoked(session.id(), clock.instant())).isFalse();
        assertThat(ended).isEmpty();
    }

    @Test
    void refresh_providerRefusesTheGrant_sessionEndsAtOnce_refreshRefused() throws Exception {
        Session session = track(login());
        faults.refuseRefresh();

        clock.advance(Duration.ofSeconds(LIFETIME - 20));
        refresher.sweep();

        await().atMost(Duration.ofSeconds(10)).until(() -> !ended.isEmpty());
        assertThat(ended).containsExactly(session.id() + " " + IdentityReasons.REFRESH_REFUSED);
        assertThat(store.isRevoked(session.id(), clock.instant())).isTrue();
        assertThat(refresher.size()).isZero();
    }

    @Test
    void refresh_providerHangs_retriedUntilTheTokensRunOut_thenTheSessionEnds() throws Exception {
        Session session = track(login());
        faults.hang("refresh_token", Duration.ofSeconds(4)).answer("refresh_token", 503, "{}");

        clock.advance(Duration.ofSeconds(LIFETIME - 20));
        refresher.sweep();
        // The token timeout (1 s here) bounds the hanging call: counted, kept, retried later.
        await().atMost(Duration.ofSeconds(10)).until(() -> refresher.failureCount() == 1);
        assertThat(store.isRevoked(session.id(), clock.instant())).isFalse();

        clock.advance(Duration.ofSeconds(6));
        refresher.sweep();
        await().atMost(Duration.ofSeconds(10)).until(() -> refresher.failureCount() == 2);
        assertThat(ended).isEmpty();

        clock.advance(Duration.ofSeconds(15));
        refresher.sweep();
        assertThat(ended).containsExactly(session.id() + " " + IdentityReasons.REFRESH_FAILED);
        assertThat(store.isRevoked(session.id(), clock.instant())).isTrue();
    }

    @Test
    void refresh_providerDownOnce_thenBack_sessionLivesOn() throws Exception {
        Session session = track(login());
        faults.answer("refresh_token", 502, "{}");

        clock.advance(Duration.ofSeconds(LIFETIME - 20));
        refresher.sweep();
        await().atMost(Duration.ofSeconds(10)).until(() -> refresher.failureCount() == 1);
        clock.advance(Duration.ofSeconds(6));
        refresher.sweep();

        await().atMost(Duration.ofSeconds(10)).until(() -> refresher.refreshedCount() == 1);
        clock.advance(Duration.ofSeconds(30));
        refresher.sweep();
        assertThat(ended).isEmpty();
        assertThat(store.isRevoked(session.id(), clock.instant())).isFalse();
    }

    @Test
    void refresh_idTokenOfAnotherSubject_refused() throws Exception {
        Session session = track(login());
        String other = server.issueToken("partner-a", CLIENT, new DefaultOAuth2TokenCallback("partner-a",
                "mallory", "JWT", List.of(CLIENT), Map.of(), LIFETIME)).serialize();
        faults.answer("refresh_token", 200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\","
                + "\"expires_in\":600,\"refresh_token\":\"r2\",\"id_token\":\"" + other + "\"}");

        clock.advance(Duration.ofSeconds(LIFETIME - 20));
        refresher.sweep();

        await().atMost(Duration.ofSeconds(10)).until(() -> !ended.isEmpty());
        assertThat(ended).containsExactly(session.id() + " " + IdentityReasons.REFRESH_REFUSED);
    }

    @Test
    void sweep_pastTheAbsoluteExpiry_nothingIsRefreshed() throws Exception {
        LoginOutcome.Completed login = login();
        Session s = login.session();
        Session short_ = new Session(s.id(), s.subject(), s.app(), s.host(), s.issuedAt(), s.lastSeenAt(),
                s.idleTimeout(), s.issuedAt().plusSeconds(120), s.providerSessionId());
        refresher.track(short_, provider, login.grant().orElseThrow(), Optional.empty());

        clock.advance(Duration.ofSeconds(LIFETIME - 20));
        refresher.sweep();

        assertThat(refresher.size()).isZero();
        assertThat(refresher.refreshedCount()).isZero();
        assertThat(ended).isEmpty();
    }

    @Test
    void sweep_revokedByLogout_dropped_noRefreshCall() throws Exception {
        Session session = track(login());
        store.revoke(session.id(), clock.instant());

        clock.advance(Duration.ofSeconds(LIFETIME - 20));
        refresher.sweep();

        assertThat(refresher.size()).isZero();
        assertThat(refresher.refreshedCount()).isZero();
    }

    @Test
    void track_refreshInterval_refreshesSoonerThanTheTokensRunOut() throws Exception {
        LoginOutcome.Completed login = login();
        refresher.track(login.session(), provider, login.grant().orElseThrow(),
                Optional.of(Duration.ofSeconds(30)));

        clock.advance(Duration.ofSeconds(31));
        refresher.sweep();

        await().atMost(Duration.ofSeconds(10)).until(() -> refresher.refreshedCount() == 1);
    }

    @Test
    void track_tableFull_refusedSoTheCallerEndsTheSession() throws Exception {
        SessionRefresher tiny = new SessionRefresher(rp, store, scheduler, clock,
                new SessionRefresher.Settings(Duration.ofSeconds(1), Duration.ofSeconds(30),
                        Duration.ofSeconds(5), 1, 1), (id, subject, p, reason) -> { });
        LoginOutcome.Completed first = login();
        LoginOutcome.Completed second = login();

        assertThat(tiny.track(first.session(), provider, first.grant().orElseThrow(), Optional.empty()))
                .isTrue();
        assertThat(tiny.track(second.session(), provider, second.grant().orElseThrow(), Optional.empty()))
                .isFalse();
    }

    @Test
    void refreshTokens_inNoLogLine_renewedFailingOrEnded() throws Exception {
        Logger root = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        root.addAppender(appender);
        List<String> secrets = new java.util.ArrayList<>();
        try {
            LoginOutcome.Completed login = login();
            track(login);
            secrets.add(login.grant().orElseThrow().refreshToken());
            clock.advance(Duration.ofSeconds(LIFETIME - 20));
            refresher.sweep();
            await().atMost(Duration.ofSeconds(10)).until(() -> refresher.refreshedCount() == 1);
            faults.answer("refresh_token", 503, "{}");
            for (int i = 0; i < 2; i++) {
                clock.advance(Duration.ofSeconds(LIFETIME - 20));
                refresher.sweep();
                int done = i + 1;
                await().atMost(Duration.ofSeconds(10)).until(() -> refresher.failureCount() + ended.size() >= done);
            }
        } finally {
            root.detachAppender(appender);
        }

        assertThat(ended).hasSize(1);
        assertThat(appender.list).isNotEmpty();
        for (ILoggingEvent event : appender.list) {
            for (String secret : secrets) {
                assertThat(event.getFormattedMessage()).doesNotContain(secret);
            }
        }
    }

    private Session track(LoginOutcome.Completed login) {
        assertThat(refresher.track(login.session(), provider, login.grant().orElseThrow(), Optional.empty()))
                .isTrue();
        return login.session();
    }

    private LoginOutcome.Completed login() throws Exception {
        server.enqueueCallback(new DefaultOAuth2TokenCallback("partner-a", "alice", "JWT", List.of(CLIENT),
                Map.of("org", "partner-a"), LIFETIME));
        RelyingParty.LoginStart start = rp.startLogin(provider, "/", APP, HOST);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(start.authorizationUri()).build(),
                HttpResponse.BodyHandlers.ofString());
        URI back = URI.create(r.headers().firstValue("location").orElseThrow());
        String cookie = start.loginStateCookie();
        LoginOutcome outcome = rp.completeLogin(HOST, back.getRawQuery(),
                Optional.of(cookie.substring(cookie.indexOf('=') + 1, cookie.indexOf(';'))))
                .get(10, TimeUnit.SECONDS);
        assertThat(outcome).isInstanceOf(LoginOutcome.Completed.class);
        return (LoginOutcome.Completed) outcome;
    }
}
