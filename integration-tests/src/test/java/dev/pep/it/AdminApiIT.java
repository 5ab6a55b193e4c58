package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin API on the packaged gateway: bearer tokens from the token file, answers, audit. */
class AdminApiIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "it-admin-token-0123456789abcdef0123456789";

    @TempDir
    static Path dir;

    static GatewayProcess gateway;
    static HttpClient client = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        Files.writeString(dir.resolve("admin-tokens"), "# who may use the admin API\nalice " + TOKEN + "\n");
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/apps.yaml"), """
                apps:
                  ledger:
                    hosts: [ledger.pep.localhost]
                    upstream: pep:echo
                    lifecycle: episodic
                    expires: 2099-01-01T00:00:00Z
                rules: []
                """);
        String yaml = GatewayProcess.baseConfig("it-admin").replace("drain-timeout:",
                "  token-file: admin-tokens\ndrain-timeout:") + """
                policy:
                  directory: policies
                audit:
                  directory: audit
                """;
        gateway = GatewayProcess.start(dir, yaml);
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway);
    }

    @Test
    void policy_withToken_listsVersionAndApps() throws Exception {
        HttpResponse<String> r = get("/api/v1/policy", "Bearer " + TOKEN);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.get("policy_version").asText()).startsWith("sha256:");
        JsonNode app = body.get("apps").get(0);
        assertThat(app.get("name").asText()).isEqualTo("ledger");
        assertThat(app.get("hosts").get(0).asText()).isEqualTo("ledger.pep.localhost");
        assertThat(app.get("lifecycle").asText()).isEqualTo("episodic");
        assertThat(app.get("expires").asText()).isEqualTo("2099-01-01T00:00:00Z");
    }

    @Test
    void policy_withoutOrWithWrongToken_401WithReason() throws Exception {
        for (String authorization : new String[] {null, "Bearer " + TOKEN + "x"}) {
            HttpResponse<String> r = get("/api/v1/policy", authorization);

            assertThat(r.statusCode()).isEqualTo(401);
            assertThat(r.headers().firstValue("www-authenticate")).hasValueSatisfying(v -> assertThat(v)
                    .startsWith("Bearer"));
            assertThat(JSON.readTree(r.body()).get("error").asText()).isEqualTo("admin_unauthenticated");
        }
    }

    @Test
    void call_isAuditedWithTheOperator_andNoToken() throws Exception {
        get("/api/v1/policy", "Bearer " + TOKEN);

        await().atMost(Duration.ofSeconds(10)).until(() -> auditLines().anyMatch(l -> l.contains("admin.action")));
        String event = auditLines().filter(l -> l.contains("admin.action")).findFirst().orElseThrow();
        assertThat(event).contains("\"alice\"").contains("read-policy").doesNotContain(TOKEN);
    }

    @Test
    void healthAndMetrics_needNoToken() throws Exception {
        assertThat(get("/healthz", null).statusCode()).isEqualTo(200);
        assertThat(get("/metrics", null).statusCode()).isEqualTo(200);
    }

    private static HttpResponse<String> get(String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.adminPort() + path))
                .timeout(Duration.ofSeconds(10));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static Stream<String> auditLines() {
        return AuditFiles.lines(dir.resolve("audit"));
    }
}
