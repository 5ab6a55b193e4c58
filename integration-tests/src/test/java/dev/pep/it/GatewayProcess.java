package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The packaged gateway run as the README runs it: {@code <pep.home>/pep serve --config FILE}, a
 * separate process. Waits for the {@code gateway started} line and reads the ports from it;
 * keeps its stderr in a file for assertions. Thread-safe for reading; start and stop from one thread.
 */
final class GatewayProcess implements AutoCloseable {

    static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final Pattern STARTED = Pattern.compile(
            "gateway started listener=\\S+:(\\d+) admin=(?:\\S+:(\\d+)|off) apps=\\d+ policy_version=(\\S+)");

    private final Process process;
    private final Path configFile;
    private final Path stderrFile;
    private int port = -1;
    private int adminPort = -1;
    private String policyVersion;

    private GatewayProcess(Process process, Path configFile, Path stderrFile) {
        this.process = process;
        this.configFile = configFile;
        this.stderrFile = stderrFile;
    }

    /** The repository root, where the {@code pep} launcher lives. */
    static Path pepHome() {
        String home = System.getProperty("pep.home");
        Path dir = home == null ? Path.of("..").toAbsolutePath().normalize() : Path.of(home);
        assertThat(dir.resolve("pep")).as("the pep launcher under pep.home").isRegularFile();
        assertThat(dir.resolve("pep-proxy/target/pep.jar"))
                .as("the packaged gateway; build it with mvn -DskipTests package").isRegularFile();
        return dir;
    }

    /**
     * The start of a test configuration: both listeners on loopback and free ports, a development
     * CA in {@code dev-ca} next to the file (see {@link #devCa()}); {@code apps:} follows.
     */
    static String baseConfig(String instance) {
        return """
                instance: %s
                listener:
                  address: 127.0.0.1
                  port: 0
                tls:
                  development-ca:
                    directory: dev-ca
                admin:
                  address: 127.0.0.1
                  port: 0
                drain-timeout: 20s
                """.formatted(instance);
    }

    /**
     * {@link #baseConfig} for the tests of live sessions: operator tokens in {@code admin-tokens}
     * (the caller writes it), policies from {@code policies} polled every 200 ms, live sessions
     * checked every 200 ms, audit to {@code audit}.
     */
    static String sessionsConfig(String instance) {
        return baseConfig(instance).replace("drain-timeout:", "  token-file: admin-tokens\ndrain-timeout:") + """
                policy:
                  directory: policies
                  reload-interval: 200ms
                sessions:
                  check-interval: 200ms
                audit:
                  directory: audit
                """;
    }

    /** Writes {@code yaml} to {@code dir/gateway.yaml} and starts the gateway on it. */
    static GatewayProcess start(Path dir, String yaml) throws IOException {
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(file, yaml);
        return start(file);
    }

    /** Starts {@code pep serve --config file} and waits for the started line. */
    static GatewayProcess start(Path file) throws IOException {
        return start(file, Map.of());
    }

    /**
     * Writes {@code yaml} to {@code dir/gateway.yaml} and starts the gateway with {@code env} added
     * to its environment (e.g. {@code PEP_JAVA_OPTS}, which the launcher passes to the JVM).
     */
    static GatewayProcess start(Path dir, String yaml, Map<String, String> env) throws IOException {
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(file, yaml);
        return start(file, env);
    }

    /** As {@link #start(Path)}, with more environment for the launcher (e.g. PEP_JAVA_OPTS). */
    static GatewayProcess start(Path file, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(pepHome().resolve("pep").toString(), "serve",
                "--config", file.toString()).directory(file.getParent().toFile());
        pb.environment().put("JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString());
        pb.environment().putAll(env);
        // Files, not pipes: the JDK closes a pipe under a concurrent reader when the process exits,
        // which would lose the drain and stop lines.
        Path stderrFile = file.resolveSibling(file.getFileName() + ".stderr.log");
        pb.redirectError(stderrFile.toFile())
                .redirectOutput(file.resolveSibling(file.getFileName() + ".stdout.log").toFile());
        GatewayProcess gw = new GatewayProcess(pb.start(), file, stderrFile);
        try {
            gw.awaitStarted();
        } catch (RuntimeException | AssertionError e) {
            gw.close();
            throw e;
        }
        return gw;
    }

    /**
     * Stops a gateway with SIGTERM and expects exit code 0, then closes the test's fixtures,
     * whatever failed before. Null arguments are skipped.
     */
    static void stopAll(GatewayProcess gateway, AutoCloseable... fixtures) throws Exception {
        try {
            if (gateway != null && gateway.isAlive()) {
                assertThat(gateway.stop(Duration.ofSeconds(30))).as("exit code after SIGTERM; stderr:%n%s",
                        gateway.stderr()).isZero();
            }
        } finally {
            if (gateway != null) {
                gateway.close();
            }
            for (AutoCloseable c : fixtures) {
                if (c != null) {
                    c.close();
                }
            }
        }
    }

    /** Runs a {@code pep} command to its end, e.g. {@code validate --config FILE}. */
    static ToolResult run(Duration timeout, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(pepHome().resolve("pep").toString());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString());
        return ToolResult.run(pb, new byte[0], timeout);
    }

    /** The partner-facing TLS port. */
    int port() {
        return port;
    }

    /** The configuration file the gateway runs on. */
    Path configFile() {
        return configFile;
    }

    /** The admin (plain HTTP) port. */
    int adminPort() {
        return adminPort;
    }

    /** The policy version named in the started line. */
    String policyVersion() {
        return policyVersion;
    }

    /** The development CA certificate, when the config keeps it in {@code dev-ca} next to it. */
    Path devCa() {
        return configFile.getParent().resolve("dev-ca").resolve("ca.pem");
    }

    /** Everything written to stdout so far. */
    String stdout() {
        Path file = configFile.resolveSibling(configFile.getFileName() + ".stdout.log");
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e + ")";
        }
    }

    /** Everything written to stderr so far. */
    String stderr() {
        try {
            return Files.readString(stderrFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(cannot read " + stderrFile + ": " + e + ")";
        }
    }

    /** The gateway's process id (the JVM's: the launcher execs it). */
    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** The resident set size of the gateway's JVM now ({@code VmRSS}), in bytes. */
    long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        }
        throw new IOException("no VmRSS in /proc/" + pid() + "/status");
    }

    /** Sends SIGTERM (Process.destroy on Unix) without waiting. */
    void signalTerm() {
        process.destroy();
    }

    /** Sends SIGTERM (Process.destroy on Unix) and returns the exit code. */
    int stop(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("gateway did not exit within " + timeout + " of SIGTERM; stderr:\n"
                    + stderr());
        }
        return process.exitValue();
    }

    /** Kills the process if it still runs; for @AfterAll, after any failure. */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Polls stderr for the started line; a dead process or the deadline fails with stderr. */
    private void awaitStarted() {
        try {
            await().atMost(START_TIMEOUT).pollInterval(Duration.ofMillis(50))
                    .until(() -> STARTED.matcher(stderr()).find() || !process.isAlive());
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("gateway did not start within " + START_TIMEOUT + "; stderr:\n" + stderr(), e);
        }
        Matcher m = STARTED.matcher(stderr());
        if (!m.find()) {
            throw new AssertionError("gateway exited before it started; stderr:\n" + stderr());
        }
        port = Integer.parseInt(m.group(1));
        adminPort = m.group(2) == null ? -1 : Integer.parseInt(m.group(2));
        policyVersion = m.group(3);
    }
}
