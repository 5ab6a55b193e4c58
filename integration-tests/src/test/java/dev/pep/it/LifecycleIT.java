package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pep.it.RecordingUpstream.Mode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import dev.pep.it.RawHttp2.Frame;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import javax.net.ssl.SSLSocket;

/** Stopping the packaged gateway: SIGTERM drains in-flight requests and exits 0. */
class LifecycleIT {

    @TempDir
    Path dir;

    private RecordingUpstream upstream;
    private GatewayProcess gateway;

    @AfterEach
    void cleanUp() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    @Test
    void sigterm_whileSlowRequestInFlight_requestCompletes_andExitCodeIsZero() throws Exception {
        upstream = RecordingUpstream.start(Mode.ANSWER);
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-lifecycle") + """
                apps:
                  slow:
                    hosts: [slow.pep.localhost]
                    upstream: %s
                    access: public
                """.formatted(upstream.url()));
        HttpClient client = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
        CompletableFuture<HttpResponse<String>> inFlight = client.sendAsync(HttpRequest.newBuilder(
                URI.create("https://slow.pep.localhost:" + gateway.port() + "/slow?delay=2500")).build(),
                HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(15)).until(() -> upstream.requests().size() == 1);

        gateway.signalTerm();
        HttpClient admin = HttpClient.newHttpClient();
        await().atMost(Duration.ofSeconds(2)).until(() -> admin.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gateway.adminPort() + "/readyz")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode() == 503);
        assertThat(inFlight).as("the slow request is still in flight while the gateway drains").isNotDone();
        int exit = gateway.stop(Duration.ofSeconds(30));

        HttpResponse<String> response = inFlight.get(10, TimeUnit.SECONDS);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).startsWith("GET /slow?delay=2500 0 ");
        assertThat(exit).as(gateway.stderr()).isZero();
        assertThat(gateway.stderr()).contains("gateway draining").contains("gateway stopped");
    }

    @Test
    void sigterm_inFlightOnBothProtocols_h1AnswerSaysConnectionClose_h2GetsGoaway() throws Exception {
        upstream = RecordingUpstream.start(Mode.ANSWER);
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-drain") + """
                apps:
                  slow:
                    hosts: [slow.pep.localhost]
                    upstream: %s
                    access: public
                """.formatted(upstream.url()));
        String host = "slow.pep.localhost";
        try (SSLSocket h1 = Clients.tls(gateway.port(), host, gateway.devCa(), "http/1.1");
                RawHttp2 h2 = RawHttp2.connect(gateway.port(), host, gateway.devCa())) {
            h1.getOutputStream().write(("GET /slow-h1?delay=3000 HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            h1.getOutputStream().flush();
            h2.write(RawHttp2.HEADERS, RawHttp2.END_HEADERS | RawHttp2.END_STREAM, 1,
                    RawHttp2.getHeaders(host, "/slow-h2?delay=3000"));
            await().atMost(Duration.ofSeconds(15)).until(() -> upstream.heads().size() == 2);

            gateway.signalTerm();
            String h1Response = new String(h1.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            h2.readTimeout(Duration.ofSeconds(30));
            List<Frame> frames = h2.readToEnd();

            assertThat(h1Response).startsWith("HTTP/1.1 200 ");
            assertThat(h1Response.toLowerCase(Locale.ROOT)).contains("\r\nconnection: close\r\n")
                    .endsWith("get /slow-h1?delay=3000 0 " + RecordingUpstream.sha256(new byte[0]) + "\n");
            assertThat(frames).as("the HTTP/2 connection ended").isNotNull();
            assertThat(frames).extracting(Frame::type).contains(RawHttp2.GOAWAY);
            Frame goaway = frames.stream().filter(f -> f.type() == RawHttp2.GOAWAY).findFirst().orElseThrow();
            assertThat(goaway.int32At(4)).as("GOAWAY error code NO_ERROR").isZero();
            assertThat(frames).as("the in-flight stream still got its whole answer")
                    .anyMatch(f -> f.stream() == 1 && f.type() == RawHttp2.HEADERS)
                    .anyMatch(f -> f.stream() == 1 && f.has(RawHttp2.END_STREAM)
                            && (f.type() == RawHttp2.DATA || f.type() == RawHttp2.HEADERS));
        }
        assertThat(gateway.stop(Duration.ofSeconds(30))).as(gateway.stderr()).isZero();
    }
}
