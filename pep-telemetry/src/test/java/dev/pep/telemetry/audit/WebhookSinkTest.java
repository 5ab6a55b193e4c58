package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.pep.core.AuditEvent;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real webhook receiver on loopback that refuses, then loses an answer, then accepts. */
class WebhookSinkTest {

    /** What the receiver does with the next request. */
    enum Mode { REFUSE, STORE_BUT_FAIL, ANSWER }

    @TempDir
    Path dir;

    private HttpServer server;
    private volatile Mode mode = Mode.REFUSE;
    private final List<String> receivedIds = new CopyOnWriteArrayList<>();
    private final List<String> headers = new CopyOnWriteArrayList<>();
    private final AtomicInteger requests = new AtomicInteger();

    @BeforeEach
    void startReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/audit", this::handle);
        server.start();
    }

    @AfterEach
    void stopReceiver() {
        server.stop(0);
    }

    private void handle(HttpExchange exchange) throws IOException {
        requests.incrementAndGet();
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        headers.add(exchange.getRequestHeaders().getFirst("Content-Type") + " "
                + exchange.getRequestHeaders().getFirst("Authorization"));
        Mode now = mode;
        if (now != Mode.REFUSE) {
            for (String line : body.split("\n")) {
                receivedIds.add(String.valueOf(AuditJson.parse(line).get("id")));
            }
        }
        if (now == Mode.STORE_BUT_FAIL) {
            mode = Mode.ANSWER; // the receiver stored the batch but its answer is lost once
        }
        exchange.sendResponseHeaders(now == Mode.ANSWER ? 200 : 503, -1);
        exchange.close();
    }

    private URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/audit");
    }

    @Test
    void webhookDownThenBack_burstArrivesExactlyOnceAfterDedupById() throws Exception {
        MeterRegistry registry = new SimpleMeterRegistry();
        WebhookSink sink = new WebhookSink("webhook", endpoint(), Duration.ofSeconds(5),
                Map.of("Authorization", "Bearer receiver-secret"));
        AuditConfig config = AuditConfig.builder(dir.resolve("spool"), "gw-1")
                .batchSize(40).retryBackoff(Duration.ofMillis(10), Duration.ofMillis(100))
                .sink(sink).build();
        AuditEvents events = AuditEvents.create("gw-1");
        List<String> emitted = new ArrayList<>();
        try (AuditPipeline pipeline = new AuditPipeline(config, registry)) {
            pipeline.start();
            List<CompletableFuture<Void>> stages = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                AuditEvent e = events.sessionEnded("s-" + i, i, i, Duration.ZERO, "closed");
                emitted.add(e.id());
                stages.add(pipeline.emit(e).toCompletableFuture());
            }
            CompletableFuture.allOf(stages.toArray(CompletableFuture[]::new))
                    .get(10, TimeUnit.SECONDS);
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> requests.get() >= 3);
            assertThat(receivedIds).isEmpty();

            mode = Mode.STORE_BUT_FAIL;

            Awaitility.await().atMost(Duration.ofSeconds(20))
                    .until(() -> new HashSet<>(receivedIds).size() == 400);
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() ->
                    registry.get("pep.audit.sink.lag").tag("sink", "webhook").gauge().value() == 0);
        }
        assertThat(new HashSet<>(receivedIds)).isEqualTo(new HashSet<>(emitted));
        assertThat(receivedIds).hasSizeGreaterThan(400); // the lost answer caused one replay
        assertThat(registry.get("pep.audit.sink.errors").tag("sink", "webhook").counter()
                .count()).isGreaterThanOrEqualTo(4);
        assertThat(registry.get("pep.audit.sink.delivered").tag("sink", "webhook").counter()
                .count()).isEqualTo(400);
        assertThat(headers).allMatch(h -> h.equals("application/x-ndjson Bearer receiver-secret"));
    }
}
