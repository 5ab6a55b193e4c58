package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.pep.proxy.config.ConfigLoader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Strict audit with a spool that fills: the gateway in this JVM, a 32 KiB spool and a webhook
 * sink nobody answers, so nothing leaves the spool. Live event streams keep flowing while events
 * fit; once the spool refuses one, every live stream is ended (audit_unavailable), the one on
 * another connection that emitted nothing too, their endings are recorded in the spool's
 * reserve for endings, and new requests are answered 503 audit_unavailable.
 */
class StrictAuditSessionsTest {

    @TempDir
    Path dir;

    private HttpServer app;
    private GatewayServer gateway;
    private HttpClient client;

    @BeforeEach
    void start() throws Exception {
        app = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        app.createContext("/stream", StrictAuditSessionsTest::stream);
        app.createContext("/", exchange -> {
            exchange.sendResponseHeaders(200, 3);
            exchange.getResponseBody().write("ok\n".getBytes(StandardCharsets.UTF_8));
            exchange.close();
        });
        app.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        app.start();
        int deadPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            deadPort = s.getLocalPort();
        }
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(file, """
                instance: gw-strict
                listener: { address: 127.0.0.1, port: 0 }
                tls:
                  development-ca: { directory: dev-ca, hosts: [localhost] }
                admin: { address: 127.0.0.1, port: 0 }
                identity: { session-keys: session-keys }
                sessions: { check-interval: 200ms }
                audit:
                  directory: audit
                  mode: strict
                  max-spool-size: 32KiB
                  fsync-interval: 2ms
                  retry-backoff: 1s
                  retry-max-backoff: 5s
                  sinks:
                    - type: webhook
                      url: http://127.0.0.1:%d/audit
                      timeout: 1s
                apps:
                  shop:
                    hosts: [localhost]
                    upstream: http://127.0.0.1:%d
                    access: public
                """.formatted(deadPort, app.getAddress().getPort()));
        gateway = GatewayServer.start(ConfigLoader.load(file));
        client = HttpClient.newBuilder().sslContext(trusting(dir.resolve("dev-ca/ca.pem")))
                .version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        app.stop(0);
    }

    @Test
    void spoolRefusesAnEvent_endsEveryLiveStream_recordsTheirEndings_newRequestsGet503() throws Exception {
        HttpClient other = HttpClient.newBuilder().sslContext(trusting(dir.resolve("dev-ca/ca.pem")))
                .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        AtomicInteger otherLines = new AtomicInteger();
        CompletableFuture<String> otherEnded = new CompletableFuture<>();
        read(other, otherLines, otherEnded, HttpClient.Version.HTTP_1_1);
        AtomicInteger lines = new AtomicInteger();
        CompletableFuture<String> streamEnded = new CompletableFuture<>();
        read(client, lines, streamEnded, HttpClient.Version.HTTP_2);
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> lines.get() >= 2 && otherLines.get() >= 2);

        // Same client, same HTTP/2 connection: each request's decision event fills the spool.
        int answered = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            int status;
            try {
                status = client.send(request("/"), HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (IOException e) {
                break; // the connection went away with the session: fine, checked below
            }
            if (status == 503) {
                break;
            }
            assertThat(status).isEqualTo(200);
            answered++;
        }
        assertThat(answered).as("requests forwarded while the spool had room").isPositive();

        assertThat(streamEnded.get(20, java.util.concurrent.TimeUnit.SECONDS)).isNotNull();
        // The stream on the other connection emitted nothing since its start: ended all the same.
        assertThat(otherEnded.get(20, java.util.concurrent.TimeUnit.SECONDS)).isNotNull();
        int otherAtEnd = otherLines.get();
        assertThat(metrics()).contains("pep_sessions_revoked_total{trigger=\"audit\"}");
        HttpClient fresh = HttpClient.newBuilder().sslContext(trusting(dir.resolve("dev-ca/ca.pem")))
                .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> refused = fresh.send(request("/"), HttpResponse.BodyHandlers.ofString());
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.body()).contains("audit_unavailable");
        // Both endings are on disk, in the room the spool keeps for endings.
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> spooledRevocations("audit_unavailable").size() == 2);
        assertThat(otherLines.get()).isEqualTo(otherAtEnd);
        System.out.printf("strict spool of 32KiB: %d requests forwarded before the spool refused%n",
                answered);
    }

    /** The request ids of the revocation events for {@code reason} in the spool's segments. */
    private java.util.Set<String> spooledRevocations(String reason) throws IOException {
        java.util.Set<String> ids = new java.util.HashSet<>();
        java.util.regex.Pattern requestId = java.util.regex.Pattern.compile("\"request_id\":\"([^\"]+)\"");
        try (Stream<Path> segments = Files.list(dir.resolve("audit/spool/segments"))) {
            for (Path segment : segments.filter(p -> p.toString().endsWith(".seg")).toList()) {
                String text = new String(Files.readAllBytes(segment), StandardCharsets.ISO_8859_1);
                for (String event : text.split("\\{\"activity_id\"")) {
                    java.util.regex.Matcher m = requestId.matcher(event);
                    if (event.contains("\"type\":\"revocation\"")
                            && event.contains("\"status_detail\":\"" + reason + "\"") && m.find()) {
                        ids.add(m.group(1));
                    }
                }
            }
        }
        return ids;
    }

    /** Opens /stream with {@code http} and counts its lines on a thread of its own. */
    private void read(HttpClient http, AtomicInteger lines, CompletableFuture<String> ended,
            HttpClient.Version version) throws Exception {
        HttpResponse<Stream<String>> stream = http.send(request("/stream"), HttpResponse.BodyHandlers.ofLines());
        assertThat(stream.statusCode()).isEqualTo(200);
        assertThat(stream.version()).isEqualTo(version);
        Thread reader = new Thread(() -> {
            try (Stream<String> body = stream.body()) {
                body.forEach(l -> lines.incrementAndGet());
                ended.complete("end of stream");
            } catch (RuntimeException e) {
                ended.complete("failed: " + e);
            }
        }, "stream-reader-" + version);
        reader.setDaemon(true);
        reader.start();
    }

    private HttpRequest request(String path) {
        return HttpRequest.newBuilder(URI.create("https://localhost:" + gateway.port() + path))
                .header("Accept", "text/event-stream").timeout(Duration.ofSeconds(30)).build();
    }

    private String metrics() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + gateway.adminPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    /** An event stream: a line every 100 ms for at most 60 s, or until the peer goes away. */
    private static void stream(HttpExchange exchange) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
        exchange.sendResponseHeaders(200, 0);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        try (OutputStream out = exchange.getResponseBody()) {
            for (int n = 0; System.nanoTime() < deadline; n++) {
                out.write(("data: " + n + "\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                Thread.sleep(100);
            }
        } catch (IOException | InterruptedException e) {
            exchange.close();
        }
    }

    private static SSLContext trusting(Path caPem) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(caPem)) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509")
                    .generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(
                TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
