package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A Docker engine for the container tests (Testcontainers finds it on its default socket; image
 * builds and compose's containers go through the docker CLI here): the engine that already
 * answers, or one this class installs and starts when it runs as root ({@code apt-get install
 * docker.io}, then {@code dockerd --storage-driver=vfs} in the background, stopped again by
 * {@link #close()}). Where no engine can run (not Linux, not root, no apt-get, dockerd fails) the
 * calling test is skipped with the reason, never passed. Not thread-safe: one test class uses it.
 */
final class DockerEngine implements AutoCloseable {

    private static final Duration ENGINE_START = Duration.ofSeconds(90);
    private static final Duration INSTALL = Duration.ofMinutes(10);

    private final Process daemon;

    private DockerEngine(Process daemon) {
        this.daemon = daemon;
    }

    /** The engine that answers, or one started here; skips the calling test when neither can be. */
    static DockerEngine require(Path workDir) throws IOException, InterruptedException {
        Assumptions.assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux"),
                "container tests need Linux: test skipped, not passed");
        if (onPath("docker") && answers()) {
            return new DockerEngine(null);
        }
        Assumptions.assumeTrue(isRoot(), "no Docker engine answers and this test does not run as root, "
                + "so it cannot install or start one: test skipped, not passed");
        if (!onPath("dockerd") || !onPath("docker")) {
            install("docker.io");
        }
        return start(workDir.resolve("dockerd.log"));
    }

    /** Installs Debian packages; skips the calling test when apt-get is missing or fails. */
    static void install(String... packages) throws IOException, InterruptedException {
        Assumptions.assumeTrue(onPath("apt-get"), "apt-get is missing, cannot install "
                + String.join(" ", packages) + ": test skipped, not passed");
        ToolResult update = run(INSTALL, List.of(), "apt-get", "update", "-qq");
        List<String> command = new ArrayList<>(List.of("apt-get", "install", "-y", "-qq"));
        command.addAll(List.of(packages));
        ToolResult installed = run(INSTALL, List.of("DEBIAN_FRONTEND=noninteractive"),
                command.toArray(String[]::new));
        Assumptions.assumeTrue(installed.exitCode() == 0, () -> "apt-get install " + String.join(" ", packages)
                + " failed: test skipped, not passed\n" + update + "\n" + installed);
    }

    /** Runs {@code docker ARGS} with the classic builder (works with every engine version). */
    ToolResult docker(Duration timeout, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("docker"));
        command.addAll(List.of(args));
        return run(timeout, List.of("DOCKER_BUILDKIT=0"), command.toArray(String[]::new));
    }

    /** Like {@link #docker} but fails the test, with the output, unless it exits 0. */
    String dockerOk(Duration timeout, String... args) throws IOException, InterruptedException {
        ToolResult r = docker(timeout, args);
        assertThat(r.exitCode()).as("docker %s%n%s", String.join(" ", args), r).isZero();
        return r.out().trim();
    }

    /** Whether this class started the engine (and so stops it on close). */
    boolean startedHere() {
        return daemon != null;
    }

    /** Stops the engine if it was started here (SIGTERM; dockerd stops its containers). */
    @Override
    public void close() throws InterruptedException {
        if (daemon == null || !daemon.isAlive()) {
            return;
        }
        daemon.destroy();
        if (!daemon.waitFor(60, TimeUnit.SECONDS)) {
            daemon.destroyForcibly();
            daemon.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static DockerEngine start(Path log) throws IOException, InterruptedException {
        // vfs: works on any filesystem, including an overlay root where overlay2 cannot nest.
        Process daemon = new ProcessBuilder("dockerd", "--storage-driver=vfs",
                "--host=unix:///var/run/docker.sock")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + ENGINE_START.toNanos();
        while (System.nanoTime() < deadline && daemon.isAlive()) {
            if (answers()) {
                return new DockerEngine(daemon);
            }
            Thread.sleep(500);
        }
        daemon.destroyForcibly();
        daemon.waitFor(10, TimeUnit.SECONDS);
        String tail = tail(log);
        Assumptions.abort("dockerd did not answer within " + ENGINE_START
                + ": test skipped, not passed; its log ends:\n" + tail);
        throw new AssertionError("unreachable");
    }

    private static boolean answers() throws IOException, InterruptedException {
        return run(Duration.ofSeconds(20), List.of(), "docker", "version", "--format",
                "{{.Server.Version}}").exitCode() == 0;
    }

    private static boolean isRoot() throws IOException, InterruptedException {
        return run(Duration.ofSeconds(10), List.of(), "id", "-u").out().trim().equals("0");
    }

    static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    static ToolResult run(Duration timeout, List<String> env, String... command)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command);
        for (String kv : env) {
            int eq = kv.indexOf('=');
            pb.environment().put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return ToolResult.run(pb, new byte[0], timeout);
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }
}
