package dev.pep.identity.jwt;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How many signature checks of never-seen tokens the gateway spends per second: a token bucket
 * of {@code perSecond} checks a second, holding at most {@code perSecond} (one second's burst).
 *
 * <p>A token seen before is answered from the verified-token cache and spends nothing; a token
 * refused by a cheap check (size, parse, issuer, algorithm, key id) spends nothing either. Only
 * the expensive step, the signature, is counted, so a flood of made-up tokens costs at most
 * {@code perSecond} signature checks a second of event-loop time, whatever the flood's rate.
 * Thread-safe.
 */
// LIMITATION(L-230): one budget for all clients; a single flooding source spends it for everyone.
public final class VerificationBudget {

    private static final Logger LOG = LoggerFactory.getLogger(VerificationBudget.class);
    private static final long NANOS = 1_000_000_000L;
    /** A peer can trigger refusals: they are told at most once in this many nanoseconds. */
    private static final long WARN_EVERY = 10 * NANOS;

    private final long perSecond;
    private final LongSupplier nanoTime;
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong lastWarn;
    private double available;
    private long last;

    private VerificationBudget(long perSecond, LongSupplier nanoTime) {
        if (perSecond < 0) {
            throw new IllegalArgumentException("verifications per second negative: " + perSecond);
        }
        this.perSecond = perSecond;
        this.nanoTime = nanoTime;
        this.available = perSecond;
        this.last = nanoTime.getAsLong();
        this.lastWarn = new AtomicLong(last - WARN_EVERY);
    }

    /** At most {@code perSecond} checks a second, on the system's monotonic clock; 0: unbounded. */
    public static VerificationBudget perSecond(long perSecond) {
        return new VerificationBudget(perSecond, System::nanoTime);
    }

    /** As {@link #perSecond(long)}, on an injected monotonic clock in nanoseconds (tests). */
    public static VerificationBudget perSecond(long perSecond, LongSupplier nanoTime) {
        return new VerificationBudget(perSecond, nanoTime);
    }

    /** No bound; for benchmarks and tests. */
    public static VerificationBudget unbounded() {
        return new VerificationBudget(0, System::nanoTime);
    }

    /** Takes one check from the budget; false (and counted) when it is spent for now. */
    public boolean tryAcquire() {
        if (perSecond == 0) {
            return true;
        }
        synchronized (this) {
            long now = nanoTime.getAsLong();
            available = Math.min(perSecond, available + (double) (now - last) * perSecond / NANOS);
            last = now;
            if (available >= 1) {
                available -= 1;
                return true;
            }
        }
        long total = refused.incrementAndGet();
        long now = nanoTime.getAsLong();
        long before = lastWarn.get();
        if (now - before >= WARN_EVERY && lastWarn.compareAndSet(before, now)) {
            LOG.warn("token verification budget spent, never-seen tokens refused per_second={} refused_total={}",
                    perSecond, total);
        }
        return false;
    }

    /** How many checks were refused since start. */
    public long refusedCount() {
        return refused.get();
    }

    /** The configured rate; 0 when unbounded. */
    public long perSecond() {
        return perSecond;
    }
}
