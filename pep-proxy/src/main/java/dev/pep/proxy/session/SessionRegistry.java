package dev.pep.proxy.session;

import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every live session of the gateway, and the loop that keeps deciding them.
 *
 * <p>A session is decided again when something it depends on changes (a trigger: a new policy
 * version, a logout, a posture change, an operator), when its rule's re-evaluation interval
 * comes, when its app expires, and at least every {@code redecideInterval}; it is ended at its
 * rule's maximum length, and once it carried no bytes for its rule's idle limit. A session the
 * new decision denies is ended through its {@link SessionControl}; one still allowed is
 * untouched.
 *
 * <p>Thread-safe. All re-decisions run on the registry's one thread, in batches, never on an
 * event loop. Fails closed: a re-decision that fails or does not finish in time ends the
 * session with {@code evaluation_error}.
 */
// LIMITATION(L-703): sessions live in this process; instances do not share them.
public final class SessionRegistry implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SessionRegistry.class);
    private static final int BATCH = 512;
    private static final Duration DECISION_TIMEOUT = Duration.ofSeconds(10);
    /**
     * How long an ending without a decision is kept to apply to sessions registered after it but
     * authenticated before it: longer than any request takes from its authentication to its allow.
     */
    private static final Duration ENDINGS_KEPT = Duration.ofMinutes(1);

    private final ConcurrentHashMap<String, LiveSession> live = new ConcurrentHashMap<>();
    private final Redecider redecider;
    private final SessionListener listener;
    private final Clock clock;
    private final Duration redecideInterval;
    private final ScheduledExecutorService thread;
    /** Moves on with every trigger, so a session decided before one and registered after it is caught. */
    private final AtomicLong generation = new AtomicLong();
    /** Recent {@link #end} calls, oldest first, for the sessions that race them. */
    private final ConcurrentLinkedDeque<Recent> recentEndings = new ConcurrentLinkedDeque<>();

    /**
     * A registry; {@link #start} begins its timer.
     *
     * @param redecideInterval every live session is decided again at least this often
     */
    public SessionRegistry(Redecider redecider, SessionListener listener, Clock clock,
            Duration redecideInterval) {
        this.redecider = Objects.requireNonNull(redecider, "redecider");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.redecideInterval = Objects.requireNonNull(redecideInterval, "redecideInterval");
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pep-sessions");
            t.setDaemon(true);
            return t;
        });
    }

    /** Checks every session's limits and due re-decisions every {@code tick}. */
    public void start(Duration tick) {
        thread.scheduleWithFixedDelay(this::tick, tick.toMillis(), tick.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /**
     * The current generation: read it before authenticating a request, and admit its session
     * with it, so a trigger that comes while the request is being decided is not missed.
     */
    public long generation() {
        return generation.get();
    }

    /**
     * Adds a session that was just admitted. If a trigger came since its request was
     * authenticated (its generation is older), the session is decided again at once: its
     * decision may have been made on what that trigger revoked. If the trigger was an ending
     * that names it (an operator ending its subject), it is ended the same way.
     */
    public void register(LiveSession session) {
        if (live.putIfAbsent(session.id(), session) != null) {
            throw new IllegalStateException("session registered twice: " + session.id());
        }
        if (generation.get() != session.generation()) {
            thread.execute(() -> late(session));
        }
    }

    /** Removes a session that ended on its own; does nothing if the registry ended it. */
    public void unregister(LiveSession session) {
        live.remove(session.id(), session);
    }

    /** How many sessions live now. */
    public int size() {
        return live.size();
    }

    /** The live sessions that match, in no particular order. */
    public List<LiveSession> find(Predicate<LiveSession> which) {
        List<LiveSession> found = new ArrayList<>();
        live.values().forEach(s -> {
            if (which.test(s)) {
                found.add(s);
            }
        });
        return found;
    }

    /**
     * Decides the matching sessions again and ends those no longer allowed.
     *
     * @param trigger what changed, for the audit trail: {@code policy}, {@code logout}...
     * @return completes on the registry's thread with the number of sessions ended
     */
    public CompletableFuture<Integer> redecide(Predicate<LiveSession> which, String trigger) {
        // Before the snapshot: a session registered after it sees the new generation.
        generation.incrementAndGet();
        return CompletableFuture.supplyAsync(() -> redecideNow(find(which), trigger), thread);
    }

    /**
     * Ends the matching sessions without deciding; returns how many it ended. A session whose
     * request was authenticated before this call and that is registered after it is ended too.
     */
    public int end(Predicate<LiveSession> which, SessionEnding ending) {
        // Before the snapshot, as for a re-decision: a session registered after it is caught.
        Instant now = clock.instant();
        recentEndings.add(new Recent(generation.incrementAndGet(), now, which, ending));
        Recent oldest;
        while ((oldest = recentEndings.peekFirst()) != null && oldest.at().isBefore(now.minus(ENDINGS_KEPT))) {
            recentEndings.remove(oldest);
        }
        Endings endings = new Endings();
        find(which).forEach(s -> endings.add(s, ending));
        return endings.send();
    }

    /** Ends the matching sessions on the registry's thread; completes with how many it ended. */
    public CompletableFuture<Integer> endAsync(Predicate<LiveSession> which, SessionEnding ending) {
        return CompletableFuture.supplyAsync(() -> end(which, ending), thread);
    }

    /** Whether {@link #close()} ran. */
    public boolean isClosed() {
        return thread.isShutdown();
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }

    private void tick() {
        try {
            Instant now = clock.instant();
            List<LiveSession> due = new ArrayList<>();
            Endings limits = new Endings();
            for (LiveSession s : live.values()) {
                if (s.endsAt().map(e -> !now.isBefore(e)).orElse(false)) {
                    limits.add(s, SessionEnding.of("session_limit", "max-session"));
                } else if (s.idleOver(now)) {
                    limits.add(s, SessionEnding.of("idle_limit", "idle"));
                } else if (due(s, now)) {
                    due.add(s);
                }
            }
            limits.send();
            redecideNow(due, "interval");
        } catch (RuntimeException e) {
            // The timer must survive anything one session does.
            LOG.error("session check failed error={}", e.toString(), e);
        }
    }

    /** A session registered after a trigger it may have missed: ended, or decided again. */
    private void late(LiveSession session) {
        if (live.get(session.id()) != session) {
            return;
        }
        for (Recent r : recentEndings) {
            if (r.generation() > session.generation() && r.which().test(session)) {
                Endings endings = new Endings();
                endings.add(session, r.ending());
                endings.send();
                return;
            }
        }
        redecideNow(List.of(session), "late");
    }

    private boolean due(LiveSession s, Instant now) {
        return s.reevaluateAt().map(at -> !now.isBefore(at)).orElse(false)
                || !now.isBefore(s.decidedAt().plus(redecideInterval))
                || s.admitted().app().expiredAt(now)
                || s.credentialExpires().map(at -> !now.isBefore(at)).orElse(false);
    }

    private int redecideNow(List<LiveSession> sessions, String trigger) {
        long started = System.nanoTime();
        int ended = 0;
        for (int from = 0; from < sessions.size(); from += BATCH) {
            List<LiveSession> batch = sessions.subList(from, Math.min(sessions.size(), from + BATCH));
            ended += redecideBatch(batch, trigger);
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        if ("policy".equals(trigger)) {
            // Once per policy version: part of the reload's lifecycle.
            LOG.info("sessions re-decided trigger={} checked={} ended={} took_ms={}", trigger,
                    sessions.size(), ended, ms);
        } else if (!sessions.isEmpty()) {
            LOG.debug("sessions re-decided trigger={} checked={} ended={} took_ms={}", trigger,
                    sessions.size(), ended, ms);
        }
        return ended;
    }

    private int redecideBatch(List<LiveSession> batch, String trigger) {
        Instant now = clock.instant();
        List<CompletableFuture<Decision>> pending = new ArrayList<>(batch.size());
        for (LiveSession s : batch) {
            pending.add(start(s, now));
        }
        long deadline = System.nanoTime() + DECISION_TIMEOUT.toNanos();
        Endings endings = new Endings();
        for (int i = 0; i < batch.size(); i++) {
            LiveSession s = batch.get(i);
            Decision d = await(pending.get(i), deadline, s);
            if (d.allowed()) {
                s.kept(d, now);
                listener.kept(s, trigger);
            } else {
                endings.add(s, SessionEnding.denied(d, trigger));
            }
        }
        return endings.send();
    }

    private CompletableFuture<Decision> start(LiveSession s, Instant now) {
        try {
            CompletionStage<Decision> d = redecider.redecide(s, now);
            return d.toCompletableFuture();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** The decision, or a deny when it failed or took too long: never an allow by accident. */
    private Decision await(CompletableFuture<Decision> f, long deadline, LiveSession s) {
        try {
            long left = Math.max(0, deadline - System.nanoTime());
            Decision d = f.get(left, TimeUnit.NANOSECONDS);
            if (d != null) {
                return d;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("session re-decision failed session={} app={} error={}", s.id(), s.app(),
                    e.toString());
        }
        return Decision.deny(s.decision().version(), DecisionReason.of(
                DecisionReason.EVALUATION_ERROR, "the session could not be decided again"));
    }

    /** An ending asked for at {@code generation}. */
    private record Recent(long generation, Instant at, Predicate<LiveSession> which, SessionEnding ending) {
    }

    /**
     * The endings of one batch: handed to each session's event loop in one task per loop, then
     * told to the listener (audit), so recording them does not delay them.
     */
    private final class Endings {
        private final Map<Executor, List<Runnable>> byLoop = new HashMap<>();
        private final List<LiveSession> sessions = new ArrayList<>();
        private final List<SessionEnding> endings = new ArrayList<>();

        void add(LiveSession s, SessionEnding ending) {
            if (!live.remove(s.id(), s)) {
                return;
            }
            SessionControl control = s.control();
            byLoop.computeIfAbsent(control.executor(), e -> new ArrayList<>())
                    .add(() -> control.end(s, ending));
            sessions.add(s);
            endings.add(ending);
        }

        /** Hands the endings over; returns how many sessions they end. */
        int send() {
            byLoop.forEach((loop, tasks) -> loop.execute(() -> tasks.forEach(Runnable::run)));
            for (int i = 0; i < sessions.size(); i++) {
                listener.ended(sessions.get(i), endings.get(i));
            }
            return sessions.size();
        }
    }
}
