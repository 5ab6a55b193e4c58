package dev.pep.identity.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.AuthenticationResult;
import dev.pep.core.Credentials;
import dev.pep.identity.IdentityReasons;
import dev.pep.identity.testing.KeyServer;
import dev.pep.identity.testing.MutableClock;
import dev.pep.identity.testing.TestCredentials;
import dev.pep.identity.testing.TestKeys;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class JwtAuthenticatorTest {

    static final String ISSUER = "https://idp.partner-a.example";
    static final String AUDIENCE = "pep-gateway";

    final MutableClock clock = MutableClock.atRealNow();
    final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    final HttpClient http = HttpClient.newHttpClient();
    KeyServer keyServer;
    JwksSource keys;
    JwtAuthenticator authenticator;

    @BeforeEach
    void setUp() throws Exception {
        keyServer = new KeyServer(TestKeys.publicKeys(TestKeys.RSA, TestKeys.EC));
        keys = new JwksSource(ISSUER, keyServer.uri(), http, scheduler, clock,
                new JwksSource.Settings(Duration.ofMinutes(5), Duration.ofSeconds(30),
                        Duration.ofMinutes(30), Duration.ofSeconds(2), 64 * 1024));
        keys.refresh().get();
        authenticator = new JwtAuthenticator(Map.of(config(), keys), clock, 1000);
    }

    @AfterEach
    void tearDown() {
        keys.close();
        scheduler.shutdownNow();
        keyServer.close();
    }

    static IssuerConfig config() {
        return IssuerConfig.of(ISSUER, URI.create("https://idp.partner-a.example/jwks"),
                Set.of(AUDIENCE));
    }

    String validToken() {
        return TestKeys.sign(TestKeys.rsHeader(TestKeys.RSA).build(),
                TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).build(), TestKeys.RSA);
    }

    AuthenticationResult authenticate(String token) {
        return authenticator.authenticate(bearer(token));
    }

    Credentials bearer(String token) {
        return TestCredentials.headers("app.example",
                Map.of("authorization", List.of("Bearer " + token)), clock.instant());
    }

    static void assertRejected(AuthenticationResult result, String code) {
        assertThat(result).isInstanceOf(AuthenticationResult.Rejected.class);
        assertThat(((AuthenticationResult.Rejected) result).reason().code()).isEqualTo(code);
    }

    @Test
    void authenticate_validToken_mapsClaimsToSubject() {
        AuthenticationResult result = authenticate(validToken());

        assertThat(result).isInstanceOf(AuthenticationResult.Authenticated.class);
        var subject = ((AuthenticationResult.Authenticated) result).subject();
        assertThat(subject.id()).isEqualTo("alice");
        assertThat(subject.issuer()).isEqualTo(ISSUER);
        assertThat(subject.organisation()).isEqualTo("partner-a");
        assertThat(subject.groups()).containsExactly("coalition-logistics");
        assertThat(subject.email()).isEqualTo("alice@partner-a.example");
        assertThat(subject.method()).isEqualTo(AuthenticationMethod.BEARER);
    }

    @Test
    void authenticate_validToken_expiresWhenTheAuthenticatorStopsAcceptingIt_expPlusSkew_cachedOrNot() {
        String token = validToken();
        java.time.Instant exp = clock.instant().plus(Duration.ofMinutes(10)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);

        var fresh = (AuthenticationResult.Authenticated) authenticate(token);
        var cached = (AuthenticationResult.Authenticated) authenticate(token);

        assertThat(fresh.expiresAt()).contains(exp.plus(config().clockSkew()));
        assertThat(cached.expiresAt()).isEqualTo(fresh.expiresAt());
    }

    @Test
    void authenticate_ecToken_accepted() {
        String token = TestKeys.sign(new JWSHeader.Builder(JWSAlgorithm.ES256)
                        .keyID(TestKeys.EC.getKeyID()).type(new JOSEObjectType("at+jwt")).build(),
                TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).build(), TestKeys.EC);

        assertThat(authenticate(token)).isInstanceOf(AuthenticationResult.Authenticated.class);
    }

    @Test
    void authenticate_noHeaderOrOtherScheme_notPresented() {
        var none = TestCredentials.headers("app.example", Map.of(), clock.instant());
        var basic = TestCredentials.headers("app.example",
                Map.of("authorization", List.of("Basic YWxpY2U6eA==")), clock.instant());

        assertThat(authenticator.authenticate(none))
                .isInstanceOf(AuthenticationResult.NotPresented.class);
        assertThat(authenticator.authenticate(basic))
                .isInstanceOf(AuthenticationResult.NotPresented.class);
    }

    @Test
    void authenticate_algNone_rejectedAsAlgorithmNotAllowed() {
        String token = new PlainJWT(TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).build())
                .serialize();

        assertRejected(authenticate(token), IdentityReasons.TOKEN_ALGORITHM_NOT_ALLOWED);
    }

    @Test
    void authenticate_hs256SignedWithRsaPublicKey_rejected() throws Exception {
        byte[] publicKey = TestKeys.RSA.toRSAPublicKey().getEncoded();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256)
                .keyID(TestKeys.RSA.getKeyID()).type(new JOSEObjectType("at+jwt")).build(),
                TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).build());
        jwt.sign(new MACSigner(publicKey));

        assertRejected(authenticate(jwt.serialize()), IdentityReasons.TOKEN_ALGORITHM_NOT_ALLOWED);
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"PS256", "RS384", "RS512"})
    void authenticate_trustedKeyButAlgorithmOutsideTheAllowlist_rejected(String alg) {
        // The issuer allows RS256 and ES256 only; the key itself would verify these too.
        String token = TestKeys.sign(new JWSHeader.Builder(JWSAlgorithm.parse(alg)).keyID(TestKeys.RSA.getKeyID())
                .type(new JOSEObjectType("at+jwt")).build(), TestKeys.claims(ISSUER, AUDIENCE, clock.instant())
                .build(), TestKeys.RSA);

        assertRejected(authenticate(token), IdentityReasons.TOKEN_ALGORITHM_NOT_ALLOWED);
    }

    @Test
    void issuerConfig_hmacOrNone_refusedAtConfiguration() {
        assertThatThrownBy(() -> config().withAlgorithms(Set.of("HS256")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> config().withAlgorithms(Set.of("none")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> config().withAlgorithms(Set.of("EdDSA")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void authenticate_embeddedJwkOfAttacker_unknownKey() {
        JWSHeader header = TestKeys.rsHeader(TestKeys.ATTACKER)
                .jwk(TestKeys.ATTACKER.toPublicJWK()).build();
        String token = TestKeys.sign(header,
                TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).build(), TestKeys.ATTACKER);

        assertRejected(authenticate(token), IdentityReasons.UNKNOWN_KEY);
    }

    @Test
    void authenticate_embeddedKeysWithTrustedKid_invalidSignature() throws Exception {
        JWSHeader header = TestKeys.rsHeader(TestKeys.RSA)
                .jwk(TestKeys.ATTACKER.toPublicJWK())
                .jwkURL(URI.create("https://evil.example/jwks"))
                .x509CertURL(URI.create("https://evil.example/cert.pem"))
                .x509CertChain(List.of(Base64.encode(
                        dev.pep.identity.testing.TestCertificates.selfSigned(TestKeys.ATTACKER)
                                .getEncoded())))
                .build();
        String token = TestKeys.sign(header,
                TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).build(), TestKeys.ATTACKER);

        assertRejected(authenticate(token), IdentityReasons.TOKEN_INVALID_SIGNATURE);
    }

    @Test
    void authenticate_tamperedPayload_invalidSignature() {
        String[] parts = validToken().split("\\.");
        String forged = Base64URL.encode(TestKeys.claims(ISSUER, AUDIENCE, clock.instant())
                .subject("admin").build().toString()).toString();

        assertRejected(authenticate(parts[0] + "." + forged + "." + parts[2]),
                IdentityReasons.TOKEN_INVALID_SIGNATURE);
    }

    @Test
    void authenticate_expired_rejected() {
        String token = validToken();
        clock.advance(Duration.ofMinutes(12));

        assertRejected(authenticate(token), IdentityReasons.TOKEN_EXPIRED);
    }

    @Test
    void authenticate_expiredWithinSkew_accepted() {
        String token = validToken();
        clock.advance(Duration.ofMinutes(10).plusSeconds(30));

        assertThat(authenticate(token)).isInstanceOf(AuthenticationResult.Authenticated.class);
    }

    @Test
    void authenticate_notYetValid_rejected() {
        String token = TestKeys.sign(TestKeys.rsHeader(TestKeys.RSA).build(),
                TestKeys.claims(ISSUER, AUDIENCE, clock.instant().plusSeconds(300)).build(),
                TestKeys.RSA);

        assertRejected(authenticate(token), IdentityReasons.TOKEN_NOT_YET_VALID);
    }

    @Test
    void authenticate_wrongAudience_rejected() {
        String token = TestKeys.sign(TestKeys.rsHeader(TestKeys.RSA).build(),
                TestKeys.claims(ISSUER, "another-service", clock.instant()).build(), TestKeys.RSA);

        assertRejected(authenticate(token), IdentityReasons.AUDIENCE_MISMATCH);
    }

    @Test
    void authenticate_unknownIssuer_rejected() {
        String token = TestKeys.sign(TestKeys.rsHeader(TestKeys.RSA).build(),
                TestKeys.claims("https://evil.example", AUDIENCE, clock.instant()).build(),
                TestKeys.RSA);

        assertRejected(authenticate(token), IdentityReasons.UNKNOWN_ISSUER);
    }

    @Test
    void authenticate_missingNbf_rejectedAsClaimsMissing() {
        JWTClaimsSet claims = TestKeys.claims(ISSUER, AUDIENCE, clock.instant())
                .notBeforeTime(null).build();
        String token = TestKeys.sign(TestKeys.rsHeader(TestKeys.RSA).build(), claims, TestKeys.RSA);

        assertRejected(authenticate(token), IdentityReasons.TOKEN_CLAIMS_MISSING);
    }

    @Test
    void authenticate_idTokenTyp_rejectedAsTypeMismatch() {
        String token = TestKeys.sign(TestKeys.rsHeader(TestKeys.RSA)
                        .type(JOSEObjectType.JWT).build(),
                TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).build(), TestKeys.RSA);

        assertRejected(authenticate(token), IdentityReasons.TOKEN_TYPE_MISMATCH);
    }

    @Test
    void authenticate_idTokenClaimsEvenWhenJwtTypAllowed_rejectedAsTypeMismatch() {
        authenticator = new JwtAuthenticator(
                Map.of(config().withTypes(Set.of("JWT", "at+jwt")), keys), clock, 10);
        String token = TestKeys.sign(TestKeys.rsHeader(TestKeys.RSA)
                        .type(JOSEObjectType.JWT).build(),
                TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).claim("nonce", "n-1").build(),
                TestKeys.RSA);

        assertRejected(authenticate(token), IdentityReasons.TOKEN_TYPE_MISMATCH);
    }

    @Test
    void authenticate_oversizedToken_rejectedBeforeParsing() {
        assertRejected(authenticate("a".repeat(9000)), IdentityReasons.TOKEN_TOO_LARGE);
    }

    @Test
    void authenticate_encryptedOrGarbage_malformed() {
        assertRejected(authenticate("a.b.c.d.e"), IdentityReasons.TOKEN_MALFORMED);
        assertRejected(authenticate("not-a-token"), IdentityReasons.TOKEN_MALFORMED);
    }

    @Test
    void authenticate_nestedJwtContentType_malformed() {
        String token = TestKeys.sign(TestKeys.rsHeader(TestKeys.RSA).contentType("JWT").build(),
                TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).build(), TestKeys.RSA);

        assertRejected(authenticate(token), IdentityReasons.TOKEN_MALFORMED);
    }

    @Test
    void authenticate_rsaKeyUsedForEsAlgorithm_invalidSignature() {
        String token = TestKeys.sign(new JWSHeader.Builder(JWSAlgorithm.ES256)
                        .keyID(TestKeys.RSA.getKeyID()).type(new JOSEObjectType("at+jwt")).build(),
                TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).build(), TestKeys.EC);

        assertRejected(authenticate(token), IdentityReasons.TOKEN_INVALID_SIGNATURE);
    }

    @Test
    void authenticate_seenToken_servedFromCache() {
        String token = validToken();
        authenticate(token);

        assertThat(authenticator.cachedTokens()).isEqualTo(1);
        assertThat(authenticate(token)).isInstanceOf(AuthenticationResult.Authenticated.class);
    }

    @Test
    void authenticate_cachedTokenPastExpiry_rejected() {
        String token = validToken();
        authenticate(token);
        clock.advance(Duration.ofMinutes(12));

        assertRejected(authenticate(token), IdentityReasons.TOKEN_EXPIRED);
    }

    @Test
    void authenticate_unknownKidFlood_atMostOneRefetchPerCooldown() {
        long before = keys.fetchCount();
        for (int i = 0; i < 500; i++) {
            String token = TestKeys.sign(TestKeys.rsHeader(TestKeys.ATTACKER)
                            .keyID("flood-" + i).build(),
                    TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).build(), TestKeys.ATTACKER);
            assertRejected(authenticate(token), IdentityReasons.UNKNOWN_KEY);
        }
        await().until(() -> keys.fetchCount() == before + 1);

        clock.advance(Duration.ofSeconds(31));
        for (int i = 0; i < 100; i++) {
            String token = TestKeys.sign(TestKeys.rsHeader(TestKeys.ATTACKER)
                            .keyID("again-" + i).build(),
                    TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).build(), TestKeys.ATTACKER);
            authenticate(token);
        }
        await().until(() -> keys.fetchCount() == before + 2);
        assertThat(keyServer.requests()).isEqualTo((int) before + 2);
    }

    @Test
    void authenticate_rotatedKey_pickedUpWithoutRestart() {
        keyServer.setKeys(TestKeys.publicKeys(TestKeys.RSA, TestKeys.RSA_ROTATED));
        String token = TestKeys.sign(TestKeys.rsHeader(TestKeys.RSA_ROTATED).build(),
                TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).build(), TestKeys.RSA_ROTATED);

        assertRejected(authenticate(token), IdentityReasons.UNKNOWN_KEY);
        await().until(() -> authenticate(token) instanceof AuthenticationResult.Authenticated);
    }

    @Test
    void authenticate_keyRemovedByRotation_cachedTokenNoLongerAccepted() throws Exception {
        String token = validToken();
        authenticate(token);
        keyServer.setKeys(TestKeys.publicKeys(TestKeys.RSA_ROTATED));
        keys.refresh().get();

        assertRejected(authenticate(token), IdentityReasons.UNKNOWN_KEY);
    }

    @Test
    void authenticate_providerDown_cachedKeysWorkThenKeysStale() throws Exception {
        String token = validToken();
        keyServer.setMode(KeyServer.Mode.FAIL);
        clock.advance(Duration.ofMinutes(6));
        keys.refresh().get();

        assertThat(keys.failureCount()).isEqualTo(1);
        assertThat(authenticate(token)).isInstanceOf(AuthenticationResult.Authenticated.class);

        clock.advance(Duration.ofMinutes(25));
        keys.refresh().get();
        assertRejected(authenticate(token), IdentityReasons.KEYS_STALE);
        assertRejected(authenticate(validToken()), IdentityReasons.KEYS_STALE);

        keyServer.setMode(KeyServer.Mode.ANSWER);
        keys.refresh().get();
        assertThat(authenticate(validToken()))
                .isInstanceOf(AuthenticationResult.Authenticated.class);
    }

    @Test
    void authenticate_keySetHangs_cachedKeysWorkForTheStaleWindow_thenKeysStale() throws Exception {
        String token = validToken();
        keyServer.setMode(KeyServer.Mode.HANG);
        clock.advance(Duration.ofMinutes(6));

        long t0 = System.nanoTime();
        keys.refresh().get(20, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("cut off by the 2 s fetch timeout")
                .isLessThan(Duration.ofSeconds(10));
        assertThat(keys.failureCount()).isEqualTo(1);
        assertThat(authenticate(token)).isInstanceOf(AuthenticationResult.Authenticated.class);
        assertThat(authenticate(validToken())).isInstanceOf(AuthenticationResult.Authenticated.class);

        clock.advance(Duration.ofMinutes(25));
        keys.refresh().get(20, java.util.concurrent.TimeUnit.SECONDS);
        assertRejected(authenticate(token), IdentityReasons.KEYS_STALE);
        assertRejected(authenticate(validToken()), IdentityReasons.KEYS_STALE);

        keyServer.setMode(KeyServer.Mode.ANSWER);
        keys.refresh().get(20, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(authenticate(validToken())).isInstanceOf(AuthenticationResult.Authenticated.class);
    }

    @Test
    void authenticate_keysNeverFetched_keysUnavailable() {
        var fresh = new JwksSource(ISSUER, keyServer.uri(), http, scheduler, clock,
                JwksSource.Settings.defaults());
        var noKeys = new JwtAuthenticator(Map.of(config(), fresh), clock, 10);

        assertRejected(noKeys.authenticate(bearer(validToken())),
                IdentityReasons.KEYS_UNAVAILABLE);
    }

    @Test
    void authenticate_severalAuthorizationHeaders_malformed() {
        var twice = TestCredentials.headers("app.example",
                Map.of("authorization", List.of("Bearer a", "Bearer b")), clock.instant());

        assertRejected(authenticator.authenticate(twice), IdentityReasons.TOKEN_MALFORMED);
    }
}
