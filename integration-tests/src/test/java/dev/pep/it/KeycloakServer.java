package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Assumptions;

/**
 * A real Keycloak from the Maven Central distribution (unpacked into target/keycloak by the
 * build), run as {@code bin/kc.sh start-dev} on loopback with a Java 21+ JDK and realms imported
 * from the test resources. Its database lives in memory ({@code --db=dev-mem}) and its data
 * directory is wiped before each start, so every test class sees the realms as the files describe
 * them. Start and stop from one thread.
 */
final class KeycloakServer implements AutoCloseable {

    static final Duration START_TIMEOUT = Duration.ofMinutes(4);
    private static final String ADMIN = "admin";
    private static final String ADMIN_PASSWORD = "it-admin-password";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final Path log;
    private final int port;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final Duration startedIn;

    private KeycloakServer(Process process, Path log, int port, Duration startedIn) {
        this.process = process;
        this.log = log;
        this.port = port;
        this.startedIn = startedIn;
    }

    /**
     * A JDK that runs Keycloak 26: {@code -Dkeycloak.java.home}, else the newest JDK 21+ under
     * /usr/lib/jvm, else this JVM when it is 21+; skips the test (an assumption, never a pass)
     * when none is found.
     */
    static Path javaHome() throws IOException {
        String configured = System.getProperty("keycloak.java.home");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        Path jvms = Path.of("/usr/lib/jvm");
        if (Files.isDirectory(jvms)) {
            try (Stream<Path> dirs = Files.list(jvms)) {
                Optional<Path> found = dirs.filter(d -> feature(d) >= 21 && Files.isExecutable(d.resolve("bin/java")))
                        .max(Comparator.comparingInt(KeycloakServer::feature));
                if (found.isPresent()) {
                    return found.get();
                }
            }
        }
        if (Runtime.version().feature() >= 21) {
            return Path.of(System.getProperty("java.home"));
        }
        Assumptions.abort("Keycloak 26 needs Java 21 or newer; none found (no JDK 21+ under /usr/lib/jvm, this "
                + "JVM is " + Runtime.version() + "); install one or set -Dkeycloak.java.home");
        throw new AssertionError("unreachable");
    }

    /** The Java feature version a JDK's {@code release} file names, or 0. */
    private static int feature(Path jdk) {
        try {
            for (String line : Files.readAllLines(jdk.resolve("release"))) {
                if (line.startsWith("JAVA_VERSION=")) {
                    String v = line.substring("JAVA_VERSION=".length()).replace("\"", "");
                    return Integer.parseInt(v.split("[.+-]")[0]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }

    /**
     * Starts Keycloak on {@code 127.0.0.1:port} with these realm files imported, trusting
     * {@code trustedCa} for its outgoing calls (back-channel logout to the gateway) and resolving
     * names through {@code hostsFile}; its log goes to {@code keycloak.log} in {@code logDir}.
     */
    static KeycloakServer start(int port, List<Path> realmFiles, Path trustedCa, Path hostsFile, Path logDir)
            throws Exception {
        Path home = Path.of(System.getProperty("keycloak.home", "target/keycloak/keycloak-26.5.6"));
        assertThat(home.resolve("bin/kc.sh")).as("the Keycloak distribution; mvn verify unpacks it").isRegularFile();
        Path java = javaHome();
        deleteTree(home.resolve("data"));
        Path imports = Files.createDirectories(home.resolve("data/import"));
        for (Path realm : realmFiles) {
            Files.copy(realm, imports.resolve(realm.getFileName()));
        }
        int management = RecordingUpstream.unboundPort();
        Path log = logDir.resolve("keycloak.log");
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/kc.sh").toString(), "start-dev",
                "--http-port=" + port, "--http-host=127.0.0.1", "--http-management-port=" + management,
                "--db=dev-mem",
                "--import-realm", "--truststore-paths=" + trustedCa,
                "--log-level=INFO,org.keycloak.services.managers.AuthenticationManager:debug,"
                        + "org.keycloak.protocol.oidc.OIDCLoginProtocol:debug")
                .directory(home.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("JAVA_HOME", java.toString());
        pb.environment().put("KC_BOOTSTRAP_ADMIN_USERNAME", ADMIN);
        pb.environment().put("KC_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD);
        pb.environment().put("JAVA_OPTS_APPEND", "-Djdk.net.hosts.file=" + hostsFile);
        long t0 = System.nanoTime();
        KeycloakServer kc = new KeycloakServer(pb.start(), log, port, null);
        try {
            kc.awaitStarted();
        } catch (RuntimeException | AssertionError e) {
            kc.close();
            throw e;
        }
        return new KeycloakServer(kc.process, log, port, Duration.ofNanos(System.nanoTime() - t0));
    }

    /** How long the start took, up to the realms' discovery documents answering. */
    Duration startedIn() {
        return startedIn;
    }

    /** {@code http://127.0.0.1:port/realms/REALM}, the realm's issuer. */
    String issuer(String realm) {
        return "http://127.0.0.1:" + port + "/realms/" + realm;
    }

    /** Everything Keycloak wrote so far. */
    String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    /**
     * Registers the gateway at a realm's client: the exact redirect URIs, the post-logout
     * redirect URIs and the back-channel logout URL (admin REST API).
     */
    void registerGateway(String realm, String clientId, List<String> redirectUris, List<String> postLogoutUris,
            String backChannelUrl) throws Exception {
        String token = adminToken();
        JsonNode clients = get(token, "/admin/realms/" + realm + "/clients?clientId="
                + URLEncoder.encode(clientId, StandardCharsets.UTF_8));
        ObjectNode client = (ObjectNode) clients.get(0);
        ArrayNode redirects = client.putArray("redirectUris");
        redirectUris.forEach(redirects::add);
        ObjectNode attributes = (ObjectNode) client.get("attributes");
        attributes.put("post.logout.redirect.uris", String.join("##", postLogoutUris));
        attributes.put("backchannel.logout.url", backChannelUrl);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create(base() + "/admin/realms/" + realm + "/clients/" + client.get("id").asText()))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(client))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(204);
    }

    /** How many Keycloak sessions a realm's user has now (admin REST API). */
    int sessionCount(String realm, String username) throws Exception {
        String token = adminToken();
        return get(token, "/admin/realms/" + realm + "/users/" + userId(token, realm, username) + "/sessions").size();
    }

    /** Ends all of a user's Keycloak sessions as an administrator would, which notifies clients. */
    void logoutUser(String realm, String username) throws Exception {
        String token = adminToken();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base() + "/admin/realms/" + realm
                        + "/users/" + userId(token, realm, username) + "/logout"))
                .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(204);
    }

    /** Disables or enables a realm's user as an administrator would (admin REST API). */
    void setEnabled(String realm, String username, boolean enabled) throws Exception {
        String token = adminToken();
        String id = userId(token, realm, username);
        ObjectNode user = (ObjectNode) get(token, "/admin/realms/" + realm + "/users/" + id);
        user.put("enabled", enabled);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base() + "/admin/realms/" + realm
                        + "/users/" + id)).header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(user))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(204);
    }

    private String userId(String token, String realm, String username) throws Exception {
        return get(token, "/admin/realms/" + realm + "/users?exact=true&username=" + username).get(0)
                .get("id").asText();
    }

    private String adminToken() throws Exception {
        String form = "grant_type=password&client_id=admin-cli&username=" + ADMIN + "&password=" + ADMIN_PASSWORD;
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create(base() + "/realms/master/protocol/openid-connect/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body()).get("access_token").asText();
    }

    private JsonNode get(String token, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base() + path))
                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private String base() {
        return "http://127.0.0.1:" + port;
    }

    private void awaitStarted() {
        try {
            await().atMost(START_TIMEOUT).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                    .until(() -> !process.isAlive() || http.send(HttpRequest.newBuilder(
                                    URI.create(base() + "/realms/master/.well-known/openid-configuration"))
                                    .timeout(Duration.ofSeconds(5)).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("Keycloak did not start within " + START_TIMEOUT + "; log:\n" + log(), e);
        }
        if (!process.isAlive()) {
            throw new AssertionError("Keycloak exited; log:\n" + log());
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Stops Keycloak (SIGTERM to it and the JVM the script started, then SIGKILL). */
    @Override
    public void close() {
        List<ProcessHandle> all = Stream.concat(process.descendants(), Stream.of(process.toHandle())).toList();
        all.forEach(ProcessHandle::destroy);
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                h.destroyForcibly();
            }
        }
    }
}
