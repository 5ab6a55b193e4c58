package dev.pep.it;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenID provider on 127.0.0.1:0 whose token endpoint hangs: discovery and its key set answer
 * at once (so the gateway takes it for a working provider and starts sign-ins), but a code
 * exchange is accepted and never answered until the fixture closes. Thread-safe.
 */
final class HangingProvider implements AutoCloseable {

    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final CountDownLatch closed = new CountDownLatch(1);
    private final AtomicInteger tokenRequests = new AtomicInteger();

    private HangingProvider(HttpServer server) {
        this.server = server;
    }

    /** Starts the provider with a fresh RSA key in its key set. */
    static HangingProvider start() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        HangingProvider provider = new HangingProvider(server);
        String jwks = new JWKSet(new RSAKeyGenerator(2048).keyID("hang-1").algorithm(JWSAlgorithm.RS256)
                .generate().toPublicJWK()).toString(true);
        server.createContext("/.well-known/openid-configuration", ex -> answer(ex, """
                {"issuer":"%1$s","authorization_endpoint":"%1$s/authorize","token_endpoint":"%1$s/token",
                 "jwks_uri":"%1$s/jwks","response_types_supported":["code"],"subject_types_supported":["public"],
                 "id_token_signing_alg_values_supported":["RS256"]}""".formatted(provider.issuer())));
        server.createContext("/jwks", ex -> answer(ex, jwks));
        server.createContext("/token", ex -> {
            provider.tokenRequests.incrementAndGet();
            try {
                provider.closed.await(5, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.close();
        });
        server.setExecutor(provider.threads);
        server.start();
        return provider;
    }

    /** {@code http://127.0.0.1:port}. */
    String issuer() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** How many code exchanges reached the token endpoint. */
    int tokenRequests() {
        return tokenRequests.get();
    }

    private static void answer(HttpExchange ex, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(200, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        closed.countDown();
        server.stop(0);
        threads.shutdownNow();
    }
}
