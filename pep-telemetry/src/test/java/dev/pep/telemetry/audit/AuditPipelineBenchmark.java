package dev.pep.telemetry.audit;

import dev.pep.core.AuditEvent;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The cost per event of the audit pipeline in each mode, with a file sink on the local disk.
 * Not a test and not run by {@code mvn verify}; run it by hand:
 * {@code java -cp <test classpath> dev.pep.telemetry.audit.AuditPipelineBenchmark [events]}.
 *
 * <p>Prints, per mode: the caller's cost of one emit() call, the end-to-end throughput with a
 * window of events in flight, and (strict) the latency of one event waited for alone, which is
 * dominated by fsync.
 */
public final class AuditPipelineBenchmark {

    private static final int WINDOW = 2_000;

    private AuditPipelineBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int events = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        for (AuditMode mode : AuditMode.values()) {
            run(mode, events / 5); // warm-up
            Result r = run(mode, events);
            System.out.printf("%-11s emit() call %6.0f ns/event, spooled %8.0f events/s,"
                    + " dropped %d of %d%n", mode, r.emitNanos(), r.perSecond(), r.dropped(), events);
        }
        System.out.println(strictSingleLatency(1_000));
    }

    private static Result run(AuditMode mode, int n) throws Exception {
        Path dir = Files.createTempDirectory("pep-audit-bench");
        AuditEvents factory = AuditEvents.create("gw-bench");
        AuditConfig config = AuditConfig.builder(dir.resolve("spool"), "gw-bench").mode(mode)
                .sink(new FileSink("file", dir.resolve("out"), 64L << 20)).build();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        long emitNanos = 0;
        long start = System.nanoTime();
        try (AuditPipeline pipeline = new AuditPipeline(config, registry)) {
            pipeline.start();
            for (int done = 0; done < n; done += WINDOW) {
                List<CompletableFuture<Void>> stages = new ArrayList<>(WINDOW);
                for (int i = 0; i < WINDOW; i++) {
                    AuditEvent e = factory.sessionEnded("s-" + i, i, i, Duration.ZERO, "closed");
                    long t0 = System.nanoTime();
                    CompletableFuture<Void> stage = pipeline.emit(e).toCompletableFuture();
                    emitNanos += System.nanoTime() - t0;
                    // Best-effort drops rather than waits: a failed stage is a counted drop.
                    stages.add(mode == AuditMode.STRICT ? stage : stage.exceptionally(x -> null));
                }
                CompletableFuture.allOf(stages.toArray(CompletableFuture[]::new))
                        .get(60, TimeUnit.SECONDS);
            }
            while (spooled(registry) + dropped(registry) < n) {
                Thread.onSpinWait();
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        deleteTree(dir);
        return new Result((double) emitNanos / n, spooled(registry) / seconds,
                (long) dropped(registry));
    }

    private static String strictSingleLatency(int n) throws Exception {
        Path dir = Files.createTempDirectory("pep-audit-bench");
        AuditEvents factory = AuditEvents.create("gw-bench");
        AuditConfig config = AuditConfig.builder(dir.resolve("spool"), "gw-bench")
                .sink(new FileSink("file", dir.resolve("out"), 64L << 20)).build();
        long[] micros = new long[n];
        try (AuditPipeline pipeline = new AuditPipeline(config, new SimpleMeterRegistry())) {
            pipeline.start();
            for (int i = 0; i < n; i++) {
                AuditEvent e = factory.logout("s-" + i, Fixtures.subject());
                long t0 = System.nanoTime();
                pipeline.emit(e).toCompletableFuture().get(10, TimeUnit.SECONDS);
                micros[i] = (System.nanoTime() - t0) / 1000;
            }
        }
        deleteTree(dir);
        Arrays.sort(micros);
        return String.format("STRICT      one event alone, emit to fsynced: p50 %d us, p99 %d us",
                micros[n / 2], micros[n * 99 / 100]);
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted((a, b) -> b.compareTo(a)).toList()) {
                Files.delete(p);
            }
        }
    }

    private static double spooled(SimpleMeterRegistry registry) {
        return registry.get("pep.audit.events.spooled").counter().count();
    }

    private static double dropped(SimpleMeterRegistry registry) {
        return registry.find("pep.audit.events.dropped").counters().stream()
                .mapToDouble(c -> c.count()).sum();
    }

    private record Result(double emitNanos, double perSecond, long dropped) {
    }
}
