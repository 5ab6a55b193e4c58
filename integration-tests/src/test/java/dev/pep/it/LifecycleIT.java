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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
}
