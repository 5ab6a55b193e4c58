package dev.pep.telemetry.audit;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The immutable configuration of an {@link AuditPipeline}; build it with {@link #builder}.
 *
 * <p>Every value is checked in {@link Builder#build()}; nothing here is null.
 */
public final class AuditConfig {

    private final Path spoolDirectory;
    private final String instance;
    private final AuditMode mode;
    private final Duration fsyncInterval;
    private final long maxSpoolBytes;
    private final long segmentBytes;
    private final long sessionEndReserveBytes;
    private final int maxQueuedEvents;
    private final int batchSize;
    private final Duration retryInitialBackoff;
    private final Duration retryMaxBackoff;
    private final Duration closeTimeout;
    private final List<DeliverySink> sinks;
    private final Clock clock;
    private final Supplier<String> ids;

    private AuditConfig(Builder b) {
        this.spoolDirectory = b.spoolDirectory;
        this.instance = b.instance;
        this.mode = b.mode;
        this.fsyncInterval = b.fsyncInterval;
        this.maxSpoolBytes = b.maxSpoolBytes;
        this.segmentBytes = b.segmentBytes;
        this.sessionEndReserveBytes = b.reserve();
        this.maxQueuedEvents = b.maxQueuedEvents;
        this.batchSize = b.batchSize;
        this.retryInitialBackoff = b.retryInitialBackoff;
        this.retryMaxBackoff = b.retryMaxBackoff;
        this.closeTimeout = b.closeTimeout;
        this.sinks = List.copyOf(b.sinks);
        this.clock = b.clock;
        this.ids = b.ids;
    }

    /**
     * A builder for a pipeline spooling to {@code spoolDirectory} on behalf of the gateway
     * instance {@code instance} (the instance owns the directory: one chain per directory).
     */
    public static Builder builder(Path spoolDirectory, String instance) {
        return new Builder(spoolDirectory, instance);
    }

    /** Where the spool's segment and offset files live. */
    public Path spoolDirectory() {
        return spoolDirectory;
    }

    /** The gateway instance named in every event and gap event. */
    public String instance() {
        return instance;
    }

    /** Strict or best-effort; default strict. */
    public AuditMode mode() {
        return mode;
    }

    /** The least time between two fsyncs of the spool; zero fsyncs every batch. Default 2 ms. */
    public Duration fsyncInterval() {
        return fsyncInterval;
    }

    /** The most bytes the spool may hold on disk; default 1 GiB. */
    public long maxSpoolBytes() {
        return maxSpoolBytes;
    }

    /** The size at which the spool starts a new segment; default 16 MiB. */
    public long segmentBytes() {
        return segmentBytes;
    }

    /**
     * The part of {@link #maxSpoolBytes()} only the events that record an ending
     * ({@code session.ended}, {@code revocation}) may use, so that the sessions a full spool
     * makes the gateway end (strict mode) still have their endings recorded; default an eighth
     * of the spool.
     */
    public long sessionEndReserveBytes() {
        return sessionEndReserveBytes;
    }

    /** The most events waiting in memory for the spool writer; default 10 000. */
    public int maxQueuedEvents() {
        return maxQueuedEvents;
    }

    /** The most events handed to a sink at once; default 500. */
    public int batchSize() {
        return batchSize;
    }

    /** The first wait before retrying a failed delivery; default 200 ms. */
    public Duration retryInitialBackoff() {
        return retryInitialBackoff;
    }

    /** The longest wait between retries; default 30 s. */
    public Duration retryMaxBackoff() {
        return retryMaxBackoff;
    }

    /** How long {@code close()} lets sinks catch up before stopping them; default 5 s. */
    public Duration closeTimeout() {
        return closeTimeout;
    }

    /** The sinks, at least one, with unique names. */
    public List<DeliverySink> sinks() {
        return sinks;
    }

    /** The clock of {@code AuditPipeline.events()}, gap events and ages; default UTC. */
    public Clock clock() {
        return clock;
    }

    /** The ids of {@code AuditPipeline.events()} and gap events; default random UUIDs. */
    public Supplier<String> ids() {
        return ids;
    }

    /** A set-once builder; {@link #build()} checks every value. */
    public static final class Builder {
        private final Path spoolDirectory;
        private final String instance;
        private AuditMode mode = AuditMode.STRICT;
        private Duration fsyncInterval = Duration.ofMillis(2);
        private long maxSpoolBytes = 1L << 30;
        private long segmentBytes = 16L << 20;
        private Long sessionEndReserveBytes;
        private int maxQueuedEvents = 10_000;
        private int batchSize = 500;
        private Duration retryInitialBackoff = Duration.ofMillis(200);
        private Duration retryMaxBackoff = Duration.ofSeconds(30);
        private Duration closeTimeout = Duration.ofSeconds(5);
        private final List<DeliverySink> sinks = new ArrayList<>();
        private Clock clock = Clock.systemUTC();
        private Supplier<String> ids = () -> UUID.randomUUID().toString();

        private Builder(Path spoolDirectory, String instance) {
            this.spoolDirectory = Objects.requireNonNull(spoolDirectory, "spoolDirectory");
            this.instance = Objects.requireNonNull(instance, "instance");
        }

        /** Strict or best-effort. */
        public Builder mode(AuditMode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** The least time between two fsyncs; zero or more. */
        public Builder fsyncInterval(Duration fsyncInterval) {
            this.fsyncInterval = Objects.requireNonNull(fsyncInterval, "fsyncInterval");
            return this;
        }

        /** The most bytes on disk. */
        public Builder maxSpoolBytes(long maxSpoolBytes) {
            this.maxSpoolBytes = maxSpoolBytes;
            return this;
        }

        /** The segment size. */
        public Builder segmentBytes(long segmentBytes) {
            this.segmentBytes = segmentBytes;
            return this;
        }

        /** The room kept for {@code session.ended} and {@code revocation} events; zero keeps none. */
        public Builder sessionEndReserveBytes(long sessionEndReserveBytes) {
            this.sessionEndReserveBytes = sessionEndReserveBytes;
            return this;
        }

        /** The most events queued in memory. */
        public Builder maxQueuedEvents(int maxQueuedEvents) {
            this.maxQueuedEvents = maxQueuedEvents;
            return this;
        }

        /** The most events per delivery. */
        public Builder batchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /** The retry backoff, doubling from {@code initial} up to {@code max}. */
        public Builder retryBackoff(Duration initial, Duration max) {
            this.retryInitialBackoff = Objects.requireNonNull(initial, "initial");
            this.retryMaxBackoff = Objects.requireNonNull(max, "max");
            return this;
        }

        /** How long close() waits for sinks. */
        public Builder closeTimeout(Duration closeTimeout) {
            this.closeTimeout = Objects.requireNonNull(closeTimeout, "closeTimeout");
            return this;
        }

        /** Adds a sink. */
        public Builder sink(DeliverySink sink) {
            sinks.add(Objects.requireNonNull(sink, "sink"));
            return this;
        }

        /** The clock of gap events and ages. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** The id generator of gap events. */
        public Builder ids(Supplier<String> ids) {
            this.ids = Objects.requireNonNull(ids, "ids");
            return this;
        }

        /** Checks every value and builds. */
        public AuditConfig build() {
            require(!instance.isBlank(), "instance is blank");
            require(!fsyncInterval.isNegative(), "fsyncInterval is negative: " + fsyncInterval);
            require(segmentBytes >= 4096, "segmentBytes below 4096: " + segmentBytes);
            require(maxSpoolBytes >= 2 * segmentBytes,
                    "maxSpoolBytes " + maxSpoolBytes + " is below two segments of " + segmentBytes);
            require(reserve() >= 0 && reserve() < maxSpoolBytes / 2, "sessionEndReserveBytes "
                    + reserve() + " is not from 0 to below half of maxSpoolBytes " + maxSpoolBytes);
            require(maxQueuedEvents > 0, "maxQueuedEvents must be positive: " + maxQueuedEvents);
            require(batchSize > 0, "batchSize must be positive: " + batchSize);
            require(!retryInitialBackoff.isNegative() && !retryInitialBackoff.isZero(),
                    "retry initial backoff must be positive: " + retryInitialBackoff);
            require(retryMaxBackoff.compareTo(retryInitialBackoff) >= 0,
                    "retry max backoff " + retryMaxBackoff + " is below the initial one");
            require(!closeTimeout.isNegative(), "closeTimeout is negative: " + closeTimeout);
            require(!sinks.isEmpty(), "an audit pipeline needs at least one sink");
            Set<String> names = new HashSet<>();
            for (DeliverySink sink : sinks) {
                require(sink.name().matches("[a-z0-9_-]{1,64}"),
                        "sink name must match [a-z0-9_-]{1,64}: " + sink.name());
                require(names.add(sink.name()), "two sinks are named " + sink.name());
            }
            return new AuditConfig(this);
        }

        private long reserve() {
            return sessionEndReserveBytes == null ? maxSpoolBytes / 8 : sessionEndReserveBytes;
        }

        private static void require(boolean condition, String message) {
            if (!condition) {
                throw new IllegalArgumentException(message);
            }
        }
    }
}
