package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Credentials;
import dev.pep.core.DevicePosture;
import dev.pep.core.PostureSignal;
import dev.pep.core.Source;
import dev.pep.core.Subject;
import dev.pep.identity.posture.SessionKeys;
import dev.pep.proxy.config.ConfigLoader;
import dev.pep.proxy.config.GatewayConfig;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayPostureTest {

    private static final String ISSUER = "https://mdm.northwind.example";
    private static final AtomicLong SERIALS = new AtomicLong(1000);

    @TempDir
    Path dir;

    GatewayPosture posture;

    @AfterEach
    void close() {
        if (posture != null) {
            posture.close();
        }
    }

    // ---- session keys --------------------------------------------------------------------

    @Test
    void sessionKeys_gatewaySession_oneKeyOnEveryConnection() {
        SessionKeys keys = GatewayPosture.sessionKeys(c -> Optional.of("s-1"));

        assertThat(keys.of(user("alice"), request(40000, Map.of())))
                .isEqualTo(keys.of(user("alice"), request(40001, Map.of())));
        assertThat(keys.of(user("alice"), request(40000, Map.of()))).isNotEqualTo(
                GatewayPosture.sessionKeys(c -> Optional.of("s-2")).of(user("alice"), request(40000, Map.of())));
    }

    @Test
    void sessionKeys_noGatewaySession_theSubjectOnItsConnection() {
        SessionKeys keys = GatewayPosture.sessionKeys(c -> Optional.empty());

        String alice = keys.of(user("alice"), request(40000, Map.of()));

        assertThat(keys.of(user("alice"), request(40000, Map.of()))).isEqualTo(alice);
        assertThat(keys.of(user("alice"), request(40001, Map.of()))).isNotEqualTo(alice);
        assertThat(keys.of(user("bob"), request(40000, Map.of()))).isNotEqualTo(alice);
        assertThat(keys.of(Subject.anonymous(), request(40000, Map.of())))
                .isNotEqualTo(alice).isEqualTo(keys.of(Subject.anonymous(), request(40000, Map.of())));
    }

    @Test
    void sessionKeys_sessionIdNeverInTheKeyAsAnotherSessionsKey() {
        // A session id that looks like a connection key cannot collide with one.
        SessionKeys keys = GatewayPosture.sessionKeys(c -> c.header("x-s").stream().findFirst());
        Credentials crafted = request(40000, Map.of("x-s", List.of("127.0.0.1 40000")));

        assertThat(keys.of(Subject.anonymous(), crafted))
                .isNotEqualTo(SessionKeys.perConnection().of(Subject.anonymous(), request(40000, Map.of())));
    }

    // ---- device binding through the gateway's session ------------------------------------

    @Test
    void assess_sessionBoundToADevice_anotherDevicesAssertionOnANewConnectionIsWrongDevice()
            throws Exception {
        ECKey key = new ECKeyGenerator(Curve.P_256).keyID("mdm-1").generate();
        Files.writeString(dir.resolve("mdm.jwks.json"), new JWKSet(key.toPublicJWK()).toString());
        GatewayConfig config = config("""
                posture:
                  deadline: 5s
                  assertions:
                    - { name: mdm, issuer: "%s", jwks-file: mdm.jwks.json, audiences: [pep] }
                """.formatted(ISSUER));
        // The test's stand-in for the gateway cookie: the session id in a header.
        posture = GatewayPosture.create(config, Clock.systemUTC(),
                GatewayPosture.sessionKeys(c -> c.header("x-session").stream().findFirst()));

        DevicePosture first = assess(user("alice"), request(40000, Map.of("x-session", List.of("s-1"),
                "x-device-posture", List.of(assertion(key, "laptop-1")))));
        DevicePosture other = assess(user("alice"), request(40001, Map.of("x-session", List.of("s-1"),
                "x-device-posture", List.of(assertion(key, "laptop-2")))));
        DevicePosture same = assess(user("alice"), request(40002, Map.of("x-session", List.of("s-1"),
                "x-device-posture", List.of(assertion(key, "laptop-1")))));
        DevicePosture otherSession = assess(user("alice"), request(40003, Map.of("x-session",
                List.of("s-2"), "x-device-posture", List.of(assertion(key, "laptop-2")))));

        assertThat(value(first, "assertion.status")).isEqualTo("valid");
        assertThat(value(other, "assertion.status")).isEqualTo("wrong_device");
        assertThat(other.managed()).isFalse();
        assertThat(value(same, "assertion.status")).isEqualTo("valid");
        assertThat(value(otherSession, "assertion.status")).isEqualTo("valid");
    }

    @Test
    void carriers_headerAndCookieOfEveryAssertionProvider() throws Exception {
        Files.writeString(dir.resolve("mdm.jwks.json"), new JWKSet(new ECKeyGenerator(Curve.P_256)
                .keyID("k").generate().toPublicJWK()).toString());
        GatewayConfig config = config("""
                posture:
                  assertions:
                    - { name: a, issuer: "https://a.example", jwks-file: mdm.jwks.json, audiences: [pep] }
                    - { name: b, issuer: "https://b.example", jwks-file: mdm.jwks.json, audiences: [pep],
                        header: X-Fleet-Posture, cookie: fleet_posture, apps: [other] }
                """);

        posture = GatewayPosture.create(config, Clock.systemUTC(), SessionKeys.perConnection());

        assertThat(posture.carriers().headers()).containsExactlyInAnyOrder("x-device-posture",
                "x-fleet-posture");
        assertThat(posture.carriers().cookies()).containsExactly("fleet_posture");
        assertThat(PostureCarriers.of(null)).isEqualTo(PostureCarriers.NONE);
    }

    // ---- device CAs and CRLs reloaded ----------------------------------------------------

    @Test
    void assess_crlRewrittenAfterStart_deviceUnmanagedWithinTheReloadInterval() throws Exception {
        KeyPair caKeys = keys();
        X509Certificate ca = certificate("CN=Fleet CA", caKeys, "CN=Fleet CA", caKeys, true);
        KeyPair deviceKeys = keys();
        X509Certificate device = certificate("CN=laptop-9", deviceKeys, "CN=Fleet CA", caKeys, false);
        Files.writeString(dir.resolve("ca.pem"), pem("CERTIFICATE", ca.getEncoded()));
        writeCrl(caKeys);
        posture = GatewayPosture.create(config("""
                posture:
                  deadline: 5s
                  reload-interval: 50ms
                  device-certificates:
                    - { name: fleet, ca-bundle: ca.pem, crls: [ca.crl] }
                """), Clock.systemUTC(), SessionKeys.perConnection());
        Credentials withDevice = new Credentials("app.example", Map.of(), List.of(device),
                Optional.empty(), new Source(InetAddress.getLoopbackAddress(), 40000, Set.of()),
                Instant.now());
        assertThat(assess(Subject.anonymous(), withDevice).managed()).isTrue();

        writeCrl(caKeys, device.getSerialNumber());

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(
                value(assess(Subject.anonymous(), withDevice), "certificate.status")).isEqualTo("revoked"));

        // A broken CRL file: the revocations already known stay in force, and the refusal counts.
        Files.writeString(dir.resolve("ca.crl"), "-----BEGIN X509 CRL-----\nbm9wZQ==\n-----END X509 CRL-----\n");
        await().atMost(Duration.ofSeconds(20)).until(() -> posture.trustReloadsRefused() >= 1);
        assertThat(value(assess(Subject.anonymous(), withDevice), "certificate.status")).isEqualTo("revoked");
    }

    @Test
    void clientIssuers_caFileRewritten_newCasNamed_brokenFileKeepsThem() throws Exception {
        KeyPair aKeys = keys();
        KeyPair bKeys = keys();
        X509Certificate a = certificate("CN=A", aKeys, "CN=A", aKeys, true);
        X509Certificate b = certificate("CN=B", bKeys, "CN=B", bKeys, true);
        Files.writeString(dir.resolve("ca.pem"), pem("CERTIFICATE", a.getEncoded()));
        var issuers = GatewayPosture.clientIssuers(config("""
                posture:
                  device-certificates:
                    - { name: fleet, ca-bundle: ca.pem }
                """));
        assertThat(issuers.get()).containsExactly(a);

        Files.writeString(dir.resolve("ca.pem"), pem("CERTIFICATE", a.getEncoded())
                + pem("CERTIFICATE", b.getEncoded()));
        assertThat(issuers.get()).containsExactlyInAnyOrder(a, b);

        Files.writeString(dir.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n");
        assertThat(issuers.get()).containsExactlyInAnyOrder(a, b);
    }

    // ---- helpers -------------------------------------------------------------------------

    private GatewayConfig config(String posture) throws Exception {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, "tls: { development-ca: {} }\n" + posture);
        return ConfigLoader.load(f);
    }

    private DevicePosture assess(Subject subject, Credentials credentials) {
        return posture.assess(subject, credentials, "app").join().posture();
    }

    private static Object value(DevicePosture posture, String name) {
        return posture.signal(name).map(PostureSignal::value).orElse(null);
    }

    private static Subject user(String id) {
        return new Subject(id, "https://idp.northwind.example", "northwind", Set.of(), Set.of(), "",
                Map.of(), AuthenticationMethod.OIDC, Instant.now());
    }

    private static Credentials request(int port, Map<String, List<String>> headers) {
        return new Credentials("app.example", new HashMap<>(headers), List.of(), Optional.empty(),
                new Source(InetAddress.getLoopbackAddress(), port, Set.of()), Instant.now());
    }

    private static String assertion(ECKey key, String device) throws Exception {
        Instant now = Instant.now();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.getKeyID())
                .build(), new JWTClaimsSet.Builder().issuer(ISSUER).audience("pep")
                .issueTime(Date.from(now.minusSeconds(5))).expirationTime(Date.from(now.plusSeconds(600)))
                .jwtID(UUID.randomUUID().toString()).claim("device_id", device).claim("managed", true)
                .build());
        jwt.sign(new ECDSASigner(key));
        return jwt.serialize();
    }

    private void writeCrl(KeyPair caKeys, BigInteger... revoked) throws Exception {
        Instant now = Instant.now();
        var b = new X509v2CRLBuilder(new X500Name("CN=Fleet CA"), Date.from(now.minusSeconds(60)));
        b.setNextUpdate(Date.from(now.plus(Duration.ofDays(1))));
        for (BigInteger serial : revoked) {
            b.addCRLEntry(serial, Date.from(now.minusSeconds(1)), 0);
        }
        byte[] der = new JcaX509CRLConverter().getCRL(b.build(
                new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate()))).getEncoded();
        Path tmp = Files.write(dir.resolve("ca.crl.tmp"), der);
        Files.move(tmp, dir.resolve("ca.crl"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
    }

    private static KeyPair keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        return g.generateKeyPair();
    }

    private static X509Certificate certificate(String subject, KeyPair subjectKeys, String issuer,
            KeyPair issuerKeys, boolean ca) throws Exception {
        Instant now = Instant.now();
        var b = new JcaX509v3CertificateBuilder(new X500Name(issuer),
                BigInteger.valueOf(SERIALS.incrementAndGet()), Date.from(now.minusSeconds(3600)),
                Date.from(now.plus(Duration.ofDays(7))), new X500Name(subject), subjectKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate())));
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
