package dev.pep.telemetry.audit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Ships events to a Kafka topic with an idempotent producer ({@code acks=all}): the record key
 * is the gateway instance, so one instance's events stay in one partition in chain order; the
 * value is the canonical JSON line; headers {@code pep-event-id} and {@code pep-seq} let
 * consumers de-duplicate without parsing. A batch is delivered once every record of it is
 * acknowledged; on any failure the producer is closed and a new one sends the retried batch, so
 * consumers see duplicates (same id) only after a failure or restart.
 */
// LIMITATION(L-311): no transactions; a resent batch leaves duplicates (same id) on the topic.
// LIMITATION(L-312): compression none, gzip or lz4 only; zstd and snappy codecs are not shipped.
public final class KafkaSink implements DeliverySink {

    /** Producer settings the sink decides itself; the configuration may not override them. */
    static final Set<String> FIXED = Set.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
            ProducerConfig.ACKS_CONFIG, ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
            ProducerConfig.TRANSACTIONAL_ID_CONFIG);
    /** The compression types whose codecs ship with the gateway. */
    static final Set<String> COMPRESSION = Set.of("none", "gzip", "lz4");

    private final String name;
    private final String instance;
    private final String topic;
    private final Properties settings;
    private final Duration timeout;
    private Producer<String, String> producer;

    /**
     * A sink named {@code name} sending the events of {@code instance} to {@code topic}.
     *
     * @param bootstrapServers {@code host:port,...} of the cluster
     * @param properties further producer settings, for example {@code security.protocol} and
     *     {@code ssl.truststore.location}; their values are never logged
     * @param timeout the longest a batch may take, metadata look-up included
     * @throws IllegalArgumentException when a property overrides one the sink fixes, or asks
     *     for a compression type that does not ship with the gateway
     */
    public KafkaSink(String name, String instance, String bootstrapServers, String topic,
            Map<String, String> properties, Duration timeout) {
        this.name = Objects.requireNonNull(name, "name");
        this.instance = Objects.requireNonNull(instance, "instance");
        this.topic = Objects.requireNonNull(topic, "topic");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.settings = settings(bootstrapServers, properties, timeout);
        try {
            // Built now so that a bad setting stops start-up instead of failing every batch.
            this.producer = newProducer();
        } catch (org.apache.kafka.common.KafkaException e) {
            throw new IllegalArgumentException("kafka sink " + name + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void deliver(List<SpooledEvent> batch) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            Producer<String, String> p = producer();
            List<Future<RecordMetadata>> sent = new ArrayList<>(batch.size());
            for (SpooledEvent e : batch) {
                Future<RecordMetadata> f = p.send(record(e));
                if (f.isDone()) {
                    // Failed at once (no metadata within max.block.ms): the batch fails now,
                    // not after one more wait per record.
                    f.get();
                }
                sent.add(f);
            }
            p.flush();
            for (Future<RecordMetadata> f : sent) {
                f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            reset();
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IOException("kafka topic " + topic + " did not take the batch: " + cause, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            reset();
            throw new IOException("interrupted sending to kafka topic " + topic, e);
        }
    }

    @Override
    public void close() {
        reset();
    }

    private ProducerRecord<String, String> record(SpooledEvent e) {
        ProducerRecord<String, String> r = new ProducerRecord<>(topic, null, e.timeMillis(),
                instance, e.json());
        r.headers().add(new RecordHeader("pep-event-id", e.id().getBytes(StandardCharsets.UTF_8)));
        r.headers().add(new RecordHeader("pep-seq",
                Long.toString(e.seq()).getBytes(StandardCharsets.US_ASCII)));
        return r;
    }

    private Producer<String, String> producer() {
        if (producer == null) {
            producer = newProducer();
        }
        return producer;
    }

    private Producer<String, String> newProducer() {
        return new KafkaProducer<>(settings, new StringSerializer(), new StringSerializer());
    }

    private void reset() {
        Producer<String, String> p = producer;
        producer = null;
        if (p != null) {
            p.close(Duration.ZERO);
        }
    }

    private static Properties settings(String bootstrapServers, Map<String, String> properties,
            Duration timeout) {
        Properties p = new Properties();
        for (Map.Entry<String, String> e : properties.entrySet()) {
            if (FIXED.contains(e.getKey())) {
                throw new IllegalArgumentException("kafka property " + e.getKey()
                        + " is set by the sink and cannot be overridden");
            }
            p.setProperty(e.getKey(), e.getValue());
        }
        String compression = p.getProperty(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        if (!COMPRESSION.contains(compression)) {
            throw new IllegalArgumentException("kafka compression.type must be one of "
                    + COMPRESSION + ", not " + compression);
        }
        int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        p.setProperty(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                Objects.requireNonNull(bootstrapServers, "bootstrapServers"));
        p.setProperty(ProducerConfig.ACKS_CONFIG, "all");
        p.setProperty(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, Integer.toString(ms));
        // Kafka wants delivery.timeout.ms >= linger.ms + request.timeout.ms.
        p.putIfAbsent(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(Math.max(1, ms / 2)));
        p.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Integer.toString(ms));
        p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "pep-audit");
        return p;
    }
}
