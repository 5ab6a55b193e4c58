package dev.pep.it;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * What an external tool (curl, openssl, the pep launcher) did: exit code, output, and whether it
 * had to be killed because it did not finish in time.
 *
 * @param exitCode the exit code, or -1 when it was killed
 * @param stdout everything written to stdout
 * @param stderr everything written to stderr
 * @param timedOut whether it was still running at the deadline
 */
record ToolResult(int exitCode, byte[] stdout, String stderr, boolean timedOut) {

    /** Stdout as text. */
    String out() {
        return new String(stdout, StandardCharsets.ISO_8859_1);
    }

    @Override
    public String toString() {
        return "exit=" + exitCode + " timedOut=" + timedOut + "\nstdout:\n" + out() + "\nstderr:\n" + stderr;
    }

    /** Skips the calling test, naming the tool, when it is not on the PATH. */
    static void assumeInstalled(String tool) {
        boolean found = false;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                found = true;
                break;
            }
        }
        Assumptions.assumeTrue(found, tool + " is not installed (not on PATH): test skipped, not passed");
    }

    /**
     * Starts {@code pb}, writes {@code stdin} (then closes it) and waits up to {@code timeout}.
     * Output goes to temp files, not pipes: the JDK closes a pipe under a concurrent reader when
     * the process exits, which loses the last lines.
     */
    static ToolResult run(ProcessBuilder pb, byte[] stdin, Duration timeout)
            throws IOException, InterruptedException {
        Path out = Files.createTempFile("pep-it-tool", ".out");
        Path err = Files.createTempFile("pep-it-tool", ".err");
        try {
            Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            try (OutputStream in = p.getOutputStream()) {
                in.write(stdin);
            } catch (IOException e) {
                // The tool may exit (or the server may close) before reading all of stdin.
            }
            boolean finished;
            try {
                finished = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                p.destroyForcibly();      // a test that timed out leaves no tool running
                throw e;
            }
            if (!finished) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            return new ToolResult(finished ? p.exitValue() : -1, Files.readAllBytes(out),
                    Files.readString(err, StandardCharsets.UTF_8), !finished);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
