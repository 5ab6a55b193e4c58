package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.pep.proxy.config.ConfigLoader;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway in this JVM with a real app and real receivers on loopback: trace context from the
 * client to the app and into audit and exported spans; a webhook audit sink that is down under
 * load and comes back; the metrics the admin listener exposes.
 */
class GatewayTelemetryTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    @TempDir
    Path dir;

    private HttpServer app;
    private final List<Map<String, String>> appHeaders = new CopyOnWriteArrayList<>();
    private HttpServer collector;
    private final List<ExportTraceServiceRequest> traces = new CopyOnWriteArrayList<>();
    private volatile HttpServer webhook;
    private int webhookPort;
    private final List<String> webhookLines = new CopyOnWriteArrayList<>();
    private GatewayServer gateway;
    private HttpClient client;

    @BeforeEach
    void startFixtures() throws IOException {
        app = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        app.createContext("/", this::answer);
        app.start();
        collector = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        collector.createContext("/v1/traces", this::collect);
        collector.start();
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            webhookPort = s.getLocalPort();
        }
        startWebhook();
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        app.stop(0);
        collector.stop(0);
        stopWebhook();
    }

    @Test
    void traceparent_validFromClient_isContinuedToTheAppRecordedInAuditAndExported()
            throws Exception {
        start("best-effort");

        HttpResponse<String> r = get("/orders", PARENT, "vendor=abc");

        assertThat(r.statusCode()).isEqualTo(200);
        Map<String, String> seen = appHeaders.get(0);
        String gatewaySpan = seen.get("traceparent").substring(36, 52);
        assertThat(seen.get("traceparent"))
                .isEqualTo("00-4bf92f3577b34da6a3ce929d0e0e4736-" + gatewaySpan + "-01");
        assertThat(gatewaySpan).isNotEqualTo("00f067aa0ba902b7");
        assertThat(seen.get("tracestate")).isEqualTo("vendor=abc");
        JsonNode decision = awaitDecision("/orders");
        assertThat(decision.path("trace_id").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(decision.path("span_id").asText()).isEqualTo(gatewaySpan);
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !traces.isEmpty());
        Span span = traces.get(0).getResourceSpans(0).getScopeSpans(0).getSpans(0);
        assertThat(HexFormat.of().formatHex(span.getSpanId().toByteArray())).isEqualTo(gatewaySpan);
        assertThat(HexFormat.of().formatHex(span.getParentSpanId().toByteArray()))
                .isEqualTo("00f067aa0ba902b7");
        assertThat(span.getName()).isEqualTo("GET shop");
    }

    @Test
    void traceparent_malformed_isReplacedByANewTraceWithoutTracestate() throws Exception {
        start("best-effort");

        HttpResponse<String> r = get("/malformed", PARENT.toUpperCase(), "vendor=abc");

        assertThat(r.statusCode()).isEqualTo(200);
        String sent = appHeaders.get(0).get("traceparent");
        assertThat(sent).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01")
                .doesNotContain("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(appHeaders.get(0)).doesNotContainKey("tracestate");
        JsonNode decision = awaitDecision("/malformed");
        assertThat(decision.path("trace_id").asText()).isEqualTo(sent.substring(3, 35));
    }

    @Test
    void webhookDownUnderLoadThenBack_everyAnsweredRequestHasExactlyOneDecisionAfterDedup()
            throws Exception {
        start("strict");
        Set<String> answered = ConcurrentHashMap.newKeySet();
        AtomicBoolean loading = new AtomicBoolean(true);
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String client = "c" + i;
            Thread t = new Thread(() -> load(client, loading, answered));
            t.start();
            clients.add(t);
        }
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> answered.size() > 50);
        stopWebhook();
        int atStop = answered.size();
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> answered.size() > atStop + 200
                && sinkErrors() > 0);
        startWebhook();
        int atRestart = answered.size();
        Awaitility.await().atMost(Duration.ofSeconds(20))
                .until(() -> answered.size() > atRestart + 50);
        loading.set(false);
        for (Thread t : clients) {
            t.join(10_000);
        }

        Awaitility.await().atMost(Duration.ofSeconds(30))
                .until(() -> decisionsByPath().keySet().containsAll(answered));
        Map<String, Set<String>> byRequest = decisionsByPath();
        assertThat(byRequest.keySet()).isEqualTo(answered);
        assertThat(byRequest.values()).allSatisfy(ids -> assertThat(ids).hasSize(1));
        assertThat(webhookLines.size()).isGreaterThanOrEqualTo(answered.size());
    }

    @Test
    void metrics_afterARequest_exposeSessionsHandshakesBytesDecisionsPolicyAndAudit()
            throws Exception {
        start("best-effort");
        get("/", null, null);

        String scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + gateway.adminPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();

        assertThat(scrape).contains(
                "pep_requests_total{app=\"shop\",status=\"2xx\"}",
                "pep_request_duration_seconds_bucket{app=\"shop\"",
                "pep_decisions_total{app=\"shop\",effect=\"allow\"",
                "pep_decision_duration_seconds_bucket{app=\"shop\"",
                "pep_sessions_live ",
                "pep_tls_handshakes_total{protocol=\"TLSv1.3\",result=\"success\"}",
                "pep_tls_handshake_duration_seconds_bucket",
                "pep_bytes_total{direction=\"in\"}",
                "pep_policy_info{version=\"config-",
                "pep_trace_requests_total{origin=\"started\"}",
                "pep_audit_spool_events ",
                "pep_audit_spool_oldest_age_seconds ",
                "pep_audit_sink_errors_total{sink=\"webhook\"}");
        String docs;
        try (java.util.stream.Stream<Path> pages = Files.list(Path.of("../docs"))) {
            docs = pages.filter(p -> p.toString().endsWith(".md")).map(p -> {
                try {
                    return Files.readString(p);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).collect(java.util.stream.Collectors.joining("\n"));
        }
        java.util.regex.Matcher family = java.util.regex.Pattern.compile("(?m)^# TYPE (pep_[a-z0-9_]+) ")
                .matcher(scrape);
        List<String> undocumented = new ArrayList<>();
        while (family.find()) {
            // Micrometer adds a _max gauge to every timer; the docs name the timer.
            String name = family.group(1).replaceAll("_max$", "");
            if (!docs.contains("`" + name + "`")) {
                undocumented.add(name);
            }
        }
        assertThat(undocumented).as("metrics the gateway exposes that no page of docs/ names").isEmpty();
    }

    @Test
    void metrics_sessionLiveThenEnded_handshakeFailure_bytes_decisionAndRejectionReasons()
            throws Exception {
        start("best-effort");
        SSLContext tls = trusting(dir.resolve("dev-ca/ca.pem"));

        try (javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) tls.getSocketFactory()
                .createSocket("localhost", gateway.port())) {
            String first = exchange(socket, "localhost", "keep-alive");
            assertThat(first).startsWith("HTTP/1.1 200");
            // The partner session is live while its connection stays open.
            Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> value(scrape(), "pep_sessions_live") == 1.0);
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> value(scrape(),
                "pep_sessions_ended_total{reason=\"closed\"}") == 1.0);
        try (javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) tls.getSocketFactory()
                .createSocket("localhost", gateway.port())) {
            // No app has this host: refused before routing, never decided.
            assertThat(exchange(socket, "nowhere.example", "close")).startsWith("HTTP/1.1 4");
        }

        try (java.net.Socket plain = new java.net.Socket(InetAddress.getLoopbackAddress(), gateway.port())) {
            // Not TLS at all: a failed handshake.
            plain.setSoTimeout(10_000);
            plain.getOutputStream().write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            plain.getInputStream().readAllBytes();
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> value(scrape(),
                "pep_tls_handshakes_total{protocol=\"none\",result=\"failure\"}") == 1.0);

        String scrape = scrape();
        assertThat(value(scrape, "pep_sessions_live")).isZero();
        assertThat(scrape).contains(
                "pep_decisions_total{app=\"shop\",effect=\"allow\",reason=\"app_public\"} 1.0",
                "pep_requests_rejected_total{reason=\"unknown_host\"} 1.0")
                .containsPattern("pep_requests_total\\{app=\"-\",status=\"4xx\"} 1.0");
        assertThat(value(scrape, "pep_bytes_total{direction=\"out\"}")).isPositive();
        assertThat(value(scrape, "pep_bytes_total{direction=\"in\"}")).isPositive();
    }

    /** One HTTP/1.1 request on {@code socket}; the status line and headers of the answer. */
    private static String exchange(javax.net.ssl.SSLSocket socket, String host, String connection)
            throws IOException {
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(("GET /raw HTTP/1.1\r\nHost: " + host + "\r\nConnection: "
                + connection + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        StringBuilder head = new StringBuilder();
        InputStream in = socket.getInputStream();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.append((char) b);
        }
        java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)content-length: (\\d+)")
                .matcher(head);
        if (length.find()) {
            in.readNBytes(Integer.parseInt(length.group(1)));
        }
        return head.toString();
    }

    private String scrape() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + gateway.adminPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** The value of the series that starts {@code series} (name and labels), or -1 when absent. */
    private static double value(String scrape, String series) {
        return scrape.lines().filter(l -> l.startsWith(series + " "))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .findFirst().orElse(-1);
    }

    private void start(String mode) throws Exception {
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(file, """
                instance: gw-test
                listener: { address: 127.0.0.1, port: 0 }
                tls:
                  development-ca: { directory: dev-ca, hosts: [localhost] }
                admin: { address: 127.0.0.1, port: 0 }
                identity: { session-keys: session-keys }
                audit:
                  directory: audit
                  mode: %s
                  fsync-interval: 2ms
                  retry-backoff: 20ms
                  retry-max-backoff: 200ms
                  sinks:
                    - type: webhook
                      url: http://127.0.0.1:%d/audit
                      timeout: 2s
                tracing:
                  otlp-endpoint: http://127.0.0.1:%d/v1/traces
                apps:
                  shop:
                    hosts: [localhost]
                    upstream: http://127.0.0.1:%d
                    access: public
                """.formatted(mode, webhookPort, collector.getAddress().getPort(),
                app.getAddress().getPort()));
        gateway = GatewayServer.start(ConfigLoader.load(file));
        client = HttpClient.newBuilder().sslContext(trusting(dir.resolve("dev-ca/ca.pem")))
                .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    private HttpResponse<String> get(String path, String traceparent, String tracestate)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://localhost:"
                + gateway.port() + path)).timeout(Duration.ofSeconds(10));
        if (traceparent != null) {
            b.header("traceparent", traceparent).header("tracestate", tracestate);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Requests {@code /load/<client>-<n>}: the path is the client's own record of each one. */
    private void load(String client, AtomicBoolean loading, Set<String> answered) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        for (int n = 0; loading.get() && System.nanoTime() < deadline; n++) {
            String path = "/load/" + client + "-" + n;
            try {
                HttpResponse<String> r = get(path, null, null);
                if (r.statusCode() == 200) {
                    answered.add(path);
                }
            } catch (Exception e) {
                // A failed exchange got no answer: it is not in the client's record.
            }
        }
    }

    /** Decision event ids by request path, after de-duplication by event id. */
    private Map<String, Set<String>> decisionsByPath() throws IOException {
        Map<String, Set<String>> out = new HashMap<>();
        for (String line : List.copyOf(webhookLines)) {
            JsonNode e = JSON.readTree(line);
            if (e.path("type").asText().equals("decision")) {
                out.computeIfAbsent(e.at("/http_request/url/path").asText(), k -> new java.util.HashSet<>())
                        .add(e.path("id").asText());
            }
        }
        return out;
    }

    private JsonNode awaitDecision(String path) throws Exception {
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> decisionsByPath().containsKey(path));
        for (String line : webhookLines) {
            JsonNode e = JSON.readTree(line);
            if (e.path("type").asText().equals("decision")
                    && e.at("/http_request/url/path").asText().equals(path)) {
                return e;
            }
        }
        throw new AssertionError("no decision for " + path);
    }

    private double sinkErrors() throws Exception {
        String scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + gateway.adminPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        return scrape.lines().filter(l -> l.startsWith("pep_audit_sink_errors_total{sink=\"webhook\"}"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .findFirst().orElse(0);
    }

    private void answer(HttpExchange exchange) throws IOException {
        Map<String, String> headers = new HashMap<>();
        exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(), v.get(0)));
        if (!exchange.getRequestURI().getPath().startsWith("/load/")) {
            appHeaders.add(headers);
        }
        byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }

    private void collect(HttpExchange exchange) throws IOException {
        traces.add(ExportTraceServiceRequest.parseFrom(exchange.getRequestBody().readAllBytes()));
        exchange.sendResponseHeaders(200, -1);
        exchange.close();
    }

    private synchronized void startWebhook() throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                webhookPort), 0);
        s.createContext("/audit", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            body.lines().filter(l -> !l.isBlank()).forEach(webhookLines::add);
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        s.start();
        webhook = s;
    }

    private synchronized void stopWebhook() {
        if (webhook != null) {
            webhook.stop(0);
            webhook = null;
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
