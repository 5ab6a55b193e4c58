package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * docker/compose.yaml as docker/README.md brings it up, on a real Docker engine with Debian's
 * docker-compose and images built here (the pep image on the Debian base, Keycloak from Maven
 * Central's distribution): the demo user signs in through Keycloak's own login page, the way a
 * browser does (the gateway's {@code /.pep/login}, Keycloak's form, {@code /.pep/callback}), and
 * reaches the demo app, which has no published port and sits on a network only the connector
 * shares with it. Then {@code down -v}. Skipped, with the reason, where no engine can run.
 *
 * <p>The compose file publishes fixed ports on 127.0.0.1 (8443 the gateway, 8453 Keycloak, 9090
 * the admin listener): the redirect URI registered in the realm and the issuer name a port, as
 * they would in a deployment. The test fails, saying which, when one of them is taken.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ComposeIT {

    private static final Duration UP = Duration.ofMinutes(8);
    private static final Duration SHORT = Duration.ofSeconds(60);
    private static final int GATEWAY_PORT = 8443;
    private static final int KEYCLOAK_PORT = 8453;
    private static final int ADMIN_PORT = 9090;
    private static final String KEYCLOAK = "https://keycloak.pep.localhost:" + KEYCLOAK_PORT + "/realms/northwind";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern ORGANISATION_ROW =
            Pattern.compile("(?i)<th>x-pep-organisation</th><td>northwind</td>");

    private Path dir;
    private DockerEngine engine;
    private String image;
    private String project;
    private Map<String, String> env;
    private boolean up;

    @BeforeAll
    @Timeout(value = 25, unit = TimeUnit.MINUTES)   // a cold machine installs and builds three images
    void bringUp() throws Exception {
        dir = Files.createTempDirectory("pep-compose-it");
        long t0 = System.nanoTime();
        engine = DockerEngine.require(dir);
        if (!DockerEngine.onPath("docker-compose")) {
            DockerEngine.install("docker-compose");
        }
        String base = LocalImages.base();
        image = LocalImages.pep(engine, base);
        String keycloak = LocalImages.keycloak();
        long t1 = System.nanoTime();
        for (int port : new int[] {GATEWAY_PORT, KEYCLOAK_PORT, ADMIN_PORT}) {
            assertThat(free(port)).as("127.0.0.1:%d, which docker/compose.yaml publishes, is taken", port).isTrue();
        }
        project = "pep-compose-it-" + UUID.randomUUID().toString().substring(0, 8);
        env = new LinkedHashMap<>();
        env.put("PEP_IMAGE", image);
        env.put("PEP_BASE_IMAGE", base);
        env.put("PEP_BUILD_IMAGE", base);
        env.put("PEP_JAR", "prebuilt");
        env.put("KEYCLOAK_IMAGE", keycloak);

        // --no-build: the images exist, so compose neither builds nor pulls.
        up = true;
        compose(UP, "up", "-d", "--no-build");
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1))
                .until(() -> logs("gateway").contains("connector connected connector=depot-1"));
        System.out.printf(Locale.ROOT, "compose test: engine and images in %.1fs, deployment up and the"
                + " connector enrolled in %.1fs%n", seconds(t1 - t0), seconds(System.nanoTime() - t1));
    }

    @AfterAll
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void tearDown() throws Exception {
        try {
            if (up) {
                long t0 = System.nanoTime();
                ToolResult down = compose(SHORT.multipliedBy(3), "down", "-v", "--remove-orphans");
                System.out.printf(Locale.ROOT, "compose test: down -v in %.1fs%n", seconds(System.nanoTime() - t0));
                assertThat(down.exitCode()).as(down.toString()).isZero();
                assertThat(engine.dockerOk(SHORT, "ps", "-aq", "--filter", "label=com.docker.compose.project="
                        + project)).as("containers left by down").isEmpty();
                assertThat(engine.dockerOk(SHORT, "volume", "ls", "-q", "--filter", "label=com.docker.compose.project="
                        + project)).as("volumes left by down -v").isEmpty();
            }
        } finally {
            try {
                if (engine != null) {
                    engine.close();
                }
            } finally {
                try (Stream<Path> files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                }
            }
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void demoUser_signsInThroughKeycloaksLoginPage_andReachesTheAppBehindTheConnector() throws Exception {
        Browser browser = new Browser(trustBundle());
        URI hello = URI.create("https://demo.pep.localhost:" + GATEWAY_PORT + "/hello?from=compose");

        HttpResponse<String> first = browser.get(hello);
        assertThat(first.statusCode()).as(first.body()).isEqualTo(302);
        assertThat(Browser.location(first).getPath()).isEqualTo("/.pep/login");
        URI authorize = browser.followUntil(first, KEYCLOAK + "/protocol/openid-connect/auth?");
        HttpResponse<String> loginPage = browser.get(authorize);
        assertThat(loginPage.statusCode()).as(loginPage.body()).isEqualTo(200);
        assertThat(loginPage.body()).contains("kc-form-login");
        HttpResponse<String> submitted = browser.submit(loginPage,
                Map.of("username", "demo", "password", "demo-password", "credentialId", ""));
        assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(302);
        URI callback = Browser.location(submitted);
        assertThat(callback.getAuthority() + callback.getPath())
                .isEqualTo("demo.pep.localhost:" + GATEWAY_PORT + "/.pep/callback");
        HttpResponse<String> back = browser.get(callback);
        assertThat(back.statusCode()).as("callback answer; gateway log:%n%s", logs("gateway")).isEqualTo(303);
        HttpResponse<String> app = browser.open(Browser.location(back));

        assertThat(app.statusCode()).as(app.body()).isEqualTo(200);
        assertThat(app.uri()).isEqualTo(hello);
        assertThat(app.body()).contains("pep echo", "/hello?from=compose").containsPattern(ORGANISATION_ROW);
        assertThat(logs("connector")).contains("depot-1");
    }

    @Test
    void program_withTheDemoUsersAccessToken_reachesTheApp_withoutOne_isRefused() throws Exception {
        HttpClient client = HttpClient.newBuilder().sslContext(Clients.trusting(trustBundle())).build();
        HttpResponse<String> token = client.send(HttpRequest.newBuilder(
                URI.create(KEYCLOAK + "/protocol/openid-connect/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("grant_type=password&client_id=pep-demo"
                        + "&username=demo&password=demo-password")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(token.statusCode()).as(token.body()).isEqualTo(200);
        String accessToken = JSON.readTree(token.body()).get("access_token").asText();
        URI hello = URI.create("https://demo.pep.localhost:" + GATEWAY_PORT + "/api?from=program");

        HttpResponse<String> with = Clients.get(client, hello, accessToken);
        HttpResponse<String> without = Clients.get(client, hello, null);

        assertThat(with.statusCode()).as(with.body()).isEqualTo(200);
        JsonNode echo = JSON.readTree(with.body());
        assertThat(echo.get("path").asText()).isEqualTo("/api?from=program");
        assertThat(echo.get("headers")).anySatisfy(h -> assertThat(h.get(0).asText() + ": " + h.get(1).asText())
                .isEqualToIgnoringCase("x-pep-organisation: northwind"));
        assertThat(without.statusCode()).isEqualTo(401);
        assertThat(without.body()).contains("authentication_required");
    }

    @Test
    void demoApp_hasNoPublishedPort_andOnlyTheConnectorReachesIt() throws Exception {
        String app = containerOf("demo-app");
        String ports = engine.dockerOk(SHORT, "inspect", "--format", "{{json .NetworkSettings.Ports}}", app);
        ToolResult fromGateway = resolveDemoApp("gateway");
        ToolResult fromConnector = resolveDemoApp("connector");

        assertThat(ports).doesNotContain("HostPort");
        assertThat(fromGateway.exitCode()).as("the gateway resolves demo-app: %s", fromGateway).isNotZero();
        assertThat(fromConnector.exitCode()).as(fromConnector.toString()).isZero();
    }

    /** The gateway's development CA and the demo CA that signed Keycloak's certificate, in one file. */
    private Path trustBundle() throws IOException, InterruptedException {
        Path bundle = dir.resolve("trust.pem");
        if (Files.exists(bundle)) {
            return bundle;
        }
        String gateway = containerOf("gateway");
        engine.dockerOk(SHORT, "cp", gateway + ":/var/lib/pep/dev-ca/ca.pem", dir.resolve("gateway-ca.pem").toString());
        engine.dockerOk(SHORT, "cp", gateway + ":/certs/ca.pem", dir.resolve("demo-ca.pem").toString());
        Files.writeString(bundle, Files.readString(dir.resolve("gateway-ca.pem")) + "\n"
                + Files.readString(dir.resolve("demo-ca.pem")));
        return bundle;
    }

    /** {@code getent hosts demo-app} inside {@code service}'s container. */
    private ToolResult resolveDemoApp(String service) throws IOException, InterruptedException {
        return engine.docker(SHORT, "exec", containerOf(service), "getent", "hosts", "demo-app");
    }

    private String containerOf(String service) throws IOException, InterruptedException {
        ToolResult r = compose(SHORT, "ps", "-q", service);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        return r.out().trim();
    }

    private String logs(String service) throws IOException, InterruptedException {
        ToolResult r = compose(SHORT, "logs", "--no-color", service);
        return r.out() + r.stderr();
    }

    /** {@code docker-compose -f docker/compose.yaml -p PROJECT ARGS}, from the repository root. */
    private ToolResult compose(Duration timeout, String... args) throws IOException, InterruptedException {
        Path home = GatewayProcess.pepHome();
        List<String> command = new ArrayList<>(List.of("docker-compose", "-f",
                home.resolve("docker/compose.yaml").toString(), "-p", project));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(home.toFile());
        pb.environment().putAll(env);
        ToolResult r = ToolResult.run(pb, new byte[0], timeout);
        if (args[0].equals("up")) {
            assertThat(r.exitCode()).as("docker-compose up%n%s", r).isZero();
        }
        return r;
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }
}
