package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged gateway run as the README runs it: {@code <pep.home>/pep serve --config FILE}, a
 * separate process. Waits for the {@code gateway started} line and reads the ports from it;
 * keeps every stderr line for assertions. Thread-safe for reading; start and stop from one thread.
 */
final class GatewayProcess implements AutoCloseable {

    static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final Pattern STARTED = Pattern.compile(
            "gateway started listener=\\S+:(\\d+) admin=(?:\\S+:(\\d+)|off) apps=\\d+ policy_version=(\\S+)");

    private final Process process;
    private final Path configFile;
    private final List<String> stderr = new ArrayList<>();
    private final StringBuffer stdout = new StringBuffer();
    private int port = -1;
    private int adminPort = -1;
    private String policyVersion;
    private boolean stderrClosed;

    private GatewayProcess(Process process, Path configFile) {
        this.process = process;
        this.configFile = configFile;
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

    /** Writes {@code yaml} to {@code dir/gateway.yaml} and starts the gateway on it. */
    static GatewayProcess start(Path dir, String yaml) throws IOException {
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(file, yaml);
        return start(file);
    }

    /** Starts {@code pep serve --config file} and waits for the started line. */
    static GatewayProcess start(Path file) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(pepHome().resolve("pep").toString(), "serve",
                "--config", file.toString()).directory(file.getParent().toFile());
        pb.environment().put("JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString());
        GatewayProcess gw = new GatewayProcess(pb.start(), file);
        gw.pump(gw.process.getInputStream(), false);
        gw.pump(gw.process.getErrorStream(), true);
        try {
            gw.awaitStarted();
        } catch (RuntimeException | AssertionError e) {
            gw.close();
            throw e;
        }
        return gw;
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

    /** Every stderr line so far, joined. */
    String stderr() {
        synchronized (stderr) {
            return String.join("\n", stderr);
        }
    }

    boolean isAlive() {
        return process.isAlive();
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

    private void awaitStarted() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        synchronized (stderr) {
            while (port < 0) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0 || !process.isAlive() && port < 0 && stderrClosed) {
                    throw new AssertionError("gateway did not start within " + START_TIMEOUT
                            + " (alive=" + process.isAlive() + "); stderr:\n" + String.join("\n", stderr));
                }
                try {
                    stderr.wait(Math.min(left, 200));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted while waiting for the gateway", e);
                }
            }
        }
    }

    private void pump(InputStream in, boolean isStderr) {
        Thread t = new Thread(() -> {
            try (var reader = new java.io.BufferedReader(
                    new java.io.InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    if (isStderr) {
                        onStderr(line);
                    } else {
                        stdout.append(line).append('\n');
                    }
                }
            } catch (IOException e) {
                // The process ended and its pipe was closed under the reader: the end of output.
            } finally {
                if (isStderr) {
                    synchronized (stderr) {
                        stderrClosed = true;
                        stderr.notifyAll();
                    }
                }
            }
        }, "gateway-" + (isStderr ? "stderr" : "stdout"));
        t.setDaemon(true);
        t.start();
    }

    private void onStderr(String line) {
        synchronized (stderr) {
            stderr.add(line);
            Matcher m = STARTED.matcher(line);
            if (m.find()) {
                adminPort = m.group(2) == null ? -1 : Integer.parseInt(m.group(2));
                policyVersion = m.group(3);
                port = Integer.parseInt(m.group(1));
            }
            stderr.notifyAll();
        }
    }
}
