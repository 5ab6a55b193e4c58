package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pep.it.RecordingUpstream.Mode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every trigger that ends live sessions, against every HTTP kind of session at once, with real
 * clients through the packaged gateway: a WebSocket, server-sent events over HTTP/1.1 and over
 * HTTP/2, an idle HTTP/1.1 keep-alive connection and an idle HTTP/2 connection. For each trigger
 * the affected sessions end within the bound and sessions of the same kinds it does not concern
 * keep flowing. docs/sessions.md ("How it is tested") has the table these cells fill.
 */
class SessionTriggersIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "it-triggers-token-0123456789abcdef";
    /** From trigger to the last affected session closed, on a loaded machine. */
    private static final Duration BOUND = Duration.ofSeconds(5);
    private static final Duration MAX_SESSION = Duration.ofSeconds(6);
    /** Rules that no case changes: the sessions that must keep flowing use them. */
    private static final String STAYING = """
            apps:
              ok-ws:   { hosts: [ok-ws.pep.localhost], upstream: %1$s }
              ok-web:  { hosts: [ok-web.pep.localhost], upstream: %2$s }
              me-ws:   { hosts: [me-ws.pep.localhost], upstream: %1$s }
              me-web:  { hosts: [me-web.pep.localhost], upstream: %2$s }
              ms-ws:   { hosts: [ms-ws.pep.localhost], upstream: %1$s }
              ms-web:  { hosts: [ms-web.pep.localhost], upstream: %2$s }
              tk-ws:   { hosts: [tk-ws.pep.localhost], upstream: %1$s }
              tk-web:  { hosts: [tk-web.pep.localhost], upstream: %2$s }
            rules:
              - id: open
                apps: [ok-ws, ok-web]
                effect: allow
                when: "true"
              - id: signed-in
                apps: [me-ws, me-web]
                effect: allow
                when: subject.id == "demo"
              - id: short
                apps: [ms-ws, ms-web]
                effect: allow
                when: "true"
                obligations: { max-session: 6s }
              - id: token-holders
                apps: [tk-ws, tk-web]
                effect: allow
                when: '"tk-users" in subject.groups'
            """;

    @TempDir
    static Path dir;

    static TokenIssuer issuer;
    static RecordingUpstream web;
    static WebSocketEchoServer ws;
    static GatewayProcess gateway;
    static HttpClient h1;
    static HttpClient h2;
    /** Per case: from the trigger (its nanoTime) to each affected session's end, in ms. */
    static final Map<String, List<String>> MEASURED = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        issuer = TokenIssuer.start();
        web = RecordingUpstream.start(Mode.ANSWER);
        ws = WebSocketEchoServer.start();
        Files.writeString(dir.resolve("admin-tokens"), "alice " + TOKEN + "\n");
        Files.copy(GatewayProcess.pepHome().resolve("config/quickstart-users.yaml"), dir.resolve("users.yaml"));
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/staying.yaml"), STAYING.formatted(ws.url(), web.url()));
        writeChanging("");
        // Idle connections stay open on their own for longer than any case lasts.
        String yaml = GatewayProcess.sessionsConfig("it-triggers") + """
                limits:
                  header-read-timeout: 2m
                  idle-timeout: 5m
                identity:
                  session-keys: session-keys
                  local-users: users.yaml
                  bearer:
                    - issuer: %s
                      jwks-uri: %s
                      audiences: [%s]
                """.formatted(TokenIssuer.ISSUER, issuer.jwksUri(), TokenIssuer.AUDIENCE);
        gateway = GatewayProcess.start(dir, yaml);
        h1 = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
        h2 = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_2);
    }

    @AfterAll
    static void stop() throws Exception {
        MEASURED.forEach((trigger, ms) -> System.out.printf("trigger %s: affected sessions ended after %s ms%n",
                trigger, ms));
        GatewayProcess.stopAll(gateway, web, ws, issuer);
    }

    static Stream<String> triggers() {
        return Stream.of("admin-end-subject", "logout", "policy-change", "max-session", "reevaluate", "app-expiry",
                "app-removal", "token-expiry");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("triggers")
    void trigger_endsTheAffectedSessionsOfEveryKind_withinTheBound_andTheOthersKeepFlowing(String trigger)
            throws Exception {
        Case c = prepare(trigger);
        List<HeldSession> kept = holdEveryKind(c.keptPrefix(), c.keptCookies());
        List<HeldSession> affected = holdEveryKind(c.prefix(), c.cookies());
        if (trigger.equals("admin-end-subject") || trigger.equals("logout") || trigger.equals("policy-change")) {
            assertThat(listed(c.prefix() + "-web", "http1_idle") + listed(c.prefix() + "-web", "http2_idle"))
                    .as("the idle connections are live sessions").isGreaterThanOrEqualTo(2);
        }
        try {
            // A rule's max-session is each session's own trigger: its start plus the limit.
            boolean ownLimit = trigger.equals("max-session");
            long fired = ownLimit ? 0 : c.fire().call();
            List<String> ms = new ArrayList<>();
            for (HeldSession s : affected) {
                long from = ownLimit ? s.opened + MAX_SESSION.toNanos() : fired;
                s.ended.get(Math.max(0, from - System.nanoTime()) + BOUND.toNanos(), TimeUnit.NANOSECONDS);
                assertThat(s.msAfter(from)).as(s + " ended after its trigger").isGreaterThan(-300);
                ms.add(s + "=" + s.msAfter(from));
            }
            MEASURED.put(trigger, ms);
            for (HeldSession s : kept) {
                assertThat(s.ended).as(s + " is not affected by " + trigger).isNotDone();
                s.assertFlowing();
            }
            HeldSession.Socket socket = (HeldSession.Socket) affected.get(0);
            assertThat(socket.closedWith()).isEqualTo("1008 " + c.reason());
            assertThat(((HeldSession.IdleHttp2) affected.get(4)).goaway).as("the idle h2 connection got GOAWAY")
                    .isTrue();
            await().atMost(Duration.ofSeconds(10)).until(() -> revocations(c.prefix(), c.reason()) >= affected.size());
            assertThat(revocations("ok", null)).as("nothing else was ended").isZero();
            for (HeldSession s : kept) {
                assertThat(s.ended).as(s + " still flows").isNotDone();
            }
        } finally {
            Stream.concat(kept.stream(), affected.stream()).forEach(HeldSession::close);
        }
    }

    @Test
    void adminEndOfASubject_racedByNewConnections_leavesNoSessionDecidedBeforeIt() throws Exception {
        String cookie = LocalSignIn.demo(h1, gateway.port(), "me-ws");
        Queue<HeldSession> racers = new ConcurrentLinkedQueue<>();
        AtomicBoolean racing = new AtomicBoolean(true);
        AtomicInteger failed = new AtomicInteger();
        Thread racer = new Thread(() -> {
            while (racing.get()) {
                try {
                    racers.add(new HeldSession.Socket(h1, gateway.port(), "me-ws", HeldSession.Auth.cookie(cookie)));
                } catch (Exception | AssertionError e) {
                    failed.incrementAndGet();
                }
            }
        }, "racer");
        racer.start();
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> racers.size() >= 3);

            Instant asked = Instant.now();
            HttpResponse<String> ended = admin("POST", "/api/v1/sessions/end?subject=demo");
            Instant answered = Instant.now();
            int more = racers.size() + 3;
            await().atMost(Duration.ofSeconds(20)).until(() -> racers.size() >= more);
            racing.set(false);
            racer.join(20_000);

            assertThat(ended.statusCode()).isEqualTo(200);
            JsonNode live = JSON.readTree(admin("GET", "/api/v1/sessions?subject=demo").body());
            for (JsonNode s : live.get("sessions")) {
                assertThat(Instant.parse(s.get("started").asText())).as("decided before the end: " + s)
                        .isAfterOrEqualTo(asked.truncatedTo(ChronoUnit.MILLIS));
            }
            long survivors = racers.stream().filter(s -> !s.ended.isDone()).count();
            assertThat(survivors).as("only connections opened after the end live on").isGreaterThanOrEqualTo(1);
            System.out.printf("admin end of a subject raced by %d connections (%d failed to open), %d ended by"
                    + " it, %d opened after it; the call took %d ms%n", racers.size(), failed.get(),
                    JSON.readTree(ended.body()).get("ended").asInt(), survivors,
                    Duration.between(asked, answered).toMillis());
        } finally {
            racing.set(false);
            racers.forEach(HeldSession::close);
        }
    }

    /**
     * The sessions one case holds: the apps' prefix and the sign-ins (a cookie per app, since a
     * sign-in is for one host; null for none) of the affected ones and of those kept, the trigger
     * (it returns the nanoTime it fired at) and the reason the affected ones end with.
     */
    private record Case(String prefix, SignIns cookies, String keptPrefix, SignIns keptCookies,
            java.util.concurrent.Callable<Long> fire, String reason) {
        Case(String prefix, java.util.concurrent.Callable<Long> fire, String reason) {
            this(prefix, SignIns.NONE, "ok", SignIns.NONE, fire, reason);
        }
    }

    /** The credentials at each of the apps {@code PREFIX-ws} and {@code PREFIX-web}. */
    private record SignIns(HeldSession.Auth ws, HeldSession.Auth web) {
        static final SignIns NONE = new SignIns(HeldSession.Auth.NONE, HeldSession.Auth.NONE);

        /** A sign-in of the demo user at each app (a sign-in is for one host). */
        static SignIns demo(String prefix) throws Exception {
            return new SignIns(HeldSession.Auth.cookie(LocalSignIn.demo(h1, gateway.port(), prefix + "-ws")),
                    HeldSession.Auth.cookie(LocalSignIn.demo(h1, gateway.port(), prefix + "-web")));
        }

        static SignIns bearer(String token) {
            return new SignIns(HeldSession.Auth.bearer(token), HeldSession.Auth.bearer(token));
        }

        void logout(String prefix) throws Exception {
            LocalSignIn.logout(h1, gateway.port(), prefix + "-ws", ws.value());
            LocalSignIn.logout(h1, gateway.port(), prefix + "-web", web.value());
        }
    }

    private static Case prepare(String trigger) throws Exception {
        return switch (trigger) {
            case "admin-end-subject" -> {
                yield new Case("me", SignIns.demo("me"), "ok", SignIns.NONE, () -> {
                    long at = System.nanoTime();
                    assertThat(admin("POST", "/api/v1/sessions/end?subject=demo").statusCode()).isEqualTo(200);
                    return at;
                }, "admin_ended");
            }
            case "logout" -> {
                SignIns signIn = SignIns.demo("me");
                yield new Case("me", signIn, "me", SignIns.demo("me"), () -> {
                    long at = System.nanoTime();
                    signIn.logout("me");
                    return at;
                }, "authentication_ended");
            }
            case "policy-change" -> {
                changing(apps("pc", "") + rules("pc", "true", ""), "pc");
                yield new Case("pc", () -> {
                    long at = System.nanoTime();
                    writeChanging(apps("pc", ""));
                    return at;
                }, "no_matching_rule");
            }
            case "max-session" -> new Case("ms", () -> {
                throw new IllegalStateException("each session's own limit is its trigger");
            }, "session_limit");
            case "reevaluate" -> {
                Instant until = Instant.now().plusSeconds(12).truncatedTo(ChronoUnit.SECONDS);
                changing(apps("rv", "") + rules("rv", "context.time < timestamp(\"" + until + "\")",
                        "{ reevaluate: 1s }"), "rv");
                yield new Case("rv", () -> at(until), "no_matching_rule");
            }
            case "app-expiry" -> {
                Instant expires = Instant.now().plusSeconds(12).truncatedTo(ChronoUnit.SECONDS);
                changing(apps("ex", "    lifecycle: episodic\n    expires: " + expires + "\n")
                        + rules("ex", "true", ""), "ex");
                yield new Case("ex", () -> at(expires), "app_expired");
            }
            case "app-removal" -> {
                changing(apps("rm", "") + rules("rm", "true", ""), "rm");
                yield new Case("rm", () -> {
                    long at = System.nanoTime();
                    writeChanging("");
                    return at;
                }, "app_removed");
            }
            case "token-expiry" -> {
                // Accepted until exp plus the issuer's 60 s skew: 12 s from now.
                Instant exp = Instant.now().minusSeconds(48).truncatedTo(ChronoUnit.SECONDS);
                String expiring = issuer.sign(issuer.claims("expiring", "tk-users")
                        .expirationTime(java.util.Date.from(exp)).build());
                String lasting = issuer.token("lasting", "tk-users");
                await().atMost(Duration.ofSeconds(30)).until(() -> h1.send(HttpRequest.newBuilder(
                        URI.create(HeldSession.url("tk-web", gateway.port(), "/")))
                        .header("Authorization", "Bearer " + lasting).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
                yield new Case("tk", SignIns.bearer(expiring), "tk", SignIns.bearer(lasting),
                        () -> at(exp.plusSeconds(60)), "authentication_ended");
            }
            default -> throw new IllegalArgumentException(trigger);
        };
    }

    /** The nanoTime of {@code instant}, measured now: when a timed trigger fires. */
    private static long at(Instant instant) {
        return System.nanoTime() + Duration.between(Instant.now(), instant).toNanos();
    }

    /** Writes the case's apps and rules, and waits until the gateway routes and allows them. */
    private static void changing(String policy, String prefix) throws Exception {
        writeChanging(policy);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() ->
                h1.send(HttpRequest.newBuilder(URI.create(HeldSession.url(prefix + "-web", gateway.port(), "/")))
                        .build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
    }

    private static String apps(String prefix, String extra) {
        return """
                apps:
                  %1$s-ws:
                    hosts: [%1$s-ws.pep.localhost]
                    upstream: %2$s
                %4$s  %1$s-web:
                    hosts: [%1$s-web.pep.localhost]
                    upstream: %3$s
                %4$s""".formatted(prefix, ws.url(), web.url(), extra);
    }

    private static String rules(String prefix, String when, String obligations) {
        return """
                rules:
                  - id: %1$s-rule
                    apps: [%1$s-ws, %1$s-web]
                    effect: allow
                    when: '%2$s'
                """.formatted(prefix, when) + (obligations.isEmpty() ? "" : "    obligations: " + obligations + "\n");
    }

    private static void writeChanging(String policy) throws Exception {
        Path tmp = dir.resolve("policies/.changing.yaml.tmp");
        Files.writeString(tmp, policy.isEmpty() ? "apps: {}\n" : policy);
        Files.move(tmp, dir.resolve("policies/changing.yaml"), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
    }

    /** One session of every HTTP kind on the apps {@code prefix}-ws and {@code prefix}-web. */
    private static List<HeldSession> holdEveryKind(String prefix, SignIns signIn) throws Exception {
        int port = gateway.port();
        Path ca = gateway.devCa();
        String web = prefix + "-web";
        // Clients of their own: two holders never share a connection (one GOAWAY would end both).
        HttpClient own1 = Clients.http(ca, HttpClient.Version.HTTP_1_1);
        return List.of(new HeldSession.Socket(own1, port, prefix + "-ws", signIn.ws()),
                new HeldSession.Events(own1, port, web, signIn.web()),
                new HeldSession.Events(Clients.http(ca, HttpClient.Version.HTTP_2), port, web, signIn.web()),
                new HeldSession.IdleHttp1(port, ca, web, signIn.web()),
                new HeldSession.IdleHttp2(port, ca, web, signIn.web()));
    }

    private static int listed(String app, String kind) throws Exception {
        return JSON.readTree(admin("GET", "/api/v1/sessions?app=" + app + "&kind=" + kind).body()).get("count").asInt();
    }

    /** Revocation events of the apps named {@code prefix}-..., with {@code reason} when not null. */
    private static long revocations(String prefix, String reason) {
        return AuditFiles.lines(dir.resolve("audit")).map(SessionTriggersIT::parse)
                .filter(e -> e.get("type").asText().equals("revocation"))
                .filter(e -> e.get("web_resources").get(0).get("name").asText().startsWith(prefix + "-"))
                .filter(e -> reason == null || e.get("status_detail").asText().equals(reason)).count();
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static HttpResponse<String> admin(String method, String pathAndQuery) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gateway.adminPort() + pathAndQuery))
                .method(method, HttpRequest.BodyPublishers.noBody())
                .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
    }
}
