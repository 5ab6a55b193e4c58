package dev.pep.policy.authzen;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.pep.core.AccessRequest;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.Effect;
import dev.pep.policy.DefaultPolicyEngine;
import dev.pep.policy.PolicyDirs;
import dev.pep.policy.PolicyReasons;
import dev.pep.policy.Requests;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The AuthZEN client engine against the AuthZEN endpoint over the built-in engine. */
class AuthZenTest {

    private static final Path CONFIG =
            Path.of(System.getProperty("pep.config.dir", "../config"));

    enum Mode { ANSWER, FAIL, HANG, GARBAGE, BARE_ALLOW, BARE_DENY }

    private static DefaultPolicyEngine builtIn;
    private HttpServer server;
    private final AtomicReference<Mode> mode = new AtomicReference<>(Mode.ANSWER);
    private final AtomicInteger calls = new AtomicInteger();
    private final AtomicReference<String> authorization = new AtomicReference<>();
    private final CountDownLatch release = new CountDownLatch(1);
    private final MutableClock clock = new MutableClock(Requests.NOW);

    @BeforeEach
    void start() throws IOException {
        builtIn = PolicyDirs.engine(CONFIG.resolve("policies"));
        AuthZenEndpoint endpoint = AuthZenEndpoint.over(builtIn);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext(AuthZenEndpoint.PATH, exchange -> serve(exchange, endpoint));
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.stop(0);
    }

    private void serve(HttpExchange exchange, AuthZenEndpoint endpoint) throws IOException {
        calls.incrementAndGet();
        authorization.set(exchange.getRequestHeaders().getFirst("Authorization"));
        String request = new String(exchange.getRequestBody().readAllBytes(),
                StandardCharsets.UTF_8);
        byte[] answer = switch (mode.get()) {
            case ANSWER -> endpoint.evaluate(request).getBytes(StandardCharsets.UTF_8);
            case GARBAGE -> "{\"decision\": \"yes\"}".getBytes(StandardCharsets.UTF_8);
            case BARE_ALLOW -> "{\"decision\":true}".getBytes(StandardCharsets.UTF_8);
            case BARE_DENY -> "{\"decision\":false}".getBytes(StandardCharsets.UTF_8);
            case FAIL -> new byte[0];
            case HANG -> {
                await(release);
                yield new byte[0];
            }
        };
        exchange.sendResponseHeaders(mode.get() == Mode.FAIL ? 503 : 200,
                answer.length == 0 ? -1 : answer.length);
        exchange.getResponseBody().write(answer);
        exchange.close();
    }

    private AuthZenPolicyEngine client(int cacheSize) {
        return client(cacheSize, Duration.ofSeconds(5));
    }

    private AuthZenPolicyEngine client(int cacheSize, Duration timeout) {
        URI base = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        return new AuthZenPolicyEngine(base, timeout, cacheSize, HttpClient.newHttpClient(),
                clock, null);
    }

    @Test
    void decide_withBearerToken_sendsItWithTheEvaluation_withoutItSendsNone() {
        URI base = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        AccessRequest request = Requests.to("demo").subject("alice").build();

        AuthZenPolicyEngine.create(base, Duration.ofSeconds(5), 0, "s3cret-token").decide(request);
        String sent = authorization.get();
        client(0).decide(request);

        assertThat(sent).isEqualTo("Bearer s3cret-token");
        assertThat(authorization.get()).isNull();
    }

    static Stream<Requests> requests() {
        return Stream.of(
                Requests.to("demo").subject("alice"),
                Requests.to("demo").anonymous(),
                Requests.to("payroll"),
                Requests.to("logistics").groups("coalition-logistics")
                        .managed(Duration.ofMinutes(2)),
                Requests.to("logistics").groups("coalition-logistics")
                        .managed(Duration.ofMinutes(2)).ip("203.0.113.5"),
                Requests.to("logistics").roles("dispatcher").managed(Duration.ofMinutes(1))
                        .http("POST", "/api/dispatch/x"),
                Requests.to("telemetry-feed").roles("telemetry-collector").ip("2001:db8:42::1"),
                Requests.to("logistics").groups("coalition-logistics")
                        .managed(Duration.ofMinutes(2)).at("2027-03-01T00:00:00Z"));
    }

    @ParameterizedTest
    @MethodSource("requests")
    void decideAsync_throughAuthZen_equalsTheBuiltInDecision(Requests r) {
        AccessRequest request = r.build();

        Decision remote = client(0).decideAsync(request).toCompletableFuture().join();

        assertThat(remote).isEqualTo(builtIn.decide(request));
    }

    @Test
    void decide_allowIsCachedForItsTtl_thenAskedAgain() {
        AuthZenPolicyEngine engine = client(16);
        AccessRequest request = Requests.to("demo").subject("alice").build();

        Decision first = engine.decide(request);
        Decision second = engine.decide(request);

        assertThat(first.allowed()).isTrue();
        assertThat(second).isEqualTo(first);
        assertThat(calls).hasValue(1);
        clock.advance(Duration.ofMinutes(5));
        engine.decide(request);
        assertThat(calls).hasValue(2);
        assertThat(engine.version()).isEqualTo(builtIn.version());
    }

    @Test
    void decide_cacheIsBounded_evictsLeastRecentlyUsed() {
        AuthZenPolicyEngine engine = client(2);

        engine.decide(Requests.to("demo").subject("a").build());
        engine.decide(Requests.to("demo").subject("b").build());
        engine.decide(Requests.to("demo").subject("c").build());
        engine.decide(Requests.to("demo").subject("a").build());

        assertThat(calls).hasValue(4);
    }

    @Test
    void decide_denyIsNotCached() {
        AuthZenPolicyEngine engine = client(16);

        engine.decide(Requests.to("demo").anonymous().build());
        engine.decide(Requests.to("demo").anonymous().build());

        assertThat(calls).hasValue(2);
    }

    @Test
    void decide_decisionPointAnswersError_deniesUnavailable() {
        mode.set(Mode.FAIL);

        assertUnavailable(client(16).decide(Requests.to("demo").build()));
    }

    @Test
    void decide_decisionPointAnswersGarbage_deniesUnavailable() {
        mode.set(Mode.GARBAGE);

        assertUnavailable(client(16).decide(Requests.to("demo").build()));
    }

    @Test
    void decideAsync_decisionPointHangs_doesNotBlockAndDeniesAfterTimeout() {
        mode.set(Mode.HANG);
        long start = System.nanoTime();

        var stage = client(16, Duration.ofSeconds(1)).decideAsync(Requests.to("demo").build());

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(800));
        assertUnavailable(stage.toCompletableFuture().join());
    }

    @Test
    void decide_bareTrue_allowsWithDecisionPointAllowed_noRuleNoObligationsNotCached() {
        mode.set(Mode.BARE_ALLOW);
        AuthZenPolicyEngine engine = client(16);

        Decision d = engine.decide(Requests.to("demo").subject("alice").build());
        engine.decide(Requests.to("demo").subject("alice").build());

        assertThat(d.effect()).isEqualTo(Effect.ALLOW);
        assertThat(d.reasons()).extracting(DecisionReason::code)
                .containsExactly(PolicyReasons.DECISION_POINT_ALLOWED);
        assertThat(d.ruleId()).isEmpty();
        assertThat(d.obligations()).isEmpty();
        assertThat(d.version().id()).startsWith("authzen:http://127.0.0.1:");
        assertThat(calls).as("an allow without ttl_seconds is not cached").hasValue(2);
    }

    @Test
    void decide_bareFalse_deniesWithDecisionPointDenied() {
        mode.set(Mode.BARE_DENY);

        Decision d = client(16).decide(Requests.to("demo").subject("alice").build());

        assertThat(d.effect()).isEqualTo(Effect.DENY);
        assertThat(d.reasons()).extracting(DecisionReason::code)
                .containsExactly(PolicyReasons.DECISION_POINT_DENIED);
        assertThat(d.ruleId()).isEmpty();
        assertThat(d.ttl()).isZero();
    }

    @Test
    void decide_decisionPointDown_deniesUnavailable() {
        AuthZenPolicyEngine engine = client(16);
        server.stop(0);

        assertUnavailable(engine.decide(Requests.to("demo").build()));
    }

    @Test
    void evaluate_unreadableRequest_isDeniedNeverAllowed() {
        String answer = AuthZenEndpoint.over(builtIn).evaluate("{\"subject\": 3}");

        assertThat(answer).contains("\"decision\":false").contains("invalid_request");
    }

    @Test
    void evaluate_allowResponseCarriesRuleVersionObligationsAndTtl() {
        AuthZenEndpoint endpoint = AuthZenEndpoint.over(builtIn);
        String request = AuthZenCodec.request(Requests.to("demo").subject("alice").build())
                .toString();

        String answer = endpoint.evaluate(request);

        assertThat(answer).contains("\"decision\":true")
                .contains("\"rule\":\"demo-authenticated\"")
                .contains("\"policy_version\":\"" + builtIn.version() + "\"")
                .contains("{\"type\":\"set_header\",\"name\":\"X-Pep-Subject\",\"value\":\"alice\"}")
                .contains("\"ttl_seconds\":300");
    }

    private static void assertUnavailable(Decision d) {
        assertThat(d.effect()).isEqualTo(Effect.DENY);
        assertThat(d.primaryReason().code())
                .isEqualTo(DecisionReason.DECISION_POINT_UNAVAILABLE);
        assertThat(d.primaryReason().code()).isNotEqualTo(PolicyReasons.DECISION_POINT_DENIED);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A clock the test moves by hand. */
    static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
