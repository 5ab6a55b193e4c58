package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The syslog sink against a real receiver: rsyslog (imtcp over the GnuTLS driver, omfile), run
 * as a child process with a configuration of its own ({@link Rsyslog}). Events go through the
 * whole pipeline under load; the test counts what rsyslog wrote against what the pipeline
 * recorded, by event id.
 */
class RsyslogSinkTest {

    private static Path rsyslogd;

    @TempDir
    Path dir;

    @BeforeAll
    static void requireRsyslog() throws Exception {
        rsyslogd = Rsyslog.require();
    }

    @Test
    void underLoad_rsyslogWritesEveryEventExactlyOnceWithTheRfc5424FieldsItParsed()
            throws Exception {
        Set<String> recorded = ConcurrentHashMap.newKeySet();
        AtomicLong refused = new AtomicLong();
        try (Rsyslog rsyslog = Rsyslog.start(rsyslogd, dir.resolve("rsyslog"));
                AuditPipeline pipeline = pipeline(rsyslog, new SimpleMeterRegistry())) {
            pipeline.start();
            AtomicBoolean loading = new AtomicBoolean(true);
            Thread load = new Thread(() -> SinksOutageTest.emitWhile(pipeline, loading, recorded,
                    refused, 20_000));
            load.start();
            load.join(60_000);
            loading.set(false);
            load.join(5_000);

            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                    .until(() -> rsyslog.lines().size() >= recorded.size());
            List<String> lines = rsyslog.lines();
            Map<String, Integer> copies = copiesById(lines);

            assertThat(refused.get()).as("stages refused under load").isZero();
            assertThat(recorded).hasSize(20_000);
            assertThat(lines).hasSize(recorded.size());
            assertThat(copies.keySet()).isEqualTo(recorded);
            assertThat(copies.values()).allMatch(n -> n == 1);
            String[] first = lines.get(0).split("\\|", 7);
            assertThat(first[0]).isEqualTo("gw-1");
            assertThat(first[1]).isEqualTo("pep");
            assertThat(first[2]).isEqualTo(Long.toString(ProcessHandle.current().pid()));
            assertThat(first[3]).isEqualTo(AuditEvents.SESSION_ENDED);
            assertThat(first[4]).isEqualTo(Integer.toString(13 * 8 + 6));
            assertThat(first[5]).isEqualTo("[meta sequenceId=\"1\"]");
            assertThat(AuditChainVerifier.verifyLines(lines.stream().map(RsyslogSinkTest::json)
                    .toList()).intact()).isTrue();
        }
    }

    @Test
    void rsyslogStoppedAndRestartedUnderLoad_noEventIsMissingAfterDeduplicationById()
            throws Exception {
        Set<String> recorded = ConcurrentHashMap.newKeySet();
        AtomicLong refused = new AtomicLong();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Rsyslog rsyslog = Rsyslog.start(rsyslogd, dir.resolve("rsyslog"));
                AuditPipeline pipeline = pipeline(rsyslog, registry)) {
            pipeline.start();
            AtomicBoolean loading = new AtomicBoolean(true);
            Thread load = new Thread(() -> SinksOutageTest.emitWhile(pipeline, loading, recorded,
                    refused, Integer.MAX_VALUE));
            load.start();
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> recorded.size() > 2_000
                    && rsyslog.lines().size() > 1_000);
            rsyslog.stop(); // SIGTERM: rsyslog's own clean shutdown, while events keep coming
            long atStop = recorded.size();
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() ->
                    recorded.size() > atStop + 5_000 && sinkErrors(registry) >= 2);
            // What the sink handed to the dead connection but rsyslog never wrote: the cost of
            // a clean stop without the sink's replay (events are delivered in seq order).
            long delivered = (long) registry.get("pep.audit.sink.delivered").tag("sink", "syslog")
                    .counter().count();
            long lostWithoutReplay = delivered - copiesById(rsyslog.lines()).size();
            rsyslog.start();
            long atRestart = recorded.size();
            Awaitility.await().atMost(Duration.ofSeconds(20))
                    .until(() -> recorded.size() > atRestart + 2_000);
            loading.set(false);
            load.join(5_000);

            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                    .until(() -> copiesById(rsyslog.lines()).keySet().containsAll(recorded));
            List<String> lines = rsyslog.lines();
            Map<String, Integer> copies = copiesById(lines);
            Set<String> missing = new HashSet<>(recorded);
            missing.removeAll(copies.keySet());
            long duplicates = lines.size() - copies.size();
            System.out.printf("rsyslog stopped and restarted under load: %d events recorded, "
                    + "%d while it was down, %d lines written, %d distinct, %d duplicates "
                    + "(sent again after the failed write), %d missing; %d events taken by the "
                    + "stopped connection and not written%n", recorded.size(), atRestart - atStop,
                    lines.size(), copies.size(), duplicates, missing.size(), lostWithoutReplay);

            assertThat(refused.get()).as("stages refused under load").isZero();
            assertThat(missing).as("events rsyslog never wrote").isEmpty();
            assertThat(copies.keySet()).isEqualTo(recorded);
            assertThat(sinkErrors(registry)).isPositive();
        }
    }

    private static AuditPipeline pipeline(Rsyslog rsyslog, SimpleMeterRegistry registry)
            throws IOException {
        AuditConfig config = AuditConfig.builder(rsyslog.dir.resolve("spool"), "gw-1")
                .batchSize(64).retryBackoff(Duration.ofMillis(20), Duration.ofMillis(200))
                .sink(new SyslogSink("syslog", "gw-1", rsyslog.address(),
                        TlsFiles.clientContext(rsyslog.caPem, null, null), Duration.ofSeconds(2)))
                .build();
        return new AuditPipeline(config, registry);
    }

    /** How many times each event id appears in the lines rsyslog wrote. */
    private static Map<String, Integer> copiesById(List<String> lines) {
        Map<String, Integer> copies = new HashMap<>();
        for (String line : lines) {
            copies.merge(String.valueOf(AuditJson.parse(json(line)).get("id")), 1, Integer::sum);
        }
        return copies;
    }

    /** The MSG of a line: the event's JSON, after the UTF-8 BOM the sink sends. */
    private static String json(String line) {
        String msg = line.split("\\|", 7)[6];
        return msg.startsWith("\uFEFF") ? msg.substring(1) : msg;
    }

    private static long sinkErrors(SimpleMeterRegistry registry) {
        return (long) registry.get("pep.audit.sink.errors").tag("sink", "syslog").counter().count();
    }
}
