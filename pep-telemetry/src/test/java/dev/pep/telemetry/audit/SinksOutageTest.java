package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.AuditEvent;
import dev.pep.telemetry.otlp.OtlpReceiver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.proto.common.v1.KeyValue;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several sinks at once, under load, with the syslog receiver and the OTLP collector down for
 * a while and then back: after de-duplication by id, each holds exactly the events the emitter
 * saw recorded, no more and no fewer.
 */
class SinksOutageTest {

    @TempDir
    Path dir;

    @Test
    void receiversDownUnderLoadThenBack_everySinkHoldsEveryRecordedEventOnceAfterDedup()
            throws Exception {
        TestPki pki = TestPki.create(dir, "receiver");
        SyslogReceiver syslog = new SyslogReceiver(pki.serverContext()).start();
        OtlpReceiver otlp = OtlpReceiver.start();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        AuditConfig config = AuditConfig.builder(dir.resolve("spool"), "gw-1")
                .batchSize(64).retryBackoff(Duration.ofMillis(20), Duration.ofMillis(200))
                .sink(new SyslogSink("syslog", "gw-1", new InetSocketAddress("localhost",
                        syslog.port()), TlsFiles.clientContext(pki.certificatePem, null, null),
                        Duration.ofSeconds(2)))
                .sink(new OtlpLogSink("otlp", "gw-1", otlp.uri("/v1/logs"), Duration.ofSeconds(2),
                        java.util.Map.of(), java.time.Clock.systemUTC()))
                .sink(new FileSink("file", dir.resolve("files"), 64 << 20))
                .build();
        Set<String> recorded = ConcurrentHashMap.newKeySet();
        AtomicLong refused = new AtomicLong();
        try (syslog; otlp; AuditPipeline pipeline = new AuditPipeline(config, registry)) {
            pipeline.start();
            AtomicBoolean loading = new AtomicBoolean(true);
            Thread load = new Thread(() -> emitWhile(pipeline, loading, recorded, refused,
                    Integer.MAX_VALUE));
            load.start();
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> recorded.size() > 300);
            syslog.stop();
            otlp.stop();
            long atStop = recorded.size();
            Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> recorded.size() > atStop + 1000 && sinkErrors(registry) >= 2);
            syslog.start();
            otlp.restart();
            long atRestart = recorded.size();
            Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> recorded.size() > atRestart + 300);
            loading.set(false);
            load.join(5_000);

            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() ->
                    new HashSet<>(SyslogReceiver.ids(syslog.jsonLines())).size() >= recorded.size()
                    && otlpIds(otlp).size() >= recorded.size());
        }
        assertThat(refused.get()).as("stages refused under load").isZero();
        assertThat(syslog.errors).isEmpty();
        assertThat(otlp.errors).isEmpty();
        assertThat(new HashSet<>(SyslogReceiver.ids(syslog.jsonLines()))).isEqualTo(recorded);
        assertThat(otlpIds(otlp)).isEqualTo(recorded);
        List<String> fileLines = Files.readAllLines(dir.resolve("files").resolve(FileSink.CURRENT));
        assertThat(SyslogReceiver.ids(fileLines)).hasSize(recorded.size())
                .containsExactlyInAnyOrderElementsOf(recorded);
        assertThat(AuditChainVerifier.verifyLines(fileLines).intact()).isTrue();
    }

    /**
     * Emits up to {@code max} events while {@code loading}, for at most 30 s, paced like a busy
     * gateway (about 5 000 a second); the ids of the recorded ones go to {@code recorded}.
     */
    static void emitWhile(AuditPipeline pipeline, AtomicBoolean loading, Set<String> recorded,
            AtomicLong refused, int max) {
        AuditEvents events = pipeline.events();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (int i = 0; i < max && loading.get() && System.nanoTime() < deadline; i++) {
            AuditEvent e = events.sessionEnded("s-" + i, i, i, Duration.ZERO, "closed");
            pipeline.emit(e).whenComplete((ok, error) -> {
                if (error == null) {
                    recorded.add(e.id());
                } else {
                    refused.incrementAndGet();
                }
            });
            if (i % 50 == 49) {
                java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
            }
        }
    }

    private static long sinkErrors(SimpleMeterRegistry registry) {
        return (long) (registry.get("pep.audit.sink.errors").tag("sink", "syslog").counter().count()
                + registry.get("pep.audit.sink.errors").tag("sink", "otlp").counter().count());
    }

    private static Set<String> otlpIds(OtlpReceiver otlp) {
        Set<String> ids = new HashSet<>();
        otlp.logs.forEach(r -> r.getResourceLogsList().forEach(rl -> rl.getScopeLogsList()
                .forEach(sl -> sl.getLogRecordsList().forEach(lr -> lr.getAttributesList()
                        .stream().filter(kv -> kv.getKey().equals("pep.audit.id"))
                        .map(KeyValue::getValue).forEach(v -> ids.add(v.getStringValue()))))));
        return ids;
    }
}
