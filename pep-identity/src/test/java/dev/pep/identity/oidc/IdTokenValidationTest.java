package dev.pep.identity.oidc;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.openid.connect.sdk.SubjectType;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.sun.net.httpserver.HttpServer;
import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.identity.IdentityReasons;
import dev.pep.identity.jwt.JwksSource;
import dev.pep.identity.session.AeadSealer;
import dev.pep.identity.session.InMemorySessionStore;
import dev.pep.identity.session.SessionCookieCodec;
import dev.pep.identity.session.SessionKeyRing;
import dev.pep.identity.testing.KeyServer;
import dev.pep.identity.testing.MutableClock;
import dev.pep.identity.testing.TestKeys;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The ID-token checks of {@link RelyingParty#completeLogin}, with hand-made ID tokens. */
class IdTokenValidationTest {

    static final String ISSUER = "https://idp.partner-a.example";
    static final String CLIENT = "pep-gateway";
    static final String HOST = "logistics.partners.example";
    static final App APP = new App("logistics", List.of(HOST), AppProtocol.HTTP,
            URI.create("https://10.1.2.3:8443"), Map.of(), false, Optional.empty());

    final MutableClock clock = MutableClock.atRealNow();
    final SecureRandom random = new SecureRandom();
    final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    KeyServer keyServer;
    HttpServer tokenServer;
    volatile String tokenResponse = "";
    volatile int tokenStatus = 200;
    OidcProvider provider;
    RelyingParty rp;
    JwksSource keys;

    @BeforeEach
    void setUp() throws Exception {
        keyServer = new KeyServer(TestKeys.publicKeys(TestKeys.RSA));
        tokenServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        tokenServer.createContext("/token", exchange -> {
            byte[] body = tokenResponse.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(tokenStatus, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        tokenServer.start();
        HttpClient http = HttpClient.newHttpClient();
        keys = new JwksSource(ISSUER, keyServer.uri(), http, scheduler, clock,
                new JwksSource.Settings(Duration.ofMinutes(5), Duration.ofSeconds(30),
                        Duration.ofMinutes(30), Duration.ofSeconds(2), 64 * 1024));
        keys.refresh().get();
        var metadata = new OIDCProviderMetadata(new Issuer(ISSUER), List.of(SubjectType.PUBLIC),
                keyServer.uri());
        metadata.setAuthorizationEndpointURI(URI.create(ISSUER + "/authorize"));
        metadata.setTokenEndpointURI(URI.create("http://127.0.0.1:"
                + tokenServer.getAddress().getPort() + "/token"));
        provider = new OidcProvider(OidcProviderConfig.of("partner-a", URI.create(ISSUER), CLIENT,
                "secret"), metadata, keys);
        AeadSealer sealer = new AeadSealer(SessionKeyRing.of(List.of(new SessionKeyRing.SessionKey(
                "k1", Instant.EPOCH, new javax.crypto.spec.SecretKeySpec(new byte[32], "AES")))),
                random);
        rp = new RelyingParty(List.of(provider), sealer, new SessionCookieCodec(sealer),
                new InMemorySessionStore(Duration.ofHours(8)), http, Runnable::run, clock, random,
                RelyingParty.Settings.defaults());
    }

    @AfterEach
    void tearDown() {
        scheduler.shutdownNow();
        tokenServer.stop(0);
        keyServer.close();
    }

    static JWTClaimsSet.Builder idClaims(String nonce, Instant now) {
        return new JWTClaimsSet.Builder().issuer(ISSUER).subject("alice").audience(CLIENT)
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(300)))
                .claim("nonce", nonce).claim("org", "partner-a");
    }

    static String rs256(JWTClaimsSet claims) {
        return TestKeys.sign(new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID(TestKeys.RSA.getKeyID()).type(JOSEObjectType.JWT).build(), claims,
                TestKeys.RSA);
    }

    LoginOutcome loginWith(BiFunction<String, Instant, String> idToken) throws Exception {
        RelyingParty.LoginStart start = rp.startLogin(provider, "/", APP, HOST);
        Map<String, String> params = query(start.authorizationUri());
        tokenResponse = "{\"access_token\":\"at-1\",\"token_type\":\"Bearer\",\"id_token\":\""
                + idToken.apply(params.get("nonce"), clock.instant()) + "\"}";
        String cookie = start.loginStateCookie().substring(start.loginStateCookie().indexOf('=') + 1,
                start.loginStateCookie().indexOf(';'));
        return rp.completeLogin(HOST, "code=c-1&state=" + params.get("state"),
                Optional.of(cookie)).get(10, TimeUnit.SECONDS);
    }

    static Map<String, String> query(URI uri) {
        return Stream.of(uri.getRawQuery().split("&")).map(p -> p.split("=", 2))
                .collect(java.util.stream.Collectors.toMap(p -> p[0],
                        p -> URLDecoder.decode(p[1], StandardCharsets.UTF_8)));
    }

    @Test
    void completeLogin_validIdToken_completed() throws Exception {
        LoginOutcome outcome = loginWith((nonce, now) -> rs256(idClaims(nonce, now).build()));

        assertThat(outcome).isInstanceOf(LoginOutcome.Completed.class);
        assertThat(((LoginOutcome.Completed) outcome).session().subject().organisation())
                .isEqualTo("partner-a");
    }

    @Test
    void completeLogin_expiredOrNotYetValidWithinTheSkew_completed() throws Exception {
        LoginOutcome expired = loginWith((nonce, now) -> rs256(idClaims(nonce, now)
                .expirationTime(Date.from(now.minusSeconds(30))).build()));
        LoginOutcome early = loginWith((nonce, now) -> rs256(idClaims(nonce, now)
                .notBeforeTime(Date.from(now.plusSeconds(30))).build()));

        assertThat(expired).isInstanceOf(LoginOutcome.Completed.class);
        assertThat(early).isInstanceOf(LoginOutcome.Completed.class);
    }

    @Test
    void completeLogin_twoAudiencesWithOwnAzp_completed() throws Exception {
        LoginOutcome outcome = loginWith((nonce, now) -> rs256(idClaims(nonce, now)
                .audience(List.of(CLIENT, "other")).claim("azp", CLIENT).build()));

        assertThat(outcome).isInstanceOf(LoginOutcome.Completed.class);
    }

    static Stream<Arguments> badIdTokens() {
        return Stream.of(
                Arguments.of("wrong audience", (BiFunction<String, Instant, String>) (n, now) ->
                        rs256(idClaims(n, now).audience("other-client").build()),
                        IdentityReasons.ID_TOKEN_INVALID),
                Arguments.of("two audiences, no azp", (BiFunction<String, Instant, String>) (n, now) ->
                        rs256(idClaims(n, now).audience(List.of(CLIENT, "other")).build()),
                        IdentityReasons.ID_TOKEN_INVALID),
                Arguments.of("azp of another client", (BiFunction<String, Instant, String>) (n, now) ->
                        rs256(idClaims(n, now).audience(List.of(CLIENT, "other"))
                                .claim("azp", "other").build()),
                        IdentityReasons.ID_TOKEN_INVALID),
                Arguments.of("wrong issuer", (BiFunction<String, Instant, String>) (n, now) ->
                        rs256(idClaims(n, now).issuer("https://evil.example").build()),
                        IdentityReasons.ID_TOKEN_INVALID),
                Arguments.of("wrong nonce", (BiFunction<String, Instant, String>) (n, now) ->
                        rs256(idClaims("other-nonce", now).build()),
                        IdentityReasons.ID_TOKEN_INVALID),
                Arguments.of("no nonce", (BiFunction<String, Instant, String>) (n, now) ->
                        rs256(idClaims(n, now).claim("nonce", null).build()),
                        IdentityReasons.ID_TOKEN_INVALID),
                Arguments.of("expired", (BiFunction<String, Instant, String>) (n, now) ->
                        rs256(idClaims(n, now).expirationTime(Date.from(now.minusSeconds(120)))
                                .build()),
                        IdentityReasons.ID_TOKEN_INVALID),
                Arguments.of("not yet valid", (BiFunction<String, Instant, String>) (n, now) ->
                        rs256(idClaims(n, now).notBeforeTime(Date.from(now.plusSeconds(600)))
                                .build()),
                        IdentityReasons.ID_TOKEN_INVALID),
                Arguments.of("forged signature", (BiFunction<String, Instant, String>) (n, now) ->
                        TestKeys.sign(new JWSHeader.Builder(JWSAlgorithm.RS256)
                                .keyID(TestKeys.RSA.getKeyID()).build(), idClaims(n, now).build(),
                                TestKeys.ATTACKER),
                        IdentityReasons.ID_TOKEN_INVALID),
                Arguments.of("HS256 with public key", (BiFunction<String, Instant, String>) (n, now) ->
                        hs256WithPublicKey(idClaims(n, now).build()),
                        IdentityReasons.ID_TOKEN_INVALID),
                Arguments.of("PS256, outside the allowlist", (BiFunction<String, Instant, String>) (n, now) ->
                        TestKeys.sign(new JWSHeader.Builder(JWSAlgorithm.PS256)
                                .keyID(TestKeys.RSA.getKeyID()).type(JOSEObjectType.JWT).build(),
                                idClaims(n, now).build(), TestKeys.RSA),
                        IdentityReasons.ID_TOKEN_INVALID),
                Arguments.of("expired beyond the skew by a second", (BiFunction<String, Instant, String>) (n, now) ->
                        rs256(idClaims(n, now).expirationTime(Date.from(now.minusSeconds(61))).build()),
                        IdentityReasons.ID_TOKEN_INVALID),
                Arguments.of("signer's key embedded (jwk, x5u, jku) under a trusted kid",
                        (BiFunction<String, Instant, String>) (n, now) -> TestKeys.sign(
                                new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(TestKeys.RSA.getKeyID())
                                        .jwk(TestKeys.ATTACKER.toPublicJWK())
                                        .jwkURL(URI.create("https://evil.example/jwks"))
                                        .x509CertURL(URI.create("https://evil.example/cert.pem")).build(),
                                idClaims(n, now).build(), TestKeys.ATTACKER),
                        IdentityReasons.ID_TOKEN_INVALID),
                Arguments.of("alg none", (BiFunction<String, Instant, String>) (n, now) ->
                        new PlainJWT(idClaims(n, now).build()).serialize(),
                        IdentityReasons.TOKEN_ALGORITHM_NOT_ALLOWED),
                Arguments.of("unknown kid", (BiFunction<String, Instant, String>) (n, now) ->
                        TestKeys.sign(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("nope")
                                .build(), idClaims(n, now).build(), TestKeys.ATTACKER),
                        IdentityReasons.UNKNOWN_KEY));
    }

    static String hs256WithPublicKey(JWTClaimsSet claims) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256)
                    .keyID(TestKeys.RSA.getKeyID()).build(), claims);
            jwt.sign(new MACSigner(TestKeys.RSA.toRSAPublicKey().getEncoded()));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badIdTokens")
    void completeLogin_badIdToken_failed(String name, BiFunction<String, Instant, String> token,
            String code) throws Exception {
        LoginOutcome outcome = loginWith(token);

        assertThat(outcome).isInstanceOf(LoginOutcome.Failed.class);
        assertThat(((LoginOutcome.Failed) outcome).reason().code()).isEqualTo(code);
    }

    @Test
    void completeLogin_tokenEndpointRefuses_tokenExchangeFailed() throws Exception {
        tokenStatus = 400;
        LoginOutcome outcome = loginWith((n, now) -> "ignored");

        assertThat(((LoginOutcome.Failed) outcome).reason().code())
                .isEqualTo(IdentityReasons.TOKEN_EXCHANGE_FAILED);
    }

    @Test
    void completeLogin_providerKeysStale_keysStale() throws Exception {
        keyServer.setMode(KeyServer.Mode.FAIL);
        clock.advance(Duration.ofMinutes(31));
        keys.refresh().get();

        LoginOutcome outcome = loginWith((nonce, now) -> rs256(idClaims(nonce, now).build()));

        assertThat(((LoginOutcome.Failed) outcome).reason().code())
                .isEqualTo(IdentityReasons.KEYS_STALE);
    }
}
