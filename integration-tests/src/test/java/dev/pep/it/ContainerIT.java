package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.testcontainers.containers.output.OutputFrame;
import org.testcontainers.containers.wait.strategy.Wait;

/**
 * The image of docker/Dockerfile, built and run on a real Docker engine: a base image made here
 * without any registry (docker/base/debian-jre.sh: debootstrap and docker import, cached by a
 * content key under /var/cache/pep), the project image on it with the packaged jar, then, started
 * with Testcontainers, the gateway container read-only and as a non-root user, healthy by its own
 * HEALTHCHECK, serving the echo app through TLS on a published port, taking a secret from the
 * environment, and draining an in-flight request on SIGTERM before it exits 0. Skipped, with the
 * reason, where no engine can run.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContainerIT {

    private static final Duration SHORT = Duration.ofSeconds(60);
    private static final String ADMIN_TOKEN = "ct-" + UUID.randomUUID().toString().replace("-", "");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Made in {@link #buildImage}: a PER_CLASS test gets its @TempDir fields only per test. */
    private Path dir;
    private DockerEngine engine;
    private String image;
    private PepContainer gateway;

    @BeforeAll
    @Timeout(value = 20, unit = TimeUnit.MINUTES)   // a cold machine installs, bootstraps and builds
    void buildImage() throws Exception {
        dir = Files.createTempDirectory("pep-container-it");
        long t0 = System.nanoTime();
        engine = DockerEngine.require(dir);
        long t1 = System.nanoTime();
        String base = LocalImages.base();
        long t2 = System.nanoTime();
        image = LocalImages.pep(engine, base);
        long t3 = System.nanoTime();
        System.out.printf(Locale.ROOT, "container test: engine %s in %.1fs, base image %s in %.1fs,"
                + " project image in %.1fs%n", engine.startedHere() ? "started" : "found",
                seconds(t1 - t0), base, seconds(t2 - t1), seconds(t3 - t2));
    }

    @AfterAll
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void cleanUp() throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
        if (engine == null) {
            return;
        }
        try {
            if (gateway != null) {
                gateway.stop();
            }
        } finally {
            engine.close();
        }
    }

    @Test
    void entryPoint_passesArgumentsAndExitCodesThrough() throws Exception {
        Path etc = configDir("etc-bad", CONFIG.replace("upstream:", "upsteam:"));

        try (PepContainer version = new PepContainer(image).withCommand("version").runningToItsEnd(SHORT);
                PepContainer invalid = new PepContainer(image).withConfig(etc).runningToItsEnd(SHORT)
                        .withCommand("validate", "--config", "/etc/pep/gateway.yaml")) {
            version.start();
            invalid.start();

            assertThat(version.exitCode()).as(version.logs()).isZero();
            assertThat(version.getLogs(OutputFrame.OutputType.STDOUT).trim()).matches("pep \\S+");
            assertThat(invalid.exitCode()).as(invalid.logs()).isEqualTo(1);
            assertThat(invalid.getLogs(OutputFrame.OutputType.STDERR))
                    .contains("/etc/pep/gateway.yaml:", "unknown key 'upsteam'");
        }
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void gatewayContainer_readOnlyNonRoot_healthy_servesEcho_andDrainsOnSigterm() throws Exception {
        long t0 = System.nanoTime();
        gateway = new PepContainer(image).withConfig(configDir("etc", CONFIG))
                .withTmpfs("/tmp", PepContainer.TMP_EXEC).withTmpfs("/run/pep", PepContainer.RUN_PEP)
                .withEnv("PEP_SECRET_ADMIN_TOKENS", "ops " + ADMIN_TOKEN).publishing(8443, 9090)
                .waitingUntilHealthy(Duration.ofSeconds(2), Duration.ofSeconds(90));
        gateway.start();
        System.out.printf(Locale.ROOT, "container test: gateway container healthy in %.1fs%n",
                seconds(System.nanoTime() - t0));

        assertThat(gateway.execInContainer("id", "-u").getStdout().trim()).isEqualTo("10001");
        assertThat(gateway.logs()).contains("transport=epoll", "tls=boringssl");
        int port = gateway.port(8443);
        int adminPort = gateway.port(9090);
        Path ca = dir.resolve("ca.pem");
        gateway.copyFileFromContainer("/var/lib/pep/dev-ca/ca.pem", ca.toString());
        HttpClient client = Clients.http(ca, HttpClient.Version.HTTP_1_1);

        HttpResponse<String> echo = client.send(HttpRequest.newBuilder(
                URI.create("https://demo.pep.localhost:" + port + "/hello?x=1")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(echo.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(echo.body()).get("path").asText()).isEqualTo("/hello?x=1");

        HttpResponse<String> denied = client.send(HttpRequest.newBuilder(
                URI.create("https://closed.pep.localhost:" + port + "/")).header("accept", "application/json")
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(denied.statusCode()).isEqualTo(403);
        String requestId = JSON.readTree(denied.body()).get("request_id").asText();
        await().atMost(Duration.ofSeconds(20)).until(() -> auditEvents().contains(requestId));

        assertAdminApiTakesTheEnvironmentSecret(adminPort);
        assertDrainsInFlightRequestOnSigterm(client, port, adminPort);
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void noexecTmp_gatewayRunsOnNioAndJdkTls_andStillServes() throws Exception {
        // L-792: Docker's plain --tmpfs is noexec, so Netty cannot load its native libraries.
        Path etc = configDir("etc-noexec", CONFIG.replace("token-file: /run/pep/secrets/admin-tokens", ""));
        try (PepContainer noexec = new PepContainer(image).withConfig(etc)
                .withTmpfs("/tmp", PepContainer.TMPFS_DEFAULTS).publishing(8443)
                .waitingFor(Wait.forLogMessage("(?s).*gateway started.*", 1)
                        .withStartupTimeout(Duration.ofSeconds(90)))) {
            noexec.start();
            Path ca = dir.resolve("noexec-ca.pem");
            noexec.copyFileFromContainer("/var/lib/pep/dev-ca/ca.pem", ca.toString());
            HttpResponse<String> echo = Clients.http(ca, HttpClient.Version.HTTP_2).send(HttpRequest.newBuilder(
                    URI.create("https://demo.pep.localhost:" + noexec.port(8443) + "/n")).build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(noexec.logs()).contains("transport=nio", "tls=jdk");
            assertThat(echo.statusCode()).isEqualTo(200);
            assertThat(echo.version()).isEqualTo(HttpClient.Version.HTTP_2);
            noexec.stopGracefully(Duration.ofSeconds(30));
            assertThat(noexec.exitCode()).as(noexec.logs()).isZero();
        }
    }

    /** The admin token came in as PEP_SECRET_ADMIN_TOKENS: it opens the API and is logged nowhere. */
    private void assertAdminApiTakesTheEnvironmentSecret(int adminPort) throws Exception {
        HttpClient admin = HttpClient.newHttpClient();
        URI policy = URI.create("http://127.0.0.1:" + adminPort + "/api/v1/policy");
        HttpResponse<String> withToken = Clients.get(admin, policy, ADMIN_TOKEN);
        HttpResponse<String> without = Clients.get(admin, policy, null);

        assertThat(withToken.statusCode()).as(withToken.body()).isEqualTo(200);
        assertThat(without.statusCode()).isEqualTo(401);
        assertThat(logs()).doesNotContain(ADMIN_TOKEN);
        assertThat(auditEvents()).doesNotContain(ADMIN_TOKEN);
        assertThat(gateway.execInContainer("sh", "-c", "tr '\\0' '\\n' </proc/1/environ").getStdout())
                .as("the JVM's environment").doesNotContain(ADMIN_TOKEN);
    }

    /**
     * A request whose body is still arriving when SIGTERM comes: the gateway says it drains one
     * request, the body completes, the echo answers it, and the container exits 0.
     */
    private void assertDrainsInFlightRequestOnSigterm(HttpClient client, int port, int adminPort) throws Exception {
        PipedOutputStream bodyOut = new PipedOutputStream();
        PipedInputStream bodyIn = new PipedInputStream(bodyOut, 64 * 1024);
        CompletableFuture<HttpResponse<String>> inFlight = client.sendAsync(HttpRequest.newBuilder(
                URI.create("https://demo.pep.localhost:" + port + "/upload"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> bodyIn)).build(),
                HttpResponse.BodyHandlers.ofString());
        byte[] half = "x".repeat(1000).getBytes(StandardCharsets.US_ASCII);
        write(bodyOut, half);
        await().atMost(Duration.ofSeconds(20)).until(() -> inFlightRequests(adminPort) == 1);

        CompletableFuture<Integer> exit =
                CompletableFuture.supplyAsync(() -> gateway.terminate(Duration.ofSeconds(60)));
        await().atMost(Duration.ofSeconds(20)).until(() -> logs().contains("gateway draining in_flight=1"));
        assertThat(inFlight).as("the upload is still in flight while the gateway drains").isNotDone();
        write(bodyOut, half);
        bodyOut.close();

        HttpResponse<String> response = inFlight.get(30, TimeUnit.SECONDS);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(response.body()).get("body_bytes").asInt()).isEqualTo(2000);
        assertThat(exit.get(45, TimeUnit.SECONDS)).as("exit code; logs:%n%s", logs()).isZero();
        assertThat(logs()).contains("gateway drained", "gateway stopped");
    }

    /** {@code pep_requests_in_flight} from the admin listener's /metrics. */
    private static double inFlightRequests(int adminPort) throws IOException, InterruptedException {
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + adminPort + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        return metrics.lines().filter(l -> l.startsWith("pep_requests_in_flight"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private String logs() {
        return gateway.logs();
    }

    private String auditEvents() throws IOException, InterruptedException {
        return gateway.execInContainer("sh", "-c", "cat /var/lib/pep/audit/events/*.jsonl").getStdout();
    }

    /** A configuration directory for /etc/pep holding {@code yaml} as gateway.yaml, readable by uid 10001. */
    private Path configDir(String name, String yaml) throws IOException {
        Path etc = Files.createDirectories(dir.resolve(name));
        Files.writeString(etc.resolve("gateway.yaml"), yaml);
        etc.toFile().setReadable(true, false);
        etc.toFile().setExecutable(true, false);
        etc.resolve("gateway.yaml").toFile().setReadable(true, false);
        return etc;
    }

    private static void write(OutputStream out, byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    /** The container's gateway.yaml: every writable path under the /var/lib/pep volume. */
    private static final String CONFIG = """
            instance: container-it
            listener: { address: 0.0.0.0, port: 8443 }
            tls:
              development-ca: { directory: /var/lib/pep/dev-ca }
            admin: { address: 0.0.0.0, port: 9090, token-file: /run/pep/secrets/admin-tokens }
            identity: { session-keys: /var/lib/pep/session-keys }
            audit: { directory: /var/lib/pep/audit }
            drain-timeout: 20s
            apps:
              demo: { hosts: [demo.pep.localhost], upstream: "pep:echo", access: public }
              closed: { hosts: [closed.pep.localhost], upstream: "pep:echo", access: deny }
            """;
}
