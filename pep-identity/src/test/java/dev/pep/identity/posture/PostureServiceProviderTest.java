package dev.pep.identity.posture;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.pep.core.Credentials;
import dev.pep.core.DevicePosture;
import dev.pep.core.PostureSignal;
import dev.pep.core.Subject;
import dev.pep.identity.testing.MutableClock;
import dev.pep.identity.testing.TestCredentials;
import dev.pep.identity.x509.TrustBundle;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Against a real HTTP posture service on loopback (the JDK's HttpServer). */
class PostureServiceProviderTest {

    static final TestPki PKI = new TestPki("CN=Fleet Device CA");
    static final X509Certificate LAPTOP = PKI.device("laptop-17");
    static final String TOKEN = "fleet-token-0b5e";

    enum Mode { ANSWER, UNKNOWN, FAIL, HANG, GARBAGE, OTHER_DEVICE, TRICKLE, HUGE }

    final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    final Map<String, String> authorizations = new ConcurrentHashMap<>();
    final CountDownLatch release = new CountDownLatch(1);
    volatile Mode mode = Mode.ANSWER;
    volatile String assessedAt = "";
    HttpServer server;
    ExecutorService serverThreads;
    MutableClock clock;
    DeviceBindings bindings;

    @BeforeEach
    void start() throws IOException {
        clock = MutableClock.atRealNow();
        assessedAt = clock.instant().minus(Duration.ofMinutes(2)).toString();
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        serverThreads = Executors.newFixedThreadPool(4);
        server.setExecutor(serverThreads);
        server.createContext("/v1/devices/", this::answer);
        server.start();
        var certificates = new DeviceCertificateProvider(new DeviceCertificateProvider.Config("certs",
                TrustBundle.of(List.of(PKI.ca), List.of()),
                DeviceCertificateProvider.DeviceIdField.SUBJECT_CN, Map.of()), clock, Runnable::run);
        bindings = new DeviceBindings(SessionKeys.perConnection(), List.of(certificates), clock,
                Duration.ofHours(1), 100);
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.stop(0);
        serverThreads.shutdownNow();
    }

    private void answer(HttpExchange exchange) throws IOException {
        String device = exchange.getRequestURI().getPath().substring("/v1/devices/".length());
        calls.computeIfAbsent(device, d -> new AtomicInteger()).incrementAndGet();
        authorizations.put(device, String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
        String body = switch (mode) {
            case ANSWER -> "{\"device_id\":\"" + device + "\",\"assessed_at\":\"" + assessedAt
                    + "\",\"signals\":{\"managed\":true,\"compliant\":true,\"os.version\":\"14.2\","
                    + "\"patch.age_days\":3,\"certificate.status\":\"valid\",\"Bad Name\":1}}";
            case OTHER_DEVICE -> "{\"device_id\":\"someone-else\",\"signals\":{\"compliant\":true}}";
            case GARBAGE -> "<html>oops</html>";
            default -> "";
        };
        if (mode == Mode.TRICKLE || mode == Mode.HUGE) {
            sendSlowly(exchange, mode == Mode.HUGE ? 70 * 1024 : 4096);
            return;
        }
        if (mode == Mode.HANG) {
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        int status = switch (mode) {
            case UNKNOWN -> 404;
            case FAIL -> 503;
            default -> 200;
        };
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            exchange.getResponseBody().write(bytes);
        }
        exchange.close();
    }

    /** Headers at once, then the body a few bytes at a time (or a body too large to take). */
    private void sendSlowly(HttpExchange exchange, int size) throws IOException {
        exchange.sendResponseHeaders(200, size);
        try (var out = exchange.getResponseBody()) {
            byte[] chunk = new byte[size > 4096 ? 8192 : 16];
            java.util.Arrays.fill(chunk, (byte) ' ');
            for (int sent = 0; sent < size; sent += chunk.length) {
                out.write(chunk, 0, Math.min(chunk.length, size - sent));
                out.flush();
                if (size <= 4096 && release.await(50, TimeUnit.MILLISECONDS)) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // The gateway gave up and closed the connection.
        }
    }

    PostureServiceProvider provider(String base, Duration timeout) {
        var config = new PostureServiceProvider.Config("fleet", base + "/v1/devices/{device-id}",
                () -> Optional.of(TOKEN), timeout, Duration.ofMinutes(5), Duration.ofMinutes(30));
        return new PostureServiceProvider(config, bindings, HttpClient.newHttpClient(), clock,
                Runnable::run);
    }

    PostureServiceProvider provider() {
        return provider("http://127.0.0.1:" + server.getAddress().getPort(), Duration.ofSeconds(2));
    }

    static DevicePosture assess(PostureServiceProvider p, Credentials credentials) {
        List<PostureSignal> signals = p.assess(Subject.anonymous(), credentials)
                .toCompletableFuture().join();
        return PostureAssessor.merge(signals);
    }

    static Credentials withLaptop() {
        return TestCredentials.of("logistics.partners.example", Map.of(), List.of(LAPTOP),
                Instant.now());
    }

    static Object value(DevicePosture posture, String name) {
        return posture.signal(name).map(PostureSignal::value).orElse(null);
    }

    @Test
    void assess_serviceAnswers_signalsAssessedWhenTheServiceSays() {
        DevicePosture posture = assess(provider(), withLaptop());

        assertThat(value(posture, "service.status")).isEqualTo("valid");
        assertThat(posture.managed()).isTrue();
        assertThat(value(posture, "compliant")).isEqualTo(true);
        assertThat(value(posture, "os.version")).isEqualTo("14.2");
        assertThat(value(posture, "patch.age_days")).isEqualTo(3L);
        assertThat(posture.signal("compliant").orElseThrow().assessedAt())
                .isEqualTo(Instant.parse(assessedAt));
        assertThat(authorizations.get("laptop-17")).isEqualTo("Bearer " + TOKEN);
    }

    @Test
    void assess_serviceClaimsReservedOrBadNames_ignored() {
        DevicePosture posture = assess(provider(), withLaptop());

        // The service cannot speak for the certificate provider, nor invent malformed names.
        assertThat(value(posture, "service.status")).isEqualTo("valid");
        assertThat(posture.signals()).doesNotContainKeys("certificate.status", "Bad Name");
    }

    @Test
    void assess_secondRequestWithinCacheAge_servedFromCache() {
        PostureServiceProvider p = provider();
        assess(p, withLaptop());

        clock.advance(Duration.ofMinutes(4));
        DevicePosture again = assess(p, withLaptop());

        assertThat(again.managed()).isTrue();
        assertThat(calls.get("laptop-17")).hasValue(1);
    }

    @Test
    void assess_cacheOlderThanItsMaximumAge_asksAgain() {
        PostureServiceProvider p = provider();
        assess(p, withLaptop());

        clock.advance(Duration.ofMinutes(6));
        assess(p, withLaptop());

        assertThat(calls.get("laptop-17")).hasValue(2);
    }

    @Test
    void assess_answerAssessedLongerAgoThanMaxAge_stale() {
        assessedAt = clock.instant().minus(Duration.ofHours(2)).toString();

        DevicePosture posture = assess(provider(), withLaptop());

        assertThat(value(posture, "service.status")).isEqualTo("stale");
        assertThat(posture.managed()).isFalse();
        assertThat(posture.signals()).containsOnlyKeys("service.status");
    }

    @Test
    void assess_unknownDevice_unknownDevice() {
        mode = Mode.UNKNOWN;

        DevicePosture posture = assess(provider(), withLaptop());

        assertThat(value(posture, "service.status")).isEqualTo("unknown_device");
        assertThat(posture.managed()).isFalse();
    }

    @Test
    void assess_serviceFails_unavailableAndNothingElse() {
        mode = Mode.FAIL;
        PostureServiceProvider p = provider();

        DevicePosture posture = assess(p, withLaptop());

        assertThat(posture.signals()).containsOnlyKeys("service.status");
        assertThat(value(posture, "service.status")).isEqualTo("unavailable");
        assertThat(p.failureCount()).isEqualTo(1);
    }

    @Test
    void reachable_flipsWithTheLastCall_failingServiceDown_answeringOrUnknownUp() {
        PostureServiceProvider p = provider();
        assertThat(p.reachable()).as("before any call").isTrue();

        mode = Mode.FAIL;
        assess(p, withLaptop());
        assertThat(p.reachable()).isFalse();

        mode = Mode.UNKNOWN;
        clock.advance(Duration.ofMinutes(6)); // past the cache
        assess(p, withLaptop());
        assertThat(p.reachable()).isTrue();

        mode = Mode.GARBAGE;
        clock.advance(Duration.ofMinutes(6));
        assess(p, withLaptop());
        assertThat(p.reachable()).isFalse();

        mode = Mode.ANSWER;
        clock.advance(Duration.ofMinutes(6));
        assess(p, withLaptop());
        assertThat(p.reachable()).isTrue();
        assertThat(p.failureCount()).isEqualTo(2);
    }

    @Test
    void assess_garbageOrAnswerForAnotherDevice_unavailable() {
        mode = Mode.GARBAGE;
        assertThat(value(assess(provider(), withLaptop()), "service.status")).isEqualTo("unavailable");

        mode = Mode.OTHER_DEVICE;
        DevicePosture other = assess(provider(), withLaptop());

        assertThat(value(other, "service.status")).isEqualTo("unavailable");
        assertThat(other.signals()).doesNotContainKey("compliant");
    }

    @Test
    void assess_serviceDown_unavailable() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }

        DevicePosture posture = assess(provider("http://127.0.0.1:" + closedPort,
                Duration.ofSeconds(2)), withLaptop());

        assertThat(value(posture, "service.status")).isEqualTo("unavailable");
        assertThat(posture.managed()).isFalse();
    }

    @Test
    void assess_serviceHangs_unavailableWithinTimeout() {
        mode = Mode.HANG;
        long start = System.nanoTime();

        DevicePosture posture = assess(provider("http://127.0.0.1:" + server.getAddress().getPort(),
                Duration.ofMillis(300)), withLaptop());

        assertThat(value(posture, "service.status")).isEqualTo("unavailable");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void assess_bodyTrickles_unavailableWithinTimeout() {
        mode = Mode.TRICKLE;
        long start = System.nanoTime();

        DevicePosture posture = assess(provider("http://127.0.0.1:" + server.getAddress().getPort(),
                Duration.ofMillis(300)), withLaptop());

        assertThat(value(posture, "service.status")).isEqualTo("unavailable");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
    }

    @Test
    void assess_answerLargerThanLimit_unavailable() {
        mode = Mode.HUGE;

        assertThat(value(assess(provider(), withLaptop()), "service.status")).isEqualTo("unavailable");
    }

    @Test
    void assess_noVerifiedDeviceId_serviceNotAsked() {
        DevicePosture posture = assess(provider(), TestCredentials.of("logistics.partners.example",
                Map.of("x-device-id", List.of("laptop-17")), List.of(), Instant.now()));

        assertThat(value(posture, "service.status")).isEqualTo("no_device_id");
        assertThat(calls).isEmpty();
    }

    @Test
    void assess_deviceBoundToSession_asksAboutIt() {
        Credentials credentials = TestCredentials.of("logistics.partners.example", Map.of(),
                List.of(), Instant.now());
        bindings.bind(bindings.sessionKey(Subject.anonymous(), credentials), "tablet 4/b");

        DevicePosture posture = assess(provider(), credentials);

        assertThat(posture.managed()).isTrue();
        assertThat(calls).containsOnlyKeys("tablet 4/b");
    }
}
