package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.AuditEvent;
import dev.pep.core.AuditSink;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.AuthenticationResult;
import dev.pep.core.Credentials;
import dev.pep.core.Source;
import dev.pep.identity.IdentityReasons;
import dev.pep.identity.testing.TokenFaults;
import dev.pep.proxy.config.ConfigLoader;
import dev.pep.proxy.config.GatewayConfig;
import dev.pep.proxy.server.GatewayIdentity.EndpointRequest;
import dev.pep.proxy.server.GatewayIdentity.EndpointResponse;
import dev.pep.telemetry.audit.AuditEvents;
import dev.pep.telemetry.trace.TraceContext;
import java.net.InetAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's sign-in endpoints ({@link GatewayIdentity#handle} with {@link GatewayOidc})
 * against mock-oauth2-server in this JVM: the redirect, the callback, the chooser, logout at the
 * provider, back-channel refusals and a provider that is down. KeycloakLoginIT does the same
 * against a real Keycloak through the packaged gateway.
 */
class GatewayOidcTest {

    static final String HOST = "logistics.partners.example";
    static final String AUTHORITY = HOST + ":8443";
    static final App APP = new App("logistics", List.of(HOST), AppProtocol.HTTP,
            URI.create("https://10.1.2.3:8443"), Map.of(), false, Optional.empty());
    static final TokenFaults faults = new TokenFaults();
    static final TraceContext TRACE = new TraceContext("4bf92f3577b34da6a3ce929d0e0e4736",
            "b7ad6b7169203331", "00f067aa0ba902b7", true, "", TraceContext.Origin.CONTINUED);
    static MockOAuth2Server server;
    static HttpClient http;

    @TempDir
    Path dir;

    final List<AuditEvent> audit = new CopyOnWriteArrayList<>();
    final AuditSink sink = event -> {
        audit.add(event);
        return CompletableFuture.<Void>completedFuture(null);
    };
    final List<GatewayIdentity> identities = new ArrayList<>();
    final List<String> revoked = new CopyOnWriteArrayList<>();
    final List<String> triggers = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void startServer() throws Exception {
        server = new MockOAuth2Server(faults);
        server.start(InetAddress.getByName("127.0.0.1"), 0);
        http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
    }

    @AfterAll
    static void stopServer() {
        server.shutdown();
    }

    @AfterEach
    void close() {
        faults.clear();
        identities.forEach(GatewayIdentity::close);
    }

    @Test
    void signIn_oneProvider_redirectsToIt_andTheCallbackMintsTheSessionCookie() throws Exception {
        GatewayIdentity identity = identity(provider("alpha", "", ""));

        EndpointResponse start = get(identity, "/.pep/login", "return_to=%2Forders%3Fid%3D7", List.of());
        assertThat(start.status()).isEqualTo(302);
        Map<String, String> q = query(URI.create(start.location()));
        assertThat(start.location()).startsWith(server.issuerUrl("alpha").toString());
        assertThat(q).containsEntry("redirect_uri", "https://" + AUTHORITY + "/.pep/callback")
                .containsEntry("code_challenge_method", "S256").containsKeys("state", "nonce");
        String loginCookie = cookie(start.cookies(), "__Host-pep_login");

        EndpointResponse back = get(identity, "/.pep/callback", authorize(start.location()),
                List.of("__Host-pep_login=" + loginCookie));
        assertThat(back.status()).isEqualTo(303);
        assertThat(back.location()).isEqualTo("/orders?id=7");
        String session = cookie(back.cookies(), "__Host-pep_session");
        AuthenticationResult auth = identity.authenticate(credentials(List.of("__Host-pep_session=" + session)));
        assertThat(auth).isInstanceOfSatisfying(AuthenticationResult.Authenticated.class, ok -> {
            assertThat(ok.subject().organisation()).isEqualTo("alpha");
            assertThat(ok.subject().groups()).containsExactly("coalition-logistics");
            assertThat(ok.subject().email()).isEqualTo("ana@alpha.example");
            assertThat(ok.subject().method()).isEqualTo(AuthenticationMethod.OIDC);
        });
        assertThat(audit).extracting(AuditEvent::type).contains(AuditEvents.LOGIN_SUCCEEDED);
        assertThat(audit).filteredOn(e -> e.type().equals(AuditEvents.LOGIN_SUCCEEDED)).singleElement()
                .satisfies(e -> assertThat(e.fields()).containsEntry("trace_id", TRACE.traceId())
                        .containsEntry("span_id", TRACE.spanId()));
    }

    @Test
    void refresh_providerIssuesRefreshTokens_sessionRenewedPastTheTokensLifetime() throws Exception {
        GatewayIdentity identity = identity(provider("alpha", "", ""));
        String session = signIn(identity, 3);

        // The provider's tokens live 3 s; renewed before they run out, the session lives on.
        await().during(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(20))
                .until(() -> authenticated(identity, session));

        assertThat(revoked).isEmpty();
    }

    @Test
    void refresh_refusedByTheProvider_sessionEnds_registryTold_audited() throws Exception {
        GatewayIdentity identity = identity(provider("alpha", "", ""));
        String session = signIn(identity, 3);
        faults.refuseRefresh();

        await().atMost(Duration.ofSeconds(20)).until(() -> !revoked.isEmpty());

        assertThat(triggers).containsExactly("refresh");
        assertRejected(identity, session, IdentityReasons.SESSION_REVOKED);
        assertThat(audit).filteredOn(e -> e.type().equals(AuditEvents.REVOCATION)).singleElement()
                .satisfies(e -> assertThat(e.toString()).contains(IdentityReasons.REFRESH_REFUSED));
    }

    @Test
    void refresh_providerHangs_sessionEndsWhenTheTokensRunOut() throws Exception {
        GatewayIdentity identity = identity(provider("alpha", "", ""));
        String session = signIn(identity, 3);
        for (int i = 0; i < 4; i++) {
            faults.hang("refresh_token", Duration.ofSeconds(6));
        }

        await().atMost(Duration.ofSeconds(20)).until(() -> !revoked.isEmpty());

        assertThat(triggers).containsExactly("refresh");
        assertRejected(identity, session, IdentityReasons.SESSION_REVOKED);
        assertThat(audit).filteredOn(e -> e.type().equals(AuditEvents.REVOCATION)).singleElement()
                .satisfies(e -> assertThat(e.toString()).contains(IdentityReasons.REFRESH_FAILED));
    }

    @Test
    void refresh_onAnotherInstance_sessionLivesByTheGatewaysLifetimes() throws Exception {
        Path config = config(provider("alpha", "", ""));
        GatewayIdentity first = identity(config);
        String session = signIn(first, 2);
        first.close();

        // Pins L-213: the other instance holds no refresh token, so nothing renews or ends it.
        GatewayIdentity second = identity(config);
        await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(20))
                .until(() -> authenticated(second, session));
    }

    @Test
    void refreshTokensOff_sessionLivesByTheGatewaysLifetimes() throws Exception {
        GatewayIdentity identity = identity(provider("alpha", "", "") + "      refresh-tokens: false\n");
        String session = signIn(identity, 2);
        faults.refuseRefresh();

        // Nothing asks the provider: the refusal queued above is never fetched.
        await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(20))
                .until(() -> authenticated(identity, session));

        assertThat(revoked).isEmpty();
    }

    @Test
    void callback_tokenEndpointHangs_503ProviderUnavailable_withinTheTimeout_noSession() throws Exception {
        GatewayIdentity identity = identity(provider("alpha", "", ""));
        EndpointResponse start = get(identity, "/.pep/login", "", List.of());
        String query = authorize(start.location(), 0);
        faults.hang("authorization_code", Duration.ofSeconds(8));

        long t0 = System.nanoTime();
        EndpointResponse back = get(identity, "/.pep/callback", query,
                List.of("__Host-pep_login=" + cookie(start.cookies(), "__Host-pep_login")));
        Duration took = Duration.ofNanos(System.nanoTime() - t0);

        assertThat(back.status()).isEqualTo(503);
        assertThat(back.errorCode()).isEqualTo(IdentityReasons.PROVIDER_UNAVAILABLE);
        assertThat(took).as("bounded by provider-timeout (1 s)").isLessThan(Duration.ofSeconds(5));
        assertThat(back.cookies()).noneMatch(c -> c.startsWith("__Host-pep_session="));
        assertThat(audit).filteredOn(e -> e.type().equals(AuditEvents.LOGIN_FAILED)).singleElement()
                .satisfies(e -> assertThat(e.toString()).contains(IdentityReasons.PROVIDER_UNAVAILABLE));
    }

    @Test
    void logout_afterOidcSignIn_goesToTheProvidersEndSession_withTheIdTokenHint() throws Exception {
        GatewayIdentity identity = identity(provider("alpha", "", ""));
        String session = signIn(identity);

        EndpointResponse out = logout(identity, session);

        assertThat(out.status()).isEqualTo(303);
        assertThat(out.location()).startsWith(server.issuerUrl("alpha").toString());
        assertThat(query(URI.create(out.location()))).containsKey("id_token_hint")
                .containsEntry("post_logout_redirect_uri", "https://" + AUTHORITY + "/.pep/signed-out");
        assertThat(revoked).hasSize(1);
        assertThat(identity.authenticate(credentials(List.of("__Host-pep_session=" + session))))
                .isNotInstanceOf(AuthenticationResult.Authenticated.class);
    }

    @Test
    void logout_onAnotherInstance_hasNoHint_andEndsAtTheSignInPage() throws Exception {
        Path config = config(provider("alpha", "", ""));
        String session = signIn(identity(config));

        // Pins L-212: a restarted gateway has no ID token to hint the provider with.
        EndpointResponse out = logout(identity(config), session);

        assertThat(out.status()).isEqualTo(303);
        assertThat(out.location()).isEqualTo(GatewayIdentity.LOGIN_PATH);
    }

    @Test
    void signIn_twoProviders_chooserPage_emailDomainAndNamedProviderSelect() throws Exception {
        GatewayIdentity identity = identity(provider("alpha", "", "alpha.example")
                + provider("bravo", HOST, "bravo.example"));

        EndpointResponse page = get(identity, "/.pep/login", "return_to=%2F", List.of());
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.body()).contains("?provider=alpha&amp;return_to=%2F", "?provider=bravo&amp;return_to=%2F",
                "name=\"email\"");
        assertThat(get(identity, "/.pep/login", "return_to=%2F&email=ben%40Bravo.Example", List.of()).location())
                .startsWith(server.issuerUrl("bravo").toString());
        assertThat(get(identity, "/.pep/login", "provider=alpha", List.of()).location())
                .startsWith(server.issuerUrl("alpha").toString());
        assertThat(get(identity, "/.pep/login", "provider=charlie", List.of()).errorCode())
                .isEqualTo("provider_unknown");
        EndpointResponse unknownDomain = get(identity, "/.pep/login", "email=x%40other.example", List.of());
        assertThat(unknownDomain.status()).isEqualTo(404);
        assertThat(unknownDomain.body()).contains("No organisation here signs in users of that address.");
    }

    @Test
    void signIn_providerForOtherHostsOnly_noSignInHere() throws Exception {
        GatewayIdentity identity = identity(provider("bravo", "elsewhere.example", ""));

        assertThat(identity.loginAvailable(HOST)).isFalse();
        assertThat(identity.loginAvailable("elsewhere.example")).isTrue();
        assertThat(get(identity, "/.pep/login", "", List.of()).errorCode()).isEqualTo("login_unavailable");
    }

    @Test
    void signIn_providerDown_503ProviderUnavailable_audited() throws Exception {
        int closed;
        try (var socket = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = socket.getLocalPort();
        }
        GatewayIdentity identity = identity("""
                    - name: down
                      issuer: http://127.0.0.1:%d/realms/down
                      client-id: pep-gateway
                      client-secret-file: secret
                      insecure-http: true
                """.formatted(closed));

        EndpointResponse r = get(identity, "/.pep/login", "", List.of());

        assertThat(r.status()).isEqualTo(503);
        assertThat(r.errorCode()).isEqualTo("provider_unavailable");
        assertThat(audit).extracting(AuditEvent::type).contains(AuditEvents.LOGIN_FAILED);
    }

    @Test
    void health_providerDiscoveryDownThenUp_gaugeFlipsAtTheNextSignIn() throws Exception {
        // A stand-in issuer on its own port: 503 first, then the mock's metadata under its name.
        com.sun.net.httpserver.HttpServer issuer = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        String name = "http://127.0.0.1:" + issuer.getAddress().getPort() + "/realms/flip";
        java.util.concurrent.atomic.AtomicBoolean answering = new java.util.concurrent.atomic.AtomicBoolean();
        String mockIssuer = server.issuerUrl("flip").toString();
        String metadata = http.send(HttpRequest.newBuilder(URI.create(mockIssuer
                + "/.well-known/openid-configuration")).build(), HttpResponse.BodyHandlers.ofString()).body()
                .replace("\"issuer\":\"" + mockIssuer + "\"", "\"issuer\":\"" + name + "\"")
                .replace("\"issuer\" : \"" + mockIssuer + "\"", "\"issuer\" : \"" + name + "\"");
        issuer.createContext("/realms/flip/.well-known/openid-configuration", exchange -> {
            byte[] body = metadata.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(answering.get() ? 200 : 503, answering.get() ? body.length : -1);
            if (answering.get()) {
                exchange.getResponseBody().write(body);
            }
            exchange.close();
        });
        issuer.start();
        try {
            GatewayIdentity identity = identity(provider("alpha", "", "") + """
                        - name: flip
                          issuer: %s
                          client-id: pep-gateway
                          client-secret-file: secret
                          insecure-http: true
                    """.formatted(name));
            Map<String, ProviderHealth> health = new LinkedHashMap<>();
            identity.providerHealth().forEach(h -> health.put(h.kind() + " " + h.name(), h));

            assertThat(health).containsOnlyKeys("oidc alpha", "oidc flip");
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
                    .until(() -> health.get("oidc alpha").up().getAsBoolean()
                            && health.get("oidc flip").failures().getAsLong() == 1);
            assertThat(health.get("oidc flip").up().getAsBoolean()).isFalse();

            answering.set(true);
            // A sign-in that needs the provider tries discovery again, at most every 5 s.
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
                    .pollInterval(java.time.Duration.ofMillis(500)).until(() -> {
                        get(identity, "/.pep/login", "provider=flip", List.of());
                        return health.get("oidc flip").up().getAsBoolean();
                    });
            assertThat(health.get("oidc alpha").failures().getAsLong()).isZero();
        } finally {
            issuer.stop(0);
        }
    }

    @Test
    void callback_withoutLoginCookie_refusedAndAudited() throws Exception {
        GatewayIdentity identity = identity(provider("alpha", "", ""));
        EndpointResponse start = get(identity, "/.pep/login", "", List.of());

        EndpointResponse back = get(identity, "/.pep/callback", authorize(start.location(), 0), List.of());

        assertThat(back.status()).isEqualTo(403);
        assertThat(back.errorCode()).isEqualTo("login_state_invalid");
        assertThat(back.cookies()).isEmpty();
    }

    @Test
    void backChannelLogout_validLogoutToken_endsTheSession_auditedAndRegistryTold() throws Exception {
        GatewayIdentity identity = identity(provider("alpha", "", ""));
        String session = signIn(identity);
        String token = server.issueToken("alpha", "pep-gateway", new DefaultOAuth2TokenCallback("alpha", "ana",
                "logout+jwt", List.of("pep-gateway"), Map.of("sid", "s-1", "events", Map.of(
                        "http://schemas.openid.net/event/backchannel-logout", Map.of())), 120)).serialize();

        EndpointResponse r = post(identity, "/.pep/backchannel-logout/alpha",
                "logout_token=" + java.net.URLEncoder.encode(token, StandardCharsets.UTF_8));

        assertThat(r.status()).isEqualTo(200);
        assertThat(revoked).hasSize(1);
        assertThat(identity.authenticate(credentials(List.of("__Host-pep_session=" + session))))
                .isNotInstanceOf(AuthenticationResult.Authenticated.class);
        assertThat(audit).extracting(AuditEvent::type).contains(AuditEvents.LOGOUT);
    }

    @Test
    void backChannelLogout_badTokenOrUnknownProvider_400() throws Exception {
        GatewayIdentity identity = identity(provider("alpha", "", ""));

        EndpointResponse junk = post(identity, "/.pep/backchannel-logout/alpha", "logout_token=not.a.jwt");
        EndpointResponse unknown = post(identity, "/.pep/backchannel-logout/charlie", "logout_token=x");
        EndpointResponse empty = post(identity, "/.pep/backchannel-logout/alpha", "");

        assertThat(List.of(junk, unknown, empty)).allSatisfy(r -> assertThat(r.status()).isEqualTo(400));
        assertThat(junk.errorCode()).isEqualTo("logout_token_invalid");
        assertThat(revoked).isEmpty();
    }

    private String signIn(GatewayIdentity identity) throws Exception {
        return signIn(identity, 3600);
    }

    /** Signs in with provider tokens that live {@code seconds}. */
    private String signIn(GatewayIdentity identity, int seconds) throws Exception {
        EndpointResponse start = get(identity, "/.pep/login", "", List.of());
        EndpointResponse back = get(identity, "/.pep/callback", authorize(start.location(), seconds),
                List.of("__Host-pep_login=" + cookie(start.cookies(), "__Host-pep_login")));
        assertThat(back.status()).as(back.body()).isEqualTo(303);
        return cookie(back.cookies(), "__Host-pep_session");
    }

    private EndpointResponse logout(GatewayIdentity identity, String session) throws Exception {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        headers.put("cookie", List.of("__Host-pep_session=" + session));
        headers.put("origin", List.of("https://" + AUTHORITY));
        return identity.handle(request("POST", "/.pep/logout", "", "", headers)).get(10, TimeUnit.SECONDS);
    }

    private static String provider(String name, String host, String domain) {
        return """
                    - name: %s
                      issuer: %s
                      client-id: pep-gateway
                      client-secret-file: secret
                      insecure-http: true
                      hosts: [%s]
                      email-domains: [%s]
                      claims: { fixed-organisation: %s }
                """.formatted(name, server.issuerUrl(name), host, domain, name);
    }

    private Path config(String providers) throws Exception {
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(dir.resolve("secret"), "client-secret-1\n");
        Files.writeString(file, """
                tls: { development-ca: {} }
                identity:
                  provider-timeout: 1s
                  providers:
                """ + providers);
        return file;
    }

    private GatewayIdentity identity(String providers) throws Exception {
        return identity(config(providers));
    }

    private GatewayIdentity identity(Path config) throws Exception {
        GatewayConfig c = ConfigLoader.load(config);
        GatewayIdentity identity = GatewayIdentity.create(c, sink, AuditEvents.create("test"), Clock.systemUTC());
        identity.onRevoked((id, trigger) -> {
            revoked.add(id);
            triggers.add(trigger);
        });
        identities.add(identity);
        return identity;
    }

    private static boolean authenticated(GatewayIdentity identity, String session) throws Exception {
        return identity.authenticate(credentials(List.of("__Host-pep_session=" + session)))
                instanceof AuthenticationResult.Authenticated;
    }

    private static void assertRejected(GatewayIdentity identity, String session, String reason) throws Exception {
        assertThat(identity.authenticate(credentials(List.of("__Host-pep_session=" + session))))
                .isInstanceOfSatisfying(AuthenticationResult.Rejected.class,
                        r -> assertThat(r.reason().code()).isEqualTo(reason));
    }

    /** The mock provider's non-interactive /authorize; returns the callback's query. */
    private static String authorize(String authorizationUri) throws Exception {
        return authorize(authorizationUri, 3600);
    }

    /**
     * The same, with provider tokens that live {@code seconds}; 0 queues no user, for a code the
     * provider never exchanges (the mock takes queued users at its token endpoint, in order).
     */
    private static String authorize(String authorizationUri, int seconds) throws Exception {
        if (seconds > 0) {
            server.enqueueCallback(new DefaultOAuth2TokenCallback(
                    URI.create(authorizationUri).getPath().split("/")[1], "ana", "JWT", List.of("pep-gateway"),
                    Map.of("groups", List.of("coalition-logistics"), "email", "ana@alpha.example", "sid", "s-1"),
                    seconds));
        }
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(authorizationUri)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(302);
        URI callback = URI.create(r.headers().firstValue("location").orElseThrow());
        assertThat(callback.getPath()).isEqualTo("/.pep/callback");
        return callback.getRawQuery();
    }

    private static EndpointResponse get(GatewayIdentity identity, String path, String query, List<String> cookies)
            throws Exception {
        Map<String, List<String>> headers = cookies.isEmpty() ? Map.of() : Map.of("cookie", cookies);
        return identity.handle(request("GET", path, query, "", headers)).get(10, TimeUnit.SECONDS);
    }

    private static EndpointResponse post(GatewayIdentity identity, String path, String body) throws Exception {
        return identity.handle(request("POST", path, "", body, Map.of())).get(10, TimeUnit.SECONDS);
    }

    private static EndpointRequest request(String method, String path, String query, String body,
            Map<String, List<String>> headers) throws Exception {
        Credentials credentials = new Credentials(HOST, headers, List.of(), Optional.empty(),
                new Source(InetAddress.getByName("192.0.2.7"), 40000, Set.of()), Instant.now());
        return new EndpointRequest(method, path, query, body, APP, HOST, AUTHORITY, credentials, "req-1",
                TRACE);
    }

    private static Credentials credentials(List<String> cookies) throws Exception {
        return new Credentials(HOST, Map.of("cookie", cookies), List.of(), Optional.empty(),
                new Source(InetAddress.getByName("192.0.2.7"), 40000, Set.of()), Instant.now());
    }

    private static String cookie(List<String> setCookies, String name) {
        String c = setCookies.stream().filter(v -> v.startsWith(name + "=")).findFirst().orElseThrow();
        return c.substring(name.length() + 1, c.indexOf(';'));
    }

    private static Map<String, String> query(URI uri) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String pair : uri.getRawQuery().split("&")) {
            int eq = pair.indexOf('=');
            out.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return out;
    }
}
