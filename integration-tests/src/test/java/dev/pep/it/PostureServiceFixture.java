package dev.pep.it;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A device posture service on loopback, port 0: {@code GET /devices/{id}} with the expected
 * bearer token. The device id picks the mode, so tests need no shared switch: an id starting
 * {@code down-} answers 503 (the service is down), {@code cut-} closes the connection without an
 * answer (the service crashed), {@code slow-} answers only after
 * {@link #SLOW} (past any sane timeout), {@code frozen-} answers 200, compliant, assessed when
 * it was first asked (a device that stopped reporting: its posture goes stale), any other answers
 * 200, compliant, assessed now. A wrong
 * token gets 401. Counts the calls per device, so a test can tell the gateway asked.
 */
final class PostureServiceFixture implements AutoCloseable {

    /** How long a slow device's answer takes. */
    static final Duration SLOW = Duration.ofSeconds(15);

    private final HttpServer server;
    private final ExecutorService threads;
    private final String token;
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    /** When each {@code frozen-} device was first asked about. */
    private final Map<String, Instant> frozen = new ConcurrentHashMap<>();

    private PostureServiceFixture(HttpServer server, ExecutorService threads, String token) {
        this.server = server;
        this.threads = threads;
        this.token = token;
    }

    /** Starts the service; it accepts only {@code Authorization: Bearer token}. */
    static PostureServiceFixture start(String token) throws IOException {
        HttpServer server = HttpServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        ExecutorService threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "posture-service");
            t.setDaemon(true);
            return t;
        });
        PostureServiceFixture f = new PostureServiceFixture(server, threads, token);
        server.createContext("/devices/", f::handle);
        server.setExecutor(threads);
        server.start();
        return f;
    }

    int port() {
        return server.getAddress().getPort();
    }

    /** How many calls the service had about that device. */
    int calls(String device) {
        AtomicInteger n = calls.get(device);
        return n == null ? 0 : n.get();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String device = exchange.getRequestURI().getPath().substring("/devices/".length());
            calls.computeIfAbsent(device, d -> new AtomicInteger()).incrementAndGet();
            if (!("Bearer " + token).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                answer(exchange, 401, "{\"error\":\"unauthorized\"}");
            } else if (device.startsWith("down-")) {
                answer(exchange, 503, "{\"error\":\"maintenance\"}");
            } else if (device.startsWith("cut-")) {
                // No status line at all: closing the exchange now drops the connection.
                exchange.getRequestBody().close();
            } else if (device.startsWith("slow-")) {
                sleep(SLOW);
                answer(exchange, 200, report(device, Instant.now()));
            } else if (device.startsWith("frozen-")) {
                answer(exchange, 200, report(device, frozen.computeIfAbsent(device, d -> Instant.now())));
            } else {
                answer(exchange, 200, report(device, Instant.now()));
            }
        }
    }

    private static String report(String device, Instant assessedAt) {
        return """
                {"device_id": "%s", "assessed_at": "%s",
                 "signals": {"compliant": true, "patch.level": "current"}}
                """.formatted(device, assessedAt);
    }

    private static void answer(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        } catch (IOException gone) {
            // The gateway gave up waiting (a slow device): nobody reads this answer.
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
