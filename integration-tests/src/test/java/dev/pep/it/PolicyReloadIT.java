package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hot reload of the packaged gateway's policy directory: a broken file written while it runs is
 * refused with its position in the log and a {@code policy.refused} audit event, and the running
 * version keeps deciding and stays on {@code /readyz}; a valid file then replaces it.
 */
class PolicyReloadIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String APPS = """
            apps:
              plain:
                hosts: [plain.pep.localhost]
                upstream: pep:echo
              closed:
                hosts: [closed.pep.localhost]
                upstream: pep:echo
            rules:
            """;
    private static final String PLAIN_ONLY = APPS + """
              - id: plain-to-all
                apps: [plain]
                effect: allow
                when: "true"
            """;
    /** Would close "plain" and open "closed", but line 12 names an attribute that does not exist. */
    private static final String BROKEN = APPS + """
              - id: closed-to-all
                apps: [closed]
                effect: allow
                when: subject.nosuch == "x"
            """;
    private static final String CLOSED_ONLY = APPS + """
              - id: closed-to-all
                apps: [closed]
                effect: allow
                when: "true"
            """;

    @TempDir
    static Path dir;

    static GatewayProcess gateway;
    static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        Files.createDirectories(dir.resolve("policies"));
        writePolicy(PLAIN_ONLY);
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-reload") + """
                policy:
                  directory: policies
                  reload-interval: 200ms
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
    void brokenPolicy_isRefusedWithItsPosition_andTheRunningVersionKeepsDeciding() throws Exception {
        String running = gateway.policyVersion();
        assertThat(status("plain")).isEqualTo(200);
        int closedBefore = status("closed");
        assertThat(closedBefore).isIn(401, 403);
        assertThat(readyVersion()).isEqualTo(running);

        writePolicy(BROKEN);

        Path file = dir.resolve("policies/apps.yaml");
        await().atMost(Duration.ofSeconds(30)).until(() -> gateway.stderr()
                .contains("policy error, running version kept"));
        String warn = gateway.stderr().lines().filter(l -> l.contains("policy error, running version kept"))
                .findFirst().orElseThrow();
        assertThat(warn).contains("WARN").contains("version=" + running)
                .contains("error=" + file + ":12:11: condition: unknown attribute of 'subject'");
        await().atMost(Duration.ofSeconds(30)).until(() -> !events("policy.refused").isEmpty());
        JsonNode refused = events("policy.refused").get(0);
        assertThat(refused.get("policy").get("version").asText()).isEqualTo(running);
        assertThat(refused.get("status_detail").asText()).startsWith(file + ":12:11: condition: unknown attribute");
        assertThat(readyVersion()).as("/readyz after the refused reload").isEqualTo(running);
        assertThat(metrics()).containsPattern("pep_policy_reloads_total\\{result=\"refused\"} [1-9]")
                .contains("pep_policy_info{version=\"" + running + "\"} 1");
        assertThat(status("plain")).as("still allowed by the running version").isEqualTo(200);
        assertThat(status("closed")).as("still denied by the running version").isEqualTo(closedBefore);

        writePolicy(CLOSED_ONLY);

        await().atMost(Duration.ofSeconds(30)).until(() -> !readyVersion().equals(running));
        assertThat(status("closed")).as("decided by the new version").isEqualTo(200);
        assertThat(status("plain")).isEqualTo(closedBefore);
        assertThat(events("policy.loaded")).extracting(e -> e.get("policy").get("version").asText())
                .contains(running, readyVersion());
        // One series for the version in force: the old one is gone from the scrape.
        String scrape = metrics();
        assertThat(scrape).containsPattern("pep_policy_reloads_total\\{result=\"loaded\"} [1-9]")
                .contains("pep_policy_info{version=\"" + readyVersion() + "\"} 1")
                .doesNotContain("pep_policy_info{version=\"" + running + "\"}");
    }

    private static String metrics() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + gateway.adminPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    private static int status(String app) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("https://" + app + ".pep.localhost:"
                + gateway.port() + "/")).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static String readyVersion() throws Exception {
        HttpResponse<String> ready = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gateway.adminPort() + "/readyz")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(ready.statusCode()).isEqualTo(200);
        return JSON.readTree(ready.body()).get("policy_version").asText();
    }

    private static List<JsonNode> events(String type) {
        return AuditFiles.lines(dir.resolve("audit")).map(PolicyReloadIT::parse)
                .filter(e -> e.get("type").asText().equals(type)).toList();
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writePolicy(String policy) throws IOException {
        Path tmp = dir.resolve("policies/.apps.yaml.tmp");
        Files.writeString(tmp, policy);
        Files.move(tmp, dir.resolve("policies/apps.yaml"), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
    }
}
