package dev.pep.telemetry.audit;

import java.io.IOException;
import java.util.List;

/**
 * A destination the audit pipeline ships spooled events to: a file, standard output, a
 * webhook, syslog over TLS, a Kafka topic or an OpenTelemetry collector.
 *
 * <p>Each sink is driven by one dedicated thread of the pipeline, so {@link #deliver} may block
 * (on I/O, never forever: a sink sets its own timeouts) and need not be thread-safe. Delivery is
 * at least once: after a failure or a restart the same events may come again, in the same
 * order, so a sink de-duplicates by {@link SpooledEvent#seq()} or leaves that to its receiver by
 * {@link SpooledEvent#id()}.
 */
public interface DeliverySink extends AutoCloseable {

    /**
     * The sink's stable name: it names the sink's offset file and its metrics label, so it is
     * short, lower case, {@code [a-z0-9_-]}, and unique within a pipeline.
     */
    String name();

    /**
     * Delivers a batch, oldest first; returns only once the receiver holds it durably.
     *
     * @throws IOException when the batch was not (or not entirely) delivered; the pipeline
     *     retries the whole batch with exponential backoff
     */
    void deliver(List<SpooledEvent> batch) throws IOException;

    /** Releases the sink's resources; called once, after the last delivery. */
    @Override
    default void close() throws IOException {
    }
}
