package dev.pep.identity.testing;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A JWKS endpoint on 127.0.0.1, port 0, whose keys and availability tests change: it answers,
 * fails with 503, or hangs (accepts the request and sends nothing until the mode changes).
 */
public final class KeyServer implements AutoCloseable {

    /** How the server answers. */
    public enum Mode { ANSWER, FAIL, HANG }

    private final HttpServer server;
    private final AtomicInteger requests = new AtomicInteger();
    private volatile List<JWK> keys;
    private volatile Mode mode = Mode.ANSWER;
    private volatile CountDownLatch release = new CountDownLatch(1);

    public KeyServer(List<JWK> keys) throws IOException {
        this.keys = List.copyOf(keys);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/jwks", exchange -> {
            requests.incrementAndGet();
            if (mode == Mode.HANG) {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (mode != Mode.ANSWER) {
                exchange.sendResponseHeaders(503, -1);
                exchange.close();
                return;
            }
            byte[] body = new JWKSet(this.keys).toString(true).getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
    }

    public URI uri() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/jwks");
    }

    public void setKeys(List<JWK> newKeys) {
        keys = List.copyOf(newKeys);
    }

    /** Changes how the server answers; a hang under way ends (with a 503). */
    public void setMode(Mode newMode) {
        mode = newMode;
        CountDownLatch hanging = release;
        release = new CountDownLatch(1);
        hanging.countDown();
    }

    public int requests() {
        return requests.get();
    }

    @Override
    public void close() {
        release.countDown();
        server.stop(0);
    }
}
