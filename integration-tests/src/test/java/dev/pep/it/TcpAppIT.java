package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * TCP apps through the packaged gateway: chosen by SNI, the partner authenticated by a client
 * certificate of a test partner CA, decided as {@code CONNECT}, spliced to real TCP and TLS
 * servers on loopback; reached with {@code openssl s_client} and JDK TLS sockets.
 */
class TcpAppIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int LARGE = 64 * 1024 * 1024;
    private static final String TOKEN = "it-tcp-admin-token-0123456789abcdef";
    /** From trigger to the affected session closed, on a loaded machine. */
    private static final Duration BOUND = Duration.ofSeconds(5);
    private static final Duration MAX_SESSION = Duration.ofSeconds(6);
    /** The idle case's rule's idle limit; its busy session echoes far more often. */
    private static final Duration IDLE = Duration.ofSeconds(3);
    private static final String POLICY = """
            apps:
              echo:
                hosts: [echo.pep.localhost]
                protocol: tcp
                upstream: tcp://127.0.0.1:%1$d
              vault:
                hosts: [vault.pep.localhost]
                protocol: tcp
                upstream: tcp://127.0.0.1:%2$d
              bulk:
                hosts: [bulk.pep.localhost]
                protocol: tcp
                upstream: tcp://127.0.0.1:%3$d
              keep:
                hosts: [keep.pep.localhost]
                protocol: tcp
                upstream: tcp://127.0.0.1:%1$d
              gone:
                hosts: [gone.pep.localhost]
                protocol: tcp
                upstream: tcp://127.0.0.1:%1$d
              secure:
                hosts: [secure.pep.localhost]
                protocol: tcp
                upstream: tls://localhost:%4$d
              forged:
                hosts: [forged.pep.localhost]
                protocol: tcp
                upstream: tls://localhost:%5$d
              depot:
                hosts: [depot.pep.localhost]
                protocol: tcp
                connector: depot-1
              tunnelled:
                hosts: [tunnelled.pep.localhost]
                protocol: tcp
                connector: tcp-depot
              sealed:
                hosts: [sealed.pep.localhost]
                protocol: tcp
                upstream: tls://localhost:%6$d
              sealed-bare:
                hosts: [sealed-bare.pep.localhost]
                protocol: tcp
                upstream: tls://localhost:%6$d
              tunnelled-bulk:
                hosts: [tunnelled-bulk.pep.localhost]
                protocol: tcp
                connector: half-depot
              desk:
                hosts: [desk.pep.localhost]
                protocol: tcp
                upstream: tcp://127.0.0.1:%1$d
              ledger:
                hosts: [ledger.pep.localhost]
                protocol: tcp
                upstream: tcp://127.0.0.1:%2$d
              rotating:
                hosts: [rotating.pep.localhost]
                protocol: tcp
                upstream: tcp://127.0.0.1:%1$d
              race:
                hosts: [race.pep.localhost]
                protocol: tcp
                upstream: tcp://127.0.0.1:%1$d
              web:
                hosts: [web.pep.localhost]
                upstream: "pep:echo"
            rules:
              - id: collectors
                apps: [echo, vault, bulk, keep, secure, forged, depot, desk, tunnelled, race, tunnelled-bulk,
                       sealed, sealed-bare, rotating]
                effect: allow
                when: >
                  subject.method == "client_certificate" && subject.id == "collector-1" &&
                  request.method == "CONNECT" && request.protocol == "TCP"
                obligations: { max-session: 1h }
              - id: ledger-readers
                apps: [ledger]
                effect: allow
                when: subject.id == "collector-1"
                obligations: { isolation: read-only }
            """;
    private static final String GONE_RULE = """
              - id: gone-while-it-lasts
                apps: [gone]
                effect: allow
                when: subject.id == "collector-1"
            """;

    @TempDir
    static Path dir;

    static TcpFixture lines;
    static TcpFixture vault;
    static TcpFixture bulk;
    static TcpFixture tunnelledBulk;
    static TcpFixture secure;
    static TcpFixture forged;
    static TcpFixture sealed;
    static GatewayProcess gateway;
    static Path collectorCert;
    static Path collectorKey;
    static Path malloryCert;
    static Path malloryKey;
    static SSLContext collector;
    static KeyPair partnerCa;
    /** Per trigger: from the trigger to the affected openssl session's end, in ms. */
    static final Map<String, Long> MEASURED = new java.util.concurrent.ConcurrentHashMap<>();
    static KeyPair oldPartnerKeys;
    static X509Certificate oldPartner;
    static KeyPair newPartnerKeys;
    static X509Certificate newPartner;
    static X509Certificate rotatingClient;
    static Path rotatingCert;
    static Path rotatingKey;

    @BeforeAll
    static void start() throws Exception {
        partnerCa = keys();
        X509Certificate partner = issue("CN=Partner CA", partnerCa, "CN=Partner CA", partnerCa, true, null);
        write("partner-ca.pem", pem("CERTIFICATE", partner.getEncoded()));
        KeyPair c = keys();
        X509Certificate cc = issue("CN=collector-1,O=northwind", c, "CN=Partner CA", partnerCa, false, null);
        collectorCert = write("collector.pem", pem("CERTIFICATE", cc.getEncoded()));
        collectorKey = write("collector-key.pem", pem("PRIVATE KEY", c.getPrivate().getEncoded()));
        KeyPair m = keys();
        malloryCert = write("mallory.pem", pem("CERTIFICATE",
                issue("CN=mallory,O=northwind", m, "CN=Partner CA", partnerCa, false, null).getEncoded()));
        malloryKey = write("mallory-key.pem", pem("PRIVATE KEY", m.getPrivate().getEncoded()));

        // A partner whose CA changes while the gateway runs: its bundle and CRL files are rewritten.
        oldPartnerKeys = keys();
        oldPartner = issue("CN=Old Partner CA", oldPartnerKeys, "CN=Old Partner CA", oldPartnerKeys, true, null);
        newPartnerKeys = keys();
        newPartner = issue("CN=New Partner CA", newPartnerKeys, "CN=New Partner CA", newPartnerKeys, true, null);
        write("rotating-ca.pem", pem("CERTIFICATE", oldPartner.getEncoded()));
        write("rotating.crl", pem("X509 CRL", crl(oldPartner, oldPartnerKeys).getEncoded()));
        KeyPair r = keys();
        rotatingClient = issue("CN=collector-1,O=northwind", r, "CN=New Partner CA", newPartnerKeys, false, null);
        rotatingCert = write("rotating-client.pem", pem("CERTIFICATE", rotatingClient.getEncoded()));
        rotatingKey = write("rotating-client-key.pem", pem("PRIVATE KEY", r.getPrivate().getEncoded()));

        KeyPair appCaKeys = keys();
        X509Certificate appCa = issue("CN=App CA", appCaKeys, "CN=App CA", appCaKeys, true, null);
        KeyPair appKeys = keys();
        X509Certificate appCert = issue("CN=localhost", appKeys, "CN=App CA", appCaKeys, false, "localhost");
        KeyPair rogueKeys = keys();
        X509Certificate rogueCert = issue("CN=localhost", rogueKeys, "CN=localhost", rogueKeys, false, "localhost");
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("app-ca", appCa);
        try (OutputStream out = Files.newOutputStream(dir.resolve("app-trust.p12"))) {
            trust.store(out, "changeit".toCharArray());
        }

        lines = TcpFixture.start(TcpFixture.Mode.LINE_ECHO);
        vault = TcpFixture.start(TcpFixture.Mode.LINE_ECHO);
        bulk = TcpFixture.start(TcpFixture.Mode.ECHO);
        tunnelledBulk = TcpFixture.start(TcpFixture.Mode.ECHO);
        secure = TcpFixture.startTls(TcpFixture.Mode.LINE_ECHO, serverTls(appKeys, appCert));
        forged = TcpFixture.startTls(TcpFixture.Mode.LINE_ECHO, serverTls(rogueKeys, rogueCert));
        // An app that requires the gateway's client certificate (tls.upstream-client-certificates).
        KeyPair gatewayCaKeys = keys();
        X509Certificate gatewayCa = issue("CN=Gateway clients", gatewayCaKeys, "CN=Gateway clients", gatewayCaKeys,
                true, null);
        KeyPair gatewayKeys = keys();
        X509Certificate gatewayCert = issue("CN=pep-gateway", gatewayKeys, "CN=Gateway clients", gatewayCaKeys, false,
                null);
        write("gateway-client.pem", pem("CERTIFICATE", gatewayCert.getEncoded()));
        write("gateway-client-key.pem", pem("PRIVATE KEY", gatewayKeys.getPrivate().getEncoded()));
        sealed = TcpFixture.startMutualTls(TcpFixture.Mode.LINE_ECHO, mutualServerTls(appKeys, appCert, gatewayCa));
        Files.createDirectories(dir.resolve("policies"));
        writePolicy(true);
        writeMatrix("apps: {}\n");
        Files.writeString(dir.resolve("admin-tokens"), "alice " + TOKEN + "\n");
        String yaml = GatewayProcess.sessionsConfig("it-tcp").replace("tls:\n", """
                tls:
                  reload-interval: 200ms
                  upstream-client-certificates:
                    - apps: [sealed]
                      certificate: gateway-client.pem
                      key: gateway-client-key.pem
                """) + """
                identity:
                  session-keys: session-keys
                  client-certificates:
                    - ca-bundle: partner-ca.pem
                      hosts: ["*.pep.localhost"]
                    - ca-bundle: rotating-ca.pem
                      crls: [rotating.crl]
                      hosts: [rotating.pep.localhost]
                tcp:
                  idle-timeout: 2m
                  max-duration: 1h
                connectors:
                  port: 0
                  state-directory: connectors
                """;
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(file, yaml);
        // The gateway trusts the test App CA for tls:// upstreams, as an operator's trust store would.
        gateway = GatewayProcess.start(file, Map.of("PEP_JAVA_OPTS", "-Xms64m -Djavax.net.ssl.trustStore="
                + dir.resolve("app-trust.p12") + " -Djavax.net.ssl.trustStorePassword=changeit"
                + " -Djavax.net.ssl.trustStoreType=PKCS12"));
        collector = clientTls(c, cc);
    }

    @AfterAll
    static void stop() throws Exception {
        MEASURED.forEach((trigger, ms) -> System.out.printf("tcp trigger %s: openssl session ended after %d ms%n",
                trigger, ms));
        GatewayProcess.stopAll(gateway, lines, vault, bulk, tunnelledBulk, secure, forged, sealed);
    }

    @Test
    void opensslWithClientCertificate_reachesTheTcpApp_withoutAlpn() throws Exception {
        ToolResult r = openssl("echo.pep.localhost", List.of("-cert", collectorCert.toString(),
                "-key", collectorKey.toString()), "hello through the gateway\nquit\n");

        assertThat(r.timedOut()).as(r.toString()).isFalse();
        assertThat(r.out()).as(r.toString()).contains("hello through the gateway\nquit\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> !ended("echo").isEmpty());
        assertThat(ended("echo").get(0).get("status_detail").asText()).isIn("closed", "app_closed");
        JsonNode decision = events("decision", "echo").get(0);
        assertThat(decision.get("decision").get("effect").asText()).isEqualTo("allow");
        assertThat(decision.get("decision").get("rule").asText()).isEqualTo("collectors");
        assertThat(decision.get("http_request").get("http_method").asText()).isEqualTo("CONNECT");
        assertThat(decision.get("actor").get("user").get("uid").asText()).isEqualTo("collector-1");
    }

    @Test
    void clientOfferingHttpAlpn_getsNoProtocolSelected_andStillReachesTheApp() throws Exception {
        ToolResult r = openssl("echo.pep.localhost", List.of("-cert", collectorCert.toString(),
                "-key", collectorKey.toString(), "-alpn", "h2,http/1.1"), "offered alpn\nquit\n");

        assertThat(r.out()).as(r.toString()).contains("No ALPN negotiated").contains("offered alpn\n");
    }

    @Test
    void noClientCertificate_closedAfterTheHandshake_certificateRequired() throws Exception {
        int before = vault.connections();

        ToolResult r = openssl("vault.pep.localhost", List.of(), "anonymous\nquit\n");

        assertThat(r.timedOut()).as("the gateway closes the connection; " + r).isFalse();
        assertThat(r.out()).doesNotContain("anonymous");
        await().atMost(Duration.ofSeconds(10)).until(() -> denials("vault", "certificate_required") >= 1);
        assertThat(vault.connections()).as("nothing reached the app").isEqualTo(before);
    }

    @Test
    void deniedSubject_closed_nothingReachesTheApp_andTheDenialIsAudited() throws Exception {
        ToolResult r = openssl("vault.pep.localhost", List.of("-cert", malloryCert.toString(),
                "-key", malloryKey.toString()), "let me in\nquit\n");

        assertThat(r.timedOut()).as(r.toString()).isFalse();
        assertThat(r.out()).doesNotContain("let me in");
        await().atMost(Duration.ofSeconds(10)).until(() -> denials("vault", "no_matching_rule") >= 1);
        assertThat(vault.connections()).isZero();
        assertThat(vault.received()).isZero();
        JsonNode denied = events("decision", "vault").stream()
                .filter(e -> e.get("actor").get("user").get("uid").asText().equals("mallory")).findFirst()
                .orElseThrow();
        assertThat(denied.get("decision").get("effect").asText()).isEqualTo("deny");
    }

    @Test
    void allowWithReadOnlyObligation_aStreamCannotHonourIt_closed_obligationNotEnforceable() throws Exception {
        try (SSLSocket s = connect("ledger.pep.localhost")) {
            s.setSoTimeout(15_000);
            assertThat(readToEnd(s)).isTrue();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> denials("ledger", "obligation_not_enforceable") >= 1);
        assertThat(vault.connections()).as("nothing reached the app").isZero();
    }

    @Test
    void largeTransfer_64MiB_bothWays_sha256Matches_andHalfCloseEndsItCleanly() throws Exception {
        try (SSLSocket s = connect("bulk.pep.localhost")) {
            s.setSoTimeout(60_000);
            CompletableFuture<String> sent = CompletableFuture.supplyAsync(() -> send(s, LARGE));
            MessageDigest got = MessageDigest.getInstance("SHA-256");
            long started = System.nanoTime();
            long read = readAll(s, got);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            String sentDigest = sent.get(60, TimeUnit.SECONDS);

            assertThat(read).isEqualTo(LARGE);
            assertThat(HexFormat.of().formatHex(got.digest())).as("client to app to client").isEqualTo(sentDigest);
            await().atMost(Duration.ofSeconds(10)).until(() -> !bulk.digests().isEmpty());
            assertThat(bulk.digests()).as("what the app received").containsExactly(sentDigest);
            System.out.printf("tcp splice: 64 MiB each way in %d ms (%.1f MiB/s each way)%n", ms,
                    64.0 * 1000 / Math.max(1, ms));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !ended("bulk").isEmpty());
        JsonNode ended = ended("bulk").get(0);
        assertThat(ended.get("traffic").get("bytes_in").asLong()).as("TLS records included").isGreaterThan(LARGE);
        assertThat(ended.get("traffic").get("bytes_out").asLong()).isGreaterThan(LARGE);
        assertThat(ended.get("status_detail").asText()).isEqualTo("closed");
        assertThat(metrics()).contains("pep_tcp_sessions_total{app=\"bulk\",outcome=\"closed\"}");
    }

    @Test
    void policyChange_endsTheDeniedTcpSession_whileAnotherAppsSessionKeepsFlowing() throws Exception {
        try (SSLSocket gone = connect("gone.pep.localhost"); SSLSocket keep = connect("keep.pep.localhost")) {
            assertThat(echo(gone, "before")).isEqualTo("before");
            assertThat(echo(keep, "before")).isEqualTo("before");

            writePolicy(false);

            gone.setSoTimeout(15_000);
            assertThat(readToEnd(gone)).as("the gateway closed the denied session").isTrue();
            assertThat(echo(keep, "after")).isEqualTo("after");
            assertThat(echo(keep, "still")).isEqualTo("still");
        } finally {
            writePolicy(true);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> events("revocation", "gone").stream()
                .anyMatch(e -> e.get("status_detail").asText().equals("no_matching_rule")));
        assertThat(events("revocation", "keep")).isEmpty();
    }

    @Test
    void admin_listsTheLiveTcpSession_andEndingItClosesTheConnection() throws Exception {
        try (SSLSocket s = connect("desk.pep.localhost")) {
            assertThat(echo(s, "at the desk")).isEqualTo("at the desk");

            JsonNode listed = JSON.readTree(admin("GET", "/api/v1/sessions?app=desk").body());
            assertThat(listed.get("count").asInt()).isEqualTo(1);
            JsonNode session = listed.get("sessions").get(0);
            assertThat(session.get("kind").asText()).isEqualTo("tcp");
            assertThat(session.get("subject").asText()).isEqualTo("collector-1");
            assertThat(session.get("rule").asText()).isEqualTo("collectors");

            assertThat(JSON.readTree(admin("POST", "/api/v1/sessions/end?app=desk").body()).get("ended").asInt())
                    .isEqualTo(1);
            s.setSoTimeout(15_000);
            assertThat(readToEnd(s)).as("the operator's end closed the connection").isTrue();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> ended("desk").stream()
                .anyMatch(e -> e.get("status_detail").asText().equals("admin_ended")));
    }

    static Stream<String> triggers() {
        return Stream.of("policy-change", "admin-end-app", "max-session", "reevaluate", "certificate-expiry",
                "app-expiry", "app-removal", "idle");
    }

    /**
     * Each trigger against a TCP session held by {@code openssl s_client}: it ends within the
     * bound, while another openssl session (app {@code keep}; for {@code idle}, a busy one of the
     * same rule) keeps echoing.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("triggers")
    void trigger_endsTheOpensslSession_withinTheBound_andAnotherKeepsFlowing(String trigger) throws Exception {
        TcpCase c = prepare(trigger);
        boolean idle = trigger.equals("idle");
        try (HeldSession kept = new HeldSession.OpensslTcp(gateway.port(), gateway.devCa(), idle ? c.app() : "keep",
                collectorCert, collectorKey);
                AutoCloseable busy = idle ? HeldSession.keepBusy(List.of(kept), Duration.ofMillis(300)) : () -> { };
                HeldSession affected = new HeldSession.OpensslTcp(gateway.port(), gateway.devCa(), c.app(),
                        c.cert(), c.key())) {
            // max-session and idle: the session's own limit from its start (its last byte).
            long fired = c.fire() == null ? affected.opened + (idle ? IDLE : MAX_SESSION).toNanos() : c.fire().call();

            affected.ended.get(Math.max(0, fired - System.nanoTime()) + BOUND.toNanos(), TimeUnit.NANOSECONDS);
            assertThat(affected.msAfter(fired)).as("ended after its trigger").isGreaterThan(-300);
            MEASURED.put(trigger, affected.msAfter(fired));
            if (idle) {
                await().during(IDLE.multipliedBy(2)).atMost(IDLE.multipliedBy(3)).until(() -> !kept.ended.isDone());
            }
            assertThat(kept.ended).isNotDone();
            kept.assertFlowing();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> events("revocation", c.app()).stream()
                .anyMatch(e -> e.get("status_detail").asText().equals(c.reason())));
        assertThat(events("revocation", "keep")).isEmpty();
        if (idle) {
            assertThat(events("revocation", c.app())).as("only the quiet one").hasSize(1);
        }
    }

    /** One TCP case: its app, the client's certificate, the trigger (null: max-session), the reason. */
    private record TcpCase(String app, Path cert, Path key, java.util.concurrent.Callable<Long> fire,
            String reason) {
    }

    private static TcpCase prepare(String trigger) throws Exception {
        return switch (trigger) {
            case "policy-change" -> {
                matrix("tpc", "", "");
                yield new TcpCase("tpc", collectorCert, collectorKey, () -> {
                    long at = System.nanoTime();
                    writeMatrix(tcpApp("tpc", ""));
                    return at;
                }, "no_matching_rule");
            }
            case "admin-end-app" -> {
                matrix("tae", "", "");
                yield new TcpCase("tae", collectorCert, collectorKey, () -> {
                    long at = System.nanoTime();
                    assertThat(JSON.readTree(admin("POST", "/api/v1/sessions/end?app=tae").body()).get("ended")
                            .asInt()).isEqualTo(1);
                    return at;
                }, "admin_ended");
            }
            case "max-session" -> {
                matrix("tms", "", "{ max-session: " + MAX_SESSION.toSeconds() + "s }");
                yield new TcpCase("tms", collectorCert, collectorKey, null, "session_limit");
            }
            case "reevaluate" -> {
                Instant until = Instant.now().plusSeconds(12).truncatedTo(ChronoUnit.SECONDS);
                matrix("trv", "", "{ reevaluate: 1s }", "context.time < timestamp(\"" + until + "\")");
                yield new TcpCase("trv", collectorCert, collectorKey, () -> at(until), "no_matching_rule");
            }
            case "certificate-expiry" -> {
                Instant notAfter = Instant.now().plusSeconds(12).truncatedTo(ChronoUnit.SECONDS);
                KeyPair k = keys();
                Path cert = write("short-lived.pem", pem("CERTIFICATE", issue("CN=collector-1,O=northwind", k,
                        "CN=Partner CA", partnerCa, false, null, notAfter).getEncoded()));
                Path key = write("short-lived-key.pem", pem("PRIVATE KEY", k.getPrivate().getEncoded()));
                matrix("tce", "", "");
                yield new TcpCase("tce", cert, key, () -> at(notAfter), "authentication_ended");
            }
            case "app-expiry" -> {
                Instant expires = Instant.now().plusSeconds(12).truncatedTo(ChronoUnit.SECONDS);
                matrix("tex", "    lifecycle: episodic\n    expires: " + expires + "\n", "");
                yield new TcpCase("tex", collectorCert, collectorKey, () -> at(expires), "app_expired");
            }
            case "idle" -> {
                matrix("tid", "", "{ idle: " + IDLE.toSeconds() + "s }");
                yield new TcpCase("tid", collectorCert, collectorKey, null, "idle_limit");
            }
            case "app-removal" -> {
                matrix("trm", "", "");
                yield new TcpCase("trm", collectorCert, collectorKey, () -> {
                    long at = System.nanoTime();
                    writeMatrix("apps: {}\n");
                    return at;
                }, "app_removed");
            }
            default -> throw new IllegalArgumentException(trigger);
        };
    }

    /** The nanoTime of {@code instant}, measured now. */
    private static long at(Instant instant) {
        return System.nanoTime() + Duration.between(Instant.now(), instant).toNanos();
    }

    private static void matrix(String app, String appExtra, String obligations) throws Exception {
        matrix(app, appExtra, obligations, "subject.id == \"collector-1\"");
    }

    /** Writes a TCP app and its rule, and waits until a session reaches it. */
    private static void matrix(String app, String appExtra, String obligations, String when) throws Exception {
        writeMatrix(tcpApp(app, appExtra) + """
                rules:
                  - id: %s-rule
                    apps: [%s]
                    effect: allow
                    when: '%s'
                """.formatted(app, app, when)
                + (obligations.isEmpty() ? "" : "    obligations: " + obligations + "\n"));
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> {
            try (SSLSocket s = connect(app + ".pep.localhost")) {
                return echo(s, "ready").equals("ready");
            } catch (IOException e) {
                return false;
            }
        });
    }

    private static String tcpApp(String app, String extra) {
        return """
                apps:
                  %1$s:
                    hosts: [%1$s.pep.localhost]
                    protocol: tcp
                    upstream: tcp://127.0.0.1:%2$d
                """.formatted(app, lines.port()) + extra;
    }

    private static void writeMatrix(String policy) throws IOException {
        Path tmp = dir.resolve("policies/.matrix.yaml.tmp");
        Files.writeString(tmp, policy);
        Files.move(tmp, dir.resolve("policies/matrix.yaml"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void adminEndOfTheSubject_racedByNewTcpSessions_leavesNoneDecidedBeforeIt() throws Exception {
        java.util.Queue<SSLSocket> opened = new java.util.concurrent.ConcurrentLinkedQueue<>();
        java.util.concurrent.atomic.AtomicBoolean racing = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread racer = new Thread(() -> {
            while (racing.get()) {
                try {
                    SSLSocket s = connect("race.pep.localhost");
                    if (echo(s, "racing").equals("racing")) {
                        opened.add(s);
                    }
                } catch (IOException e) {
                    // Ended while it opened: what the end should do.
                }
            }
        }, "tcp-racer");
        racer.start();
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> opened.size() >= 3);
            List<SSLSocket> before = List.copyOf(opened);

            Instant asked = Instant.now();
            HttpResponse<String> ended = admin("POST", "/api/v1/sessions/end?subject=collector-1&app=race");
            int more = opened.size() + 3;
            await().atMost(Duration.ofSeconds(20)).until(() -> opened.size() >= more);
            racing.set(false);
            racer.join(20_000);

            assertThat(ended.statusCode()).isEqualTo(200);
            for (SSLSocket s : before) {
                s.setSoTimeout(10_000);
                assertThat(readToEnd(s)).as("opened before the end, closed by it").isTrue();
            }
            JsonNode live = JSON.readTree(admin("GET", "/api/v1/sessions?app=race").body());
            for (JsonNode s : live.get("sessions")) {
                assertThat(Instant.parse(s.get("started").asText())).as("decided before the end: " + s)
                        .isAfterOrEqualTo(asked.truncatedTo(ChronoUnit.MILLIS));
            }
            assertThat(live.get("count").asInt()).as("sessions opened after the end live on").isPositive();
            System.out.printf("tcp admin end raced by %d sessions: %d ended by it, %d live after it%n",
                    opened.size(), JSON.readTree(ended.body()).get("ended").asInt(), live.get("count").asInt());
        } finally {
            racing.set(false);
            for (SSLSocket s : opened) {
                s.close();
            }
        }
    }

    @Test
    void tlsUpstream_verifiedAgainstTheGatewaysTrust_relays() throws Exception {
        try (SSLSocket s = connect("secure.pep.localhost")) {
            assertThat(echo(s, "over tls both ways")).isEqualTo("over tls both ways");
        }
        assertThat(secure.connections()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void tlsUpstreamRequiringAClientCertificate_acceptsTheGateways_refusesWithoutIt_upstreamTlsFailed()
            throws Exception {
        try (SSLSocket s = connect("sealed.pep.localhost")) {
            assertThat(echo(s, "mutual tls to the app")).isEqualTo("mutual tls to the app");
        }
        long received = sealed.received();

        try (SSLSocket s = connect("sealed-bare.pep.localhost")) {
            s.getOutputStream().write("secret\n".getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            s.setSoTimeout(15_000);
            assertThat(readToEnd(s)).isTrue();
        }

        await().atMost(Duration.ofSeconds(10)).until(() -> !ended("sealed-bare").isEmpty());
        assertThat(ended("sealed-bare").get(0).get("status_detail").asText()).isEqualTo("upstream_tls_failed");
        assertThat(sealed.received()).as("no plaintext reached the app without the certificate").isEqualTo(received);
    }

    @Test
    void tlsUpstream_untrustedCertificate_closed_upstreamTlsFailed() throws Exception {
        try (SSLSocket s = connect("forged.pep.localhost")) {
            s.getOutputStream().write("secret\n".getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            s.setSoTimeout(15_000);
            assertThat(readToEnd(s)).isTrue();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> ended("forged").stream()
                .anyMatch(e -> e.get("status_detail").asText().equals("upstream_tls_failed")));
        assertThat(forged.received()).as("no plaintext reached the unverified app").isZero();
    }

    @Test
    void connectorApp_withoutATunnel_failsClosed_noConnector() throws Exception {
        try (SSLSocket s = connect("depot.pep.localhost")) {
            s.setSoTimeout(15_000);
            assertThat(readToEnd(s)).isTrue();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> ended("depot").stream()
                .anyMatch(e -> e.get("status_detail").asText().equals("no_connector")));
    }

    @Test
    void connectorApp_throughItsTunnel_isSplicedToTheAppBehindTheConnector() throws Exception {
        int before = lines.connections();
        try (ConnectorProcess connector = connector("tcp-depot", "tunnelled", lines.port())) {
            awaitEcho("tunnelled.pep.localhost", "through the tunnel");
            assertThat(lines.connections()).isGreaterThan(before);

            // A live session through the tunnel ends when its connector is revoked.
            try (HeldSession held = new HeldSession.OpensslTcp(gateway.port(), gateway.devCa(), "tunnelled",
                    collectorCert, collectorKey)) {
                ToolResult revoke = GatewayProcess.run(Duration.ofSeconds(60), "connector", "revoke", "--config",
                        gateway.configFile().toString(), "--name", "tcp-depot");
                long revoked = System.nanoTime();
                assertThat(revoke.exitCode()).as(revoke.toString()).isZero();

                held.ended.get(15, TimeUnit.SECONDS);
                MEASURED.put("connector-revocation (from the CLI's exit)", held.msAfter(revoked));
            }
        }
        // Ended through the session registry with the revocation's reason, not as a lost upstream.
        await().atMost(Duration.ofSeconds(10)).until(() -> events("revocation", "tunnelled").stream()
                .anyMatch(e -> e.get("status_detail").asText().equals("connector_revoked")));
    }

    @Test
    void connectorApp_clientEndsItsSide_endsTheSessionBothWays_L740() throws Exception {
        // Pins L-740: the gateway asks for no half-close across the tunnel, so the client's end of
        // sending (close_notify) ends the stream both ways: the client's input ends too, at once,
        // rather than when the app has answered everything (what a direct app does).
        int total = 16 * 1024 * 1024;
        try (ConnectorProcess connector = connector("half-depot", "tunnelled-bulk", tunnelledBulk.port())) {
            awaitEcho("tunnelled-bulk.pep.localhost", "routed");
            try (SSLSocket s = connect("tunnelled-bulk.pep.localhost")) {
                s.setSoTimeout(60_000);
                CompletableFuture<String> sent = CompletableFuture.supplyAsync(() -> send(s, total));
                long read = readAll(s, MessageDigest.getInstance("SHA-256"));
                sent.get(60, TimeUnit.SECONDS);

                assertThat(read).as("the client's input ended (no hang), with at most what it sent").isLessThanOrEqualTo(total);
            }
        }
        // The session ended, both ways, and is recorded once.
        await().atMost(Duration.ofSeconds(10)).until(() -> ended("tunnelled-bulk").stream()
                .anyMatch(e -> e.get("traffic").get("bytes_in").asLong() > total));
        List<JsonNode> bulkEnded = ended("tunnelled-bulk").stream()
                .filter(e -> e.get("traffic").get("bytes_in").asLong() > total).toList();
        assertThat(bulkEnded).hasSize(1);
        assertThat(bulkEnded.get(0).get("status_detail").asText()).as("not both sides finishing in turn")
                .isNotEqualTo("closed");
    }

    @Test
    void httpRequestNamingATcpAppsHost_isNoApp_404() throws Exception {
        int before = lines.connections();
        ToolResult r = Clients.curl(gateway.devCa(), "web.pep.localhost", gateway.port(), "-i",
                "-H", "Host: echo.pep.localhost", "https://web.pep.localhost:" + gateway.port() + "/");

        assertThat(ProxyingIT.statusLine(r)).as(r.toString()).endsWith(" 404");
        assertThat(ProxyingIT.body(r)).contains("unknown_host");
        assertThat(lines.connections()).isEqualTo(before);
    }

    @Test
    void partnerBundleAndCrlRewrittenOnDisk_nextHandshakeUsesTheNewTrust_aBrokenFileKeepsTheOld()
            throws Exception {
        List<String> newPartnersClient = List.of("-cert", rotatingCert.toString(), "-key", rotatingKey.toString());

        ToolResult before = openssl("rotating.pep.localhost", newPartnersClient, "before\nquit\n");
        assertThat(before.out()).as("the bundle names only the old CA; " + before).doesNotContain("before\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> denials("rotating", "certificate_untrusted") >= 1);

        // The partner moved to its new CA: CRL and bundle rewritten, picked up without a restart.
        replace("rotating.crl", pem("X509 CRL", crl(newPartner, newPartnerKeys).getEncoded()));
        replace("rotating-ca.pem", pem("CERTIFICATE", newPartner.getEncoded()));
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() ->
                openssl("rotating.pep.localhost", newPartnersClient, "rotated\nquit\n").out().contains("rotated\n"));

        // A broken bundle file: the trust in force stays, with a WARN line and a counter.
        replace("rotating-ca.pem", "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(metric(
                "pep_provider_failures_total{kind=\"client_trust\",provider=\"rotating-ca.pem\"}"))
                .as(metrics().lines().filter(l -> l.startsWith("pep_provider")).toList().toString())
                .isGreaterThanOrEqualTo(1));
        assertThat(metric("pep_provider_up{kind=\"client_trust\",provider=\"rotating-ca.pem\"}")).isZero();
        assertThat(openssl("rotating.pep.localhost", newPartnersClient, "kept\nquit\n").out()).contains("kept\n");
        assertThat(gateway.stderr()).contains("trust bundle reload refused");

        // Repaired, with a CRL that revokes the client: its next handshake is refused as revoked.
        replace("rotating.crl", pem("X509 CRL", crl(newPartner, newPartnerKeys, rotatingClient).getEncoded()));
        replace("rotating-ca.pem", pem("CERTIFICATE", newPartner.getEncoded()));
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> {
            openssl("rotating.pep.localhost", newPartnersClient, "revoked?\nquit\n");
            return denials("rotating", "certificate_revoked") >= 1;
        });
    }

    // ---- helpers -------------------------------------------------------------------------

    /** Rewrites a file in one step, as an operator's deployment tool would. */
    private static void replace(String name, String content) throws IOException {
        Path tmp = dir.resolve(name + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, dir.resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** A CRL of that CA, current for a day, revoking {@code revoked}. */
    private static java.security.cert.X509CRL crl(X509Certificate ca, KeyPair caKeys, X509Certificate... revoked)
            throws Exception {
        Instant now = Instant.now();
        var b = new org.bouncycastle.cert.X509v2CRLBuilder(X500Name.getInstance(
                ca.getSubjectX500Principal().getEncoded()), Date.from(now.minus(Duration.ofMinutes(5))));
        b.setNextUpdate(Date.from(now.plus(Duration.ofDays(1))));
        for (X509Certificate c : revoked) {
            b.addCRLEntry(c.getSerialNumber(), Date.from(now.minus(Duration.ofMinutes(1))),
                    org.bouncycastle.asn1.x509.CRLReason.keyCompromise);
        }
        return new org.bouncycastle.cert.jcajce.JcaX509CRLConverter().getCRL(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
    }

    private static void writePolicy(boolean withGone) throws IOException {
        String policy = POLICY.formatted(lines.port(), vault.port(), bulk.port(), secure.port(), forged.port(),
                sealed.port())
                + (withGone ? GONE_RULE : "");
        Path tmp = dir.resolve("policies/tcp.yaml.tmp");
        Files.writeString(tmp, policy);
        Files.move(tmp, dir.resolve("policies/tcp.yaml"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static ToolResult openssl(String sni, List<String> extra, String input) throws Exception {
        ToolResult.assumeInstalled("openssl");
        List<String> command = new java.util.ArrayList<>(List.of("openssl", "s_client", "-connect",
                "127.0.0.1:" + gateway.port(), "-servername", sni, "-CAfile", gateway.devCa().toString(),
                "-verify_return_error", "-ign_eof"));
        command.addAll(extra);
        return ToolResult.run(new ProcessBuilder(command), input.getBytes(StandardCharsets.UTF_8),
                Duration.ofSeconds(30));
    }

    /** Enrols and starts a connector (in this namespace) serving {@code app} at a loopback port. */
    private static ConnectorProcess connector(String name, String app, int port) throws Exception {
        ToolResult token = GatewayProcess.run(Duration.ofSeconds(60), "connector", "token", "create", "--config",
                gateway.configFile().toString(), "--name", name, "--app", app);
        assertThat(token.exitCode()).as(token.toString()).isZero();
        Files.writeString(dir.resolve(name + "-token"), token.out());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("connector listener started address=\\S+:(\\d+)")
                .matcher(gateway.stderr());
        assertThat(m.find()).isTrue();
        Path file = write(name + ".yaml", """
                name: %1$s
                gateways:
                  - address: 127.0.0.1:%2$s
                gateway-ca: connectors/ca.pem
                enrolment-token-file: %1$s-token
                state-directory: %1$s-state
                apps:
                  %3$s: { address: 127.0.0.1:%4$d }
                """.formatted(name, m.group(1), app, port));
        return ConnectorProcess.start(file, null).awaitTunnel();
    }

    /** Waits until a session to {@code sni} echoes {@code text}: the app is routed to its connector. */
    private static void awaitEcho(String sni, String text) {
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            try (SSLSocket s = connect(sni)) {
                return echo(s, text).equals(text);
            } catch (IOException e) {
                return false;
            }
        });
    }

    private static SSLSocket connect(String sni) throws IOException {
        Socket plain = new Socket();
        plain.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), gateway.port()), 10_000);
        SSLSocket s = (SSLSocket) collector.getSocketFactory().createSocket(plain, sni, gateway.port(), true);
        s.setSoTimeout(20_000);
        s.startHandshake();
        return s;
    }

    private static String echo(SSLSocket s, String text) throws IOException {
        s.getOutputStream().write((text + "\n").getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            got.write(b);
        }
        return got.toString(StandardCharsets.UTF_8);
    }

    /** Reads until the gateway closes; true when it did (end of stream or a reset). */
    private static boolean readToEnd(SSLSocket s) throws IOException {
        try {
            InputStream in = s.getInputStream();
            while (in.read() >= 0) {
                // Drain.
            }
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /** Reads until the gateway ends the stream, into {@code digest}; returns the bytes read. */
    private static long readAll(SSLSocket s, MessageDigest digest) throws IOException {
        long read = 0;
        byte[] buf = new byte[64 * 1024];
        InputStream in = s.getInputStream();
        int n;
        while ((n = in.read(buf)) >= 0) {
            digest.update(buf, 0, n);
            read += n;
        }
        return read;
    }

    private static String send(SSLSocket s, int total) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            Random random = new Random(42);
            byte[] chunk = new byte[256 * 1024];
            OutputStream out = s.getOutputStream();
            for (int sent = 0; sent < total; sent += chunk.length) {
                random.nextBytes(chunk);
                sha.update(chunk);
                out.write(chunk);
            }
            out.flush();
            // TLS 1.3 half-close: close_notify, then the client still reads the echo to its end.
            s.shutdownOutput();
            return HexFormat.of().formatHex(sha.digest());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<JsonNode> ended(String app) {
        return AuditFiles.ended(dir.resolve("audit"), app);
    }

    private static long denials(String app, String reason) {
        return AuditFiles.denials(dir.resolve("audit"), app, reason);
    }

    private static List<JsonNode> events(String type, String app) {
        return AuditFiles.events(dir.resolve("audit"), type, app);
    }

    private static HttpResponse<String> admin(String method, String pathAndQuery) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gateway.adminPort() + pathAndQuery))
                .method(method, HttpRequest.BodyPublishers.noBody())
                .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The value of one series on the admin listener's /metrics; -1 when it is not there. */
    private static double metric(String series) throws Exception {
        return metrics().lines().filter(l -> l.startsWith(series + " ")).findFirst()
                .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim())).orElse(-1.0);
    }

    private static String metrics() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gateway.adminPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.body();
    }

    private static SSLContext clientTls(KeyPair keys, X509Certificate cert) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("client", keys.getPrivate(), new char[0], new Certificate[] {cert});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(gateway.devCa())) {
            trust.setCertificateEntry("dev-ca", java.security.cert.CertificateFactory.getInstance("X.509")
                    .generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    private static SSLContext serverTls(KeyPair keys, X509Certificate cert) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("server", keys.getPrivate(), new char[0], new Certificate[] {cert});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    private static SSLContext mutualServerTls(KeyPair keys, X509Certificate cert, X509Certificate clientCa)
            throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("server", keys.getPrivate(), new char[0], new Certificate[] {cert});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("gateway-clients", clientCa);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    private static KeyPair keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        return g.generateKeyPair();
    }

    private static Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /** A certificate; {@code dnsName} makes it a server certificate for that name and 127.0.0.1. */
    private static X509Certificate issue(String subject, KeyPair subjectKeys, String issuer,
            KeyPair issuerKeys, boolean ca, String dnsName) throws Exception {
        return issue(subject, subjectKeys, issuer, issuerKeys, ca, dnsName, Instant.now().plus(Duration.ofDays(2)));
    }

    private static X509Certificate issue(String subject, KeyPair subjectKeys, String issuer,
            KeyPair issuerKeys, boolean ca, String dnsName, Instant notAfter) throws Exception {
        Instant notBefore = Instant.now().minus(Duration.ofHours(1));
        var b = new JcaX509v3CertificateBuilder(new X500Name(issuer),
                BigInteger.valueOf(System.nanoTime()), Date.from(notBefore),
                Date.from(notAfter), new X500Name(subject), subjectKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(ca
                ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature));
        if (!ca) {
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(dnsName == null
                    ? KeyPurposeId.id_kp_clientAuth : KeyPurposeId.id_kp_serverAuth));
        }
        if (dnsName != null) {
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.dNSName, dnsName),
                new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
        }
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate())));
    }
}
