package dev.pep.telemetry.audit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A real rsyslog receiver as a child process: {@code rsyslogd -n -f CONF -i PIDFILE} with a
 * configuration of its own in a temporary directory: imtcp with the gtls (GnuTLS) stream driver
 * on a loopback port, a server certificate from a test CA made with openssl, omfile writing the
 * messages from APP-NAME {@code pep} to one file and everything else (rsyslog's own messages) to
 * another. No system socket: no imuxsock, no imklog. It can be stopped (SIGTERM, a clean stop)
 * and started again on the same port.
 *
 * <p>{@link #require()} installs Debian's {@code rsyslog} and {@code rsyslog-gnutls} with
 * apt-get when they are missing, and skips the calling test, never passes it, when they cannot
 * be. Not thread-safe: one test uses it.
 */
final class Rsyslog implements AutoCloseable {

    /**
     * Separates the fields rsyslog parsed from each RFC 5424 message in a line of
     * {@link #messages}: HOSTNAME, APP-NAME, PROCID, MSGID, PRI, STRUCTURED-DATA, then the MSG.
     */
    static final String SEP = "|";
    private static final Duration INSTALL = Duration.ofMinutes(10);
    private static final Duration START = Duration.ofSeconds(30);
    private static final List<String> MODULE_DIRS = List.of("/usr/lib/x86_64-linux-gnu/rsyslog",
            "/usr/lib/aarch64-linux-gnu/rsyslog", "/usr/lib/rsyslog", "/usr/lib64/rsyslog");

    final Path dir;
    final Path messages;
    final Path internal;
    final Path caPem;
    private final Path rsyslogd;
    private final Path config;
    private final int port;
    private Process process;
    private int starts;

    private Rsyslog(Path rsyslogd, Path dir, int port) {
        this.rsyslogd = rsyslogd;
        this.dir = dir;
        this.port = port;
        this.messages = dir.resolve("pep.log");
        this.internal = dir.resolve("rsyslog-internal.log");
        this.caPem = dir.resolve("ca.pem");
        this.config = dir.resolve("rsyslog.conf");
    }

    /** The rsyslogd binary, installed with the GnuTLS driver when missing; else skips. */
    static Path require() throws IOException, InterruptedException {
        Assumptions.assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux"),
                "rsyslog tests need Linux: test skipped, not passed");
        if (binary() == null || gtlsModule() == null) {
            Assumptions.assumeTrue(run(Duration.ofSeconds(10), "id", "-u").out().trim().equals("0"),
                    "rsyslog or rsyslog-gnutls is missing and this test does not run as root, so it "
                            + "cannot install them: test skipped, not passed");
            Assumptions.assumeTrue(onPath("apt-get"),
                    "rsyslog is missing and there is no apt-get: test skipped, not passed");
            Result update = run(INSTALL, "apt-get", "update", "-qq");
            Result install = run(INSTALL, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get",
                    "install", "-y", "-qq", "--no-install-recommends", "rsyslog", "rsyslog-gnutls");
            Assumptions.assumeTrue(install.exit() == 0, () -> "apt-get install rsyslog "
                    + "rsyslog-gnutls failed: test skipped, not passed\n" + update + "\n" + install);
        }
        Path binary = binary();
        Assumptions.assumeTrue(binary != null && gtlsModule() != null,
                "rsyslogd or its gtls driver is still missing after apt-get: test skipped, not passed");
        return binary;
    }

    /** Writes the CA, certificate and configuration under {@code dir} and starts rsyslogd. */
    static Rsyslog start(Path rsyslogd, Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir.resolve("work"));
        Rsyslog r = new Rsyslog(rsyslogd, dir, freePort());
        r.makeCertificates();
        r.writeConfig();
        r.start();
        return r;
    }

    /** The loopback address rsyslog listens on, by the name its certificate carries. */
    InetSocketAddress address() {
        return new InetSocketAddress("localhost", port);
    }

    /** Starts rsyslogd (again, on the same port) and waits until it accepts connections. */
    void start() throws IOException, InterruptedException {
        Path pid = dir.resolve("rsyslogd.pid");
        Files.deleteIfExists(pid);
        Path out = dir.resolve("rsyslogd-" + (++starts) + ".out");
        process = new ProcessBuilder(rsyslogd.toString(), "-n", "-f", config.toString(), "-i",
                pid.toString()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        long deadline = System.nanoTime() + START.toNanos();
        while (System.nanoTime() < deadline && process.isAlive()) {
            if (accepts()) {
                return;
            }
            Thread.sleep(50);
        }
        String output = Files.readString(out);
        stop();
        throw new IOException("rsyslogd did not listen on 127.0.0.1:" + port + " within " + START
                + "; its output:\n" + output);
    }

    /** A clean stop: SIGTERM, and rsyslogd's own shutdown (it drains its queue into the file). */
    void stop() throws InterruptedException {
        if (process == null) {
            return;
        }
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        process = null;
    }

    /** The lines omfile wrote so far for APP-NAME pep. */
    List<String> lines() throws IOException {
        if (!Files.exists(messages)) {
            return List.of();
        }
        return Files.readAllLines(messages, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void makeCertificates() throws IOException, InterruptedException {
        Path caKey = dir.resolve("ca.key");
        Path key = dir.resolve("server.key");
        Path csr = dir.resolve("server.csr");
        Path ext = dir.resolve("server.ext");
        Files.writeString(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                + "extendedKeyUsage=serverAuth\n");
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", caKey.toString(), "-out", caPem.toString(), "-subj", "/CN=pep test CA",
                "-days", "2");
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=localhost");
        openssl("x509", "-req", "-in", csr.toString(), "-CA", caPem.toString(), "-CAkey",
                caKey.toString(), "-CAcreateserial", "-out", dir.resolve("server.pem").toString(),
                "-days", "2", "-extfile", ext.toString());
    }

    private void writeConfig() throws IOException {
        // RainerScript. The gtls driver in mode 1 (TLS only), anonymous: pep's sink checks the
        // receiver, the receiver takes any client. Octet-counted framing is imtcp's default.
        Files.writeString(config, """
                $OmitLocalLogging on
                global(
                  workDirectory="%1$s/work"
                  maxMessageSize="64k"
                  defaultNetstreamDriver="gtls"
                  defaultNetstreamDriverCAFile="%1$s/ca.pem"
                  defaultNetstreamDriverCertFile="%1$s/server.pem"
                  defaultNetstreamDriverKeyFile="%1$s/server.key"
                )
                module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1"
                       streamDriver.authMode="anon")
                input(type="imtcp" address="127.0.0.1" port="%2$d")
                template(name="fields" type="list") {
                  property(name="hostname") constant(value="|")
                  property(name="app-name") constant(value="|")
                  property(name="procid") constant(value="|")
                  property(name="msgid") constant(value="|")
                  property(name="pri") constant(value="|")
                  property(name="structured-data") constant(value="|")
                  property(name="msg") constant(value="\\n")
                }
                if $app-name == "pep" then {
                  action(type="omfile" file="%3$s" template="fields")
                } else {
                  action(type="omfile" file="%4$s")
                }
                """.formatted(dir, port, messages, internal));
    }

    private static void openssl(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Result r = run(Duration.ofSeconds(60), command.toArray(String[]::new));
        if (r.exit() != 0) {
            throw new IOException("openssl " + String.join(" ", args) + " failed:\n" + r);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static Path binary() {
        List<String> dirs = new ArrayList<>(List.of("/usr/sbin", "/sbin"));
        dirs.addAll(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        return dirs.stream().filter(d -> !d.isEmpty()).map(d -> Path.of(d, "rsyslogd"))
                .filter(Files::isExecutable).findFirst().orElse(null);
    }

    private static Path gtlsModule() {
        return MODULE_DIRS.stream().map(d -> Path.of(d, "lmnsd_gtls.so")).filter(Files::exists)
                .findFirst().orElse(null);
    }

    private static boolean onPath(String tool) {
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(":"))
                .anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, tool)));
    }

    private static Result run(Duration timeout, String... command)
            throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, new String(out, StandardCharsets.UTF_8));
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private record Result(int exit, String out) {
        @Override
        public String toString() {
            return "exit " + exit + ": " + out;
        }
    }
}
