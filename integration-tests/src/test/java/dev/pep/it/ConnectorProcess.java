package dev.pep.it;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real connector, {@code <pep.home>/pep connector --config FILE}, as a separate process,
 * optionally inside a network namespace ({@code ip netns exec NS}). Keeps stderr in a file.
 */
final class ConnectorProcess implements AutoCloseable {

    private final Process process;
    private final Path stderrFile;

    private ConnectorProcess(Process process, Path stderrFile) {
        this.process = process;
        this.stderrFile = stderrFile;
    }

    /** Starts a connector on {@code file}; {@code netns} null runs it in this namespace. */
    static ConnectorProcess start(Path file, Netns netns) throws IOException {
        List<String> command = new ArrayList<>();
        if (netns != null) {
            command.addAll(netns.exec());
        }
        command.addAll(List.of(GatewayProcess.pepHome().resolve("pep").toString(), "connector", "--config",
                file.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).directory(file.getParent().toFile());
        pb.environment().put("JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Path stderr = file.resolveSibling(file.getFileName() + ".stderr.log");
        pb.redirectError(stderr.toFile()).redirectOutput(file.resolveSibling(file.getFileName() + ".stdout.log")
                .toFile());
        return new ConnectorProcess(pb.start(), stderr);
    }

    /** Waits until the connector logs a tunnel up (and the gateway has had a moment to see it). */
    ConnectorProcess awaitTunnel() {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> stderr().contains("tunnel up") || !process.isAlive());
        if (!process.isAlive()) {
            throw new AssertionError("connector exited: " + stderr());
        }
        return this;
    }

    /** Waits for the process to end by itself and returns its exit code. */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("connector still running after " + timeout + ": " + stderr());
        }
        return process.exitValue();
    }

    String stderr() {
        try {
            return Files.readString(stderrFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(cannot read " + stderrFile + ": " + e + ")";
        }
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL, as a crash or a pulled plug would end it: no goodbye on the tunnel. */
    void kill() throws InterruptedException {
        // Through a namespace, ip netns exec runs the JVM as its child: kill the whole tree.
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.descendants().forEach(ProcessHandle::destroy);
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                kill();
            }
        }
    }
}
