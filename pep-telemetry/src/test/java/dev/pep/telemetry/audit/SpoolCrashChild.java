package dev.pep.telemetry.audit;

import dev.pep.core.AuditEvent;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The child process of {@link SpoolCrashTest}: emits events in strict mode from several
 * threads and prints {@code ACK <id>} once each stage completes, until it is killed (or has
 * emitted a bounded number of events).
 */
public final class SpoolCrashChild {

    private SpoolCrashChild() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        Path spool = Path.of(args[0]);
        AuditConfig config = AuditConfig.builder(spool, "gw-crash")
                .mode(AuditMode.STRICT)
                .segmentBytes(64 * 1024)
                .maxSpoolBytes(64L << 20)
                .fsyncInterval(Duration.ZERO)
                .sink(new NeverSink())
                .build();
        AuditPipeline pipeline = new AuditPipeline(config, new SimpleMeterRegistry());
        pipeline.start();
        PrintStream out = System.out;
        AuditEvents events = AuditEvents.create("gw-crash");
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 50_000; i++) {
                    AuditEvent e = events.sessionEnded("s-" + i, i, i, Duration.ZERO, "closed");
                    pipeline.emit(e).toCompletableFuture().join();
                    synchronized (out) {
                        out.println("ACK " + e.id());
                        out.flush();
                    }
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
    }

    /** A sink that is always down, so every event stays in the spool. */
    private static final class NeverSink implements DeliverySink {
        @Override
        public String name() {
            return "never";
        }

        @Override
        public void deliver(List<SpooledEvent> batch) throws IOException {
            throw new IOException("down");
        }
    }
}
