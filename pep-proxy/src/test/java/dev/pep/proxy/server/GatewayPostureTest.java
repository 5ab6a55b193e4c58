package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
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
import com.sun.net.httpserver.HttpServer;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Credentials;
import dev.pep.core.DevicePosture;
import dev.pep.core.PostureSignal;
import dev.pep.core.Source;
import dev.pep.core.Subject;
import dev.pep.identity.posture.SessionKeys;
import dev.pep.proxy.config.ConfigLoader;
import dev.pep.proxy.config.GatewayConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
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
    /** Device certificates of one CA with its CRL, both re-read every 50 ms. */
    private static final String FLEET = """
            posture:
              deadline: 5s
              reload-interval: 50ms
              device-certificates:
                - { name: fleet, ca-bundle: ca.pem, crls: [ca.crl] }
            """;

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
        posture = GatewayPosture.create(config(FLEET), Clock.systemUTC(), SessionKeys.perConnection());
        Credentials withDevice = withDevice(device);
        assertThat(assess(Subject.anonymous(), withDevice).managed()).isTrue();

        writeCrl(caKeys, device.getSerialNumber());

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(
                value(assess(Subject.anonymous(), withDevice), "certificate.status")).isEqualTo("revoked"));

        // A broken CRL file: the revocations already known stay in force, and the refusal counts.
        Files.writeString(dir.resolve("ca.crl"), "-----BEGIN X509 CRL-----\nbm9wZQ==\n-----END X509 CRL-----\n");
        await().atMost(Duration.ofSeconds(20)).until(() -> posture.health().stream()
                .filter(h -> h.kind().equals("device_trust")).mapToLong(h -> h.failures().getAsLong()).sum() >= 1);
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

    // ---- provider health -----------------------------------------------------------------

    @Test
    void health_everyPostureProviderIsAGauge_flippedDownAndBackUp() throws Exception {
        KeyPair caKeys = keys();
        X509Certificate ca = certificate("CN=Fleet CA", caKeys, "CN=Fleet CA", caKeys, true);
        X509Certificate device = certificate("CN=laptop-9", keys(), "CN=Fleet CA", caKeys, false);
        Files.writeString(dir.resolve("ca.pem"), pem("CERTIFICATE", ca.getEncoded()));
        writeCrl(caKeys);
        Files.writeString(dir.resolve("vpn.txt"), "192.0.2.0/24\n");
        ECKey key = new ECKeyGenerator(Curve.P_256).keyID("mdm-1").generate();
        Files.writeString(dir.resolve("mdm.jwks.json"), new JWKSet(key.toPublicJWK()).toString());
        AtomicInteger status = new AtomicInteger(500);
        HttpServer service = HttpServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        service.createContext("/devices/", exchange -> {
            byte[] body = ("{\"device_id\":\"laptop-9\",\"signals\":{\"compliant\":true}}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status.get(), body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        service.start();
        int closed;
        try (var socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = socket.getLocalPort();
        }
        try {
            posture = GatewayPosture.create(config(FLEET + """
                      assertions:
                        - { name: mdm-file, issuer: "%s", jwks-file: mdm.jwks.json, audiences: [pep] }
                        - { name: mdm-down, issuer: "%s", jwks-uri: "http://127.0.0.1:%d/jwks", audiences: [pep] }
                      services:
                        - { name: mdm-api, url: "http://127.0.0.1:%d/devices/{device-id}", timeout: 2s }
                      networks:
                        - { name: partner-vpn, file: vpn.txt }
                    """.formatted(ISSUER, ISSUER, closed, service.getAddress().getPort())),
                    Clock.systemUTC(), SessionKeys.perConnection());
            SimpleMeterRegistry registry =
                    new SimpleMeterRegistry();
            GatewayMetrics metrics = new GatewayMetrics(registry);
            posture.health().forEach(metrics::provider);
            BiFunction<String, String, Double> up = (kind, name) -> registry
                    .get("pep.provider.up").tags("kind", kind, "provider", name).gauge().value();
            Credentials withDevice = withDevice(device);

            assertThat(posture.health()).extracting(ProviderHealth::kind, ProviderHealth::name)
                    .containsExactlyInAnyOrder(tuple("device_trust", "fleet"),
                            tuple("assertion_keys", "mdm-file"),
                            tuple("assertion_keys", "mdm-down"),
                            tuple("posture_service", "mdm-api"),
                            tuple("network_set", "partner-vpn"));
            assertThat(up.apply("device_trust", "fleet")).isEqualTo(1.0);
            assertThat(up.apply("network_set", "partner-vpn")).isEqualTo(1.0);
            assertThat(up.apply("assertion_keys", "mdm-file")).isEqualTo(1.0);
            await().atMost(Duration.ofSeconds(20)).until(() -> registry.get("pep.provider.failures")
                    .tags("kind", "assertion_keys", "provider", "mdm-down").functionCounter().count() >= 1);
            assertThat(up.apply("assertion_keys", "mdm-down")).isEqualTo(0.0);

            // The posture service: down (500), then answering.
            assertThat(up.apply("posture_service", "mdm-api")).as("before any call").isEqualTo(1.0);
            assess(Subject.anonymous(), withDevice);
            assertThat(up.apply("posture_service", "mdm-api")).isEqualTo(0.0);
            status.set(200);
            assertThat(value(assess(Subject.anonymous(), withDevice), "service.status")).isEqualTo("valid");
            assertThat(up.apply("posture_service", "mdm-api")).isEqualTo(1.0);

            // The network set file: broken, then fixed.
            Path vpn = dir.resolve("vpn.txt");
            Files.writeString(vpn, "192.0.2.0/33\n");
            Files.setLastModifiedTime(vpn, FileTime.from(Instant.now().plusSeconds(5)));
            await().atMost(Duration.ofSeconds(20)).until(() -> up.apply("network_set", "partner-vpn") == 0.0);
            Files.writeString(vpn, "192.0.2.0/24\n");
            Files.setLastModifiedTime(vpn, FileTime.from(Instant.now().plusSeconds(10)));
            await().atMost(Duration.ofSeconds(20)).until(() -> up.apply("network_set", "partner-vpn") == 1.0);

            // The device CRL: broken, fixed, past its next update, current again.
            Files.writeString(dir.resolve("ca.crl"), "not a CRL");
            await().atMost(Duration.ofSeconds(20)).until(() -> up.apply("device_trust", "fleet") == 0.0);
            writeCrl(caKeys);
            await().atMost(Duration.ofSeconds(20)).until(() -> up.apply("device_trust", "fleet") == 1.0);
            writeCrl(caKeys, Instant.now().minus(Duration.ofMinutes(1)));
            await().atMost(Duration.ofSeconds(20)).until(() -> up.apply("device_trust", "fleet") == 0.0);
            writeCrl(caKeys);
            await().atMost(Duration.ofSeconds(20)).until(() -> up.apply("device_trust", "fleet") == 1.0);
            assertThat(registry.get("pep.provider.failures").tags("kind", "device_trust", "provider", "fleet")
                    .functionCounter().count()).as("checks of the broken file").isPositive();
        } finally {
            service.stop(0);
        }
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

    private static Credentials withDevice(X509Certificate device) {
        return new Credentials("app.example", Map.of(), List.of(device), Optional.empty(),
                new Source(InetAddress.getLoopbackAddress(), 40000, Set.of()), Instant.now());
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
        writeCrl(caKeys, Instant.now().plus(Duration.ofDays(1)), revoked);
    }

    private void writeCrl(KeyPair caKeys, Instant nextUpdate, BigInteger... revoked) throws Exception {
        Instant now = Instant.now();
        var b = new X509v2CRLBuilder(new X500Name("CN=Fleet CA"), Date.from(now.minusSeconds(120)));
        b.setNextUpdate(Date.from(nextUpdate));
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
