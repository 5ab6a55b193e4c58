package dev.pep.identity.posture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Credentials;
import dev.pep.core.DevicePosture;
import dev.pep.core.PostureSignal;
import dev.pep.core.Source;
import dev.pep.core.Subject;
import dev.pep.identity.testing.MutableClock;
import dev.pep.identity.testing.TestKeys;
import dev.pep.identity.x509.TrustBundle;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostureAssertionProviderTest {

    static final String ISSUER = "https://mdm.northwind.example";
    static final String AUDIENCE = "pep-gateway";
    static final ECKey MDM_KEY = TestKeys.ec("mdm-1");
    static final RSAKey RSA_KEY = TestKeys.rsa("mdm-rsa");
    static final ECKey FORGER = TestKeys.ec("mdm-1");
    static final TestPki PKI = new TestPki("CN=Northwind Device CA");

    @TempDir
    Path dir;

    MutableClock clock;
    DeviceBindings bindings;
    PostureAssertionProvider provider;

    @BeforeEach
    void setUp() throws Exception {
        clock = MutableClock.atRealNow();
        Path jwks = dir.resolve("mdm.jwks.json");
        Files.writeString(jwks, new JWKSet(List.of(MDM_KEY.toPublicJWK(), RSA_KEY.toPublicJWK()))
                .toString());
        var certificates = new DeviceCertificateProvider(new DeviceCertificateProvider.Config(
                "depot-devices", TrustBundle.of(List.of(PKI.ca), List.of()),
                DeviceCertificateProvider.DeviceIdField.SUBJECT_CN, Map.of()), clock, Runnable::run);
        bindings = new DeviceBindings(SessionKeys.perConnection(), List.of(certificates), clock,
                Duration.ofHours(8), 1000);
        provider = provider(PostureAssertionProvider.Config.of("northwind-mdm", ISSUER,
                AssertionKeys.load(jwks), Set.of(AUDIENCE), Set.of("ES256", "RS256"))
                .withCookie("mdm_posture").withMaxAge(Duration.ofMinutes(30)));
    }

    PostureAssertionProvider provider(PostureAssertionProvider.Config config) {
        return new PostureAssertionProvider(config, bindings, clock, Runnable::run);
    }

    static Subject user(String id) {
        return new Subject(id, "https://idp.northwind.example", "northwind", Set.of(), Set.of(),
                "", Map.of(), AuthenticationMethod.OIDC, Instant.now());
    }

    JWTClaimsSet.Builder claims(String device) {
        Instant now = clock.instant();
        return new JWTClaimsSet.Builder().issuer(ISSUER).audience(AUDIENCE)
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plus(Duration.ofMinutes(15))))
                .jwtID(UUID.randomUUID().toString()).claim("device_id", device)
                .claim("managed", true).claim("compliant", true).claim("os_name", "windows")
                .claim("os_version", "11.23H2").claim("disk_encrypted", true)
                .claim("edr_running", true).claim("risk_level", "low");
    }

    static String sign(JWTClaimsSet claims, JWK key) {
        JWSAlgorithm alg = key instanceof RSAKey ? JWSAlgorithm.RS256 : JWSAlgorithm.ES256;
        return TestKeys.sign(new JWSHeader.Builder(alg).keyID(key.getKeyID()).build(), claims, key);
    }

    static Credentials request(int port, Map<String, List<String>> headers,
            X509Certificate... chain) {
        return new Credentials("logistics.partners.example", headers, List.of(chain),
                Optional.empty(), new Source(InetAddress.getLoopbackAddress(), port, Set.of()),
                Instant.now());
    }

    static Credentials withHeader(String token, X509Certificate... chain) {
        return request(40000, Map.of("x-device-posture", List.of(token)), chain);
    }

    DevicePosture assess(Subject subject, Credentials credentials) {
        List<PostureSignal> signals = provider.assess(subject, credentials).toCompletableFuture().join();
        return PostureAssessor.merge(signals);
    }

    static Object value(DevicePosture posture, String name) {
        return posture.signal(name).map(PostureSignal::value).orElse(null);
    }

    @Test
    void assess_validAssertion_mapsClaimsAssessedAtIssueTime() {
        Instant issued = clock.instant().minus(Duration.ofMinutes(5));
        String token = sign(claims("laptop-17").issueTime(Date.from(issued)).build(), MDM_KEY);

        DevicePosture posture = assess(user("alice"), withHeader(token));

        assertThat(value(posture, "assertion.status")).isEqualTo("valid");
        assertThat(posture.managed()).isTrue();
        assertThat(value(posture, "compliant")).isEqualTo(true);
        assertThat(value(posture, "os.name")).isEqualTo("windows");
        assertThat(value(posture, "os.version")).isEqualTo("11.23H2");
        assertThat(value(posture, "disk.encrypted")).isEqualTo(true);
        assertThat(value(posture, "edr.running")).isEqualTo(true);
        assertThat(value(posture, "risk")).isEqualTo("low");
        assertThat(value(posture, "device_id")).isEqualTo("laptop-17");
        PostureSignal managed = posture.signal("managed").orElseThrow();
        assertThat(managed.source()).isEqualTo("northwind-mdm");
        assertThat(managed.assessedAt()).isEqualTo(issued);
        assertThat(managed.age(clock.instant())).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void assess_rsaSignedAssertionFromCookie_valid() {
        String token = sign(claims("laptop-18").build(), RSA_KEY);
        Credentials c = request(40001, Map.of("cookie", List.of("a=b; mdm_posture=" + token)));

        assertThat(value(assess(user("alice"), c), "assertion.status")).isEqualTo("valid");
    }

    @Test
    void assess_noAssertion_absent() {
        DevicePosture posture = assess(user("alice"), request(40002, Map.of()));

        assertThat(posture.signals()).containsOnlyKeys("assertion.status");
        assertThat(value(posture, "assertion.status")).isEqualTo("absent");
    }

    @Test
    void assess_expiredAssertion_expiredAndNoClaims() {
        Instant past = clock.instant().minus(Duration.ofMinutes(20));
        String token = sign(claims("laptop-17").issueTime(Date.from(past))
                .expirationTime(Date.from(past.plus(Duration.ofMinutes(10)))).build(), MDM_KEY);

        DevicePosture posture = assess(user("alice"), withHeader(token));

        assertThat(value(posture, "assertion.status")).isEqualTo("expired");
        assertThat(posture.managed()).isFalse();
        assertThat(posture.signals()).containsOnlyKeys("assertion.status");
    }

    @Test
    void assess_assertionOlderThanMaxAge_stale() {
        Instant old = clock.instant().minus(Duration.ofMinutes(45));
        String token = sign(claims("laptop-17").issueTime(Date.from(old)).build(), MDM_KEY);

        DevicePosture posture = assess(user("alice"), withHeader(token));

        assertThat(value(posture, "assertion.status")).isEqualTo("stale");
        assertThat(posture.managed()).isFalse();
    }

    @Test
    void assess_acceptedAssertionAgesIntoStale_staleLater() {
        String token = sign(claims("laptop-17").expirationTime(
                Date.from(clock.instant().plus(Duration.ofHours(2)))).build(), MDM_KEY);
        assertThat(assess(user("alice"), withHeader(token)).managed()).isTrue();

        clock.advance(Duration.ofMinutes(31));

        assertThat(value(assess(user("alice"), withHeader(token)), "assertion.status"))
                .isEqualTo("stale");
    }

    @Test
    void assess_forgedSignatureWithSameKeyId_invalid() {
        String token = sign(claims("laptop-17").build(), FORGER);

        DevicePosture posture = assess(user("alice"), withHeader(token));

        assertThat(value(posture, "assertion.status")).isEqualTo("invalid");
        assertThat(posture.managed()).isFalse();
    }

    @Test
    void assess_alteredClaims_invalid() {
        String[] parts = sign(claims("laptop-17").claim("managed", false).build(), MDM_KEY)
                .split("\\.");
        String altered = parts[0] + "." + Base64URL.encode(claims("laptop-17").build().toString())
                + "." + parts[2];

        assertThat(value(assess(user("alice"), withHeader(altered)), "assertion.status"))
                .isEqualTo("invalid");
    }

    @Test
    void assess_unsignedAssertion_invalid() {
        String token = new PlainJWT(claims("laptop-17").build()).serialize();

        assertThat(value(assess(user("alice"), withHeader(token)), "assertion.status"))
                .isEqualTo("invalid");
    }

    @Test
    void assess_otherIssuer_untrusted() {
        String token = sign(claims("laptop-17").issuer("https://mdm.attacker.example").build(),
                MDM_KEY);

        assertThat(value(assess(user("alice"), withHeader(token)), "assertion.status"))
                .isEqualTo("untrusted");
    }

    @Test
    void assess_otherAudience_wrongAudience() {
        String token = sign(claims("laptop-17").audience("another-gateway").build(), MDM_KEY);

        assertThat(value(assess(user("alice"), withHeader(token)), "assertion.status"))
                .isEqualTo("wrong_audience");
    }

    @Test
    void assess_withoutJti_invalid() {
        String token = sign(claims("laptop-17").jwtID(null).build(), MDM_KEY);

        assertThat(value(assess(user("alice"), withHeader(token)), "assertion.status"))
                .isEqualTo("invalid");
    }

    @Test
    void assess_issuedInTheFuture_notYetValid() {
        String token = sign(claims("laptop-17").issueTime(
                Date.from(clock.instant().plus(Duration.ofMinutes(5)))).build(), MDM_KEY);

        assertThat(value(assess(user("alice"), withHeader(token)), "assertion.status"))
                .isEqualTo("not_yet_valid");
    }

    @Test
    void assess_sameAssertionFromAnotherSubject_replayed() {
        String token = sign(claims("laptop-17").build(), MDM_KEY);
        assertThat(assess(user("alice"), withHeader(token)).managed()).isTrue();

        DevicePosture replayed = assess(user("mallory"), request(41000,
                Map.of("x-device-posture", List.of(token))));

        assertThat(value(replayed, "assertion.status")).isEqualTo("replayed");
        assertThat(replayed.managed()).isFalse();
    }

    @Test
    void assess_sameAssertionAgainFromSameSubject_valid() {
        String token = sign(claims("laptop-17").build(), MDM_KEY);
        assess(user("alice"), withHeader(token));

        assertThat(assess(user("alice"), withHeader(token)).managed()).isTrue();
    }

    @Test
    void assess_assertionForAnotherDeviceInBoundSession_wrongDevice() {
        assess(user("alice"), withHeader(sign(claims("laptop-17").build(), MDM_KEY)));

        DevicePosture second = assess(user("alice"),
                withHeader(sign(claims("phone-2").build(), MDM_KEY)));

        assertThat(value(second, "assertion.status")).isEqualTo("wrong_device");
        assertThat(second.managed()).isFalse();
    }

    @Test
    void assess_assertionForAnotherDeviceThanItsCertificate_wrongDevice() {
        X509Certificate laptop = PKI.device("laptop-17");
        String aboutPhone = sign(claims("phone-2").build(), MDM_KEY);

        assertThat(value(assess(user("alice"), withHeader(aboutPhone, laptop)), "assertion.status"))
                .isEqualTo("wrong_device");
    }

    @Test
    void assess_assertionBoundToPresentedCertificate_valid() {
        X509Certificate laptop = PKI.device("laptop-17");
        String thumbprint = Base64URL.encode(DeviceCertificateProvider.sha256(
                DeviceCertificateProvider.encoded(laptop))).toString();
        String token = sign(claims("laptop-17").claim("cnf", Map.of("x5t#S256", thumbprint))
                .build(), MDM_KEY);

        assertThat(assess(user("alice"), withHeader(token, laptop)).managed()).isTrue();
    }

    @Test
    void assess_assertionBoundToCertificateNotPresented_wrongDevice() {
        X509Certificate laptop = PKI.device("laptop-17");
        String thumbprint = Base64URL.encode(DeviceCertificateProvider.sha256(
                DeviceCertificateProvider.encoded(laptop))).toString();
        String token = sign(claims("laptop-17").claim("cnf", Map.of("x5t#S256", thumbprint))
                .build(), MDM_KEY);

        assertThat(value(assess(user("alice"), withHeader(token)), "assertion.status"))
                .isEqualTo("wrong_device");
    }

    @Test
    void assess_replayAtAnotherGatewayInstance_notDetected() {
        // Pins L-504: the first use of an assertion is remembered by one process only.
        String token = sign(claims("laptop-17").build(), MDM_KEY);
        assess(user("alice"), withHeader(token));
        bindings = new DeviceBindings(SessionKeys.perConnection(), List.of(), clock,
                Duration.ofHours(8), 1000);
        provider = provider(PostureAssertionProvider.Config.of("northwind-mdm", ISSUER, keys(),
                Set.of(AUDIENCE), Set.of("ES256")));

        assertThat(assess(user("mallory"), request(41000, Map.of("x-device-posture",
                List.of(token)))).managed()).isTrue();
    }

    @Test
    void assess_otherDeviceOnANewConnectionWithoutSession_boundAfresh() {
        // Pins L-505: without the gateway's session the binding is per TLS connection.
        assess(user("alice"), request(40010, Map.of("x-device-posture",
                List.of(sign(claims("laptop-17").build(), MDM_KEY)))));

        DevicePosture other = assess(user("alice"), request(40011, Map.of("x-device-posture",
                List.of(sign(claims("phone-2").build(), MDM_KEY)))));

        assertThat(other.managed()).isTrue();
    }

    AssertionKeys keys() {
        try {
            return AssertionKeys.load(dir.resolve("mdm.jwks.json"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void assess_twoAssertionHeaders_invalid() {
        String token = sign(claims("laptop-17").build(), MDM_KEY);
        Credentials c = request(40003, Map.of("x-device-posture", List.of(token, token)));

        assertThat(value(assess(user("alice"), c), "assertion.status")).isEqualTo("invalid");
    }

    @Test
    void assess_oversizedAssertion_invalidBeforeParsing() {
        String token = "x".repeat(PostureAssertionProvider.MAX_TOKEN_CHARS + 1);

        assertThat(value(assess(user("alice"), withHeader(token)), "assertion.status"))
                .isEqualTo("invalid");
    }

    @Test
    void config_hmacAlgorithm_refused() {
        assertThatThrownBy(() -> PostureAssertionProvider.Config.of("p", ISSUER,
                AssertionKeys.load(dir.resolve("mdm.jwks.json")), Set.of(AUDIENCE), Set.of("HS256")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("HS256");
    }

    @Test
    void load_keySetWithoutPublicKeys_refusedNamingFile() throws Exception {
        Path empty = dir.resolve("empty.jwks.json");
        Files.writeString(empty, "{\"keys\":[]}");

        assertThatThrownBy(() -> AssertionKeys.load(empty)).hasMessageContaining("empty.jwks.json");
    }
}
