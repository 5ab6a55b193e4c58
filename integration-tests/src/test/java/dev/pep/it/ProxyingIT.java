package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pep.it.RecordingUpstream.Mode;
import dev.pep.it.RecordingUpstream.RecordedRequest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The packaged gateway proxying to real fixture applications, driven by the JDK HttpClient (HTTP/1.1
 * and HTTP/2), curl and java.net.http.WebSocket. One gateway process for the whole class.
 */
class ProxyingIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration HANG_TIMEOUT = Duration.ofSeconds(1);

    @TempDir
    static Path dir;

    static RecordingUpstream plain;
    static RecordingUpstream denied;
    static RecordingUpstream hanging;
    static RecordingUpstream closing;
    static RecordingUpstream cutting;
    static WebSocketEchoServer ws;
    static GatewayProcess gateway;
    static HttpClient h1;
    static HttpClient h2;

    @BeforeAll
    static void start() throws Exception {
        plain = RecordingUpstream.start(Mode.ANSWER);
        denied = RecordingUpstream.start(Mode.ANSWER);
        hanging = RecordingUpstream.start(Mode.HANG);
        closing = RecordingUpstream.start(Mode.CLOSE_IMMEDIATELY);
        cutting = RecordingUpstream.start(Mode.CLOSE_MID_RESPONSE);
        ws = WebSocketEchoServer.start();
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-proxying") + """
                apps:
                  plain:
                    hosts: [plain.pep.localhost]
                    upstream: %s
                    access: public
                    max-body-size: 64MiB
                  tiny:
                    hosts: [tiny.pep.localhost]
                    upstream: %s
                    access: public
                    max-body-size: 1KiB
                  deny:
                    hosts: [deny.pep.localhost]
                    upstream: %s
                    access: deny
                  down:
                    hosts: [down.pep.localhost]
                    upstream: http://127.0.0.1:%d
                    access: public
                    connect-timeout: 2s
                  hang:
                    hosts: [hang.pep.localhost]
                    upstream: %s
                    access: public
                    response-timeout: %dms
                  closing:
                    hosts: [closing.pep.localhost]
                    upstream: %s
                    access: public
                  cut:
                    hosts: [cut.pep.localhost]
                    upstream: %s
                    access: public
                  ws:
                    hosts: [ws.pep.localhost]
                    upstream: %s
                    access: public
                  busy:
                    hosts: [busy.pep.localhost]
                    upstream: %s
                    access: public
                    max-connections: 1
                """.formatted(plain.url(), plain.url(), denied.url(), RecordingUpstream.unboundPort(), hanging.url(),
                HANG_TIMEOUT.toMillis(), closing.url(), cutting.url(), ws.url(), plain.url()));
        h1 = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
        h2 = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_2);
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, plain, denied, hanging, closing, cutting, ws);
    }

    @BeforeEach
    void clear() {
        for (RecordingUpstream u : List.of(plain, denied, hanging, closing, cutting)) {
            u.clear();
        }
    }

    // ---- proxying ------------------------------------------------------------------------

    @Test
    void get_upstreamSeesNormalisedPath_andOnlyTheGatewaysForwardingHeaders() throws Exception {
        ToolResult r = Clients.curl(gateway.devCa(), "plain.pep.localhost", gateway.port(), "--http1.1",
                "--path-as-is",
                "-H", "X-Forwarded-For: 203.0.113.9", "-H", "Forwarded: for=203.0.113.9;proto=http",
                "-H", "X-Real-IP: 203.0.113.9", "-H", "X-Forwarded-Host: evil.example",
                "-H", "X-Forwarded-Proto: http",
                url("plain", "/a/./b/../%7Euser/c?q=1"));

        assertThat(statusLine(r)).as(r.toString()).isEqualTo("1.1 200");
        RecordedRequest seen = onlyRequest(plain);
        assertThat(seen.requestLine()).isEqualTo("GET /a/~user/c?q=1 HTTP/1.1");
        assertThat(seen.headerValues("x-forwarded-for")).containsExactly("127.0.0.1");
        assertThat(seen.headerValues("x-forwarded-proto")).containsExactly("https");
        assertThat(seen.headerValues("x-forwarded-host")).containsExactly("plain.pep.localhost:" + gateway.port());
        assertThat(seen.headerValues("forwarded")).isEmpty();
        assertThat(seen.headerValues("x-real-ip")).isEmpty();
        assertThat(seen.headText()).doesNotContain("203.0.113.9").doesNotContain("evil.example");
    }

    @ParameterizedTest
    @EnumSource(HttpClient.Version.class)
    void post_multiMegabyteBody_isStreamedBothWays_intact(HttpClient.Version version) throws Exception {
        byte[] upload = new byte[8 * 1024 * 1024 + 17];
        new Random(42).nextBytes(upload);
        int downloadSize = 4 * 1024 * 1024 + 3;

        HttpResponse<byte[]> response = client(version).send(HttpRequest.newBuilder(
                        URI.create(url("plain", "/upload?size=" + downloadSize)))
                .POST(HttpRequest.BodyPublishers.ofByteArray(upload)).build(),
                HttpResponse.BodyHandlers.ofByteArray());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.version()).isEqualTo(version);
        assertThat(response.body()).hasSize(downloadSize);
        assertThat(RecordingUpstream.sha256(response.body()))
                .isEqualTo(RecordingUpstream.sha256(RecordingUpstream.pattern(downloadSize)));
        RecordedRequest seen = onlyRequest(plain);
        assertThat(seen.method()).isEqualTo("POST");
        assertThat(seen.body().length).isEqualTo(upload.length);
        assertThat(RecordingUpstream.sha256(seen.body())).isEqualTo(RecordingUpstream.sha256(upload));
    }

    @Test
    void post_chunkedRequestBody_reachesUpstreamChunkedAndComplete() throws Exception {
        byte[] upload = new byte[300_000];
        new Random(7).nextBytes(upload);

        // An InputStream publisher has no length, so the JDK client sends it chunked.
        HttpResponse<String> response = h1.send(HttpRequest.newBuilder(URI.create(url("plain", "/chunked")))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(upload)))
                .build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        RecordedRequest seen = onlyRequest(plain);
        assertThat(seen.headerValues("transfer-encoding")).containsExactly("chunked");
        assertThat(seen.headerValues("content-length")).isEmpty();
        assertThat(RecordingUpstream.sha256(seen.body())).isEqualTo(RecordingUpstream.sha256(upload));
        assertThat(response.body()).isEqualTo("POST /chunked " + upload.length + " "
                + RecordingUpstream.sha256(upload) + "\n");
    }

    @ParameterizedTest
    @EnumSource(HttpClient.Version.class)
    void chunkedResponseFromUpstream_isRelayedIntact(HttpClient.Version version) throws Exception {
        int size = 100_003;

        HttpResponse<byte[]> response = client(version).send(HttpRequest.newBuilder(
                URI.create(url("plain", "/chunky?chunked=1&size=" + size))).build(),
                HttpResponse.BodyHandlers.ofByteArray());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.version()).isEqualTo(version);
        assertThat(response.body()).isEqualTo(RecordingUpstream.pattern(size));
    }

    @Test
    void expectContinue_http2_interimAndFinalResponseRelayed() throws Exception {
        assertExpectContinueRelayed("--http2", "< HTTP/2 100", "2 200");
    }

    @Test
    void expectContinue_http1_interimAndFinalResponseRelayed() throws Exception {
        assertExpectContinueRelayed("--http1.1", "< HTTP/1.1 100 Continue", "1.1 200");
    }

    /** The fixture answers 100 Continue; the client must see it and then the final 200. */
    private static void assertExpectContinueRelayed(String httpVersion, String interim, String status)
            throws Exception {
        byte[] upload = new byte[2 * 1024 * 1024];
        new Random(3).nextBytes(upload);
        Path file = dir.resolve("upload.bin");
        java.nio.file.Files.write(file, upload);

        ToolResult r = Clients.curl(gateway.devCa(), "plain.pep.localhost", gateway.port(), httpVersion, "-v",
                "-H", "Expect: 100-continue", "--expect100-timeout", "15",
                "--data-binary", "@" + file, url("plain", "/expect"));

        assertThat(r.stderr()).contains(interim);
        assertThat(statusLine(r)).as(r.toString()).isEqualTo(status);
        assertThat(body(r)).isEqualTo("POST /expect " + upload.length + " " + RecordingUpstream.sha256(upload) + "\n");
        assertThat(RecordingUpstream.sha256(onlyRequest(plain).body())).isEqualTo(RecordingUpstream.sha256(upload));
    }

    @Test
    void keepAlive_pipelinedRequestsOnOneConnection_answeredInOrder() throws Exception {
        String host = "Host: plain.pep.localhost\r\n";
        String raw = "GET /first HTTP/1.1\r\n" + host + "\r\n"
                + "POST /second HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhello"
                + "HEAD /third HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n";

        ToolResult r = Clients.openssl(gateway.port(), "plain.pep.localhost", ascii(raw), Duration.ofSeconds(15));

        assertThat(r.timedOut()).as("closed after the request with Connection: close\n%s", r).isFalse();
        String out = r.out();
        assertThat(out).startsWith("HTTP/1.1 200 ");
        assertThat(Pattern.compile("HTTP/1\\.1 200 ").matcher(out).results().count()).as(out).isEqualTo(3);
        assertThat(out.indexOf("GET /first 0 ")).isPositive()
                .isLessThan(out.indexOf("POST /second 5 " + RecordingUpstream.sha256(ascii("hello"))));
        assertThat(plain.requests()).extracting(RecordedRequest::requestLine)
                .containsExactly("GET /first HTTP/1.1", "POST /second HTTP/1.1", "HEAD /third HTTP/1.1");
    }

    @Test
    void hopByHopFields_namedInConnection_areNotForwarded() throws Exception {
        ToolResult r = Clients.curl(gateway.devCa(), "plain.pep.localhost", gateway.port(), "--http1.1",
                "-H", "Connection: keep-alive, X-Internal-Secret", "-H", "X-Internal-Secret: s3cr3t",
                "-H", "Keep-Alive: timeout=5", "-H", "Proxy-Connection: keep-alive", "-H", "X-Kept: yes",
                url("plain", "/hop"));

        assertThat(statusLine(r)).as(r.toString()).isEqualTo("1.1 200");
        RecordedRequest seen = onlyRequest(plain);
        assertThat(seen.headerValues("x-kept")).containsExactly("yes");
        assertThat(seen.headerValues("x-internal-secret")).isEmpty();
        assertThat(seen.headerValues("keep-alive")).isEmpty();
        assertThat(seen.headerValues("proxy-connection")).isEmpty();
        assertThat(seen.headText()).doesNotContain("s3cr3t");
    }

    @ParameterizedTest
    @EnumSource(HttpClient.Version.class)
    void bodyLargerThanAppLimit_413_andUpstreamSawNothing(HttpClient.Version version) throws Exception {
        HttpResponse<String> response = client(version).send(HttpRequest.newBuilder(
                        URI.create(url("tiny", "/upload")))
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[4096])).build(),
                HttpResponse.BodyHandlers.ofString());

        gatewayError(response, 413, "body_too_large");
        assertThat(plain.heads()).isEmpty();
    }

    @Test
    void refusedUpload_http1_clientStillReceivesTheErrorResponse() throws Exception {
        SSLSocketFactory tls = Clients.trusting(gateway.devCa()).getSocketFactory();
        byte[] head = ascii("POST /big HTTP/1.1\r\nHost: tiny.pep.localhost\r\nContent-Length: 1048576\r\n\r\n");
        byte[] body = new byte[1024 * 1024];
        for (int attempt = 0; attempt < 40; attempt++) {
            try (SSLSocket socket = (SSLSocket) tls.createSocket("tiny.pep.localhost", gateway.port())) {
                socket.setSoTimeout(10_000);
                CompletableFuture<Void> upload = CompletableFuture.runAsync(() -> {
                    try {
                        socket.getOutputStream().write(head);
                        socket.getOutputStream().write(body);
                        socket.getOutputStream().flush();
                    } catch (IOException e) {
                        // The gateway stops reading after its answer; that is allowed.
                    }
                }, ProxyingIT::daemon);
                String response;
                try {
                    response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                } catch (IOException e) {
                    response = "read failed: " + e;
                }
                assertThat(response).as("attempt %d", attempt).startsWith("HTTP/1.1 413 ");
                upload.cancel(true);
            }
        }
    }

    private static void daemon(Runnable r) {
        Thread t = new Thread(r, "upload");
        t.setDaemon(true);
        t.start();
    }

    @Test
    void http2_encodedSlashInPath_400_andUpstreamSawNothing() throws Exception {
        ToolResult r = Clients.curl(gateway.devCa(), "plain.pep.localhost", gateway.port(), "--http2",
                "--path-as-is", url("plain", "/a%2Fb"));

        assertThat(statusLine(r)).as(r.toString()).isEqualTo("2 400");
        assertThat(JSON.readTree(body(r)).get("error").asText()).isEqualTo("encoded_slash");
        assertThat(plain.requests()).isEmpty();
    }

    @Test
    void sequentialRequestsOnOneClientConnection_reuseOneUpstreamConnection() throws Exception {
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> response = h1.send(HttpRequest.newBuilder(URI.create(url("plain", "/seq/" + i)))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
        }

        assertThat(plain.requests()).hasSize(3);
        assertThat(plain.connections()).as("upstream connections opened for 3 sequential requests").isEqualTo(1);
    }

    @Test
    void clientAbortsMidBody_upstreamConnectionIsNotReusedForTheNextRequest() throws Exception {
        SSLSocketFactory tls = Clients.trusting(gateway.devCa()).getSocketFactory();
        try (SSLSocket socket = (SSLSocket) tls.createSocket("plain.pep.localhost", gateway.port())) {
            socket.getOutputStream().write(ascii("POST /aborted HTTP/1.1\r\nHost: plain.pep.localhost\r\n"
                    + "Content-Length: 100000\r\n\r\n" + "x".repeat(1000)));
            socket.getOutputStream().flush();
            await().atMost(Duration.ofSeconds(10)).until(() -> !plain.heads().isEmpty());
        }

        HttpResponse<String> next = h1.send(HttpRequest.newBuilder(URI.create(url("plain", "/after-abort")))
                .build(), HttpResponse.BodyHandlers.ofString());

        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(next.body()).startsWith("GET /after-abort 0 ");
        assertThat(plain.requests()).extracting(RecordedRequest::requestLine)
                .as("the half-sent body must not swallow the next request").containsExactly("GET /after-abort HTTP/1.1");
        assertThat(plain.heads()).extracting(RecordedRequest::requestLine)
                .containsExactly("POST /aborted HTTP/1.1", "GET /after-abort HTTP/1.1");
    }

    @Test
    void curlHttp2_isNegotiated_andUpstreamGetsHttp11() throws Exception {
        ToolResult r = Clients.curl(gateway.devCa(), "plain.pep.localhost", gateway.port(), "--http2",
                "--data-binary", "hello h2", url("plain", "/h2"));

        assertThat(statusLine(r)).as(r.toString()).isEqualTo("2 200");
        assertThat(body(r)).startsWith("POST /h2 8 ");
        assertThat(onlyRequest(plain).requestLine()).isEqualTo("POST /h2 HTTP/1.1");
    }

    @Test
    void curlHttp2_manyConcurrentStreams_shareOneConnection() throws Exception {
        int n = 40;
        List<String> args = new ArrayList<>(List.of("--http2", "--parallel", "--parallel-max", "64",
                "-w", "\nstream %{num_connects} %{http_version} %{http_code}\n"));
        for (int i = 0; i < n; i++) {
            args.add(url("plain", "/stream/" + i));
        }

        ToolResult r = Clients.curl(gateway.devCa(), "plain.pep.localhost", gateway.port(),
                args.toArray(String[]::new));

        Matcher m = Pattern.compile("(?m)^stream (\\d+) (\\S+) (\\d{3})$").matcher(r.out());
        int streams = 0;
        int connects = 0;
        while (m.find()) {
            streams++;
            connects += Integer.parseInt(m.group(1));
            assertThat(m.group(2) + " " + m.group(3)).isEqualTo("2 200");
        }
        assertThat(streams).as(r.toString()).isEqualTo(n);
        assertThat(connects).as("TLS connections opened for %d parallel streams", n).isEqualTo(1);
        assertThat(plain.requests()).extracting(RecordedRequest::target).hasSize(n)
                .allMatch(t -> t.startsWith("/stream/"));
    }

    @Test
    void jdkHttp2_manyConcurrentStreams_allAnswered() throws Exception {
        h2.send(HttpRequest.newBuilder(URI.create(url("plain", "/warm"))).build(),
                HttpResponse.BodyHandlers.discarding());
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            calls.add(h2.sendAsync(HttpRequest.newBuilder(URI.create(url("plain", "/many/" + i))).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }

        for (int i = 0; i < calls.size(); i++) {
            HttpResponse<String> response = calls.get(i).get(30, TimeUnit.SECONDS);
            assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).startsWith("GET /many/" + i + " 0 ");
        }
    }

    @Test
    void webSocket_textEchoesThroughGateway() throws Exception {
        CompletableFuture<String> echoed = new CompletableFuture<>();
        WebSocket socket = h1.newWebSocketBuilder().buildAsync(
                URI.create("wss://ws.pep.localhost:" + gateway.port() + WebSocketEchoServer.PATH),
                new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                        echoed.complete(data.toString());
                        return null;
                    }

                    @Override
                    public void onError(WebSocket webSocket, Throwable error) {
                        echoed.completeExceptionally(error);
                    }
                }).get(20, TimeUnit.SECONDS);

        socket.sendText("hello through pep", true).get(10, TimeUnit.SECONDS);

        assertThat(echoed.get(10, TimeUnit.SECONDS)).isEqualTo("hello through pep");
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(10, TimeUnit.SECONDS);
        assertThat(ws.handshakes()).last().satisfies(h ->
                assertThat(h.getAll("x-forwarded-for")).containsExactly("127.0.0.1"));
    }

    // ---- answers from the gateway --------------------------------------------------------

    @ParameterizedTest
    @EnumSource(HttpClient.Version.class)
    void unknownHost_404FromGateway_withRequestId(HttpClient.Version version) throws Exception {
        HttpResponse<String> response = client(version).send(HttpRequest.newBuilder(URI.create(url("other", "/x"))).build(),
                HttpResponse.BodyHandlers.ofString());

        JsonNode error = gatewayError(response, 404, "unknown_host");
        assertThat(response.version()).isEqualTo(version);
        assertThat(response.headers().firstValue("x-request-id")).hasValue(error.get("request_id").asText());
    }

    @Test
    void unknownHost_browserGetsHtmlErrorPage() throws Exception {
        HttpResponse<String> response = h1.send(HttpRequest.newBuilder(URI.create(url("other", "/x")))
                .header("Accept", "text/html,application/xhtml+xml").build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(response.headers().firstValue("content-type")).hasValueSatisfying(
                v -> assertThat(v).startsWith("text/html"));
        assertThat(response.body()).contains("unknown_host")
                .contains(response.headers().firstValue("x-request-id").orElseThrow());
    }

    @Test
    void sniNamesOneApp_hostAnother_421_andNeitherUpstreamSawIt() throws Exception {
        ToolResult r = Clients.curl(gateway.devCa(), "plain.pep.localhost", gateway.port(), "--http1.1",
                "-H", "Host: deny.pep.localhost:" + gateway.port(), url("plain", "/misdirected"));

        assertThat(statusLine(r)).as(r.toString()).isEqualTo("1.1 421");
        assertThat(JSON.readTree(body(r)).get("error").asText()).isEqualTo("sni_host_mismatch");
        assertThat(plain.requests()).isEmpty();
        assertThat(denied.requests()).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(HttpClient.Version.class)
    void denyApp_403_andUpstreamSawNothing(HttpClient.Version version) throws Exception {
        HttpResponse<String> response = client(version).send(HttpRequest.newBuilder(URI.create(url("deny", "/secret")))
                .POST(HttpRequest.BodyPublishers.ofString("payload")).build(), HttpResponse.BodyHandlers.ofString());

        gatewayError(response, 403, null);
        assertThat(denied.requests()).isEmpty();
        assertThat(denied.connections()).isZero();
    }

    @Test
    void upgradeAnsweredWithout101_clientGetsThatAnswer_connectionStaysHttp() throws Exception {
        try (SSLSocket s = Clients.tls(gateway.port(), "plain.pep.localhost", gateway.devCa(), "http/1.1")) {
            String host = "Host: plain.pep.localhost\r\n";
            s.getOutputStream().write(ascii("GET /ws-no-101 HTTP/1.1\r\n" + host + "Connection: Upgrade\r\n"
                    + "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"));
            s.getOutputStream().flush();
            String first = readResponse(s);
            s.getOutputStream().write(ascii("GET /after HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"));
            s.getOutputStream().flush();
            String second = readResponse(s);

            assertThat(first).startsWith("HTTP/1.1 200 ").doesNotContainIgnoringCase("\r\nupgrade:")
                    .contains("X-Upstream: recording").endsWith("GET /ws-no-101 0 " + RecordingUpstream.sha256(new byte[0]) + "\n");
            assertThat(second).as("the next bytes are read as HTTP, not tunnelled").startsWith("HTTP/1.1 200 ")
                    .endsWith("GET /after 0 " + RecordingUpstream.sha256(new byte[0]) + "\n");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> plain.requests().size() == 2);
        assertThat(plain.requests()).extracting(RecordedRequest::requestLine)
                .containsExactly("GET /ws-no-101 HTTP/1.1", "GET /after HTTP/1.1");
        assertThat(plain.requests().get(1).headerValues("x-forwarded-for"))
                .as("forwarded by the gateway as a request, not relayed as tunnel bytes").containsExactly("127.0.0.1");
    }

    @Test
    void appConnectionsExhausted_503UpstreamBusy_andTheAppSawOnlyTheFirst() throws Exception {
        // One HTTP/2 connection: both streams run on its event loop, whose pool holds one connection.
        CompletableFuture<HttpResponse<String>> slow = h2.sendAsync(HttpRequest.newBuilder(
                URI.create(url("busy", "/hold?delay=4000"))).build(), HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(15)).until(() -> plain.heads().size() == 1);

        HttpResponse<String> second = h2.send(HttpRequest.newBuilder(URI.create(url("busy", "/second"))).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(second.version()).isEqualTo(HttpClient.Version.HTTP_2);
        gatewayError(second, 503, "upstream_busy");
        assertThat(slow.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(plain.requests()).extracting(RecordedRequest::target).containsExactly("/hold?delay=4000");
    }

    /** One HTTP/1.1 response with a Content-Length body, head and body as text. */
    private static String readResponse(SSLSocket s) throws IOException {
        var in = s.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("connection closed inside a response head: " + head);
            }
            head.append((char) c);
        }
        Matcher m = Pattern.compile("(?i)\r\ncontent-length: *(\\d+)").matcher(head);
        int length = m.find() ? Integer.parseInt(m.group(1)) : 0;
        return head + new String(in.readNBytes(length), StandardCharsets.ISO_8859_1);
    }

    @Test
    void upstreamDown_502() throws Exception {
        HttpResponse<String> response = h1.send(HttpRequest.newBuilder(URI.create(url("down", "/"))).build(),
                HttpResponse.BodyHandlers.ofString());

        gatewayError(response, 502, "upstream_unreachable");
    }

    @Test
    void upstreamHangs_504WithinResponseTimeout() throws Exception {
        long start = System.nanoTime();
        HttpResponse<String> response = h1.send(HttpRequest.newBuilder(URI.create(url("hang", "/slow"))).build(),
                HttpResponse.BodyHandlers.ofString());
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        gatewayError(response, 504, "upstream_timeout");
        assertThat(took).isBetween(HANG_TIMEOUT, HANG_TIMEOUT.plusSeconds(4));
        assertThat(hanging.requests()).extracting(RecordedRequest::target).containsExactly("/slow");
    }

    @Test
    void upstreamClosesWithoutAnswering_502() throws Exception {
        HttpResponse<String> response = h1.send(HttpRequest.newBuilder(URI.create(url("closing", "/"))).build(),
                HttpResponse.BodyHandlers.ofString());

        gatewayError(response, 502, "upstream_closed");
        assertThat(closing.requests()).hasSize(1);
    }

    @Test
    void upstreamClosesMidResponse_clientSeesTruncatedResponseNotACompleteOne() throws Exception {
        ToolResult r = Clients.curl(gateway.devCa(), "cut.pep.localhost", gateway.port(), "--http1.1",
                "-o", dir.resolve("cut.bin").toString(), url("cut", "/download"));

        // curl 18: "transfer closed with outstanding read data remaining".
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(18);
        assertThat(statusLine(r)).isEqualTo("1.1 200");
        assertThat(dir.resolve("cut.bin")).satisfies(p -> assertThat(java.nio.file.Files.size(p)).isLessThan(100_000));
    }

    // ---- admin ---------------------------------------------------------------------------

    @Test
    void admin_healthzReadyzMetrics() throws Exception {
        h1.send(HttpRequest.newBuilder(URI.create(url("plain", "/count-me"))).build(),
                HttpResponse.BodyHandlers.discarding());
        HttpClient admin = HttpClient.newHttpClient();

        HttpResponse<String> health = admin.send(adminGet("/healthz"), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> ready = admin.send(adminGet("/readyz"), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> metrics = admin.send(adminGet("/metrics"), HttpResponse.BodyHandlers.ofString());

        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(health.body()).get("status").asText()).isEqualTo("ok");
        assertThat(ready.statusCode()).isEqualTo(200);
        JsonNode readiness = JSON.readTree(ready.body());
        assertThat(readiness.get("status").asText()).isEqualTo("ready");
        assertThat(readiness.get("policy_version").asText()).isEqualTo(gateway.policyVersion()).isNotBlank();
        assertThat(metrics.statusCode()).isEqualTo(200);
        Matcher m = Pattern.compile("(?m)^pep_requests_total\\{app=\"plain\",status=\"2xx\"} (\\S+)$")
                .matcher(metrics.body());
        assertThat(m.find()).as(metrics.body()).isTrue();
        assertThat(Double.parseDouble(m.group(1))).isGreaterThanOrEqualTo(1.0);
    }

    // ---- helpers -------------------------------------------------------------------------

    private static HttpClient client(HttpClient.Version version) {
        return version == HttpClient.Version.HTTP_2 ? h2 : h1;
    }

    private static String url(String app, String pathAndQuery) {
        return "https://" + app + ".pep.localhost:" + gateway.port() + pathAndQuery;
    }

    private static HttpRequest adminGet(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.adminPort() + path)).build();
    }

    /** The one request the fixture received, waiting for it (the gateway forwards asynchronously). */
    private static RecordedRequest onlyRequest(RecordingUpstream upstream) {
        await().atMost(Duration.ofSeconds(10)).until(() -> !upstream.requests().isEmpty());
        assertThat(upstream.requests()).hasSize(1);
        return upstream.requests().get(0);
    }

    /** Checks a JSON error answered by the gateway itself; {@code code} null means any. */
    private static JsonNode gatewayError(HttpResponse<String> response, int status, String code) throws IOException {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("x-upstream")).as("answered by the app, not the gateway").isEmpty();
        JsonNode error = JSON.readTree(response.body());
        assertThat(error.get("status").asInt()).isEqualTo(status);
        if (code != null) {
            assertThat(error.get("error").asText()).isEqualTo(code);
        }
        assertThat(error.get("message").asText()).isNotBlank();
        assertThat(error.get("request_id").asText()).isNotBlank();
        return error;
    }

    /** The {@code <http_version> <status>} line curl writes last. */
    static String statusLine(ToolResult r) {
        String out = r.out();
        return out.substring(out.lastIndexOf('\n') + 1);
    }

    /** What curl wrote before its status line. */
    static String body(ToolResult r) {
        String out = r.out();
        return out.substring(0, Math.max(0, out.lastIndexOf('\n')));
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
