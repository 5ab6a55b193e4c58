package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Device posture end to end: a policy rule requires {@code device.managed}; the packaged gateway
 * asks for a device certificate issued by a test CA (BouncyCastle), denies curl without one with
 * the plain-words page, and allows it with one. The ClientHellos of curl, openssl and Chromium give
 * different fingerprints, as recorded in the decision audit events.
 */
class PostureIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HOST = "fleet.pep.localhost";
    private static final String POLICY = """
            apps:
              fleet:
                hosts: [fleet.pep.localhost]
                upstream: pep:echo
            rules:
              - id: managed-devices
                apps: [fleet]
                effect: allow
                when: device.managed && device.age < duration("5m")
            """;

    @TempDir
    static Path dir;

    static GatewayProcess gateway;
    static Path deviceCert;
    static Path deviceKey;
    static Path expiredCert;
    static Path expiredKey;

    @BeforeAll
    static void start() throws Exception {
        KeyPair caKeys = keys();
        X509Certificate ca = issue("CN=Fleet Device CA", caKeys, "CN=Fleet Device CA", caKeys,
                true, Instant.now().minus(Duration.ofDays(1)), Duration.ofDays(30));
        Files.writeString(dir.resolve("device-ca.pem"), pem("CERTIFICATE", ca.getEncoded()));
        KeyPair device = keys();
        deviceCert = write("device.pem", pem("CERTIFICATE", issue("CN=laptop-17", device,
                "CN=Fleet Device CA", caKeys, false, Instant.now().minus(Duration.ofHours(1)),
                Duration.ofDays(7)).getEncoded()));
        deviceKey = write("device-key.pem", pem("PRIVATE KEY", device.getPrivate().getEncoded()));
        KeyPair old = keys();
        expiredCert = write("expired.pem", pem("CERTIFICATE", issue("CN=old-laptop", old,
                "CN=Fleet Device CA", caKeys, false, Instant.now().minus(Duration.ofDays(20)),
                Duration.ofDays(7)).getEncoded()));
        expiredKey = write("expired-key.pem", pem("PRIVATE KEY", old.getPrivate().getEncoded()));
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/fleet.yaml"), POLICY);
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("posture-it") + """
                policy:
                  directory: policies
                posture:
                  deadline: 2s
                  device-certificates:
                    - name: fleet-devices
                      ca-bundle: device-ca.pem
                  fingerprint:
                    enabled: true
                """);
    }

    @AfterAll
    static void stop() throws Exception {
        if (gateway != null) {
            try {
                assertThat(gateway.stop(Duration.ofSeconds(30))).as(gateway.stderr()).isZero();
            } finally {
                gateway.close();
            }
        }
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
                "chromium is not installed: curl and openssl compared only");
    }

    /** Runs headless Chromium against the gateway; false when it is not installed. */
    private static boolean chromium() throws Exception {
        String binary = Stream.of("chromium", "chromium-browser", "google-chrome")
                .filter(PostureIT::onPath).findFirst().orElse(null);
        if (binary == null) {
            return false;
        }
        Path profile = Files.createTempDirectory(dir, "chromium");
        ProcessBuilder pb = new ProcessBuilder(binary, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--user-data-dir=" + profile, "--ignore-certificate-errors",
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
