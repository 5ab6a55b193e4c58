package dev.pep.telemetry.audit;

import io.micrometer.core.instrument.Counter;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ships the spool to one sink on its own thread: read a durable batch, deliver it, retrying
 * with exponential backoff until it goes through, then persist the sink's committed offset.
 *
 * <p>A batch is retried whole, so a sink sees an event again only after a failure or a restart.
 */
final class SinkDispatcher implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(SinkDispatcher.class);
    private static final long IDLE_NANOS = Duration.ofMillis(50).toNanos();

    private final DeliverySink sink;
    private final Spool spool;
    private final OffsetStore offsets;
    private final AuditConfig config;
    private final Clock clock;
    private final Runnable onCommit;
    private final Counter delivered;
    private final Counter errors;
    private volatile long committed;
    private volatile long pendingSinceMillis;
    private volatile boolean stopping;
    private volatile long stopDeadlineNanos;
    private volatile Thread thread;

    SinkDispatcher(DeliverySink sink, Spool spool, OffsetStore offsets, AuditConfig config,
            AuditMetrics metrics, Runnable onCommit) throws IOException {
        this.sink = sink;
        this.spool = spool;
        this.offsets = offsets;
        this.config = config;
        this.clock = config.clock();
        this.onCommit = onCommit;
        this.committed = offsets.load(sink.name());
        this.delivered = metrics.sinkCounter("pep.audit.sink.delivered", sink.name(),
                "Audit events delivered to the sink");
        this.errors = metrics.sinkCounter("pep.audit.sink.errors", sink.name(),
                "Failed deliveries to the sink");
        metrics.sinkGauge("pep.audit.sink.lag", sink.name(), "events", this,
                d -> Math.max(0, d.spool.durableSeq() - d.committed));
        metrics.sinkGauge("pep.audit.sink.lag.age", sink.name(), "seconds", this,
                SinkDispatcher::lagAgeSeconds);
    }

    /** The last seq the sink delivered. */
    long committed() {
        return committed;
    }

    /** The sink's name. */
    String name() {
        return sink.name();
    }

    /** Starts the dispatcher thread. */
    void start() {
        Thread t = new Thread(this, "pep-audit-sink-" + sink.name());
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    /** New durable events may be there. */
    void wake() {
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** Asks the thread to deliver what is durable, then stop, by {@code deadlineNanos}. */
    void stop(long deadlineNanos) {
        stopDeadlineNanos = deadlineNanos;
        stopping = true;
        wake();
    }

    /** Waits for the thread to end. */
    void join(Duration timeout) throws InterruptedException {
        Thread t = thread;
        if (t != null) {
            t.join(Math.max(1, timeout.toMillis()));
        }
    }

    @Override
    public void run() {
        try (SpoolReader reader = spool.reader(committed + 1)) {
            while (!(stopping && System.nanoTime() - stopDeadlineNanos > 0)) {
                List<SpooledEvent> batch = reader.read(config.batchSize());
                if (batch.isEmpty()) {
                    pendingSinceMillis = 0;
                    if (stopping) {
                        return;
                    }
                    LockSupport.parkNanos(this, IDLE_NANOS);
                    continue;
                }
                pendingSinceMillis = batch.get(0).timeMillis();
                if (!deliverWithRetry(batch)) {
                    return;
                }
                commit(batch.get(batch.size() - 1).seq(), batch.size());
            }
        } catch (IOException | RuntimeException e) {
            LOG.error("audit sink stopped, events stay spooled sink={} committed={} error={}",
                    sink.name(), committed, e.toString());
        }
    }

    // LIMITATION(L-304): a batch the receiver always refuses is retried forever (no dead letter).
    /** Delivers until it succeeds; false when stopping ran out of time first. */
    private boolean deliverWithRetry(List<SpooledEvent> batch) {
        long backoff = config.retryInitialBackoff().toNanos();
        while (true) {
            try {
                sink.deliver(batch);
                return true;
            } catch (IOException | RuntimeException e) {
                errors.increment();
                LOG.warn("audit delivery failed, will retry sink={} first_seq={} backoff_ms={}"
                        + " error={}", sink.name(), batch.get(0).seq(), backoff / 1_000_000,
                        e.toString());
            }
            if (!pause(backoff)) {
                return false;
            }
            backoff = Math.min(backoff * 2, config.retryMaxBackoff().toNanos());
        }
    }

    /** Sleeps for a backoff; false when the pipeline is stopping and the deadline passed. */
    private boolean pause(long nanos) {
        long until = System.nanoTime() + nanos;
        long left;
        while ((left = until - System.nanoTime()) > 0) {
            if (stopping && System.nanoTime() - stopDeadlineNanos > 0) {
                return false;
            }
            LockSupport.parkNanos(this, Math.min(left, IDLE_NANOS));
        }
        return !(stopping && System.nanoTime() - stopDeadlineNanos > 0);
    }

    private void commit(long seq, int count) throws IOException {
        offsets.store(sink.name(), seq);
        committed = seq;
        delivered.increment(count);
        onCommit.run();
    }

    double lagAgeSeconds() {
        long since = pendingSinceMillis;
        return since == 0 ? 0 : Math.max(0, clock.millis() - since) / 1000.0;
    }
}
