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
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live sessions re-decided by the packaged gateway and ended when no longer allowed, with real
 * long-lived clients: WebSockets, server-sent-event streams over HTTP/1.1 and HTTP/2.
 */
class ContinuousEnforcementIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "it-sessions-token-0123456789abcdef";
    private static final String APPS = """
            apps:
              live:
                hosts: [live.pep.localhost]
                upstream: %1$s
              feed:
                hosts: [feed.pep.localhost]
                upstream: %2$s
              other:
                hosts: [other.pep.localhost]
                upstream: %2$s
              chat:
                hosts: [chat.pep.localhost]
                upstream: %1$s
              brief:
                hosts: [brief.pep.localhost]
                upstream: %1$s
              desk:
                hosts: [desk.pep.localhost]
                upstream: %1$s
            rules:
            """;
    private static final String RULES_THAT_STAY = """
              - id: other-open
                apps: [other, chat]
                effect: allow
                when: "true"
              - id: brief-open
                apps: [brief]
                effect: allow
                when: "true"
                obligations: { max-session: 2s }
              - id: desk-signed-in
                apps: [desk]
                effect: allow
                when: subject.id == "demo"
            """;
    private static final String RULES_THAT_GO = """
              - id: live-open
                apps: [live, feed]
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
        Files.copy(GatewayProcess.pepHome().resolve("config/quickstart-users.yaml"), dir.resolve("users.yaml"));
        Files.createDirectories(dir.resolve("policies"));
        writePolicy(RULES_THAT_GO + RULES_THAT_STAY);
        String yaml = GatewayProcess.sessionsConfig("it-sessions") + """
                identity:
                  session-keys: session-keys
                  local-users: users.yaml
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
    void policyChange_endsTheSessionsItDenies_ofEveryKind_andOthersKeepFlowing() throws Exception {
        EchoSocket socket = openSocket("live");
        HeldSession.Events feedH1 = new HeldSession.Events(h1, gateway.port(), "feed", HeldSession.Auth.NONE);
        HeldSession.Events feedH2 = new HeldSession.Events(h2, gateway.port(), "feed", HeldSession.Auth.NONE);
        HeldSession.Events otherH2 = new HeldSession.Events(h2, gateway.port(), "other", HeldSession.Auth.NONE);
        await().atMost(Duration.ofSeconds(20)).until(() -> feedH1.events.get() >= 2
                && feedH2.events.get() >= 2 && otherH2.events.get() >= 2);
        assertThat(socket.echo("before")).isEqualTo("before");

        long changed = System.nanoTime();
        writePolicy(RULES_THAT_STAY);

        assertThat(socket.closed.get(15, TimeUnit.SECONDS)).isEqualTo("1008 no_matching_rule");
        feedH1.ended.get(15, TimeUnit.SECONDS);
        feedH2.ended.get(15, TimeUnit.SECONDS);
        long lastClosed = System.nanoTime();
        int otherSoFar = otherH2.events.get();
        await().atMost(Duration.ofSeconds(5)).until(() -> otherH2.events.get() >= otherSoFar + 3);
        assertThat(otherH2.ended).isNotDone();
        System.out.printf("policy change to last affected session closed: %d ms (reload poll 200ms)%n",
                TimeUnit.NANOSECONDS.toMillis(lastClosed - changed));

        await().atMost(Duration.ofSeconds(10)).until(() -> revocations("policy").size() >= 3);
        List<JsonNode> revoked = revocations("policy");
        assertThat(gateway.stderr()).as("only the sessions of apps whose rules changed are decided again")
                .contains("sessions re-decided trigger=policy checked=3 ended=3");
        assertThat(revoked).hasSize(3).allSatisfy(e -> {
            assertThat(e.get("status_detail").asText()).isEqualTo("no_matching_rule");
            assertThat(e.get("policy").get("version").asText()).as("the new version ended it")
                    .startsWith("sha256:").isNotEqualTo(gateway.policyVersion());
            assertThat(e.get("web_resources").get(0).get("name").asText()).isIn("live", "feed");
        });
        HttpResponse<String> again = h1.send(get("feed", "/"), HttpResponse.BodyHandlers.ofString());
        assertThat(again.statusCode()).as("a new request is decided by the new version").isEqualTo(401);
        otherH2.close();
    }

    @Test
    void admin_listsLiveSessions_andEndsThoseOfAnApp() throws Exception {
        EchoSocket socket = openSocket("chat");
        assertThat(socket.echo("hello")).isEqualTo("hello");

        JsonNode listed = JSON.readTree(admin("GET", "/api/v1/sessions?app=chat").body());
        assertThat(listed.get("count").asInt()).isEqualTo(1);
        JsonNode session = listed.get("sessions").get(0);
        assertThat(session.get("kind").asText()).isEqualTo("websocket");
        assertThat(session.get("rule").asText()).isEqualTo("other-open");
        assertThat(session.toString()).doesNotContain("cookie").doesNotContain("authorization");

        HttpResponse<String> ended = admin("POST", "/api/v1/sessions/end?app=chat");

        assertThat(JSON.readTree(ended.body()).get("ended").asInt()).isEqualTo(1);
        assertThat(socket.closed.get(10, TimeUnit.SECONDS)).isEqualTo("1008 admin_ended");
        await().atMost(Duration.ofSeconds(10)).until(() -> revocations("admin:alice").size() == 1);
        assertThat(admin("POST", "/api/v1/sessions/end").statusCode()).as("no filter, nothing ended")
                .isEqualTo(400);
    }

    @Test
    void maxSession_endsTheWebSocketAtTheRulesLimit() throws Exception {
        long opened = System.nanoTime();
        EchoSocket socket = openSocket("brief");
        assertThat(socket.echo("short")).isEqualTo("short");

        assertThat(socket.closed.get(15, TimeUnit.SECONDS)).isEqualTo("1008 session_limit");
        assertThat(Duration.ofNanos(System.nanoTime() - opened)).isGreaterThanOrEqualTo(Duration.ofMillis(1900));
    }

    @Test
    void logout_endsTheSessionsOfThatSignIn_andConnectionsRacingItAreDeniedOrEnded() throws Exception {
        String cookie = LocalSignIn.demo(h1, gateway.port(), "desk");
        EchoSocket before = openSocket("desk", cookie);
        assertThat(before.echo("signed in")).isEqualTo("signed in");
        java.util.Queue<EchoSocket> racers = new java.util.concurrent.ConcurrentLinkedQueue<>();
        AtomicInteger refused = new AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean racing = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread racer = new Thread(() -> {
            while (racing.get()) {
                try {
                    racers.add(openSocket("desk", cookie));
                } catch (Exception e) {
                    refused.incrementAndGet();
                }
            }
        }, "racer");
        racer.start();
        await().atMost(Duration.ofSeconds(20)).until(() -> racers.size() >= 2);

        LocalSignIn.logout(h1, gateway.port(), "desk", cookie);
        await().atMost(Duration.ofSeconds(20)).until(() -> refused.get() >= 3);
        racing.set(false);
        racer.join(20_000);

        assertThat(before.closed.get(30, TimeUnit.SECONDS)).isEqualTo("1008 authentication_ended");
        for (EchoSocket s : racers) {
            assertThat(s.closed.get(30, TimeUnit.SECONDS)).as("opened while the logout raced it")
                    .isEqualTo("1008 authentication_ended");
        }
        assertThat(catchOpen(cookie)).as("a new connection after the logout").isNotNull();
        System.out.printf("logout raced by %d connections that opened, %d refused%n", racers.size(), refused.get());
    }

    private static Throwable catchOpen(String cookie) {
        try {
            openSocket("desk", cookie).socket.abort();
            return null;
        } catch (Exception e) {
            return e;
        }
    }

    private static List<JsonNode> revocations(String endedBy) {
        return AuditFiles.lines(dir.resolve("audit")).map(ContinuousEnforcementIT::parse)
                .filter(e -> e.get("type").asText().equals("revocation"))
                .filter(e -> e.get("actor").get("user").get("name").asText().equals(endedBy)).toList();
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void writePolicy(String rules) throws Exception {
        Path tmp = dir.resolve("policies/.apps.yaml.tmp");
        Files.writeString(tmp, APPS.formatted(ws.url(), events.url()) + rules);
        Files.move(tmp, dir.resolve("policies/apps.yaml"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static HttpResponse<String> admin(String method, String pathAndQuery) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gateway.adminPort() + pathAndQuery))
                .method(method, HttpRequest.BodyPublishers.noBody())
                .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpRequest get(String app, String pathAndQuery) {
        return HttpRequest.newBuilder(URI.create("https://" + app + ".pep.localhost:" + gateway.port() + pathAndQuery))
                .header("Accept", "text/event-stream").build();
    }

    private static EchoSocket openSocket(String app) throws Exception {
        return openSocket(app, null);
    }

    private static EchoSocket openSocket(String app, String cookie) throws Exception {
        return EchoSocket.open(h1, gateway.port(), app, cookie);
    }
}
