package dev.pep.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
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

    /** Starts {@code pb}, writes {@code stdin} (then closes it) and waits up to {@code timeout}. */
    static ToolResult run(ProcessBuilder pb, byte[] stdin, Duration timeout)
            throws IOException, InterruptedException {
        Process p = pb.start();
        // Own threads, not the common pool: it may have one thread on a small machine.
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()),
                ToolResult::daemon);
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()),
                ToolResult::daemon);
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin);
        } catch (IOException e) {
            // The tool may exit (or the server may close) before reading all of stdin.
        }
        boolean finished = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (!finished) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        return new ToolResult(finished ? p.exitValue() : -1, out.join(),
                new String(err.join(), StandardCharsets.UTF_8), !finished);
    }

    private static void daemon(Runnable r) {
        Thread t = new Thread(r, "tool-output");
        t.setDaemon(true);
        t.start();
    }

    private static byte[] readAll(InputStream in) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (in) {
            in.transferTo(b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b.toByteArray();
    }
}
