package dev.pep.telemetry.audit;

import dev.pep.core.AuditEvent;
import dev.pep.core.AuditSink;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit pipeline: emit() queues, one writer thread chains and spools events to disk with
 * batched fsync, and one thread per sink ships the spool with retry.
 *
 * <p>Thread-safe; {@link #emit} never blocks and never does I/O on the caller's thread. In
 * {@link AuditMode#STRICT} the stage completes once the event is fsynced and fails with
 * {@link AuditRejectedException} when it cannot be recorded; in {@link AuditMode#BEST_EFFORT}
 * it completes once the event is queued, and a dropped event is counted and later reported by
 * an {@code audit.gap} event. Events still queued or undelivered at close stay in the spool and
 * are delivered after the next {@link #start()}.
 *
 * <p>Strict stages complete on the pipeline's writer thread: attach continuations with an
 * executor (for example the channel's event loop, {@code thenRunAsync(r, ctx.executor())}) so
 * no gateway work runs on, or slows, the writer.
 */
public final class AuditPipeline implements AuditSink, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AuditPipeline.class);
    private static final int MAX_WRITE_BATCH = 1024;
    private static final long POLL_NANOS = Duration.ofMillis(20).toNanos();
    private static final long GAP_LOG_NANOS = Duration.ofSeconds(1).toNanos();
    private static final String SPOOL_FULL = "spool_full";
    /** The event types that may use {@link AuditConfig#sessionEndReserveBytes()}. */
    private static final Set<String> ENDINGS = Set.of(AuditEvents.SESSION_ENDED,
            AuditEvents.REVOCATION);
    private static final CompletionStage<Void> QUEUED = CompletableFuture.completedStage(null);

    private enum State { NEW, RUNNING, CLOSING, CLOSED }

    private final AuditConfig config;
    private final AuditMetrics metrics;
    private final AuditEvents events;
    private final BlockingQueue<Pending> queue;
    private final AtomicLong droppedSinceGap = new AtomicLong();
    private final AtomicLong firstDropMillis = new AtomicLong();
    private final List<Pending> batch = new ArrayList<>();
    private final List<Pending> unsynced = new ArrayList<>();
    private final List<SinkDispatcher> dispatchers = new ArrayList<>();
    private volatile State state = State.NEW;
    private volatile boolean writerStop;
    private long lastGapLogNanos = System.nanoTime() - GAP_LOG_NANOS;
    private Spool spool;
    private FileChannel lockChannel;
    private FileLock lock;
    private Thread writer;

    /** A pipeline of that configuration whose meters go to {@code registry}; not yet started. */
    public AuditPipeline(AuditConfig config, MeterRegistry registry) {
        this.config = Objects.requireNonNull(config, "config");
        this.metrics = new AuditMetrics(Objects.requireNonNull(registry, "registry"));
        this.events = new AuditEvents(config.instance(), config.clock(), config.ids());
        this.queue = new ArrayBlockingQueue<>(config.maxQueuedEvents());
    }

    /** Event factories for this pipeline's instance, clock and id generator. */
    public AuditEvents events() {
        return events;
    }

    /**
     * Locks the spool directory, recovers the spool (a torn tail is truncated), and starts the
     * writer and sink threads.
     *
     * @throws IOException when the spool cannot be opened or another process holds it
     */
    public synchronized void start() throws IOException {
        if (state != State.NEW) {
            throw new IllegalStateException("audit pipeline already started");
        }
        Path dir = config.spoolDirectory();
        lockSpool(dir);
        try {
            spool = Spool.open(dir.resolve("segments"), config.segmentBytes());
            OffsetStore offsets = new OffsetStore(dir.resolve("offsets"));
            for (DeliverySink sink : config.sinks()) {
                dispatchers.add(new SinkDispatcher(sink, spool, offsets, config, metrics,
                        this::deleteDelivered));
            }
        } catch (IOException | RuntimeException e) {
            dispatchers.clear();
            closeQuietly(spool);
            closeQuietly(lock);
            closeQuietly(lockChannel);
            throw e;
        }
        registerGauges();
        writer = new Thread(this::writeLoop, "pep-audit-spool-writer");
        writer.setDaemon(true);
        state = State.RUNNING;
        writer.start();
        dispatchers.forEach(SinkDispatcher::start);
        LOG.info("audit pipeline started mode={} spool={} next_seq={} sinks={}", config.mode(),
                dir, spool.nextSeq(), config.sinks().stream().map(DeliverySink::name).toList());
    }

    /** Queues an event for the spool; never blocks. */
    @Override
    public CompletionStage<Void> emit(AuditEvent event) {
        Objects.requireNonNull(event, "event");
        if (state != State.RUNNING) {
            return rejected("not_running", "audit pipeline is not running");
        }
        Pending pending = new Pending(event, new CompletableFuture<>());
        if (!queue.offer(pending)) {
            return overflow("queue_full", "audit queue is full");
        }
        if (state != State.RUNNING && queue.remove(pending)) {
            // close() began between the check and the offer; whoever removed it completes it.
            return rejected("not_running", "audit pipeline is not running");
        }
        metrics.emitted();
        return config.mode() == AuditMode.STRICT ? pending.done() : QUEUED;
    }

    /**
     * Stops accepting events, spools and fsyncs everything queued, lets sinks deliver for up
     * to {@link AuditConfig#closeTimeout()}, then stops them and closes the sinks and spool.
     */
    @Override
    public synchronized void close() {
        if (state == State.NEW || state == State.CLOSED) {
            state = State.CLOSED;
            return;
        }
        state = State.CLOSING;
        writerStop = true;
        joinQuietly(writer, config.closeTimeout().plusSeconds(5));
        Pending left;
        while ((left = queue.poll()) != null) {
            left.done().completeExceptionally(rejection("not_running", "pipeline closed"));
        }
        long deadline = System.nanoTime() + config.closeTimeout().toNanos();
        dispatchers.forEach(d -> d.stop(deadline));
        for (SinkDispatcher d : dispatchers) {
            try {
                d.join(config.closeTimeout().plusSeconds(1));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        config.sinks().forEach(AuditPipeline::closeQuietly);
        closeQuietly(spool);
        closeQuietly(lock);
        closeQuietly(lockChannel);
        state = State.CLOSED;
        LOG.info("audit pipeline stopped committed={}", committedBySink());
    }

    private void lockSpool(Path dir) throws IOException {
        java.nio.file.Files.createDirectories(dir);
        lockChannel = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        try {
            lock = lockChannel.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            lock = null; // held by another pipeline of this process
        }
        if (lock == null) {
            lockChannel.close();
            throw new IOException("audit spool is in use by another process: " + dir);
        }
    }

    private void registerGauges() {
        metrics.gauge("pep.audit.spool.bytes", "Bytes of the audit spool on disk", "bytes",
                spool, Spool::totalBytes);
        metrics.gauge("pep.audit.spool.events", "Spooled events not yet delivered to every sink",
                "events", this, p -> Math.max(0, p.spool.durableSeq() - p.minCommitted()));
        metrics.gauge("pep.audit.spool.oldest.age", "Age of the oldest undelivered event",
                "seconds", this, AuditPipeline::oldestAgeSeconds);
        metrics.gauge("pep.audit.queue.events", "Events waiting for the spool writer", "events",
                queue, BlockingQueue::size);
    }

    /** The writer thread: on an unexpected failure it fails closed, refusing further events. */
    private void writeLoop() {
        try {
            spoolQueued();
        } catch (RuntimeException e) {
            state = State.CLOSING;
            LOG.error("audit spool writer failed, audit refuses events until restart error={}",
                    e.toString());
            RuntimeException failure = rejection("io_error", "audit spool writer failed");
            batch.forEach(p -> p.done().completeExceptionally(failure));
            unsynced.forEach(p -> p.done().completeExceptionally(failure));
            Pending left;
            while ((left = queue.poll()) != null) {
                left.done().completeExceptionally(failure);
            }
        }
    }

    private void spoolQueued() {
        long lastSync = System.nanoTime() - config.fsyncInterval().toNanos();
        while (true) {
            Pending first = poll(POLL_NANOS);
            if (first == null) {
                writeGapIfDue();
                sync();
                if (writerStop && queue.isEmpty()) {
                    return;
                }
                continue;
            }
            batch.add(first);
            queue.drainTo(batch, MAX_WRITE_BATCH - 1);
            writeGapIfDue();
            batch.forEach(this::write);
            batch.clear();
            // Group commit: events arriving before the interval ends share this fsync.
            long wait;
            while ((wait = lastSync + config.fsyncInterval().toNanos() - System.nanoTime()) > 0
                    && unsynced.size() < MAX_WRITE_BATCH) {
                Pending more = poll(wait);
                if (more != null) {
                    write(more);
                }
            }
            sync();
            lastSync = System.nanoTime();
        }
    }

    private Pending poll(long nanos) {
        try {
            return queue.poll(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            writerStop = true;
            return null;
        }
    }

    private void write(Pending p) {
        AuditEvent event = p.event();
        AuditJson.Chained chained;
        try {
            chained = AuditJson.chain(event, spool.nextSeq(), spool.headHash());
        } catch (IllegalArgumentException e) {
            LOG.error("audit event cannot be encoded, not recorded type={} id={} error={}",
                    event.type(), event.id(), e.getMessage());
            p.done().completeExceptionally(rejection("invalid_event", e.getMessage()));
            return;
        }
        String failure = append(event, chained);
        if (failure == null) {
            unsynced.add(p);
        } else if (config.mode() == AuditMode.STRICT) {
            if (failure.equals(SPOOL_FULL)) {
                metrics.rejected(SPOOL_FULL);
            }
            p.done().completeExceptionally(rejection(failure, "audit spool refused the event: "
                    + failure));
        } else {
            recordDrop(SPOOL_FULL); // best-effort counts a failed write as a lack of room
        }
    }

    /**
     * Appends if the spool has room: null when done, else spool_full or io_error. Only the
     * events that record an ending may use the reserve, so that the sessions ended because the
     * spool is full still have their endings recorded.
     */
    private String append(AuditEvent event, AuditJson.Chained chained) {
        long budget = ENDINGS.contains(event.type()) ? config.maxSpoolBytes()
                : config.maxSpoolBytes() - config.sessionEndReserveBytes();
        if (spool.totalBytes() + Spool.recordSize(event.id(), chained.json())
                + Spool.HEADER_BYTES > budget) {
            return SPOOL_FULL;
        }
        try {
            spool.append(event.id(), event.time().toEpochMilli(), chained.json(),
                    chained.hash());
            metrics.spooled(1);
            return null;
        } catch (IOException e) {
            metrics.writeError();
            LOG.warn("audit spool write failed id={} error={}", event.id(), e.toString());
            return "io_error";
        }
    }

    private void sync() {
        if (unsynced.isEmpty() && spool.durableSeq() == spool.nextSeq() - 1) {
            return;
        }
        try {
            spool.sync();
            unsynced.forEach(p -> p.done().complete(null));
        } catch (IOException e) {
            metrics.writeError();
            LOG.warn("audit spool fsync failed events={} error={}", unsynced.size(), e.toString());
            unsynced.forEach(p -> p.done().completeExceptionally(rejection("io_error",
                    "audit spool fsync failed: " + e.getMessage())));
        }
        unsynced.clear();
        dispatchers.forEach(SinkDispatcher::wake);
    }

    /** Spools an {@code audit.gap} event for drops not yet reported, if there is room. */
    private void writeGapIfDue() {
        long dropped = droppedSinceGap.get();
        if (dropped == 0) {
            return;
        }
        AuditEvent gap = events.gap(dropped, Instant.ofEpochMilli(firstDropMillis.get()));
        if (append(gap, AuditJson.chain(gap, spool.nextSeq(), spool.headHash())) == null) {
            if (droppedSinceGap.addAndGet(-dropped) == 0) {
                firstDropMillis.set(0);
            }
            long now = System.nanoTime();
            if (now - lastGapLogNanos > GAP_LOG_NANOS) {
                // At most one line a second while drops go on; the gap events carry every count.
                lastGapLogNanos = now;
                LOG.warn("audit events dropped, gap recorded dropped={}", dropped);
            }
        }
    }

    private CompletionStage<Void> overflow(String reason, String message) {
        if (config.mode() == AuditMode.STRICT) {
            metrics.rejected(reason);
            return rejected(reason, message);
        }
        recordDrop(reason);
        return rejected(reason, message);
    }

    private void recordDrop(String reason) {
        metrics.dropped(reason);
        firstDropMillis.compareAndSet(0, config.clock().millis());
        droppedSinceGap.incrementAndGet();
    }

    private void deleteDelivered() {
        try {
            spool.deleteBelow(minCommitted() + 1);
        } catch (IOException e) {
            LOG.warn("audit spool segment not deleted error={}", e.toString());
        }
    }

    private long minCommitted() {
        long min = Long.MAX_VALUE;
        for (SinkDispatcher d : dispatchers) {
            min = Math.min(min, d.committed());
        }
        return min == Long.MAX_VALUE ? 0 : min;
    }

    private double oldestAgeSeconds() {
        double age = 0;
        for (SinkDispatcher d : dispatchers) {
            age = Math.max(age, d.lagAgeSeconds());
        }
        return age;
    }

    private List<String> committedBySink() {
        return dispatchers.stream().map(d -> d.name() + "=" + d.committed()).toList();
    }

    private static CompletionStage<Void> rejected(String reason, String message) {
        return CompletableFuture.failedFuture(rejection(reason, message));
    }

    private static AuditRejectedException rejection(String reason, String message) {
        return new AuditRejectedException(reason, message, null);
    }

    private static void joinQuietly(Thread t, Duration timeout) {
        try {
            t.join(timeout.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.warn("audit pipeline close failed resource={} error={}",
                    c.getClass().getSimpleName(), e.toString());
        }
    }

    /** An event waiting for the writer and the stage its caller holds. */
    private record Pending(AuditEvent event, CompletableFuture<Void> done) {
    }
}
