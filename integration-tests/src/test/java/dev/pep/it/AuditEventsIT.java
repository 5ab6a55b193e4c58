package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit trail of the packaged gateway, read from its JSON-lines file: a failed and a good
 * sign-in, a request through curl on its own connection, a logout and the policy load produce
 * their events with the keys docs/audit-schema.md promises, and every one of them validates
 * against config/schema/audit-event.schema.json.
 */
class AuditEventsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The trace the sign-in requests come with: their events continue it. */
    private static final String LOGIN_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String POLICY = """
            apps:
              desk:
                hosts: [desk.pep.localhost]
                upstream: pep:echo
            rules:
              - id: desk-signed-in
                apps: [desk]
                effect: allow
                when: subject.id == "demo"
            """;

    @TempDir
    static Path dir;

    static GatewayProcess gateway;
    static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        Files.copy(GatewayProcess.pepHome().resolve("config/quickstart-users.yaml"), dir.resolve("users.yaml"));
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/desk.yaml"), POLICY);
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-audit") + """
                policy:
                  directory: policies
                identity:
                  session-keys: session-keys
                  local-users: users.yaml
                audit:
                  directory: audit
                """);
        client = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway);
    }

    @Test
    void signInRequestLogoutAndPolicyLoad_areAuditedWithTheirKeys_andMatchTheSchema() throws Exception {
        assertThat(login("wrong-password").statusCode()).isEqualTo(401);
        HttpResponse<String> good = login("demo-password");
        assertThat(good.statusCode()).as(good.body()).isEqualTo(303);
        String cookie = cookie(good, "__Host-pep_session");

        ToolResult curl = Clients.curl(gateway.devCa(), "desk.pep.localhost", gateway.port(), "--http1.1",
                "-H", "Cookie: " + cookie, "-o", "/dev/null", "https://desk.pep.localhost:" + gateway.port() + "/hello");
        assertThat(curl.out()).as(curl.toString()).endsWith("1.1 200");
        HttpResponse<String> logout = client.send(HttpRequest.newBuilder(url("/.pep/logout"))
                .header("Cookie", cookie).header("Origin", "https://desk.pep.localhost:" + gateway.port())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(logout.statusCode()).as(logout.body()).isEqualTo(303);
        await().atMost(Duration.ofSeconds(30)).until(() -> !events("session.ended").isEmpty()
                && !events("logout").isEmpty());

        JsonNode loaded = events("policy.loaded").get(0);
        assertThat(loaded.get("entity").get("type").asText()).isEqualTo("policy");
        assertThat(loaded.get("entity").get("uid").asText()).isEqualTo(gateway.policyVersion());
        assertThat(loaded.get("policy").get("version").asText()).isEqualTo(gateway.policyVersion());
        assertThat(loaded.get("policy").get("files").toString()).contains("policies");

        JsonNode failed = events("login.failed").get(0);
        assertThat(failed.get("status_detail").asText()).isNotBlank();
        assertThat(failed.get("auth_protocol").asText()).isEqualTo("local");
        assertThat(failed.get("src_endpoint").get("ip").asText()).isEqualTo("127.0.0.1");
        JsonNode succeeded = events("login.succeeded").get(0);
        assertThat(succeeded.get("user").get("uid").asText()).isEqualTo("demo");
        assertThat(succeeded.get("auth_protocol").asText()).isEqualTo("local");
        assertThat(succeeded.get("src_endpoint").get("port").asInt()).isPositive();
        JsonNode out = events("logout").get(0);
        assertThat(out.get("user").get("uid").asText()).isEqualTo("demo");
        // Sign-in events carry the trace of their request, as decisions do.
        assertThat(failed.get("trace_id").asText()).isEqualTo(LOGIN_TRACE);
        assertThat(succeeded.get("trace_id").asText()).isEqualTo(LOGIN_TRACE);
        assertThat(succeeded.get("span_id").asText()).matches("[0-9a-f]{16}")
                .isNotEqualTo(failed.get("span_id").asText()).isNotEqualTo("00f067aa0ba902b7");
        assertThat(out.get("trace_id").asText()).matches("[0-9a-f]{32}").isNotEqualTo(LOGIN_TRACE);

        JsonNode decision = events("decision").stream()
                .filter(e -> e.get("http_request").get("url").get("path").asText().equals("/hello"))
                .findFirst().orElseThrow();
        String session = decision.get("session_id").asText();
        JsonNode started = events("session.started").stream()
                .filter(e -> e.get("session_id").asText().equals(session)).findFirst().orElseThrow();
        assertThat(started.get("actor").get("user").get("uid").asText()).isEqualTo("demo");
        assertThat(started.get("dst_endpoint").get("svc_name").asText()).isEqualTo("desk");
        assertThat(started.get("connection_info").get("protocol_name").asText()).isEqualTo("HTTP/1.1");
        assertThat(started.get("src_endpoint").get("ip").asText()).isEqualTo("127.0.0.1");
        JsonNode ended = events("session.ended").stream()
                .filter(e -> e.get("session_id").asText().equals(session)).findFirst().orElseThrow();
        JsonNode traffic = ended.get("traffic");
        assertThat(traffic.get("bytes_in").asLong()).as("TLS bytes from curl").isGreaterThan(300);
        assertThat(traffic.get("bytes_out").asLong()).as("TLS bytes to curl").isGreaterThan(300);
        assertThat(traffic.get("bytes").asLong())
                .isEqualTo(traffic.get("bytes_in").asLong() + traffic.get("bytes_out").asLong());
        assertThat(ended.get("duration").asLong()).isNotNegative();
        assertThat(ended.get("status_detail").asText()).isEqualTo("closed");
        // The session's end joins the trace of the request that started it.
        assertThat(ended.get("trace_id").asText()).isEqualTo(started.get("trace_id").asText())
                .isEqualTo(decision.get("trace_id").asText());
        assertThat(ended.get("span_id").asText()).isEqualTo(started.get("span_id").asText());
        String trail = String.join("\n", AuditFiles.lines(dir.resolve("audit")).toList());
        assertThat(trail).doesNotContain(cookie.substring(cookie.indexOf('=') + 1))
                .doesNotContain("demo-password").doesNotContain("wrong-password");

        JsonSchema schema = schema();
        for (String type : List.of("policy.loaded", "login.failed", "login.succeeded", "session.started",
                "decision", "session.ended", "logout")) {
            for (JsonNode e : events(type)) {
                assertThat(schema.validate(e)).as(type + " " + e).isEmpty();
            }
        }
    }

    private static HttpResponse<String> login(String password) throws Exception {
        HttpResponse<String> form = client.send(HttpRequest.newBuilder(url("/.pep/login?return_to=%2F"))
                .header("Accept", "text/html").build(), HttpResponse.BodyHandlers.ofString());
        Matcher csrf = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"").matcher(form.body());
        assertThat(csrf.find()).as(form.body()).isTrue();
        return client.send(HttpRequest.newBuilder(url("/.pep/login"))
                .header("Cookie", cookie(form, "__Host-pep_csrf"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Origin", "https://desk.pep.localhost:" + gateway.port())
                .header("traceparent", "00-" + LOGIN_TRACE + "-00f067aa0ba902b7-01")
                .POST(HttpRequest.BodyPublishers.ofString("csrf=" + csrf.group(1)
                        + "&return_to=%2F&username=demo&password=" + password)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String cookie(HttpResponse<?> r, String name) {
        return r.headers().allValues("set-cookie").stream().filter(c -> c.startsWith(name + "="))
                .map(c -> c.substring(0, c.indexOf(';'))).findFirst().orElseThrow(() ->
                        new AssertionError("no " + name + " cookie in " + r.headers().map()));
    }

    private static URI url(String pathAndQuery) {
        return URI.create("https://desk.pep.localhost:" + gateway.port() + pathAndQuery);
    }

    private static List<JsonNode> events(String type) {
        return AuditFiles.lines(dir.resolve("audit")).map(AuditEventsIT::parse)
                .filter(e -> e.get("type").asText().equals(type)).toList();
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonSchema schema() throws IOException {
        try (InputStream in = Files.newInputStream(GatewayProcess.pepHome()
                .resolve("config/schema/audit-event.schema.json"))) {
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
        }
    }
}
