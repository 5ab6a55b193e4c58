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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real app server, python's threading http.server, serving a directory on 127.0.0.1. Inside
 * a {@link Netns} that loopback is the namespace's own; without one, the port is one the
 * gateway is never configured with.
 */
final class AppServer implements AutoCloseable {

    private static final Pattern SERVING = Pattern.compile("Serving HTTP on \\S+ port (\\d+)");

    private final Process process;
    private final int port;

    private AppServer(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    static AppServer start(Path directory, Netns netns) throws IOException {
        List<String> command = new ArrayList<>();
        if (netns != null) {
            command.addAll(netns.exec());
        }
        command.addAll(List.of("python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                "--directory", directory.toString()));
        Path out = directory.resolveSibling("app.out.log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        await().atMost(Duration.ofSeconds(30)).until(() -> SERVING.matcher(read(out)).find() || !p.isAlive());
        Matcher m = SERVING.matcher(read(out));
        if (!m.find()) {
            throw new IllegalStateException("app server did not start: " + read(out));
        }
        return new AppServer(p, Integer.parseInt(m.group(1)));
    }

    /** Where it listens, {@code 127.0.0.1:PORT}, as seen from wherever it runs. */
    String address() {
        return "127.0.0.1:" + port;
    }

    /** Its port. */
    int port() {
        return port;
    }

    @Override
    public void close() throws InterruptedException {
        process.descendants().forEach(ProcessHandle::destroy);
        process.destroy();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    private static String read(Path f) throws IOException {
        return Files.exists(f) ? Files.readString(f, StandardCharsets.ISO_8859_1) : "";
    }
}
