package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Device posture end to end, through the packaged gateway: device certificates from a test CA
 * (BouncyCastle) with a CRL re-read on change, posture assertions signed with a key made here
 * (header and cookie), a posture service on loopback (up, down, slow), a network set file, and the
 * ClientHellos of curl, openssl and Chromium. Policy rules require each signal; every deny names
 * its reason, and no assertion or service token reaches the app, a log line or an audit event.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PostureIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HOST = "fleet.pep.localhost";
    private static final String MDM_ISSUER = "https://mdm.fleet.test";
    private static final String AUDIENCE = "pep-posture-it";
    private static final String SERVICE_TOKEN = "posture-service-token-5b0e8d2c41f7a9";
    private static final String POLICY = """
            apps:
              fleet:
                hosts: [fleet.pep.localhost]
                upstream: pep:echo
              mdm:
                hosts: [mdm.pep.localhost]
                upstream: pep:echo
              svc:
                hosts: [svc.pep.localhost]
                upstream: pep:echo
              net:
                hosts: [net.pep.localhost]
                upstream: pep:echo
              live:
                hosts: [live.pep.localhost]
                upstream: %1$s
              live-ws:
                hosts: [live-ws.pep.localhost]
                upstream: %2$s
            rules:
              - id: managed-devices
                apps: [fleet, live, live-ws]
                effect: allow
                when: device.managed && device.age < duration("5m")
              - id: mdm-managed
                apps: [mdm]
                effect: allow
                when: device.managed && device.age < duration("15m")
              - id: service-compliant
                apps: [svc]
                effect: allow
                # Guarded as docs/posture.md shows: an absent signal is a device shortfall.
                when: >
                  "compliant" in device.signals && device.signals["compliant"].value == true &&
                  device.signals["compliant"].source == "fleet-posture"
              - id: net-open
                apps: [net]
                effect: allow
                when: "true"
              - id: net-blocked
                apps: [net]
                effect: deny
                when: '"blocked" in source.networks'
            """;

    @TempDir
    static Path dir;

    static GatewayProcess gateway;
    static PostureServiceFixture service;
    static RecordingUpstream upstream;
    static WebSocketEchoServer ws;
    static KeyPair caKeys;
    static ECKey mdmKey;
    static ECKey forgerKey;
    static Path deviceCert;
    static Path deviceKey;
    static Path expiredCert;
    static Path expiredKey;
    /** Every posture assertion this class made: none may appear in a log or audit file. */
    static final Set<String> ASSERTIONS = ConcurrentHashMap.newKeySet();

    @BeforeAll
    static void start() throws Exception {
        caKeys = keys();
        X509Certificate ca = issue("CN=Fleet Device CA", caKeys, "CN=Fleet Device CA", caKeys,
                true, Instant.now().minus(Duration.ofDays(1)), Duration.ofDays(30));
        Files.writeString(dir.resolve("device-ca.pem"), pem("CERTIFICATE", ca.getEncoded()));
        writeCrl();
        Device laptop = device("laptop-17");
        deviceCert = laptop.cert();
        deviceKey = laptop.key();
        KeyPair old = keys();
        expiredCert = write("expired.pem", pem("CERTIFICATE", issue("CN=old-laptop", old,
                "CN=Fleet Device CA", caKeys, false, Instant.now().minus(Duration.ofDays(20)),
                Duration.ofDays(7)).getEncoded()));
        expiredKey = write("expired-key.pem", pem("PRIVATE KEY", old.getPrivate().getEncoded()));
        mdmKey = new ECKeyGenerator(Curve.P_256).keyID("mdm-1").generate();
        forgerKey = new ECKeyGenerator(Curve.P_256).keyID("mdm-1").generate();
        Files.writeString(dir.resolve("mdm.jwks.json"), new JWKSet(mdmKey.toPublicJWK()).toString());
        Files.writeString(dir.resolve("posture-token"), SERVICE_TOKEN + "\n");
        Files.writeString(dir.resolve("blocked.txt"), "# documentation range only\n192.0.2.0/24\n");
        service = PostureServiceFixture.start(SERVICE_TOKEN);
        upstream = RecordingUpstream.start(RecordingUpstream.Mode.ANSWER);
        Files.createDirectories(dir.resolve("policies"));
        ws = WebSocketEchoServer.start();
        Files.writeString(dir.resolve("policies/fleet.yaml"), POLICY.formatted(upstream.url(), ws.url()));
        Files.writeString(dir.resolve("gateway.yaml"), GatewayProcess.baseConfig("posture-it") + """
                policy:
                  directory: policies
                sessions:
                  redecide-interval: 1s
                  check-interval: 200ms
                posture:
                  deadline: 6s
                  reload-interval: 200ms
                  device-certificates:
                    - name: fleet-devices
                      ca-bundle: device-ca.pem
                      crls: [device-ca.crl]
                      apps: [fleet, live, live-ws, svc]
                  assertions:
                    - name: fleet-mdm
                      issuer: %s
                      jwks-file: mdm.jwks.json
                      audiences: [%s]
                      algorithms: [ES256]
                      cookie: mdm_posture
                      max-age: 10m
                      apps: [mdm]
                  services:
                    - name: fleet-posture
                      url: http://127.0.0.1:%d/devices/{device-id}
                      token-file: posture-token
                      # Generous for a loaded machine; the slow device answers far later.
                      timeout: 3s
                      apps: [svc]
                  networks:
                    - name: blocked
                      file: blocked.txt
                  fingerprint:
                    enabled: true
                """.formatted(MDM_ISSUER, AUDIENCE, service.port()));
        // DEBUG: the per-request lines are searched for secrets too.
        gateway = GatewayProcess.start(dir.resolve("gateway.yaml"), Map.of("PEP_LOG_LEVEL", "DEBUG"));
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, service, upstream, ws);
    }

    @Test
    void noDeviceCertificate_deniedWithPlainWords() throws Exception {
        ToolResult r = curl("https://" + HOST + ":" + gateway.port() + "/orders");

        assertThat(ProxyingIT.statusLine(r)).as(r.toString()).endsWith(" 403");
        JsonNode error = JSON.readTree(ProxyingIT.body(r));
        assertThat(error.get("error").asText()).isEqualTo("device_not_managed");
        assertThat(error.get("message").asText()).isEqualTo("This application requires a managed "
                + "device; your device did not present a device certificate.");
    }

    @Test
    void noDeviceCertificate_browserGetsTheSameWordsAsHtml() throws Exception {
        ToolResult r = curl("-H", "Accept: text/html", "https://" + HOST + ":" + gateway.port() + "/");

        assertThat(ProxyingIT.statusLine(r)).as(r.toString()).endsWith(" 403");
        assertThat(ProxyingIT.body(r)).contains("This application requires a managed device; your "
                + "device did not present a device certificate.").contains("device_not_managed");
    }

    @Test
    void deviceCertificate_allowedThroughToTheApp() throws Exception {
        ToolResult r = curl("--cert", deviceCert.toString(), "--key", deviceKey.toString(),
                "https://" + HOST + ":" + gateway.port() + "/orders");

        assertThat(ProxyingIT.statusLine(r)).as(r.toString()).endsWith(" 200");
        assertThat(JSON.readTree(ProxyingIT.body(r)).get("path").asText()).isEqualTo("/orders");
    }

    @Test
    void expiredDeviceCertificate_deniedNamingTheExpiry() throws Exception {
        ToolResult r = curl("--cert", expiredCert.toString(), "--key", expiredKey.toString(),
                "https://" + HOST + ":" + gateway.port() + "/");

        assertThat(ProxyingIT.statusLine(r)).as(r.toString()).endsWith(" 403");
        assertThat(JSON.readTree(ProxyingIT.body(r)).get("message").asText())
                .isEqualTo("This application requires a managed device; your device certificate "
                        + "has expired.");
    }

    @Test
    void curlOpensslAndChromium_differentFingerprintsInTheAudit() throws Exception {
        curl("https://" + HOST + ":" + gateway.port() + "/fp/curl");
        byte[] request = ("GET /fp/openssl HTTP/1.1\r\nHost: " + HOST + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        Clients.openssl(gateway.port(), HOST, request, Duration.ofSeconds(20));
        List<String> paths = new ArrayList<>(List.of("/fp/curl", "/fp/openssl"));
        if (chromium()) {
            paths.add("/fp/chromium");
        }

        Map<String, String> fingerprints = new LinkedHashMap<>();
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            fingerprints.clear();
            fingerprints.putAll(fingerprintsByPath(paths));
            assertThat(fingerprints).containsOnlyKeys(paths);
        });

        assertThat(fingerprints.values()).as(fingerprints.toString())
                .allMatch(fp -> fp.matches("t1[23][di]\\d{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}"))
                .doesNotHaveDuplicates();
        assertThat(fingerprints.get("/fp/curl")).as("curl offers h2 by ALPN").contains("h2_");
        Assumptions.assumeTrue(paths.contains("/fp/chromium"),
                "chromium is not installed (.ci/run installs it): curl and openssl compared only");
        assertThat(fingerprints.get("/fp/chromium")).as("Chromium: TLS 1.3, SNI, h2")
                .startsWith("t13d").contains("h2_");
    }

    @Test
    void assertionInHeader_allowed_andTheAppNeverSeesIt() throws Exception {
        String token = assertion("laptop-31", Instant.now().minusSeconds(60), Duration.ofMinutes(10));

        ToolResult r = curlTo("mdm", "-H", "x-device-posture: " + token, "/orders");

        assertThat(ProxyingIT.statusLine(r)).as(r.toString()).endsWith(" 200");
        JsonNode echo = JSON.readTree(ProxyingIT.body(r));
        assertThat(echo.get("path").asText()).isEqualTo("/orders");
        assertThat(headerNames(echo)).doesNotContain("x-device-posture");
        assertThat(ProxyingIT.body(r)).doesNotContain(token);
    }

    @Test
    void assertionInCookie_allowed_andOnlyTheOtherCookiesReachTheApp() throws Exception {
        String token = assertion("laptop-32", Instant.now().minusSeconds(60), Duration.ofMinutes(10));

        ToolResult r = curlTo("mdm", "-H", "Cookie: theme=dark; mdm_posture=" + token + "; lang=en",
                "/cookie");

        assertThat(ProxyingIT.statusLine(r)).as(r.toString()).endsWith(" 200");
        JsonNode echo = JSON.readTree(ProxyingIT.body(r));
        assertThat(header(echo, "cookie")).isEqualTo("theme=dark; lang=en");
        assertThat(ProxyingIT.body(r)).doesNotContain(token);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "expired        | expired | your device's posture statement has expired",
        "forged         | invalid | your device's posture statement could not be verified",
        "stale          | stale   | your device's posture statement is too old",
        "wrong-audience | wrong_audience | your device's posture statement was made for another service"})
    void badAssertion_deniedNamingWhy(String kind, String status, String words) throws Exception {
        Instant now = Instant.now();
        String token = switch (kind) {
            case "expired" -> assertion(claims("laptop-33", now.minus(Duration.ofMinutes(5)),
                    now.minus(Duration.ofMinutes(2))).build(), mdmKey);
            case "forged" -> assertion(claims("laptop-33", now.minusSeconds(30),
                    now.plus(Duration.ofMinutes(10))).build(), forgerKey);
            case "stale" -> assertion(claims("laptop-33", now.minus(Duration.ofMinutes(20)),
                    now.plus(Duration.ofHours(1))).build(), mdmKey);
            default -> assertion(claims("laptop-33", now.minusSeconds(30),
                    now.plus(Duration.ofMinutes(10))).audience("another-gateway").build(), mdmKey);
        };
        String path = "/bad/" + kind;

        ToolResult r = curlTo("mdm", "-H", "x-device-posture: " + token, path);

        assertDenied(r, "device_not_managed", words);
        assertThat(awaitSignals(path)).containsEntry("assertion.status", status)
                .doesNotContainKey("managed");
    }

    @Test
    void assertionReplayedOnAnotherConnection_deniedAsReplayed() throws Exception {
        String token = assertion("laptop-34", Instant.now().minusSeconds(30), Duration.ofMinutes(10));
        ToolResult first = curlTo("mdm", "-H", "x-device-posture: " + token, "/first");
        assertThat(ProxyingIT.statusLine(first)).as(first.toString()).endsWith(" 200");

        // Another curl: another connection, so another requester (no gateway session here).
        ToolResult again = curlTo("mdm", "-H", "x-device-posture: " + token, "/replayed");

        assertDenied(again, "device_not_managed",
                "your device's posture statement was already used by someone else");
        assertThat(awaitSignals("/replayed")).containsEntry("assertion.status", "replayed");
    }

    @Test
    void assertionAboutAnotherDeviceThanTheCertificate_deniedAsWrongDevice() throws Exception {
        String token = assertion("laptop-99", Instant.now().minusSeconds(30), Duration.ofMinutes(10));

        ToolResult r = curlTo("mdm", "--cert", deviceCert.toString(), "--key", deviceKey.toString(),
                "-H", "x-device-posture: " + token, "/wrong-device");

        assertDenied(r, "device_not_managed", "your device's posture statement is about another device");
        assertThat(awaitSignals("/wrong-device")).containsEntry("assertion.status", "wrong_device");
    }

    @Test
    void postureServiceUp_compliantDeviceAllowed() throws Exception {
        Device d = device("laptop-svc");

        ToolResult r = curlTo("svc", "--cert", d.cert().toString(), "--key", d.key().toString(), "/up");

        assertThat(ProxyingIT.statusLine(r)).as(r.toString()).endsWith(" 200");
        assertThat(service.calls("laptop-svc")).isPositive();
        assertThat(awaitSignals("/up")).containsEntry("service.status", "valid")
                .containsEntry("compliant", "true").containsEntry("patch.level", "current");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"down-laptop", "cut-laptop"})
    void postureServiceDown_signalAbsent_deniedNeverCompliant(String device) throws Exception {
        Device d = device(device);
        String path = "/" + device;

        ToolResult r = curlTo("svc", "--cert", d.cert().toString(), "--key", d.key().toString(), path);

        assertDenied(r, "device_requirement_not_met", "the device posture service could not be reached");
        assertThat(service.calls(device)).isPositive();
        assertThat(awaitSignals(path)).containsEntry("service.status", "unavailable")
                .doesNotContainKeys("compliant", "patch.level");
    }

    @Test
    void providerHealth_postureServiceDownThenUp_gaugeFlips_everyPostureProviderListed() throws Exception {
        String service = "pep_provider_up{kind=\"posture_service\",provider=\"fleet-posture\"}";
        assertThat(metrics()).contains(
                "pep_provider_up{kind=\"device_trust\",provider=\"fleet-devices\"} ",
                "pep_provider_up{kind=\"assertion_keys\",provider=\"fleet-mdm\"} 1.0",
                "pep_provider_up{kind=\"network_set\",provider=\"blocked\"} ", service);

        Device down = device("down-health");
        curlTo("svc", "--cert", down.cert().toString(), "--key", down.key().toString(), "/health-down");
        assertThat(metrics()).contains(service + " 0.0");

        Device up = device("health-up");
        ToolResult r = curlTo("svc", "--cert", up.cert().toString(), "--key", up.key().toString(), "/health-up");
        assertThat(ProxyingIT.statusLine(r)).as(r.toString()).endsWith(" 200");
        assertThat(metrics()).contains(service + " 1.0")
                .containsPattern("pep_provider_failures_total\\{kind=\"posture_service\","
                        + "provider=\"fleet-posture\"} [1-9]")
                .containsPattern("pep_posture_assessments_total\\{outcome=\"ok\",provider=\"fleet-posture\"} [1-9]");
    }

    private static String metrics() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + gateway.adminPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void postureServiceSlow_deniedAtItsTimeout_notStalled() throws Exception {
        Device d = device("slow-laptop");
        long started = System.nanoTime();

        ToolResult r = curlTo("svc", "--cert", d.cert().toString(), "--key", d.key().toString(),
                "/slow");

        Duration took = Duration.ofNanos(System.nanoTime() - started);
        // Had the gateway waited for the answer it would have allowed: the service says compliant.
        assertDenied(r, "device_requirement_not_met", "the device posture service could not be reached");
        assertThat(took).as("answered before the slow service").isLessThan(PostureServiceFixture.SLOW);
        assertThat(awaitSignals("/slow")).containsEntry("service.status", "unavailable")
                .doesNotContainKey("compliant");
        System.out.printf("slow posture service (timeout 3s): denied after %d ms%n", took.toMillis());
    }

    @Test
    void networkSetRewritten_sourceNowInTheBlockedSet_denied_thenAllowedAgain() throws Exception {
        assertThat(ProxyingIT.statusLine(curlTo("net", "/before"))).endsWith(" 200");

        Files.writeString(dir.resolve("blocked.txt"), "127.0.0.0/8\n::1/128\n");

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).untilAsserted(() ->
                assertThat(ProxyingIT.statusLine(curlTo("net", "/blocked"))).endsWith(" 403"));
        assertThat(awaitSignals("/blocked")).containsEntry("network.blocked", "true");
        Files.writeString(dir.resolve("blocked.txt"), "192.0.2.0/24\n");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).untilAsserted(() ->
                assertThat(ProxyingIT.statusLine(curlTo("net", "/after"))).endsWith(" 200"));
    }

    @Test
    void deviceRevokedAfterStart_itsSessionsOfEveryKindEnd_anotherDevicesKeepFlowing_andNextRequestDenied()
            throws Exception {
        Device d = device("laptop-revoked");
        List<HeldSession> revoked = holdEveryKind(withDevice(d));
        List<HeldSession> kept = holdEveryKind(withDevice(device("laptop-kept")));
        try {
            long fired = System.nanoTime();
            writeCrl(d.serial());

            List<String> ms = new java.util.ArrayList<>();
            for (HeldSession s : revoked) {
                s.ended.get(30, TimeUnit.SECONDS);
                ms.add(s + "=" + s.msAfter(fired));
            }
            for (HeldSession s : kept) {
                assertThat(s.ended).as(s + " of another device").isNotDone();
                s.assertFlowing();
            }
            assertThat(((HeldSession.Socket) revoked.get(0)).closedWith()).startsWith("1008 ");
            assertThat(((HeldSession.IdleHttp2) revoked.get(4)).goaway).isTrue();
            System.out.printf("device revoked (CRL rewritten, read every 200ms): sessions ended after %s ms%n", ms);
        } finally {
            java.util.stream.Stream.concat(revoked.stream(), kept.stream()).forEach(HeldSession::close);
        }
        ToolResult r = curlTo("fleet", "--cert", d.cert().toString(), "--key", d.key().toString(),
                "/after-revocation");
        assertThat(JSON.readTree(ProxyingIT.body(r)).get("message").asText()).as(r.toString())
                .isEqualTo("This application requires a managed device; your device certificate "
                        + "has been revoked.");
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void assertionsAndServiceToken_inNoLogLineAndNoAuditEvent() throws Exception {
        // Allow and deny paths of this test's own, whatever ran before it.
        String token = assertion("laptop-35", Instant.now().minusSeconds(30), Duration.ofMinutes(10));
        curlTo("mdm", "-H", "x-device-posture: " + token, "/secret/allowed");
        curlTo("mdm", "-H", "x-device-posture: " + token, "/secret/replayed");
        curlTo("mdm", "-H", "Cookie: mdm_posture=" + assertion(claims("laptop-35",
                Instant.now().minusSeconds(30), Instant.now().plusSeconds(600)).build(), forgerKey),
                "/secret/forged");
        Device d = device("laptop-secret");
        curlTo("svc", "--cert", d.cert().toString(), "--key", d.key().toString(), "/secret/service");
        for (String path : List.of("/secret/allowed", "/secret/replayed", "/secret/forged",
                "/secret/service")) {
            awaitSignals(path);
        }

        StringBuilder everything = new StringBuilder(gateway.stderr());
        everything.append(Files.readString(dir.resolve("gateway.yaml.stdout.log")));
        try (Stream<Path> files = Files.walk(dir.resolve(".pep/audit"))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                everything.append(Files.readString(f, StandardCharsets.ISO_8859_1));
            }
        }

        assertThat(everything).as("the audit holds the decisions").contains("/secret/forged");
        assertThat(everything.toString()).doesNotContain(SERVICE_TOKEN);
        assertThat(ASSERTIONS).hasSizeGreaterThan(3);
        for (String assertion : ASSERTIONS) {
            String signature = assertion.substring(assertion.lastIndexOf('.') + 1);
            assertThat(everything.toString()).doesNotContain(assertion).doesNotContain(signature);
        }
    }

    /** Runs headless Chromium against the gateway; false when it is not installed. */
    private static boolean chromium() throws Exception {
        String binary = Stream.of("chromium", "chromium-browser", "google-chrome")
                .filter(PostureIT::onPath).findFirst().orElse(null);
        if (binary == null) {
            return false;
        }
        Path profile = Files.createTempDirectory(dir, "chromium");
        // A fresh profile, nothing fetched in the background: one connection, to the gateway.
        ProcessBuilder pb = new ProcessBuilder(binary, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--user-data-dir=" + profile, "--ignore-certificate-errors",
                "--host-resolver-rules=MAP " + HOST + " 127.0.0.1", "--dump-dom",
                "https://" + HOST + ":" + gateway.port() + "/fp/chromium");
        ToolResult r = ToolResult.run(pb, new byte[0], Duration.ofSeconds(60));
        assertThat(r.timedOut()).as("chromium finished: " + r).isFalse();
        return true;
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    /** The tls.fingerprint of the decision events of those paths, read from the audit files. */
    private static Map<String, String> fingerprintsByPath(List<String> paths) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        Path events = dir.resolve(".pep/audit/events");
        if (!Files.isDirectory(events)) {
            return out;
        }
        try (Stream<Path> files = Files.list(events)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".jsonl")).toList()) {
                for (String line : Files.readAllLines(f)) {
                    JsonNode e = JSON.readTree(line);
                    String path = e.path("http_request").path("url").path("path").asText();
                    if (e.path("type").asText().equals("decision") && paths.contains(path)) {
                        for (JsonNode s : e.path("device").path("posture")) {
                            if (s.path("name").asText().equals("tls.fingerprint")) {
                                out.put(path, s.path("value").asText());
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /** curl to {@code app}.pep.localhost; the last argument is the path. */
    private static ToolResult curlTo(String app, String... args) throws Exception {
        String host = app + ".pep.localhost";
        List<String> all = new ArrayList<>(List.of(args).subList(0, args.length - 1));
        all.add("https://" + host + ":" + gateway.port() + args[args.length - 1]);
        return Clients.curl(gateway.devCa(), host, gateway.port(), all.toArray(String[]::new));
    }

    private static void assertDenied(ToolResult r, String code, String words) throws IOException {
        assertThat(ProxyingIT.statusLine(r)).as(r.toString()).endsWith(" 403");
        JsonNode error = JSON.readTree(ProxyingIT.body(r));
        assertThat(error.get("error").asText()).as(r.toString()).isEqualTo(code);
        assertThat(error.get("message").asText()).as(r.toString()).contains(words);
    }

    /** The posture signals of the decision event of that path, as text, once it is written. */
    private static Map<String, String> awaitSignals(String path) {
        Map<String, String> signals = new LinkedHashMap<>();
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            signals.clear();
            signals.putAll(signalsOf(path));
            assertThat(signals).as("a decision event for " + path).isNotEmpty();
        });
        return signals;
    }

    private static Map<String, String> signalsOf(String path) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        Path events = dir.resolve(".pep/audit/events");
        if (!Files.isDirectory(events)) {
            return out;
        }
        try (Stream<Path> files = Files.list(events)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".jsonl")).toList()) {
                for (String line : Files.readAllLines(f)) {
                    JsonNode e = JSON.readTree(line);
                    if (e.path("type").asText().equals("decision")
                            && e.path("http_request").path("url").path("path").asText().equals(path)) {
                        for (JsonNode s : e.path("device").path("posture")) {
                            out.put(s.path("name").asText(), s.path("value").asText());
                        }
                    }
                }
            }
        }
        return out;
    }

    private static List<String> headerNames(JsonNode echo) {
        List<String> names = new ArrayList<>();
        echo.get("headers").forEach(h -> names.add(h.get(0).asText().toLowerCase(java.util.Locale.ROOT)));
        return names;
    }

    private static String header(JsonNode echo, String name) {
        for (JsonNode h : echo.get("headers")) {
            if (h.get(0).asText().equalsIgnoreCase(name)) {
                return h.get(1).asText();
            }
        }
        return null;
    }

    private static JWTClaimsSet.Builder claims(String device, Instant issued, Instant expires) {
        return new JWTClaimsSet.Builder().issuer(MDM_ISSUER).audience(AUDIENCE)
                .issueTime(Date.from(issued)).expirationTime(Date.from(expires))
                .jwtID(UUID.randomUUID().toString()).claim("device_id", device)
                .claim("managed", true).claim("compliant", true).claim("os_name", "linux");
    }

    private static String assertion(String device, Instant issued, Duration life) throws JOSEException {
        return assertion(claims(device, issued, issued.plus(life)).build(), mdmKey);
    }

    /** A posture assertion signed by that key, remembered for the secrets test. */
    private static String assertion(JWTClaimsSet claims, ECKey key) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256)
                .keyID(key.getKeyID()).build(), claims);
        jwt.sign(new ECDSASigner(key));
        String token = jwt.serialize();
        ASSERTIONS.add(token);
        return token;
    }

    /** A device certificate of the fleet CA and its key, in files and in memory. */
    private static Device device(String cn) throws Exception {
        KeyPair keys = keys();
        X509Certificate cert = issue("CN=" + cn, keys, "CN=Fleet Device CA", caKeys, false,
                Instant.now().minus(Duration.ofHours(1)), Duration.ofDays(7));
        return new Device(write(cn + ".pem", pem("CERTIFICATE", cert.getEncoded())),
                write(cn + "-key.pem", pem("PRIVATE KEY", keys.getPrivate().getEncoded())), keys, cert);
    }

    /** Writes the fleet CA's CRL, revoking those serials, the way a CA publishes a new one. */
    private static void writeCrl(BigInteger... revoked) throws Exception {
        Instant now = Instant.now();
        var b = new X509v2CRLBuilder(new X500Name("CN=Fleet Device CA"), Date.from(now.minusSeconds(60)));
        b.setNextUpdate(Date.from(now.plus(Duration.ofDays(1))));
        for (BigInteger serial : revoked) {
            b.addCRLEntry(serial, Date.from(now.minusSeconds(1)), 0);
        }
        byte[] der = new JcaX509CRLConverter().getCRL(b.build(
                new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate()))).getEncoded();
        // Written aside and moved, so the gateway never reads half a file.
        Path tmp = write("device-ca.crl.tmp", pem("X509 CRL", der));
        Files.move(tmp, dir.resolve("device-ca.crl"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** A session of every HTTP kind on the apps live-ws and live, from the device {@code tls} presents. */
    private static List<HeldSession> holdEveryKind(SSLContext tls) throws Exception {
        int port = gateway.port();
        HttpClient own1 = HttpClient.newBuilder().sslContext(tls).version(HttpClient.Version.HTTP_1_1).build();
        HttpClient own2 = HttpClient.newBuilder().sslContext(tls).version(HttpClient.Version.HTTP_2).build();
        HeldSession.Auth none = HeldSession.Auth.NONE;
        return List.of(new HeldSession.Socket(own1, port, "live-ws", none),
                new HeldSession.Events(own1, port, "live", none), new HeldSession.Events(own2, port, "live", none),
                new HeldSession.IdleHttp1(tls, port, "live", none), new HeldSession.IdleHttp2(tls, port, "live", none));
    }

    /** A TLS context that trusts the gateway's development CA and presents the device's certificate. */
    private static SSLContext withDevice(Device d) throws Exception {
        char[] password = "it".toCharArray();
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("device", d.keys().getPrivate(), password, new Certificate[] {d.x509()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, password);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (var in = Files.newInputStream(gateway.devCa())) {
            trust.setCertificateEntry("pep-dev-ca",
                    java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    private record Device(Path cert, Path key, KeyPair keys, X509Certificate x509) {
        BigInteger serial() {
            return x509.getSerialNumber();
        }
    }

    private static ToolResult curl(String... args) throws Exception {
        return Clients.curl(gateway.devCa(), HOST, gateway.port(), args);
    }

    private static Path write(String name, String content) {
        try {
            return Files.writeString(dir.resolve(name), content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static KeyPair keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        return g.generateKeyPair();
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static X509Certificate issue(String subject, KeyPair subjectKeys, String issuer,
            KeyPair issuerKeys, boolean ca, Instant notBefore, Duration life) throws Exception {
        var b = new JcaX509v3CertificateBuilder(new X500Name(issuer),
                BigInteger.valueOf(System.nanoTime()), Date.from(notBefore),
                Date.from(notBefore.plus(life)), new X500Name(subject), subjectKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(ca
                ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature));
        if (!ca) {
            b.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
        }
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate())));
    }
}
