package dev.pep.proxy.config;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The audit trail: a local spool on disk, then sinks. Audit events never go to the operational
 * log.
 *
 * @param directory the spool directory (delivery state lives beside it)
 * @param mode {@code best-effort} (never waits, counts drops) or {@code strict} (nothing is
 *     forwarded unless its event is on disk; 503 when it cannot be)
 * @param fsyncInterval how long events may wait in memory before an fsync
 * @param maxSpoolSize the most disk the spool may use
 * @param batchSize the most events handed to a sink at once
 * @param retryBackoff the first wait before a failed delivery is tried again; it doubles
 * @param retryMaxBackoff the longest wait between two delivery attempts
 * @param sinks where events are shipped; a JSON-lines file under the spool directory by default
 */
public record AuditSettings(
        String directory,
        Mode mode,
        Duration fsyncInterval,
        ByteSize maxSpoolSize,
        Integer batchSize,
        Duration retryBackoff,
        Duration retryMaxBackoff,
        List<Sink> sinks) {

    /** Applies defaults and copies. */
    public AuditSettings {
        directory = directory == null ? ".pep/audit" : directory;
        mode = mode == null ? Mode.BEST_EFFORT : mode;
        fsyncInterval = fsyncInterval == null ? Duration.ofMillis(20) : fsyncInterval;
        maxSpoolSize = maxSpoolSize == null ? ByteSize.mib(1024) : maxSpoolSize;
        batchSize = batchSize == null ? 500 : batchSize;
        retryBackoff = retryBackoff == null ? Duration.ofMillis(200) : retryBackoff;
        retryMaxBackoff = retryMaxBackoff == null ? Duration.ofSeconds(30) : retryMaxBackoff;
        sinks = sinks == null ? List.of(Sink.defaultFile()) : List.copyOf(sinks);
    }

    /** The defaults of every key. */
    static AuditSettings defaults() {
        return new AuditSettings(null, null, null, null, null, null, null, null);
    }

    /** The audit modes. */
    public enum Mode {
        /** Never wait for audit; drops are counted and leave a gap event. */
        BEST_EFFORT,
        /** Forward nothing whose event is not on disk. */
        STRICT;

        /** Reads the config spelling: {@code best-effort} or {@code strict}. */
        @com.fasterxml.jackson.annotation.JsonCreator
        public static Mode parse(String text) {
            for (Mode m : values()) {
                if (m.toString().equalsIgnoreCase(text)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("expected one of [best-effort, strict], got '" + text + "'");
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** The kinds of sink. */
    public enum SinkType {
        /** JSON lines in rotated files. */
        FILE,
        /** JSON lines on standard output, for container log collectors. */
        STDOUT,
        /** Batches of JSON POSTed to an HTTP endpoint. */
        WEBHOOK,
        /** RFC 5424 messages over TLS (RFC 5425) to a syslog receiver. */
        SYSLOG,
        /** Records on a Kafka topic, from an idempotent producer. */
        KAFKA,
        /** OpenTelemetry log records over OTLP/HTTP to a collector. */
        OTLP
    }

    /**
     * One sink.
     *
     * @param type the kind
     * @param name a name for metrics and delivery state; defaults to the type
     * @param directory file sink: where the files go (default: {@code events} under the spool)
     * @param rotateSize file sink: size at which a file is rotated
     * @param url webhook and otlp sinks: the endpoint
     * @param headers webhook and otlp sinks: extra request headers (for example a bearer token)
     * @param address syslog sink: the receiver's {@code host:port}
     * @param ca syslog sink: PEM file of the CAs trusted for the receiver; default the JDK's
     * @param clientCertificate syslog sink: PEM certificate chain for mutual TLS
     * @param clientKey syslog sink: its unencrypted PKCS#8 PEM key
     * @param bootstrapServers kafka sink: {@code host:port} of the cluster's brokers
     * @param topic kafka sink: the topic
     * @param properties kafka sink: further producer settings (security, compression)
     * @param timeout network sinks: the longest one delivery may take
     */
    public record Sink(SinkType type, String name, String directory, ByteSize rotateSize, URI url,
            Map<String, String> headers, String address, String ca, String clientCertificate,
            String clientKey, List<String> bootstrapServers, String topic,
            Map<String, String> properties, Duration timeout) {
        /** Applies defaults and copies. */
        public Sink {
            type = type == null ? SinkType.FILE : type;
            name = name == null ? type.name().toLowerCase(Locale.ROOT) : name;
            rotateSize = rotateSize == null ? ByteSize.mib(64) : rotateSize;
            headers = headers == null ? Map.of() : Map.copyOf(headers);
            bootstrapServers = bootstrapServers == null ? List.of() : List.copyOf(bootstrapServers);
            properties = properties == null ? Map.of() : Map.copyOf(properties);
            timeout = timeout == null ? Duration.ofSeconds(10) : timeout;
        }

        /** The default sink: JSON-lines files under the spool directory. */
        static Sink defaultFile() {
            return new Sink(SinkType.FILE, null, null, null, null, null, null, null, null, null,
                    null, null, null, null);
        }
    }
}
