package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kill -9 of a real process in the middle of a burst, then recovery of its spool. */
class SpoolCrashTest {

    @TempDir
    Path dir;

    @Test
    void killDashNine_midBurst_everyAcknowledgedEventSurvivesAndTheSpoolIsUsable()
            throws Exception {
        Path spoolDir = dir.resolve("spool");
        Set<String> acked = ConcurrentHashMap.newKeySet();
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin",
                "java").toString(), "-cp", System.getProperty("java.class.path"),
                SpoolCrashChild.class.getName(), spoolDir.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        Thread readerThread = new Thread(() -> readAcks(child, acked));
        readerThread.start();
        try {
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> acked.size() >= 2000
                    || !child.isAlive());
            assertThat(child.isAlive()).as("child still writing").isTrue();
        } finally {
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
            readerThread.join(10_000);
        }

        List<SpooledEvent> recovered = new ArrayList<>();
        try (Spool spool = Spool.open(spoolDir.resolve("segments"), 64 * 1024);
                SpoolReader reader = spool.reader(1)) {
            List<SpooledEvent> batch;
            while (!(batch = reader.read(1000)).isEmpty()) {
                recovered.addAll(batch);
            }
        }
        assertThat(recovered.stream().map(SpooledEvent::id).toList()).containsAll(acked);
        assertThat(AuditChainVerifier.verifyLines(
                recovered.stream().map(SpooledEvent::json).toList()).intact()).isTrue();

        Path out = dir.resolve("files");
        AuditConfig config = AuditConfig.builder(spoolDir, "gw-crash")
                .segmentBytes(64 * 1024).maxSpoolBytes(64L << 20)
                .sink(new FileSink("file", out, 1 << 20)).build();
        try (AuditPipeline pipeline = new AuditPipeline(config, new SimpleMeterRegistry())) {
            pipeline.start();
            pipeline.emit(AuditEvents.create("gw-crash").logout("s", Fixtures.subject()))
                    .toCompletableFuture().get(10, TimeUnit.SECONDS);
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() ->
                    AuditChainVerifier.verify(files(out)).events() == recovered.size() + 1);
        }
        assertThat(AuditChainVerifier.verify(files(out)).intact()).isTrue();
    }

    private static List<Path> files(Path out) throws IOException {
        try (Stream<Path> s = java.nio.file.Files.list(out)) {
            // Rotated files sort by first seq; the current file holds the newest events.
            return s.sorted((a, b) -> a.getFileName().toString().equals(FileSink.CURRENT) ? 1
                    : b.getFileName().toString().equals(FileSink.CURRENT) ? -1
                    : a.compareTo(b)).toList();
        }
    }

    private static void readAcks(Process child, Set<String> acked) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(
                child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                // A line cut by the kill has no newline and never arrives whole: not an ack.
                if (line.startsWith("ACK ") && line.length() == 4 + 36) {
                    acked.add(line.substring(4));
                }
            }
        } catch (IOException e) {
            // The pipe closes when the child dies.
        }
    }
}
