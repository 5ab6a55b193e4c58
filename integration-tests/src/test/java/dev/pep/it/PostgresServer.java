package dev.pep.it;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A real PostgreSQL server on a loopback port for the TCP-app tests, from Debian's
 * {@code postgresql} package (installed with apt-get when missing and the test runs as root). Its
 * cluster lives in a fresh temporary directory; PostgreSQL refuses to run as root, so as root
 * {@code initdb} and {@code pg_ctl} run as the {@code postgres} user the package creates. It listens
 * on 127.0.0.1 only, without TLS (the gateway splices the decrypted stream), and accepts the
 * superuser {@code postgres} with a password over {@code host} connections (SCRAM). Where no server
 * can run, the calling test is skipped with the reason, never passed.
 */
final class PostgresServer implements AutoCloseable {

    static final String USER = "postgres";
    private static final Duration STEP = Duration.ofSeconds(120);

    private final Path bin;
    private final Path data;
    private final boolean asPostgresUser;
    private final int port;
    private final String password;

    private PostgresServer(Path bin, Path data, boolean asPostgresUser, int port, String password) {
        this.bin = bin;
        this.data = data;
        this.asPostgresUser = asPostgresUser;
        this.port = port;
        this.password = password;
    }

    /** Initialises and starts a server; skips the calling test when none can run here. */
    static PostgresServer start(String password) throws IOException, InterruptedException {
        Assumptions.assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux"),
                "PostgreSQL tests need Linux: test skipped, not passed");
        boolean root = run(Duration.ofSeconds(10), List.of("id", "-u")).out().trim().equals("0");
        if (binDir().isEmpty()) {
            Assumptions.assumeTrue(root, "PostgreSQL is not installed and this test does not run as root, "
                    + "so it cannot install it (apt-get install postgresql): test skipped, not passed");
            DockerEngine.install("postgresql");
        }
        Path bin = binDir().orElse(null);
        Assumptions.assumeTrue(bin != null, "no /usr/lib/postgresql/*/bin/initdb after installing "
                + "postgresql: test skipped, not passed");
        Path data = Files.createTempDirectory("pep-it-pg");
        Path pwfile = data.resolve("pwfile");
        Files.writeString(pwfile, password + "\n");
        Path cluster = data.resolve("cluster");
        if (root) {
            Assumptions.assumeTrue(run(Duration.ofSeconds(10), List.of("id", "-u", USER)).exitCode() == 0,
                    "no postgres user to run PostgreSQL as (it refuses root): test skipped, not passed");
            run(Duration.ofSeconds(30), List.of("chown", "-R", USER + ":", data.toString()));
        }
        Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwx------"));
        PostgresServer server = new PostgresServer(bin, data, root, freePort(), password);
        ToolResult init = server.as(List.of(bin.resolve("initdb").toString(), "-D", cluster.toString(),
                "-U", USER, "--pwfile=" + pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
                "--no-sync", "--encoding=UTF8", "--locale=C"));
        Assumptions.assumeTrue(init.exitCode() == 0, () -> "initdb failed: test skipped, not passed\n" + init);
        ToolResult started = server.as(List.of(bin.resolve("pg_ctl").toString(), "-D", cluster.toString(),
                "-l", data.resolve("postgres.log").toString(), "-w", "-t", "60", "-o",
                "-c listen_addresses=127.0.0.1 -p " + server.port + " -k " + data
                        + " -c fsync=off -c ssl=off -c log_connections=on", "start"));
        if (started.exitCode() != 0) {
            String log = server.log();
            server.close();
            Assumptions.abort("PostgreSQL did not start: test skipped, not passed\n" + started + "\n" + log);
        }
        return server;
    }

    /** The loopback port it listens on. */
    int port() {
        return port;
    }

    /** The superuser's password. */
    String password() {
        return password;
    }

    /** The server's log (connections are logged), for assertions and failure messages. */
    String log() {
        try {
            Path log = data.resolve("postgres.log");
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    /** The PostgreSQL binaries in use, for the matching {@code psql}. */
    Path bin() {
        return bin;
    }

    /** Stops the server (fast shutdown) and removes its files. */
    @Override
    public void close() throws IOException, InterruptedException {
        as(List.of(bin.resolve("pg_ctl").toString(), "-D", data.resolve("cluster").toString(), "-m", "fast",
                "-w", "-t", "30", "stop"));
        try (Stream<Path> files = Files.walk(data)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private ToolResult as(List<String> command) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>();
        if (asPostgresUser) {
            full.addAll(List.of("runuser", "-u", USER, "--"));
        }
        full.addAll(command);
        return run(STEP, full);
    }

    /** The newest {@code /usr/lib/postgresql/N/bin} with initdb and pg_ctl. */
    private static Optional<Path> binDir() throws IOException {
        Path root = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(root)) {
            return Optional.empty();
        }
        try (Stream<Path> versions = Files.list(root)) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("pg_ctl")))
                    .max(Comparator.comparingInt(b -> version(b.getParent().getFileName().toString())));
        }
    }

    private static int version(String name) {
        return name.matches("\\d+") ? Integer.parseInt(name) : -1;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static ToolResult run(Duration timeout, List<String> command) throws IOException, InterruptedException {
        return ToolResult.run(new ProcessBuilder(command), new byte[0], timeout);
    }
}
