package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pep.core.AuditEvent;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kafka sink against a real KRaft broker in this JVM: events arrive in chain order with
 * their id headers, and a broker that goes down under load and comes back costs none of them.
 */
class KafkaSinkTest {

    @TempDir
    static Path brokerDir;

    @TempDir
    Path dir;

    static KafkaBroker broker;

    @BeforeAll
    static void startBroker() throws Exception {
        long t0 = System.nanoTime();
        broker = KafkaBroker.start(brokerDir);
        System.out.printf("kafka broker started in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
    }

    @AfterAll
    static void stopBroker() {
        broker.close();
    }

    private KafkaSink sink(String topic, Duration timeout) {
        return new KafkaSink("kafka", "gw-1", broker.bootstrapServers(), topic,
                Map.of("compression.type", "lz4"), timeout);
    }

    @Test
    void deliver_batch_consumerReadsEveryEventInChainOrderWithItsIdAndSeqHeaders()
            throws Exception {
        List<String> lines = Fixtures.chainedLines(5);
        List<SpooledEvent> batch = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            batch.add(new SpooledEvent(i + 1, "evt-" + (i + 1), Fixtures.NOW.toEpochMilli(),
                    lines.get(i)));
        }

        try (KafkaSink sink = sink("audit-order", Duration.ofSeconds(10))) {
            sink.deliver(batch);
        }

        List<ConsumerRecord<String, String>> records = consume("audit-order", 5);
        assertThat(records).extracting(ConsumerRecord::value).isEqualTo(lines);
        assertThat(records).extracting(ConsumerRecord::key).containsOnly("gw-1");
        assertThat(records).extracting(r -> r.partition()).containsOnly(records.get(0).partition());
        assertThat(records).extracting(r -> header(r, "pep-event-id"))
                .containsExactly("evt-1", "evt-2", "evt-3", "evt-4", "evt-5");
        assertThat(records).extracting(r -> header(r, "pep-seq"))
                .containsExactly("1", "2", "3", "4", "5");
        assertThat(AuditChainVerifier.verifyLines(records.stream()
                .map(ConsumerRecord::value).toList()).intact()).isTrue();
    }

    @Test
    void newSink_propertyTheSinkFixes_isRefused() {
        assertThatThrownBy(() -> new KafkaSink("kafka", "gw-1", broker.bootstrapServers(), "t",
                Map.of("acks", "1"), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("acks");
        assertThatThrownBy(() -> new KafkaSink("kafka", "gw-1", broker.bootstrapServers(), "t",
                Map.of("compression.type", "zstd"), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("zstd");
    }

    @Test
    void brokerDownUnderLoadThenBack_everyEventArrivesExactlyOnceAfterDedupById()
            throws Exception {
        AuditConfig config = AuditConfig.builder(dir.resolve("spool"), "gw-1")
                .batchSize(50).retryBackoff(Duration.ofMillis(50), Duration.ofMillis(500))
                .sink(sink("audit-outage", Duration.ofSeconds(2))).build();
        AuditEvents events = AuditEvents.create("gw-1");
        List<String> recorded = new ArrayList<>();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (AuditPipeline pipeline = new AuditPipeline(config, registry)) {
            pipeline.start();
            emit(pipeline, events, recorded, 200);
            broker.stop();
            emit(pipeline, events, recorded, 300); // spooled while the broker is away
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> registry
                    .get("pep.audit.sink.errors").tag("sink", "kafka").counter().count() > 0);
            broker.start();
            emit(pipeline, events, recorded, 200);

            List<ConsumerRecord<String, String>> records = consumeUntil("audit-outage",
                    recorded.size());
            List<String> ids = records.stream().map(r -> header(r, "pep-event-id")).toList();
            assertThat(new HashSet<>(ids)).isEqualTo(new HashSet<>(recorded));
        }
    }

    private static void emit(AuditPipeline pipeline, AuditEvents events, List<String> recorded,
            int n) throws Exception {
        List<CompletableFuture<Void>> stages = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            AuditEvent e = events.sessionEnded("s-" + i, i, i, Duration.ZERO, "closed");
            stages.add(pipeline.emit(e).toCompletableFuture().thenRun(() -> {
                synchronized (recorded) {
                    recorded.add(e.id());
                }
            }));
        }
        CompletableFuture.allOf(stages.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
    }

    private static List<ConsumerRecord<String, String>> consume(String topic, int n) {
        return consumeUntil(topic, n);
    }

    /** Reads the topic from the start until {@code distinct} distinct event ids arrived. */
    private static List<ConsumerRecord<String, String>> consumeUntil(String topic, int distinct) {
        Properties p = new Properties();
        p.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        p.setProperty(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.setProperty(ConsumerConfig.GROUP_ID_CONFIG, "test-" + java.util.UUID.randomUUID());
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p,
                new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
                return out.stream().map(r -> header(r, "pep-event-id")).distinct().count()
                        >= distinct;
            });
        }
        return out;
    }

    private static String header(ConsumerRecord<String, String> r, String name) {
        return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }
}
