package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pep.it.RecordingUpstream.Mode;
import dev.pep.it.RecordingUpstream.RecordedRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every class of ambiguous request, sent as raw bytes over {@code openssl s_client}: the gateway
 * answers with the documented status and reason code, closes the connection, and the application
 * behind it receives nothing. Two app names point at the same recording fixture so that a request
 * routed by either reading of an ambiguous head would be seen.
 */
class RequestRejectionIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(15);
    private static final String HOST = "strict.pep.localhost";
    private static final Duration HEADER_READ_TIMEOUT = Duration.ofSeconds(2);

    @TempDir
    static Path dir;

    static RecordingUpstream upstream;
    static GatewayProcess gateway;
    static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        upstream = RecordingUpstream.start(Mode.ANSWER);
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-rejection") + """
                limits:
                  header-read-timeout: %2$ds
                apps:
                  strict:
                    hosts: [strict.pep.localhost]
                    upstream: %1$s
                    access: public
                  strict2:
                    hosts: [strict2.pep.localhost]
                    upstream: %1$s
                    access: public
                """.formatted(upstream.url(), HEADER_READ_TIMEOUT.toSeconds()));
        client = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, upstream);
    }

    @BeforeEach
    void clear() {
        upstream.clear();
    }

    static Stream<Arguments> ambiguousRequests() {
        String h = "Host: " + HOST + "\r\n";
        return Stream.of(
                Arguments.of("Content-Length and Transfer-Encoding", 400, "content_length_with_transfer_encoding",
                        "POST /smuggle HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + "0\r\n\r\nGET /inner HTTP/1.1\r\n" + h + "\r\n"),
                Arguments.of("duplicate Content-Length", 400, "duplicate_content_length",
                        "POST /x HTTP/1.1\r\n" + h + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
                Arguments.of("Content-Length not a number", 400, "content_length_invalid",
                        "POST /x HTTP/1.1\r\n" + h + "Content-Length: 3x\r\n\r\nabc"),
                Arguments.of("Content-Length with a sign", 400, "content_length_invalid",
                        "POST /x HTTP/1.1\r\n" + h + "Content-Length: +3\r\n\r\nabc"),
                Arguments.of("Content-Length as a list", 400, "duplicate_content_length",
                        "POST /x HTTP/1.1\r\n" + h + "Content-Length: 3, 3\r\n\r\nabc"),
                Arguments.of("Content-Length empty", 400, "content_length_invalid",
                        "POST /x HTTP/1.1\r\n" + h + "Content-Length: \r\n\r\n"),
                Arguments.of("Content-Length past 18 digits", 400, "content_length_invalid",
                        "POST /x HTTP/1.1\r\n" + h + "Content-Length: 1" + "0".repeat(18) + "\r\n\r\n"),
                Arguments.of("obs-fold", 400, "obs_fold",
                        "GET /x HTTP/1.1\r\n" + h + "X-Folded: a\r\n b\r\n\r\n"),
                Arguments.of("bare LF", 400, "bare_lf",
                        "GET /x HTTP/1.1\r\n" + h + "X-A: b\nX-B: c\r\n\r\n"),
                Arguments.of("bare CR", 400, "bare_cr",
                        "GET /x HTTP/1.1\r\n" + h + "X-A: b\rX-B: c\r\n\r\n"),
                Arguments.of("NUL in a header value", 400, "nul_in_head",
                        "GET /x HTTP/1.1\r\n" + h + "X-A: a\0b\r\n\r\n"),
                Arguments.of("underscore in a header name", 400, "header_name_underscore",
                        "GET /x HTTP/1.1\r\n" + h + "X_Forwarded_For: 10.0.0.1\r\n\r\n"),
                Arguments.of("header name not a token", 400, "header_name_invalid",
                        "GET /x HTTP/1.1\r\n" + h + "X(A): b\r\n\r\n"),
                Arguments.of("encoded slash", 400, "encoded_slash", get("/a%2Fb", h)),
                Arguments.of("encoded backslash", 400, "encoded_backslash", get("/a%5Cb", h)),
                Arguments.of("encoded semicolon", 400, "encoded_semicolon", get("/a%3Bb", h)),
                Arguments.of("encoded hash", 400, "encoded_hash", get("/a%23b", h)),
                Arguments.of("encoded NUL", 400, "encoded_nul", get("/a%00b", h)),
                Arguments.of("absolute-form disagreeing with Host", 400, "host_mismatch",
                        "GET https://strict2.pep.localhost/x HTTP/1.1\r\n" + h + "\r\n"),
                Arguments.of("duplicate Host", 400, "duplicate_host",
                        "GET /x HTTP/1.1\r\n" + h + "Host: strict2.pep.localhost\r\n\r\n"),
                Arguments.of("missing Host", 400, "missing_host", "GET /x HTTP/1.1\r\n\r\n"),
                Arguments.of("two Transfer-Encoding lines", 400, "duplicate_transfer_encoding",
                        "POST /x HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + "0\r\n\r\n"),
                Arguments.of("Transfer-Encoding in HTTP/1.0", 400, "transfer_encoding_in_http10",
                        "POST /x HTTP/1.0\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                Arguments.of("unsupported Transfer-Encoding", 501, "unsupported_transfer_encoding",
                        "POST /x HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n"),
                Arguments.of("CONNECT", 405, "connect_not_supported",
                        "CONNECT strict.pep.localhost:443 HTTP/1.1\r\nHost: strict.pep.localhost:443\r\n\r\n"),
                Arguments.of("request line too long", 414, "request_line_too_long",
                        get("/" + "a".repeat(9000), h)),
                Arguments.of("too many header lines", 431, "too_many_headers",
                        "GET /x HTTP/1.1\r\n" + h + "X-N: 1\r\n".repeat(120) + "\r\n"),
                Arguments.of("header section too large", 431, "header_section_too_large",
                        "GET /x HTTP/1.1\r\n" + h + "X-Big: " + "b".repeat(40_000) + "\r\n\r\n"));
    }

    @ParameterizedTest(name = "{0} -> {1} {2}")
    @MethodSource("ambiguousRequests")
    void ambiguousRequest_isRefused_connectionClosed_upstreamSawNothing(String what, int status, String code,
            String raw) throws Exception {
        ToolResult r = Clients.openssl(gateway.port(), HOST, raw.getBytes(StandardCharsets.ISO_8859_1),
                CLOSE_TIMEOUT);

        assertThat(r.timedOut()).as("the gateway closed the connection after refusing it\n%s", r).isFalse();
        String response = r.out();
        assertThat(response).as(r.toString()).startsWith("HTTP/1.1 " + status + " ");
        assertThat(response.toLowerCase()).contains("\r\nconnection: close\r\n");
        assertThat(response.indexOf("HTTP/1.1", 1)).as("exactly one response").isEqualTo(-1);
        JsonNode error = JSON.readTree(response.substring(response.indexOf("\r\n\r\n") + 4));
        assertThat(error.get("status").asInt()).isEqualTo(status);
        assertThat(error.get("error").asText()).isEqualTo(code);
        assertThat(error.get("request_id").asText()).isNotBlank();
        assertUpstreamSawOnlyAMarker();
    }

    @Test
    void wellFormedRawRequest_isForwarded_controlForTheTable() throws Exception {
        String raw = "GET /control HTTP/1.1\r\nHost: " + HOST + "\r\nConnection: close\r\n\r\n";

        ToolResult r = Clients.openssl(gateway.port(), HOST, raw.getBytes(StandardCharsets.ISO_8859_1),
                CLOSE_TIMEOUT);

        assertThat(r.out()).as(r.toString()).startsWith("HTTP/1.1 200 ");
        await().atMost(Duration.ofSeconds(10)).until(() -> upstream.requests().size() == 1);
        assertThat(upstream.requests().get(0).requestLine()).isEqualTo("GET /control HTTP/1.1");
    }

    @Test
    void partialHead_connectionClosedAfterHeaderReadTimeout_upstreamSawNothing() throws Exception {
        String partial = "GET /slowloris HTTP/1.1\r\nHost: " + HOST + "\r\nX-Slow: 1\r\n";
        long start = System.nanoTime();

        ToolResult r = Clients.openssl(gateway.port(), HOST, partial.getBytes(StandardCharsets.ISO_8859_1),
                CLOSE_TIMEOUT);

        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(r.timedOut()).as("the gateway closed the idle half-sent request\n%s", r).isFalse();
        assertThat(took).isBetween(HEADER_READ_TIMEOUT, HEADER_READ_TIMEOUT.plusSeconds(6));
        assertUpstreamSawOnlyAMarker();
    }

    private static String get(String target, String hostLine) {
        return "GET " + target + " HTTP/1.1\r\n" + hostLine + "\r\n";
    }

    /**
     * Sends a well-formed marker request after the refusal and waits until the fixture has it:
     * anything the gateway had forwarded of the refused request would have arrived by then.
     */
    private static void assertUpstreamSawOnlyAMarker() throws Exception {
        HttpResponse<String> marker = client.send(HttpRequest.newBuilder(
                URI.create("https://" + HOST + ":" + gateway.port() + "/marker")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(marker.statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> !upstream.requests().isEmpty());
        assertThat(upstream.requests()).extracting(RecordedRequest::requestLine)
                .containsExactly("GET /marker HTTP/1.1");
    }
}
