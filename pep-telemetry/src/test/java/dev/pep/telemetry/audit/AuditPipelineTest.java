package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pep.core.AuditEvent;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditPipelineTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private final AuditEvents events = AuditEvents.create("gw-1");

    private AuditConfig.Builder config(AuditMode mode, DeliverySink... sinks) {
        AuditConfig.Builder b = AuditConfig.builder(dir.resolve("spool"), "gw-1").mode(mode)
                .retryBackoff(Duration.ofMillis(10), Duration.ofMillis(50))
                .closeTimeout(Duration.ofMillis(500));
        for (DeliverySink s : sinks) {
            b.sink(s);
        }
        return b;
    }

    private AuditEvent event(int i) {
        return events.sessionEnded("s-" + i, i, i, Duration.ofMillis(i), "closed");
    }

    private static double count(MeterRegistry registry, String name, String... tags) {
        return registry.get(name).tags(tags).counter().count();
    }

    @Test
    void strict_burst_everyStageCompletesAndTheFileSinkHoldsAnIntactChain() throws Exception {
        Path out = dir.resolve("audit");
        MeterRegistry registry = new SimpleMeterRegistry();
        try (AuditPipeline pipeline = new AuditPipeline(
                config(AuditMode.STRICT, new FileSink("file", out, 4096)).build(), registry)) {
            pipeline.start();
            List<CompletableFuture<Void>> stages = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                stages.add(pipeline.emit(event(i)).toCompletableFuture());
            }
            CompletableFuture.allOf(stages.toArray(CompletableFuture[]::new))
                    .get(10, TimeUnit.SECONDS);

            Awaitility.await().atMost(WAIT).until(() -> count(registry,
                    "pep.audit.sink.delivered", "sink", "file") == 50);
            assertThat(registry.get("pep.audit.sink.lag").tag("sink", "file").gauge().value())
                    .isZero();
        }
        List<Path> files = files(out);
        assertThat(files).hasSizeGreaterThan(1); // rotated by size
        assertThat(AuditChainVerifier.verify(files).events()).isEqualTo(50);
        assertThat(AuditCommand.run(Stream.concat(Stream.of("verify"),
                files.stream().map(Path::toString)).toArray(String[]::new), System.out,
                System.err)).isZero();
        assertThat(count(registry, "pep.audit.events.emitted")).isEqualTo(50);
    }

    @Test
    void strict_spoolFull_failsTheStageWithSpoolFull() {
        RecordingSink sink = new RecordingSink("mem", true);
        MeterRegistry registry = new SimpleMeterRegistry();
        try (AuditPipeline pipeline = new AuditPipeline(config(AuditMode.STRICT, sink)
                .segmentBytes(4096).maxSpoolBytes(8192).build(), registry)) {
            start(pipeline);
            Throwable failure = null;
            for (int i = 0; i < 500 && failure == null; i++) {
                try {
                    pipeline.emit(event(i)).toCompletableFuture().join();
                } catch (CompletionException e) {
                    failure = e.getCause();
                }
            }

            assertThat(failure).isInstanceOf(AuditRejectedException.class);
            assertThat(((AuditRejectedException) failure).reason()).isEqualTo("spool_full");
            assertThat(count(registry, "pep.audit.events.rejected", "reason", "spool_full"))
                    .isEqualTo(1);
        }
    }

    @Test
    void strict_spoolFullForOtherEvents_stillTakesSessionEndingsIntoTheReserve() {
        RecordingSink sink = new RecordingSink("mem", true);
        try (AuditPipeline pipeline = new AuditPipeline(config(AuditMode.STRICT, sink)
                .segmentBytes(4096).maxSpoolBytes(8192).sessionEndReserveBytes(2048).build(),
                new SimpleMeterRegistry())) {
            start(pipeline);
            int admitted = 0;
            while (refusal(pipeline, events.adminAction("admin", "GET /x", "x", true)) == null) {
                admitted++;
            }
            int endings = 0;
            while (refusal(pipeline, event(endings)) == null) {
                endings++;
            }

            assertThat(admitted).isPositive();
            assertThat(refusal(pipeline, events.adminAction("admin", "GET /x", "x", true)))
                    .isEqualTo("spool_full");
            // about 2 KiB of endings of about 480 bytes each
            assertThat(endings).isBetween(2, 6);
            assertThat(refusal(pipeline, event(99))).isEqualTo("spool_full");
        }
    }

    @Test
    void config_sessionEndReserve_defaultsToAnEighthAndIsBounded() {
        assertThat(config(AuditMode.STRICT, new RecordingSink("a", false)).segmentBytes(4096).maxSpoolBytes(1 << 20)
                .build().sessionEndReserveBytes()).isEqualTo(1 << 17);
        assertThatThrownBy(() -> config(AuditMode.STRICT, new RecordingSink("a", false))
                .segmentBytes(4096).maxSpoolBytes(1 << 20).sessionEndReserveBytes(1 << 19).build())
                .hasMessageContaining("sessionEndReserveBytes");
        assertThatThrownBy(() -> config(AuditMode.STRICT, new RecordingSink("a", false))
                .sessionEndReserveBytes(-1).build()).hasMessageContaining("sessionEndReserveBytes");
    }

    /** The reason the strict pipeline refused {@code event}, or null once it is spooled. */
    private static String refusal(AuditPipeline pipeline, AuditEvent event) {
        try {
            pipeline.emit(event).toCompletableFuture().join();
            return null;
        } catch (CompletionException e) {
            return ((AuditRejectedException) e.getCause()).reason();
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(AuditMode.class)
    void emit_burstPastTheQueue_neverWaitsForTheWriter_refusesOrDropsWithQueueFull(AuditMode mode) {
        MeterRegistry registry = new SimpleMeterRegistry();
        try (AuditPipeline pipeline = new AuditPipeline(config(mode, new RecordingSink("mem", false))
                .maxQueuedEvents(1).build(), registry)) {
            start(pipeline);
            List<CompletableFuture<Void>> stages = new ArrayList<>();
            long started = System.nanoTime();
            for (int i = 0; i < 5_000; i++) {
                stages.add(pipeline.emit(event(i)).toCompletableFuture());
            }
            Duration took = Duration.ofNanos(System.nanoTime() - started);

            // Had emit() waited for the writer, a queue of one would never have been full.
            String counter = mode == AuditMode.STRICT ? "pep.audit.events.rejected"
                    : "pep.audit.events.dropped";
            assertThat(count(registry, counter, "reason", "queue_full")).isPositive();
            assertThat(took).as("5 000 emits on the caller's thread").isLessThan(Duration.ofSeconds(5));
            // A refused (strict) or dropped (best-effort) event's stage says so at once.
            assertThat(stages).filteredOn(CompletableFuture::isCompletedExceptionally)
                    .isNotEmpty().allSatisfy(f -> assertThatThrownBy(f::join)
                            .hasCauseInstanceOf(AuditRejectedException.class)
                            .hasMessageContaining("queue is full"));
        }
    }

    @Test
    void bestEffort_spoolFull_dropsWithCounterThenRecordsAGapOnceTheSinkIsBack() {
        RecordingSink sink = new RecordingSink("mem", true);
        MeterRegistry registry = new SimpleMeterRegistry();
        try (AuditPipeline pipeline = new AuditPipeline(config(AuditMode.BEST_EFFORT, sink)
                .segmentBytes(4096).maxSpoolBytes(8192).build(), registry)) {
            start(pipeline);
            for (int i = 0; i < 300; i++) {
                assertThat(pipeline.emit(event(i)).toCompletableFuture()).isCompleted();
            }
            // Gap events are spooled too, so the sum reaches 300 or a little more.
            Awaitility.await().atMost(WAIT).until(() -> count(registry, "pep.audit.events.spooled")
                    + count(registry, "pep.audit.events.dropped", "reason", "spool_full") >= 300);
            long dropped = (long) count(registry, "pep.audit.events.dropped", "reason",
                    "spool_full");
            assertThat(dropped).isPositive();

            sink.down.set(false);

            Awaitility.await().atMost(WAIT).until(() -> gapTotal(sink) == dropped
                    && sink.count(AuditEvents.SESSION_ENDED) == 300 - dropped);
            assertThat(sink.count(AuditEvents.GAP)).isPositive();
            assertThat(AuditChainVerifier.verifyLines(sink.lines()).intact()).isTrue();
        }
    }

    private static long gapTotal(RecordingSink sink) {
        return sink.lines().stream().filter(l -> l.contains("\"type\":\"" + AuditEvents.GAP))
                .mapToLong(l -> ((Number) AuditJson.parse(l).get("count")).longValue()).sum();
    }

    @Test
    void closeThenStart_undeliveredEventsAreDeliveredOnceAndTheChainContinues()
            throws Exception {
        RecordingSink down = new RecordingSink("mem", true);
        try (AuditPipeline pipeline = new AuditPipeline(config(AuditMode.STRICT, down).build(),
                new SimpleMeterRegistry())) {
            start(pipeline);
            for (int i = 0; i < 10; i++) {
                pipeline.emit(event(i)).toCompletableFuture().get(5, TimeUnit.SECONDS);
            }
        }
        RecordingSink up = new RecordingSink("mem", false);

        try (AuditPipeline pipeline = new AuditPipeline(config(AuditMode.STRICT, up).build(),
                new SimpleMeterRegistry())) {
            start(pipeline);
            pipeline.emit(event(10)).toCompletableFuture().get(5, TimeUnit.SECONDS);
            Awaitility.await().atMost(WAIT).until(() -> up.received.size() == 11);
        }

        assertThat(up.received).extracting(SpooledEvent::seq)
                .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L);
        assertThat(AuditChainVerifier.verifyLines(up.lines()).intact()).isTrue();
        assertThat(down.received).isEmpty();
    }

    @Test
    void close_rightAfterABestEffortBurst_spoolsEveryQueuedEventForTheNextStart() {
        try (AuditPipeline pipeline = new AuditPipeline(config(AuditMode.BEST_EFFORT,
                new RecordingSink("mem", true)).build(), new SimpleMeterRegistry())) {
            start(pipeline);
            for (int i = 0; i < 200; i++) {
                pipeline.emit(event(i));
            }
        }
        RecordingSink up = new RecordingSink("mem", false);

        try (AuditPipeline pipeline = new AuditPipeline(config(AuditMode.BEST_EFFORT, up).build(),
                new SimpleMeterRegistry())) {
            start(pipeline);
            Awaitility.await().atMost(WAIT).until(() -> up.received.size() == 200);
        }
        assertThat(AuditChainVerifier.verifyLines(up.lines()).intact()).isTrue();
    }

    @Test
    void delivery_toEverySink_deletesFullyDeliveredSegmentsOnly() throws IOException {
        RecordingSink fast = new RecordingSink("fast", false);
        RecordingSink slow = new RecordingSink("slow", true);
        Path segments = dir.resolve("spool").resolve("segments");
        try (AuditPipeline pipeline = new AuditPipeline(config(AuditMode.STRICT, fast, slow)
                .segmentBytes(4096).segmentBytes(4096).maxSpoolBytes(1 << 20).build(), new SimpleMeterRegistry())) {
            start(pipeline);
            for (int i = 0; i < 100; i++) {
                pipeline.emit(event(i));
            }
            Awaitility.await().atMost(WAIT).until(() -> fast.received.size() == 100);
            assertThat(segmentCount(segments)).isGreaterThan(3);

            slow.down.set(false);

            Awaitility.await().atMost(WAIT).until(() -> slow.received.size() == 100
                    && segmentCount(segments) == 1);
        }
    }

    @Test
    void emit_beforeStartOrAfterClose_failsNotRunning() {
        AuditPipeline pipeline = new AuditPipeline(
                config(AuditMode.STRICT, new RecordingSink("mem", false)).build(),
                new SimpleMeterRegistry());

        assertThatThrownBy(() -> pipeline.emit(event(1)).toCompletableFuture().join())
                .hasCauseInstanceOf(AuditRejectedException.class);
        start(pipeline);
        pipeline.close();
        assertThatThrownBy(() -> pipeline.emit(event(1)).toCompletableFuture().join())
                .hasMessageContaining("not running");
    }

    @Test
    void start_spoolHeldByAnotherPipeline_isRefused() {
        try (AuditPipeline first = new AuditPipeline(
                config(AuditMode.STRICT, new RecordingSink("mem", false)).build(),
                new SimpleMeterRegistry())) {
            start(first);
            AuditPipeline second = new AuditPipeline(
                    config(AuditMode.STRICT, new RecordingSink("mem", false)).build(),
                    new SimpleMeterRegistry());

            assertThatThrownBy(second::start).isInstanceOf(IOException.class)
                    .hasMessageContaining("in use");
        }
    }

    @Test
    void metrics_prometheusScrape_usesConventionalNamesAndBoundedLabels() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        RecordingSink sink = new RecordingSink("mem", false);
        try (AuditPipeline pipeline = new AuditPipeline(config(AuditMode.STRICT, sink).build(),
                registry)) {
            start(pipeline);
            pipeline.emit(event(1)).toCompletableFuture().get(5, TimeUnit.SECONDS);
            Awaitility.await().atMost(WAIT).until(() -> sink.received.size() == 1);

            String scrape = registry.scrape();

            assertThat(scrape).contains("pep_audit_events_emitted_total 1.0",
                    "pep_audit_events_dropped_total{reason=\"queue_full\"}",
                    "pep_audit_spool_bytes ", "pep_audit_spool_events ",
                    "pep_audit_spool_oldest_age_seconds ",
                    "pep_audit_sink_delivered_total{sink=\"mem\"}",
                    "pep_audit_sink_errors_total{sink=\"mem\"}",
                    "pep_audit_sink_lag_events{sink=\"mem\"}",
                    "pep_audit_sink_lag_age_seconds{sink=\"mem\"}");
        }
    }

    @Test
    void metrics_sinkDown_spoolDepthLagAndAgeGrow_sinkBack_theyFallToZero() throws Exception {
        RecordingSink sink = new RecordingSink("mem", true);
        java.util.concurrent.atomic.AtomicLong millis = new java.util.concurrent.atomic.AtomicLong(
                Fixtures.NOW.toEpochMilli());
        java.time.Clock clock = new java.time.Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return java.time.ZoneOffset.UTC;
            }

            @Override
            public java.time.Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public java.time.Instant instant() {
                return java.time.Instant.ofEpochMilli(millis.get());
            }
        };
        MeterRegistry registry = new SimpleMeterRegistry();
        try (AuditPipeline pipeline = new AuditPipeline(config(AuditMode.STRICT, sink).clock(clock)
                .build(), registry)) {
            start(pipeline);
            for (int i = 0; i < 5; i++) {
                pipeline.emit(pipeline.events().sessionEnded("s-" + i, i, i, Duration.ZERO, "closed"))
                        .toCompletableFuture().get(5, TimeUnit.SECONDS);
            }
            Awaitility.await().atMost(WAIT).until(() -> count(registry, "pep.audit.sink.errors",
                    "sink", "mem") >= 1);
            millis.addAndGet(30_000);

            assertThat(gauge(registry, "pep.audit.spool.events")).isEqualTo(5);
            assertThat(registry.get("pep.audit.sink.lag").tag("sink", "mem").gauge().value())
                    .isEqualTo(5);
            assertThat(gauge(registry, "pep.audit.spool.oldest.age")).isBetween(30.0, 31.0);
            assertThat(registry.get("pep.audit.sink.lag.age").tag("sink", "mem").gauge().value())
                    .isBetween(30.0, 31.0);

            sink.down.set(false);

            Awaitility.await().atMost(WAIT).until(() -> sink.received.size() == 5
                    && gauge(registry, "pep.audit.spool.events") == 0);
            assertThat(gauge(registry, "pep.audit.spool.oldest.age")).isZero();
            assertThat(registry.get("pep.audit.sink.lag").tag("sink", "mem").gauge().value()).isZero();
        }
    }

    private static double gauge(MeterRegistry registry, String name) {
        return registry.get(name).gauge().value();
    }

    @Test
    void config_duplicateSinkNamesOrNoSink_isRefused() {
        assertThatThrownBy(() -> config(AuditMode.STRICT, new RecordingSink("a", false),
                new RecordingSink("a", false)).build()).hasMessageContaining("two sinks");
        assertThatThrownBy(() -> config(AuditMode.STRICT).build())
                .hasMessageContaining("at least one sink");
        assertThatThrownBy(() -> config(AuditMode.STRICT, new RecordingSink("A/..", false))
                .build()).hasMessageContaining("sink name");
    }

    private static void start(AuditPipeline pipeline) {
        try {
            pipeline.start();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static long segmentCount(Path segments) throws IOException {
        try (Stream<Path> s = Files.list(segments)) {
            return s.filter(p -> p.toString().endsWith(".seg")).count();
        }
    }

    static List<Path> files(Path out) throws IOException {
        try (Stream<Path> s = Files.list(out)) {
            return s.sorted((a, b) -> a.getFileName().toString().equals(FileSink.CURRENT) ? 1
                    : b.getFileName().toString().equals(FileSink.CURRENT) ? -1
                    : a.compareTo(b)).toList();
        }
    }

    @Test
    void writerFailure_failsTheStageAndRefusesLaterEvents() {
        List<Object> exploding = new java.util.AbstractList<>() {
            @Override
            public Object get(int index) {
                throw new IllegalStateException("boom");
            }

            @Override
            public int size() {
                return 1;
            }
        };
        AuditEvent bad = new AuditEvent("bad", "admin.action", Fixtures.NOW, "gw-1", "", "",
                Map.of("x", exploding));
        try (AuditPipeline pipeline = new AuditPipeline(
                config(AuditMode.STRICT, new RecordingSink("mem", false)).build(),
                new SimpleMeterRegistry())) {
            start(pipeline);

            assertThatThrownBy(() -> pipeline.emit(bad).toCompletableFuture()
                    .get(5, TimeUnit.SECONDS)).hasMessageContaining("writer failed");
            assertThatThrownBy(() -> pipeline.emit(event(1)).toCompletableFuture().join())
                    .hasMessageContaining("not running");
        }
    }
}
