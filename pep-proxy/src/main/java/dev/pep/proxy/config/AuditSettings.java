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
 * @param sinks where events are shipped; a JSON-lines file under the spool directory by default
 */
public record AuditSettings(
        String directory,
        Mode mode,
        Duration fsyncInterval,
        ByteSize maxSpoolSize,
        List<Sink> sinks) {

    /** Applies defaults and copies. */
    public AuditSettings {
        directory = directory == null ? ".pep/audit" : directory;
        mode = mode == null ? Mode.BEST_EFFORT : mode;
        fsyncInterval = fsyncInterval == null ? Duration.ofMillis(20) : fsyncInterval;
        maxSpoolSize = maxSpoolSize == null ? ByteSize.mib(1024) : maxSpoolSize;
        sinks = sinks == null ? List.of(new Sink(SinkType.FILE, null, null, null, null, null))
                : List.copyOf(sinks);
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
        WEBHOOK
    }

    /**
     * One sink.
     *
     * @param type the kind
     * @param name a name for metrics and delivery state; defaults to the type
     * @param directory file sink: where the files go (default: {@code events} under the spool)
     * @param rotateSize file sink: size at which a file is rotated
     * @param url webhook sink: the endpoint
     * @param headers webhook sink: extra request headers (for example a bearer token)
     */
    public record Sink(SinkType type, String name, String directory, ByteSize rotateSize, URI url,
            Map<String, String> headers) {
        /** Applies defaults and copies. */
        public Sink {
            type = type == null ? SinkType.FILE : type;
            name = name == null ? type.name().toLowerCase(Locale.ROOT) : name;
            rotateSize = rotateSize == null ? ByteSize.mib(64) : rotateSize;
            headers = headers == null ? Map.of() : Map.copyOf(headers);
        }
    }
}
