package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pep.it.RecordingUpstream.Mode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A rule's obligations, enforced by the packaged gateway on real requests and a WebSocket. */
class ObligationsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration REEVALUATE = Duration.ofSeconds(2);

    @TempDir
    static Path dir;

    static RecordingUpstream files;
    static WebSocketEchoServer ws;
    static GatewayProcess gateway;
    static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        files = RecordingUpstream.start(Mode.ANSWER);
        ws = WebSocketEchoServer.start();
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/apps.yaml"), """
                apps:
                  files:
                    hosts: [files.pep.localhost]
                    upstream: %s
                  stream:
                    hosts: [stream.pep.localhost]
                    upstream: %s
                rules:
                  - id: files-readers
                    apps: [files]
                    effect: allow
                    when: "true"
                    obligations:
                      isolation: read-only
                      headers:
                        X-Pep-Rule: files-readers
                        X-Pep-App: "${app.name}"
                  - id: stream-users
                    apps: [stream]
                    effect: allow
                    when: "true"
                    obligations: { reevaluate: %ds }
                """.formatted(files.url(), ws.url(), REEVALUATE.toSeconds()));
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-obligations") + """
                policy:
                  directory: policies
                audit:
                  directory: audit
                """);
        client = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, files, ws);
    }

    @BeforeEach
    void clear() {
        files.clear();
    }

    @Test
    void readOnly_get_forwardedWithTheRulesHeaders() throws Exception {
        HttpResponse<String> r = send("GET", "/report?id=7", HttpRequest.BodyPublishers.noBody());

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(files.requests()).singleElement().satisfies(req -> {
            assertThat(req.header("x-pep-rule")).hasValue("files-readers");
            assertThat(req.header("x-pep-app")).hasValue("files");
        });
    }

    @Test
    void readOnly_postAndDelete_403ReadOnly_andNothingReachesTheApp() throws Exception {
        for (String method : new String[] {"POST", "DELETE", "PUT"}) {
            HttpResponse<String> r = send(method, "/report", HttpRequest.BodyPublishers.ofString("x"));

            assertThat(r.statusCode()).as(method).isEqualTo(403);
            JsonNode error = JSON.readTree(r.body());
            assertThat(error.get("error").asText()).isEqualTo("read_only");
            assertThat(error.get("request_id").asText()).isNotBlank();
        }
        assertThat(files.heads()).isEmpty();
    }

    @Test
    void clientSentObligationHeader_isReplacedNotAppended() throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(url("files", "/x"))
                .header("X-Pep-Rule", "forged-by-client").build(), HttpResponse.BodyHandlers.ofString());

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(files.requests()).singleElement().satisfies(req -> assertThat(
                new String(req.head(), java.nio.charset.StandardCharsets.ISO_8859_1).toLowerCase(java.util.Locale.ROOT))
                .containsOnlyOnce("x-pep-rule:").contains("x-pep-rule: files-readers").doesNotContain("forged"));
    }

    /** Re-decided at its rule's interval and still allowed, the WebSocket lives on. */
    @Test
    void webSocket_reevaluatedAndStillAllowed_keepsFlowing() throws Exception {
        CompletableFuture<Integer> closed = new CompletableFuture<>();
        java.util.concurrent.BlockingQueue<String> echoes = new java.util.concurrent.LinkedBlockingQueue<>();
        WebSocket socket = client.newWebSocketBuilder().buildAsync(
                URI.create("wss://stream.pep.localhost:" + gateway.port() + WebSocketEchoServer.PATH),
                new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                        echoes.add(data.toString());
                        webSocket.request(1);
                        return null;
                    }

                    @Override
                    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                        closed.complete(statusCode);
                        return null;
                    }

                    @Override
                    public void onError(WebSocket webSocket, Throwable error) {
                        closed.complete(-1);
                    }
                }).get(20, TimeUnit.SECONDS);

        Thread.sleep(REEVALUATE.multipliedBy(2).plusSeconds(1).toMillis());
        socket.sendText("still here", true).get(10, TimeUnit.SECONDS);

        assertThat(echoes.poll(10, TimeUnit.SECONDS)).isEqualTo("still here");
        assertThat(closed).isNotDone();
        assertThat(AuditFiles.lines(dir.resolve("audit")).filter(l -> l.contains("\"type\":\"revocation\"")))
                .isEmpty();
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "done");
    }

    private HttpResponse<String> send(String method, String path, HttpRequest.BodyPublisher body) throws Exception {
        return client.send(HttpRequest.newBuilder(url("files", path)).method(method, body)
                .header("Accept", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }

    private static URI url(String app, String path) {
        return URI.create("https://" + app + ".pep.localhost:" + gateway.port() + path);
    }
}
