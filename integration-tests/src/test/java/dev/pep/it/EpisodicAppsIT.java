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
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Episodic apps with the packaged gateway: apps registered through the admin API, reached by real
 * clients, ended at their expiry by its timer (WebSocket and server-sent events over HTTP/2), kept
 * across a restart, removed with their sessions.
 */
class EpisodicAppsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "it-episodic-token-0123456789abcdef";
    private static final String POLICY = """
            apps:
              base:
                hosts: [base.pep.localhost]
                upstream: %1$s
              past:
                hosts: [past.pep.localhost]
                upstream: %1$s
                lifecycle: episodic
                expires: 2020-01-01T00:00:00Z
            rules:
              - id: base-open
                apps: [base]
                effect: allow
                when: "true"
              - id: exercise-open
                app-labels: { tier: exercise }
                effect: allow
                when: "true"
            """;

    @TempDir
    static Path dir;

    static RecordingUpstream events;
    static WebSocketEchoServer ws;
    static GatewayProcess gateway;
    static HttpClient h1;
    static HttpClient h2;

    @BeforeAll
    static void start() throws Exception {
        events = RecordingUpstream.start(Mode.ANSWER);
        ws = WebSocketEchoServer.start();
        Files.writeString(dir.resolve("admin-tokens"), "alice " + TOKEN + "\n");
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/apps.yaml"), POLICY.formatted(events.url()));
        String yaml = GatewayProcess.baseConfig("it-episodic").replace("drain-timeout:",
                "  token-file: admin-tokens\ndrain-timeout:") + """
                policy:
                  directory: policies
                  reload-interval: 200ms
                  runtime-apps-directory: runtime-apps
                sessions:
                  check-interval: 10s
                audit:
                  directory: audit
                """;
        gateway = GatewayProcess.start(dir, yaml);
        h1 = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
        h2 = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_2);
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, events, ws);
    }

    @Test
    void expiry_endsLiveSessionsAtTheInstant_emitsAppExpiredOnce_andTheHostIsNoLongerRouted() throws Exception {
        Instant expires = Instant.now().plusSeconds(6).truncatedTo(ChronoUnit.SECONDS);
        assertThat(register("drill", ws.url(), expires).statusCode()).isEqualTo(201);
        assertThat(register("drill-feed", events.url(), expires).statusCode()).isEqualTo(201);
        assertThat(Files.exists(dir.resolve("runtime-apps/drill.json"))).isTrue();

        EchoSocket socket = openSocket("drill");
        assertThat(socket.echo("before")).isEqualTo("before");
        Sse feed = Sse.open(h2, "drill-feed");
        await().atMost(Duration.ofSeconds(20)).until(() -> feed.events.get() >= 2);

        // The registry checks sessions every 10s here: only the expiry timer can end them in time.
        String closed = socket.closed.get(15, TimeUnit.SECONDS);
        Instant closedAt = Instant.now();
        feed.ended.get(15, TimeUnit.SECONDS);
        assertThat(closed).isEqualTo("1008 app_expired");
        assertThat(closedAt).isAfterOrEqualTo(expires).isBefore(expires.plusSeconds(4));
        System.out.printf("expiry to WebSocket closed: %d ms%n", Duration.between(expires, closedAt).toMillis());

        HttpResponse<String> after = h1.send(get("drill", "/"), HttpResponse.BodyHandlers.ofString());
        assertThat(after.statusCode()).isEqualTo(404);
        assertThat(after.body()).contains("unknown_host");
        // Both expiries recorded, and no second event for either while we watch.
        await().atMost(Duration.ofSeconds(10)).until(() -> expiredNamed("drill").size() == 2);
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5))
                .until(() -> expiredNamed("drill").size() == 2);
        List<JsonNode> expired = expiredNamed("drill");
        assertThat(expired).extracting(e -> e.at("/entity/name").asText())
                .containsExactlyInAnyOrder("drill", "drill-feed");
        assertThat(expired).filteredOn(e -> e.at("/entity/name").asText().equals("drill")).singleElement()
                .satisfies(e -> assertThat(e.at("/entity/expires").asText()).isEqualTo(expires.toString()));
        await().atMost(Duration.ofSeconds(10)).until(() -> revocations("expiry").size() >= 2);
        assertThat(revocations("expiry")).allSatisfy(e -> assertThat(e.get("status_detail").asText())
                .isEqualTo("app_expired"));
        assertThat(names(apps())).doesNotContain("drill", "drill-feed");
        assertThat(Files.exists(dir.resolve("runtime-apps/drill.json"))).isFalse();
    }

    @Test
    void register_badOrConflicting_isRefusedWithTheReason_andFileAppsCannotBeDeleted() throws Exception {
        HttpResponse<String> bad = admin("POST", "/api/v1/apps", """
                {"name": "odd", "hosts": ["odd.pep.localhost"], "upstream": "ftp://10.0.0.1",
                 "expires": "2030-01-01T00:00:00Z"}
                """, TOKEN);
        assertThat(bad.statusCode()).isEqualTo(400);
        JsonNode errors = JSON.readTree(bad.body());
        assertThat(errors.get("error").asText()).isEqualTo("invalid_app");
        assertThat(errors.get("errors").toString())
                .contains("request body:1:61: upstream 'ftp://10.0.0.1': expected a URI with scheme")
                .contains("expires applies only to apps with lifecycle: episodic");

        HttpResponse<String> name = register("base", events.url(), null);
        assertThat(name.statusCode()).isEqualTo(409);
        assertThat(JSON.readTree(name.body()).get("message").asText())
                .isEqualTo("app 'base' is declared in the policy files");
        HttpResponse<String> host = admin("POST", "/api/v1/apps", """
                {"name": "thief", "hosts": ["base.pep.localhost"], "upstream": "%s"}
                """.formatted(events.url()), TOKEN);
        assertThat(host.statusCode()).isEqualTo(409);
        assertThat(JSON.readTree(host.body()).get("message").asText())
                .isEqualTo("host 'base.pep.localhost' is already routed to app 'base'");

        assertThat(admin("DELETE", "/api/v1/apps/base", null, TOKEN).statusCode()).isEqualTo(409);
        assertThat(admin("DELETE", "/api/v1/apps/nothing", null, TOKEN).statusCode()).isEqualTo(404);
        assertThat(admin("POST", "/api/v1/apps", "{}", TOKEN + "x").statusCode()).isEqualTo(401);
        assertThat(h1.send(get("base", "/"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> audit("admin.action").stream()
                .anyMatch(e -> e.at("/api/operation").asText().equals("delete-apps")
                        && e.at("/resources/0/uid").asText().equals("base")));
    }

    @Test
    void registration_survivesARestart_andDeleteEndsItsSessions() throws Exception {
        Instant expires = Instant.now().plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS);
        assertThat(register("keep", ws.url(), expires).statusCode()).isEqualTo(201);
        assertThat(register("keep-web", events.url(), expires).statusCode()).isEqualTo(201);
        // Expires around the restart: before the stop, while down or after the start, once.
        assertThat(register("lapse", events.url(), Instant.now().plusSeconds(3)).statusCode()).isEqualTo(201);
        await().atMost(Duration.ofSeconds(10)).until(() -> audit("app.registered").stream()
                .anyMatch(e -> e.at("/entity/name").asText().equals("keep")));

        assertThat(gateway.stop(Duration.ofSeconds(30))).isZero();
        gateway.close();
        gateway = GatewayProcess.start(dir.resolve("gateway.yaml"));
        h1 = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
        h2 = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_2);

        JsonNode keep = apps().stream().filter(a -> a.get("name").asText().equals("keep")).findFirst().orElseThrow();
        assertThat(keep.get("source").asText()).isEqualTo("admin");
        assertThat(keep.get("registered_by").asText()).isEqualTo("alice");
        assertThat(keep.get("expires").asText()).isEqualTo(expires.toString());
        HttpResponse<String> web = h2.send(get("keep-web", "/hello"), HttpResponse.BodyHandlers.ofString());
        assertThat(web.statusCode()).isEqualTo(200);
        EchoSocket socket = openSocket("keep");
        assertThat(socket.echo("after restart")).isEqualTo("after restart");

        HttpResponse<String> removed = admin("DELETE", "/api/v1/apps/keep", null, TOKEN);

        assertThat(removed.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(removed.body()).get("sessions_ended").asInt()).isEqualTo(1);
        assertThat(socket.closed.get(10, TimeUnit.SECONDS)).isEqualTo("1008 app_removed");
        assertThat(h1.send(get("keep", "/"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
        await().atMost(Duration.ofSeconds(10)).until(() -> !audit("app.removed").isEmpty()
                && !revocations("admin:alice").isEmpty());
        assertThat(audit("app.removed").get(0).at("/actor/user/name").asText()).isEqualTo("alice");
        assertThat(revocations("admin:alice")).singleElement()
                .satisfies(e -> assertThat(e.get("status_detail").asText()).isEqualTo("app_removed"));
        assertThat(Files.exists(dir.resolve("runtime-apps/keep.json"))).isFalse();
        assertThat(names(apps())).contains("keep-web").doesNotContain("keep");
        await().atMost(Duration.ofSeconds(15)).until(() -> !Files.exists(dir.resolve("runtime-apps/lapse.json"))
                && expiredNamed("lapse").size() == 1);
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5))
                .until(() -> expiredNamed("lapse").size() == 1);
        // L-772: a file app that expired before the start is processed at each start.
        await().atMost(Duration.ofSeconds(10)).until(() -> expiredNamed("past").size() == 2);
    }

    private static HttpResponse<String> register(String name, String upstream, Instant expires) throws Exception {
        String lifecycle = expires == null ? "" : ", \"lifecycle\": \"episodic\", \"expires\": \"" + expires + "\"";
        return admin("POST", "/api/v1/apps", """
                {"name": "%s", "hosts": ["%s.pep.localhost"], "upstream": "%s",
                 "labels": {"tier": "exercise"}%s}
                """.formatted(name, name, upstream, lifecycle), TOKEN);
    }

    private static List<JsonNode> apps() throws Exception {
        HttpResponse<String> r = admin("GET", "/api/v1/apps", null, TOKEN);
        assertThat(r.statusCode()).isEqualTo(200);
        return JSON.readTree(r.body()).get("apps").findParents("name").stream()
                .filter(a -> a.has("source")).toList();
    }

    private static List<String> names(List<JsonNode> apps) {
        return apps.stream().map(a -> a.get("name").asText()).toList();
    }

    private static List<JsonNode> audit(String type) {
        return AuditFiles.lines(dir.resolve("audit")).map(EpisodicAppsIT::parse)
                .filter(e -> e.get("type").asText().equals(type)).toList();
    }

    /** The app.expired events of apps whose name starts so. */
    private static List<JsonNode> expiredNamed(String prefix) {
        return audit("app.expired").stream().filter(e -> e.at("/entity/name").asText().startsWith(prefix)).toList();
    }

    private static List<JsonNode> revocations(String endedBy) {
        return audit("revocation").stream()
                .filter(e -> e.get("actor").get("user").get("name").asText().equals(endedBy)).toList();
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static HttpResponse<String> admin(String method, String path, String body, String token)
            throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gateway.adminPort() + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpRequest get(String app, String pathAndQuery) {
        return HttpRequest.newBuilder(URI.create("https://" + app + ".pep.localhost:" + gateway.port()
                + pathAndQuery)).header("Accept", "text/event-stream").build();
    }

    private static EchoSocket openSocket(String app) throws Exception {
        return EchoSocket.open(h1, gateway.port(), app, null);
    }

    /** A server-sent-events stream through the gateway: events counted, and when it ended. */
    private static final class Sse {
        final AtomicInteger events = new AtomicInteger();
        final CompletableFuture<Void> ended = new CompletableFuture<>();

        static Sse open(HttpClient client, String app) {
            Sse s = new Sse();
            client.sendAsync(get(app, "/stream?events=600"), HttpResponse.BodyHandlers.ofLines())
                    .whenComplete((response, error) -> {
                        if (error != null) {
                            s.ended.complete(null);
                            return;
                        }
                        Thread reader = new Thread(() -> s.read(response.body()), "sse-" + app);
                        reader.setDaemon(true);
                        reader.start();
                    });
            return s;
        }

        private void read(Stream<String> body) {
            try {
                body.forEach(line -> {
                    if (line.startsWith("data: ")) {
                        events.incrementAndGet();
                    }
                });
            } catch (RuntimeException cut) {
                // The gateway reset the stream or closed the connection: the stream ended.
            }
            ended.complete(null);
        }
    }
}
