package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.proxy.admin.AdminResponse;
import dev.pep.proxy.apps.AppStore;
import dev.pep.proxy.apps.Registration;
import dev.pep.proxy.config.ConfigLoader;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway in this JVM, its admin API called directly: stored registrations restored at start
 * (conflicting and broken ones left out and left on disk), an expiry processed once, a reload that
 * keeps run-time apps routed.
 */
class EpisodicAppsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "unit-episodic-token-0123456789abcdef";
    private static final Instant NOW = Instant.now();

    @TempDir
    Path dir;

    private GatewayServer gateway;

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void start_restoresStoredApps_leavesOutConflictingAndBrokenOnes_onDisk() throws Exception {
        AppStore store = new AppStore(dir.resolve("runtime-apps"));
        store.save(new Registration(app("keep", "keep.example", Optional.empty()), "alice", NOW));
        store.save(new Registration(app("clash", "base.example", Optional.empty()), "alice", NOW));
        Files.writeString(dir.resolve("runtime-apps/broken.json"), "{");

        start();

        assertThat(sources()).containsEntry("keep", "admin").containsEntry("base", "files")
                .doesNotContainKey("clash");
        assertThat(dir.resolve("runtime-apps/clash.json")).exists();
        assertThat(dir.resolve("runtime-apps/broken.json")).exists();
    }

    @Test
    void expiry_storedAppThatExpiredWhileDown_isProcessedOnceAtStart() throws Exception {
        AppStore store = new AppStore(dir.resolve("runtime-apps"));
        store.save(new Registration(app("gone", "gone.example", Optional.of(NOW.minusSeconds(60))), "alice",
                NOW.minusSeconds(120)));

        start();

        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(dir.resolve("runtime-apps/gone.json")));
        assertThat(sources()).doesNotContainKey("gone");
        await().atMost(Duration.ofSeconds(10)).until(() -> audit("app.expired").size() == 1);
        assertThat(audit("app.expired").get(0).at("/entity/name").asText()).isEqualTo("gone");
    }

    @Test
    void expiry_comesByTheTimer_once_andTheAppLeavesTheListAndTheStore() throws Exception {
        start();
        Instant expires = Instant.now().plusMillis(1500);
        AdminResponse created = call("POST", "/api/v1/apps", """
                {"name": "brief", "hosts": ["brief.example"], "upstream": "pep:echo",
                 "lifecycle": "episodic", "expires": "%s"}""".formatted(expires));
        assertThat(created.status()).as(created.json()).isEqualTo(201);
        assertThat(sources()).containsEntry("brief", "admin");

        await().atMost(Duration.ofSeconds(10)).until(() -> !sources().containsKey("brief"));

        assertThat(Instant.now()).isAfterOrEqualTo(expires);
        assertThat(dir.resolve("runtime-apps/brief.json")).doesNotExist();
        await().atMost(Duration.ofSeconds(10)).until(() -> audit("app.expired").size() == 1);
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
                .until(() -> audit("app.expired").size() == 1);
        assertThat(audit("app.registered")).hasSize(1);
    }

    @Test
    void register_pastExpiryOrTakenName_isRefused_andNothingIsStored() throws Exception {
        start();
        String drill = """
                {"name": "drill", "hosts": ["drill.example"], "upstream": "pep:echo",
                 "lifecycle": "episodic", "expires": "%s"}""";

        AdminResponse past = call("POST", "/api/v1/apps", drill.formatted(Instant.now().minusSeconds(5)));
        assertThat(past.status()).isEqualTo(400);
        assertThat(JSON.readTree(past.json()).get("message").asText()).endsWith("which has passed");
        assertThat(dir.resolve("runtime-apps/drill.json")).doesNotExist();

        String future = drill.formatted(Instant.now().plusSeconds(3600));
        assertThat(call("POST", "/api/v1/apps", future).status()).isEqualTo(201);
        AdminResponse again = call("POST", "/api/v1/apps", future.replace("drill.example", "drill2.example"));
        assertThat(again.status()).isEqualTo(409);
        assertThat(JSON.readTree(again.json()).get("message").asText())
                .isEqualTo("app 'drill' is already registered; delete it first");
        assertThat(call("GET", "/api/v1/apps", "").json()).doesNotContain("drill2.example");
    }

    @Test
    void register_storeCannotBeWritten_isRefusedAndNotRouted() throws Exception {
        Files.writeString(dir.resolve("blocker"), "a file where a directory should be");
        start("blocker/apps");

        AdminResponse r = call("POST", "/api/v1/apps", """
                {"name": "drill", "hosts": ["drill.example"], "upstream": "pep:echo"}""");

        assertThat(r.status()).isEqualTo(500);
        assertThat(JSON.readTree(r.json()).get("error").asText()).isEqualTo("app_not_stored");
        assertThat(sources()).doesNotContainKey("drill");
        assertThat(hosts()).doesNotContain("drill.example");
    }

    @Test
    void delete_fileCannotBeDeleted_removesTheAppAllTheSame_andSaysSo() throws Exception {
        start();
        assertThat(call("POST", "/api/v1/apps", """
                {"name": "drill", "hosts": ["drill.example"], "upstream": "pep:echo"}""").status()).isEqualTo(201);
        Path file = dir.resolve("runtime-apps/drill.json");
        Files.delete(file);
        Files.createDirectories(file.resolve("in-the-way"));

        AdminResponse r = call("DELETE", "/api/v1/apps/drill", "");

        assertThat(r.status()).isEqualTo(500);
        assertThat(JSON.readTree(r.json()).get("message").asText()).contains("was removed, but its file");
        assertThat(sources()).doesNotContainKey("drill");
        assertThat(hosts()).doesNotContain("drill.example");
        await().atMost(Duration.ofSeconds(10)).until(() -> !audit("app.removed").isEmpty());
    }

    @Test
    void reload_keepsRuntimeAppsRouted() throws Exception {
        start();
        assertThat(call("POST", "/api/v1/apps", """
                {"name": "extra", "hosts": ["extra.example"], "upstream": "pep:echo"}""").status())
                .isEqualTo(201);

        Files.writeString(dir.resolve("policies/apps.yaml"), policy().replace("base.example", "base2.example"));

        await().atMost(Duration.ofSeconds(10)).until(() -> hosts().contains("base2.example"));
        assertThat(hosts()).contains("extra.example").doesNotContain("base.example");
    }

    private void start() throws Exception {
        start("runtime-apps");
    }

    private void start(String runtimeApps) throws Exception {
        Files.writeString(dir.resolve("admin-tokens"), "alice " + TOKEN + "\n");
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/apps.yaml"), policy());
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(file, """
                instance: gw-episodic
                listener: { address: 127.0.0.1, port: 0 }
                tls:
                  development-ca: { directory: dev-ca, hosts: [localhost] }
                admin: { address: 127.0.0.1, port: 0, token-file: admin-tokens }
                identity: { session-keys: session-keys }
                policy:
                  directory: policies
                  reload-interval: 100ms
                  runtime-apps-directory: %s
                audit:
                  directory: audit
                  fsync-interval: 2ms
                """.formatted(runtimeApps));
        gateway = GatewayServer.start(ConfigLoader.load(file));
    }

    private static String policy() {
        return """
                apps:
                  base: { hosts: [base.example], upstream: "pep:echo" }
                rules:
                  - id: open
                    effect: allow
                    when: "true"
                """;
    }

    private AdminResponse call(String method, String path, String body) throws Exception {
        return gateway.adminApi().handle(method, path, Map.of(), "Bearer " + TOKEN, body)
                .toCompletableFuture().get();
    }

    /** App name to its source, from GET /api/v1/apps. */
    private Map<String, String> sources() throws Exception {
        Map<String, String> out = new java.util.TreeMap<>();
        JSON.readTree(call("GET", "/api/v1/apps", "").json()).get("apps")
                .forEach(a -> out.put(a.get("name").asText(), a.get("source").asText()));
        return out;
    }

    /** The hosts routed now, from GET /api/v1/policy. */
    private List<String> hosts() throws Exception {
        List<String> out = new ArrayList<>();
        JSON.readTree(call("GET", "/api/v1/policy", "").json()).get("apps")
                .forEach(a -> a.get("hosts").forEach(h -> out.add(h.asText())));
        return out;
    }

    private List<JsonNode> audit(String type) throws IOException {
        Path events = dir.resolve("audit/events");
        if (!Files.isDirectory(events)) {
            return List.of();
        }
        List<JsonNode> found = new ArrayList<>();
        try (Stream<Path> files = Files.list(events)) {
            for (Path f : files.toList()) {
                for (String line : Files.readAllLines(f)) {
                    JsonNode e = parse(line);
                    if (e != null && e.path("type").asText().equals(type)) {
                        found.add(e);
                    }
                }
            }
        }
        return found;
    }

    private static JsonNode parse(String line) {
        try {
            return line.isBlank() ? null : JSON.readTree(line);
        } catch (IOException e) {
            // A line being written: not there yet.
            return null;
        }
    }

    private static App app(String name, String host, Optional<Instant> expires) {
        return new App(name, List.of(host), AppProtocol.HTTP, URI.create("pep:echo"), Map.of(),
                expires.isPresent(), expires);
    }
}
