package dev.pep.identity.oidc;

import dev.pep.core.Subject;
import dev.pep.identity.IdentityReasons;
import dev.pep.identity.session.Session;
import dev.pep.identity.session.SessionStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps provider sign-ins renewed: a session whose provider issued a refresh token lives only as
 * long as the provider's tokens, and is refreshed at the provider's token endpoint shortly before
 * they run out (or every {@code refresh-interval}, when that is sooner).
 *
 * <p>Fails closed: a refresh the provider refuses (revoked grant, disabled user) ends the session
 * at once; a provider that cannot be asked (down, hanging, server errors) is asked again until
 * the tokens run out, and then the session ends. Ending means revoked in the {@link SessionStore}
 * and told to the {@link Listener}, which re-decides the session's live connections. The
 * session's absolute expiry caps everything: past it nothing is refreshed.
 *
 * <p>Refresh tokens stay in this object's memory, never in the cookie and never in a log line.
 * The sweep runs on the given scheduler, refresh calls on the relying party's HTTP client and
 * executor, at most {@link Settings#maxInFlight()} at once. Thread-safe.
 */
// LIMITATION(L-213): refresh tokens live in the memory of the instance that signed the user in.
public final class SessionRefresher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SessionRefresher.class);
    private static final Duration WARN_EVERY = Duration.ofSeconds(10);

    private final RelyingParty relyingParty;
    private final SessionStore store;
    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private final Settings settings;
    private final Listener listener;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong refreshed = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong lastWarn = new AtomicLong();
    private volatile ScheduledFuture<?> sweep;

    /**
     * A refresher.
     *
     * @param relyingParty makes the refresh calls
     * @param store where ended sessions are revoked
     * @param scheduler runs the sweep; never a Netty event loop
     * @param listener told of every session a refresh ends
     */
    public SessionRefresher(RelyingParty relyingParty, SessionStore store,
            ScheduledExecutorService scheduler, Clock clock, Settings settings, Listener listener) {
        this.relyingParty = Objects.requireNonNull(relyingParty, "relyingParty");
        this.store = Objects.requireNonNull(store, "store");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    /** Starts the sweep, every {@link Settings#tick()}. */
    public void start() {
        long tick = settings.tick().toMillis();
        sweep = scheduler.scheduleWithFixedDelay(this::sweepSafely, tick, tick, TimeUnit.MILLISECONDS);
    }

    /**
     * Keeps {@code session} renewed with {@code grant} at {@code provider}.
     *
     * @param interval refresh at least this often, even when the provider's tokens live longer
     * @return false when the table is full; the caller must then end the session (fail closed)
     */
    public boolean track(Session session, OidcProvider provider, ProviderGrant grant,
            Optional<Duration> interval) {
        Instant now = clock.instant();
        if (entries.size() >= settings.maxSessions()) {
            entries.values().removeIf(e -> !now.isBefore(e.absoluteExpiry));
        }
        if (entries.size() >= settings.maxSessions()) {
            LOG.warn("refresh table full, sign-in refused size={}", entries.size());
            return false;
        }
        Entry entry = new Entry(session.id(), session.subject(), provider, interval,
                session.absoluteExpiresAt(), grant);
        entry.nextAttempt = refreshAt(grant, now, interval);
        entries.put(session.id(), entry);
        return true;
    }

    /** Stops renewing a session that ended otherwise (logout, back-channel logout). */
    public void forget(String sessionId) {
        entries.remove(sessionId);
    }

    /** How many sessions are kept renewed. */
    public int size() {
        return entries.size();
    }

    /** Successful refreshes since start. */
    public long refreshedCount() {
        return refreshed.get();
    }

    /** Refreshes the provider could not answer since start (retried, or the session ended). */
    public long failureCount() {
        return failures.get();
    }

    /** When the provider's tokens of a tracked session run out; empty when not tracked. */
    public Optional<Instant> expiresAt(String sessionId) {
        return Optional.ofNullable(entries.get(sessionId)).map(e -> e.grant.expiresAt());
    }

    /** One pass over the table: drops ended sessions, ends run-out ones, starts due refreshes. */
    void sweep() {
        Instant now = clock.instant();
        for (Entry e : entries.values()) {
            if (!now.isBefore(e.absoluteExpiry) || store.isRevoked(e.sessionId, now)) {
                entries.remove(e.sessionId, e);
            } else if (!now.isBefore(e.grant.expiresAt())) {
                end(e, IdentityReasons.REFRESH_FAILED, now);
            } else if (!e.busy && !now.isBefore(e.nextAttempt)
                    && inFlight.get() < settings.maxInFlight()) {
                start(e);
            }
        }
    }

    private void sweepSafely() {
        try {
            sweep();
        } catch (RuntimeException e) {
            LOG.error("session refresh sweep failed error={}", e.toString());
        }
    }

    private void start(Entry e) {
        e.busy = true;
        inFlight.incrementAndGet();
        relyingParty.refresh(e.provider, e.grant, e.subject.id()).whenComplete((outcome, error) -> {
            inFlight.decrementAndGet();
            e.busy = false;
            apply(e, outcome == null
                    ? new RefreshOutcome.Unavailable(IdentityReasons.of(IdentityReasons.IDENTITY_ERROR))
                    : outcome);
        });
    }

    private void apply(Entry e, RefreshOutcome outcome) {
        Instant now = clock.instant();
        if (entries.get(e.sessionId) != e) {
            return;
        }
        if (outcome instanceof RefreshOutcome.Refreshed ok) {
            e.grant = ok.grant();
            e.nextAttempt = refreshAt(ok.grant(), now, e.interval);
            refreshed.incrementAndGet();
            LOG.debug("session refreshed session={} provider={} until={}", e.sessionId,
                    e.provider.name(), ok.grant().expiresAt());
        } else if (outcome instanceof RefreshOutcome.Refused refused) {
            end(e, refused.reason().code(), now);
        } else {
            failures.incrementAndGet();
            e.nextAttempt = now.plus(settings.retry());
            warn(e, ((RefreshOutcome.Unavailable) outcome).reason().code(), now);
        }
    }

    private void end(Entry e, String reason, Instant now) {
        if (!entries.remove(e.sessionId, e)) {
            return;
        }
        store.revoke(e.sessionId, now);
        LOG.debug("session ended by refresh session={} provider={} reason={}", e.sessionId,
                e.provider.name(), reason);
        listener.ended(e.sessionId, e.subject, e.provider.name(), reason);
    }

    /** Degraded but safe: one WARN per interval for all sessions together, and a counter. */
    private void warn(Entry e, String reason, Instant now) {
        long last = lastWarn.get();
        if (now.toEpochMilli() - last >= WARN_EVERY.toMillis()
                && lastWarn.compareAndSet(last, now.toEpochMilli())) {
            LOG.warn("session refresh failed, will retry provider={} reason={} failures={}",
                    e.provider.name(), reason, failures.get());
        }
    }

    /**
     * When to refresh: a little before the tokens run out ({@link Settings#lead()}, at most half
     * their remaining life), and no later than {@code interval} from now.
     */
    private Instant refreshAt(ProviderGrant grant, Instant now, Optional<Duration> interval) {
        Duration life = Duration.between(now, grant.expiresAt());
        Duration lead = life.dividedBy(2).compareTo(settings.lead()) < 0 ? life.dividedBy(2)
                : settings.lead();
        Instant at = grant.expiresAt().minus(lead);
        if (interval.isPresent() && now.plus(interval.get()).isBefore(at)) {
            at = now.plus(interval.get());
        }
        return at;
    }

    @Override
    public void close() {
        ScheduledFuture<?> s = sweep;
        if (s != null) {
            s.cancel(false);
        }
        entries.clear();
    }

    /** Told of every session a refresh ended. */
    @FunctionalInterface
    public interface Listener {
        /**
         * The session ended.
         *
         * @param provider the provider's name
         * @param reason {@code refresh_refused} or {@code refresh_failed}
         */
        void ended(String sessionId, Subject subject, String provider, String reason);
    }

    /**
     * How the refresher works.
     *
     * @param tick how often the table is swept; ended sessions end within it
     * @param lead how long before the provider's tokens run out a refresh starts
     * @param retry how long after a failed refresh it is tried again
     * @param maxInFlight how many refresh calls may be under way at once
     * @param maxSessions how many sessions may be kept renewed
     */
    public record Settings(Duration tick, Duration lead, Duration retry, int maxInFlight,
            int maxSessions) {
        /** Validates. */
        public Settings {
            requirePositive(tick, "tick");
            requirePositive(lead, "lead");
            requirePositive(retry, "retry");
            if (maxInFlight < 1 || maxSessions < 1) {
                throw new IllegalArgumentException("maxInFlight and maxSessions must be positive");
            }
        }

        /** A sweep every second, 30 s lead, 5 s retry, 32 calls at once, 100,000 sessions. */
        public static Settings defaults() {
            return new Settings(Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofSeconds(5),
                    32, 100_000);
        }

        private static void requirePositive(Duration d, String name) {
            Objects.requireNonNull(d, name);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive: " + d);
            }
        }
    }

    /** One renewed session; the grant and schedule change as refreshes complete. */
    private static final class Entry {
        final String sessionId;
        final Subject subject;
        final OidcProvider provider;
        final Optional<Duration> interval;
        final Instant absoluteExpiry;
        volatile ProviderGrant grant;
        volatile Instant nextAttempt;
        volatile boolean busy;

        Entry(String sessionId, Subject subject, OidcProvider provider, Optional<Duration> interval,
                Instant absoluteExpiry, ProviderGrant grant) {
            this.sessionId = sessionId;
            this.subject = subject;
            this.provider = provider;
            this.interval = interval;
            this.absoluteExpiry = absoluteExpiry;
            this.grant = grant;
        }
    }
}
