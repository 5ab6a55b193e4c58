package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.AuditSink;
import dev.pep.core.AuthenticationResult;
import dev.pep.core.Credentials;
import dev.pep.core.Source;
import dev.pep.identity.local.PasswordHasher;
import dev.pep.proxy.config.ConfigLoader;
import dev.pep.proxy.server.GatewayIdentity.EndpointRequest;
import dev.pep.proxy.server.GatewayIdentity.EndpointResponse;
import dev.pep.telemetry.audit.AuditEvents;
import java.net.InetAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The gateway's own sign-in and sign-out endpoints under attack ({@link GatewayIdentity#handle}
 * with a local user directory): login CSRF, logout CSRF from another origin, and session fixation
 * with a planted cookie. Each test fails if its protection is taken out. Also how use slides a
 * session's idle expiry, within its absolute one.
 */
class GatewaySignInAttacksTest {

    static final String HOST = "depot.partners.example";
    static final String AUTHORITY = HOST + ":8443";
    static final App APP = new App("depot", List.of(HOST), AppProtocol.HTTP, URI.create("https://10.1.2.3:8443"),
            Map.of(), false, Optional.empty());
    static final Pattern CSRF = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"");
    static final String LOGIN = GatewayIdentity.LOGIN_PATH;
    static final String LOGOUT = GatewayIdentity.LOGOUT_PATH;

    @TempDir
    Path dir;

    final List<String> revoked = new CopyOnWriteArrayList<>();
    final AuditSink sink = event -> CompletableFuture.<Void>completedFuture(null);
    GatewayIdentity identity;

    @BeforeEach
    void setUp() throws Exception {
        PasswordHasher hasher = new PasswordHasher(new PasswordHasher.Params(64, 1, 1), new SecureRandom());
        Files.writeString(dir.resolve("users"), "ana:" + hasher.hash("ana-password".toCharArray())
                + ":depot::ana@example\nmal:" + hasher.hash("mal-password".toCharArray()) + ":depot::mal@example\n");
        Files.writeString(dir.resolve("gateway.yaml"), """
                tls: { development-ca: {} }
                identity:
                  local-users: users
                """);
        identity = GatewayIdentity.create(ConfigLoader.load(dir.resolve("gateway.yaml")), sink,
                AuditEvents.create("test"), Clock.systemUTC());
        identity.onRevoked((id, trigger) -> revoked.add(id));
    }

    @AfterEach
    void tearDown() {
        identity.close();
    }

    @Test
    void login_withTheFormsCsrfTokenAndCookie_signsIn() throws Exception {
        String session = signIn("ana", Map.of());

        assertThat(subject(session)).isEqualTo("ana");
    }

    @Test
    void login_postedWithoutTheCsrfCookie_refused_noSession() throws Exception {
        Form form = form();

        EndpointResponse r = post(LOGIN, login("ana", form.token()), Map.of());

        assertThat(r.status()).isEqualTo(403);
        assertThat(r.errorCode()).isEqualTo("csrf_failed");
        assertThat(r.cookies()).noneMatch(c -> c.startsWith("__Host-pep_session="));
    }

    @Test
    void login_csrfTokenOfAnotherForm_refused_noSession() throws Exception {
        Form mine = form();
        Form attackers = form();

        // The attacker's page posts its own token with the victim's cookie (or the reverse).
        EndpointResponse r = post(LOGIN, login("mal", attackers.token()), cookie("__Host-pep_csrf", mine.cookie()));

        assertThat(r.errorCode()).isEqualTo("csrf_failed");
        assertThat(r.cookies()).noneMatch(c -> c.startsWith("__Host-pep_session="));
    }

    @Test
    void login_withAPlantedSessionCookie_mintsAFreshSession_plantedOneNotPromoted() throws Exception {
        String planted = signIn("mal", Map.of());

        String fresh = signIn("ana", cookie("__Host-pep_session", planted));

        assertThat(fresh).isNotEqualTo(planted);
        assertThat(sessionId(fresh)).isNotEqualTo(sessionId(planted));
        assertThat(subject(fresh)).isEqualTo("ana");
        assertThat(subject(planted)).as("the attacker's cookie stays the attacker's").isEqualTo("mal");
    }

    @ParameterizedTest(name = "Origin {0}")
    @ValueSource(strings = {"https://evil.example", "https://depot.partners.example", "null",
            "http://depot.partners.example:8443"})
    void logout_fromAnotherOrigin_refused_sessionLives(String origin) throws Exception {
        String session = signIn("ana", Map.of());
        Map<String, List<String>> headers = new LinkedHashMap<>(cookie("__Host-pep_session", session));
        headers.put("origin", List.of(origin));

        EndpointResponse r = post(LOGOUT, "", headers);

        assertThat(r.status()).isEqualTo(403);
        assertThat(r.errorCode()).isEqualTo("csrf_failed");
        assertThat(subject(session)).isEqualTo("ana");
        assertThat(revoked).isEmpty();
    }

    @Test
    void logout_crossSiteFetchOrNoOriginAtAll_refused() throws Exception {
        String session = signIn("ana", Map.of());
        Map<String, List<String>> crossSite = new LinkedHashMap<>(cookie("__Host-pep_session", session));
        crossSite.put("sec-fetch-site", List.of("cross-site"));

        assertThat(post(LOGOUT, "", crossSite).errorCode()).isEqualTo("csrf_failed");
        assertThat(post(LOGOUT, "", cookie("__Host-pep_session", session)).errorCode()).isEqualTo("csrf_failed");
        assertThat(subject(session)).isEqualTo("ana");
    }

    @Test
    void logout_sameOrigin_endsTheSession_cookieStaysDead() throws Exception {
        String session = signIn("ana", Map.of());
        Map<String, List<String>> headers = new LinkedHashMap<>(cookie("__Host-pep_session", session));
        headers.put("origin", List.of("https://" + AUTHORITY));

        EndpointResponse r = post(LOGOUT, "", headers);

        assertThat(r.status()).isEqualTo(303);
        assertThat(revoked).hasSize(1);
        assertThat(identity.authenticate(credentials(cookie("__Host-pep_session", session))))
                .isInstanceOfSatisfying(AuthenticationResult.Rejected.class,
                        rejected -> assertThat(rejected.reason().code()).isEqualTo("session_revoked"));
    }

    @Test
    void idleTimeout_slidByUse_renewedCookieLivesOn_oldOneEndsIdleAfterSignIn() throws Exception {
        String session = signIn("ana", Map.of());
        Instant signedIn = Instant.now();

        // A quarter of the idle timeout (30 min) in, the answer carries the cookie re-sealed.
        assertThat(identity.renewedCookie(credentials(cookie("__Host-pep_session", session),
                signedIn.plusSeconds(5 * 60)))).isEmpty();
        String renewed = identity.renewedCookie(credentials(cookie("__Host-pep_session", session),
                signedIn.plusSeconds(20 * 60))).orElseThrow();
        assertThat(renewed).startsWith("__Host-pep_session=").contains("Secure", "HttpOnly", "SameSite=Lax");
        String value = renewed.substring("__Host-pep_session=".length(), renewed.indexOf(';'));
        Instant later = signedIn.plusSeconds(45 * 60);

        assertThat(identity.authenticate(credentials(cookie("__Host-pep_session", value), later)))
                .isInstanceOf(AuthenticationResult.Authenticated.class);
        assertThat(identity.authenticate(credentials(cookie("__Host-pep_session", session), later)))
                .isInstanceOfSatisfying(AuthenticationResult.Rejected.class,
                        r -> assertThat(r.reason().code()).isEqualTo("session_expired"));
        assertThat(identity.sessionId(credentials(cookie("__Host-pep_session", value), later)))
                .isEqualTo(identity.sessionId(credentials(cookie("__Host-pep_session", session), signedIn)));
    }

    @Test
    void idleTimeout_renewalNeverPassesTheAbsoluteExpiry_norRevivesARevokedSession() throws Exception {
        String session = signIn("ana", Map.of());
        Instant signedIn = Instant.now();
        String value = session;
        for (int minutes = 20; minutes < 8 * 60; minutes += 20) {
            Optional<String> renewed = identity.renewedCookie(credentials(cookie("__Host-pep_session", value),
                    signedIn.plusSeconds(minutes * 60L)));
            value = renewed.map(c -> c.substring("__Host-pep_session=".length(), c.indexOf(';'))).orElse(value);
        }

        Instant past = signedIn.plusSeconds(8 * 3600 + 60);
        assertThat(identity.authenticate(credentials(cookie("__Host-pep_session", value), past)))
                .isInstanceOf(AuthenticationResult.Rejected.class);
        assertThat(identity.renewedCookie(credentials(cookie("__Host-pep_session", value), past))).isEmpty();

        Map<String, List<String>> out = new LinkedHashMap<>(cookie("__Host-pep_session", session));
        out.put("origin", List.of("https://" + AUTHORITY));
        post(LOGOUT, "", out);
        assertThat(identity.renewedCookie(credentials(cookie("__Host-pep_session", session),
                signedIn.plusSeconds(20 * 60)))).isEmpty();
    }

    private String signIn(String user, Map<String, List<String>> extra) throws Exception {
        Form form = form();
        Map<String, List<String>> headers = new LinkedHashMap<>();
        List<String> cookies = new java.util.ArrayList<>(extra.getOrDefault("cookie", List.of()));
        cookies.add("__Host-pep_csrf=" + form.cookie());
        headers.put("cookie", List.of(String.join("; ", cookies)));
        EndpointResponse r = post(LOGIN, login(user, form.token()), headers);
        assertThat(r.status()).as(r.body()).isEqualTo(303);
        return cookieOf(r.cookies(), "__Host-pep_session");
    }

    private Form form() throws Exception {
        EndpointResponse page = identity.handle(request("GET", LOGIN, "return_to=%2F", "", Map.of()))
                .get(10, TimeUnit.SECONDS);
        Matcher m = CSRF.matcher(page.body());
        assertThat(m.find()).as(page.body()).isTrue();
        return new Form(m.group(1), cookieOf(page.cookies(), "__Host-pep_csrf"));
    }

    private static String login(String user, String csrf) {
        return "csrf=" + URLEncoder.encode(csrf, StandardCharsets.UTF_8) + "&username=" + user + "&password="
                + user + "-password&return_to=%2F";
    }

    private EndpointResponse post(String path, String body, Map<String, List<String>> headers) throws Exception {
        return identity.handle(request("POST", path, "", body, headers)).get(10, TimeUnit.SECONDS);
    }

    private String subject(String session) throws Exception {
        AuthenticationResult r = identity.authenticate(credentials(cookie("__Host-pep_session", session)));
        assertThat(r).isInstanceOf(AuthenticationResult.Authenticated.class);
        return ((AuthenticationResult.Authenticated) r).subject().id();
    }

    private String sessionId(String session) throws Exception {
        return identity.sessionId(credentials(cookie("__Host-pep_session", session))).orElseThrow();
    }

    private static Map<String, List<String>> cookie(String name, String value) {
        return Map.of("cookie", List.of(name + "=" + value));
    }

    private static EndpointRequest request(String method, String path, String query, String body,
            Map<String, List<String>> headers) throws Exception {
        return new EndpointRequest(method, path, query, body, APP, HOST, AUTHORITY, credentials(headers), "req-1",
                GatewayOidcTest.TRACE);
    }

    private static Credentials credentials(Map<String, List<String>> headers) throws Exception {
        return credentials(headers, Instant.now());
    }

    private static Credentials credentials(Map<String, List<String>> headers, Instant at) throws Exception {
        return new Credentials(HOST, headers, List.of(), Optional.empty(),
                new Source(InetAddress.getByName("192.0.2.7"), 40000, Set.of()), at);
    }

    private static String cookieOf(List<String> setCookies, String name) {
        String c = setCookies.stream().filter(v -> v.startsWith(name + "=")).findFirst().orElseThrow();
        return c.substring(name.length() + 1, c.indexOf(';'));
    }

    private record Form(String token, String cookie) {
    }
}
