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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One gateway as another's decision point: the front gateway has the apps but no rule of its
 * own and asks the deciding gateway's built-in engine over AuthZEN for every request.
 */
class DecisionPointIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "it-decision-point-token-0123456789abcdef";
    private static final String APPS = """
            apps:
              ledger:
                hosts: [ledger.pep.localhost]
                upstream: %s
            """;

    @TempDir
    static Path dir;

    static RecordingUpstream ledger;
    static GatewayProcess decider;
    static GatewayProcess front;
    static GatewayProcess wrongToken;

    @BeforeAll
    static void start() throws Exception {
        ledger = RecordingUpstream.start(Mode.ANSWER);
        Path d = Files.createDirectories(dir.resolve("decider/policies"));
        Files.writeString(d.resolve("ledger.yaml"), APPS.formatted(ledger.url()) + """
                rules:
                  - id: ledger-readers
                    apps: [ledger]
                    effect: allow
                    when: request.method == "GET"
                """);
        Files.writeString(d.resolveSibling("admin-tokens"), "front " + TOKEN + "\n");
        decider = GatewayProcess.start(d.getParent(), GatewayProcess.baseConfig("it-decider")
                .replace("drain-timeout:", "  token-file: admin-tokens\ndrain-timeout:")
                + "policy:\n  directory: policies\naudit:\n  directory: audit\n");
        front = frontGateway("front", TOKEN);
        wrongToken = frontGateway("wrong-token", TOKEN.replace('0', 'x'));
    }

    /** A gateway with the same apps, no rules, and the decider as its decision point. */
    private static GatewayProcess frontGateway(String name, String token) throws Exception {
        Path p = Files.createDirectories(dir.resolve(name + "/policies"));
        Files.writeString(p.resolve("ledger.yaml"), APPS.formatted(ledger.url()) + "rules: []\n");
        Files.writeString(p.resolveSibling("decider-token"), token + "\n");
        return GatewayProcess.start(p.getParent(), GatewayProcess.baseConfig("it-" + name) + """
                policy:
                  directory: policies
                  decision-point:
                    url: http://127.0.0.1:%d/api
                    token-file: decider-token
                    timeout: 3s
                    cache-size: 0
                """.formatted(decider.adminPort()));
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            GatewayProcess.stopAll(front);
            GatewayProcess.stopAll(wrongToken);
        } finally {
            GatewayProcess.stopAll(decider, ledger);
        }
    }

    @BeforeEach
    void clear() {
        ledger.clear();
    }

    @Test
    void allowedByTheDecider_reachesTheApp() throws Exception {
        HttpResponse<String> r = send(front, "GET", "/books");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(ledger.requests()).singleElement()
                .satisfies(req -> assertThat(req.requestLine()).isEqualTo("GET /books HTTP/1.1"));
    }

    @Test
    void notAllowedByTheDecider_anonymous401_andTheAppSeesNothing() throws Exception {
        HttpResponse<String> r = send(front, "DELETE", "/books");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(401);
        JsonNode error = JSON.readTree(r.body());
        assertThat(error.get("error").asText()).isEqualTo("authentication_required");
        assertThat(error.get("request_id").asText()).isNotBlank();
        assertThat(ledger.heads()).isEmpty();
    }

    @Test
    void deciderRefusesTheToken_deniedAsUnavailable() throws Exception {
        HttpResponse<String> r = send(wrongToken, "GET", "/books");

        assertThat(r.statusCode()).isEqualTo(403);
        JsonNode error = JSON.readTree(r.body());
        assertThat(error.get("error").asText()).isEqualTo("decision_point_unavailable");
        assertThat(ledger.heads()).isEmpty();
    }

    @Test
    void evaluations_areAuditedByTheDecider_withTheCallingOperator() throws Exception {
        send(front, "GET", "/audited");

        Path audit = decider.configFile().getParent().resolve("audit");
        await().atMost(Duration.ofSeconds(10)).until(() -> AuditFiles.lines(audit)
                .anyMatch(l -> l.contains("admin.action") && l.contains("\"front\"")));
    }

    private static HttpResponse<String> send(GatewayProcess gw, String method, String path) throws Exception {
        HttpClient client = Clients.http(gw.devCa(), HttpClient.Version.HTTP_1_1);
        return client.send(HttpRequest.newBuilder(URI.create("https://ledger.pep.localhost:" + gw.port() + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).header("Accept", "application/json")
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
