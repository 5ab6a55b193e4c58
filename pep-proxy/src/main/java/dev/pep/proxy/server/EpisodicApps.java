package dev.pep.proxy.server;

import dev.pep.core.App;
import dev.pep.core.DecisionReason;
import dev.pep.core.PolicyVersion;
import dev.pep.policy.DefaultPolicyEngine;
import dev.pep.policy.PolicyListener;
import dev.pep.proxy.apps.AppStore;
import dev.pep.proxy.apps.Registration;
import dev.pep.proxy.route.Router;
import dev.pep.proxy.session.SessionEnding;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Apps that come and go while the gateway runs: the ones operators register and remove through
 * the admin API (kept in an {@link AppStore} so they survive a restart), and every app's expiry.
 *
 * <p>An app expires at its {@code expires} instant, whether or not anything else happens then: a
 * timer set for the next expiry fires, the app's live sessions end ({@code app_expired}), and one
 * {@code app.expired} audit event is emitted. The router already stops routing its hosts at that
 * instant (an expired app's host answers as an unknown one). A run-time app that expires is also
 * removed from the store and the engine.
 *
 * <p>Thread-safe: every change runs under this object's lock, the expiry checks on its own thread.
 * Fails closed: an app that cannot be stored is not registered; one whose file cannot be deleted
 * is removed all the same, and the answer says its file is left.
 */
final class EpisodicApps implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EpisodicApps.class);
    /** The longest the timer sleeps, so a clock that jumps is caught within that. */
    private static final Duration MAX_SLEEP = Duration.ofMinutes(1);

    private final GatewayContext gw;
    private final DefaultPolicyEngine policy;
    private final AppStore store;
    private final Supplier<Router> routes;
    private final Map<String, Registration> registrations = new LinkedHashMap<>();
    /** Apps whose expiry was processed, as name and expiry: each is processed once. */
    private final Set<String> expired = new HashSet<>();
    private final Object routeLock = new Object();
    private final Counter expiries;
    private final Counter storeFailures;
    private final Counter restoreSkipped;
    private final ScheduledExecutorService timer;
    private ScheduledFuture<?> next;

    /**
     * The gateway's episodic apps; {@link #start} restores the stored registrations.
     *
     * @param routes builds a router over the engine's apps as they are now
     */
    EpisodicApps(GatewayContext gw, DefaultPolicyEngine policy, AppStore store, Supplier<Router> routes,
            MeterRegistry registry) {
        this.gw = gw;
        this.policy = policy;
        this.store = store;
        this.routes = routes;
        this.expiries = Counter.builder("pep.apps.expired").description("Apps whose expiry was processed")
                .register(registry);
        this.storeFailures = Counter.builder("pep.apps.store.failures")
                .description("Run-time app registrations that could not be written or deleted").register(registry);
        this.restoreSkipped = Counter.builder("pep.apps.restore.skipped")
                .description("Stored run-time apps left out at start: unreadable, invalid or in conflict")
                .register(registry);
        Gauge.builder("pep.apps.runtime", this, a -> a.runtimeCount()).description("Apps registered at run time")
                .register(registry);
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pep-apps");
            t.setDaemon(true);
            return t;
        });
    }

    /** What a registration or removal came to. */
    enum Outcome { DONE, CONFLICT, DECLARED_IN_FILES, UNKNOWN, EXPIRED, NOT_STORED }

    /**
     * An outcome and what to tell the operator.
     *
     * @param sessionsEnded how many live sessions a removal ended
     */
    record Result(Outcome outcome, String message, int sessionsEnded) {
    }

    /**
     * Restores the stored registrations (one the files now conflict with, or unreadable, stays
     * out, with a WARN), processes what has expired, and sets the timer; follows policy reloads.
     */
    synchronized void start() throws IOException {
        AppStore.Contents contents = store.load();
        contents.problems().forEach(p -> LOG.warn("run-time app not restored, file skipped problem={}", p));
        for (Registration r : contents.registrations()) {
            // One that expired while the gateway was down joins too: the first check expires it.
            Optional<String> conflict = policy.register(r.app());
            if (conflict.isPresent()) {
                LOG.warn("run-time app not restored app={} conflict={}", r.name(), conflict.get());
            } else {
                registrations.put(r.name(), r);
            }
        }
        int skipped = contents.problems().size() + contents.registrations().size() - registrations.size();
        restoreSkipped.increment(skipped);
        LOG.info("run-time apps restored count={} skipped={}", registrations.size(), skipped);
        rebuildRoutes();
        policy.addListener(new PolicyListener() {
            @Override
            public void versionChanged(PolicyVersion previous, PolicyVersion current) {
                // A new version can add, shorten or extend an expiry: set the timer again.
                timer.execute(EpisodicApps.this::check);
            }
        });
        timer.execute(this::check);
    }

    /**
     * Routes by the engine's apps as they are now: files' and run-time ones. Takes only its own
     * lock, since a policy reload calls it while holding the engine's.
     */
    void rebuildRoutes() {
        synchronized (routeLock) {
            gw.swap(routes.get(), gw.engine());
        }
    }

    /** Registers an app from now on and stores it; refuses a conflict or an expired one. */
    synchronized Result register(App app, String operator) {
        Instant now = gw.clock.instant();
        if (app.expiredAt(now)) {
            return new Result(Outcome.EXPIRED, "app " + app.name() + " expires at " + app.expires().get()
                    + ", which has passed", 0);
        }
        Optional<String> conflict = policy.register(app);
        if (conflict.isPresent()) {
            return new Result(Outcome.CONFLICT, conflict.get(), 0);
        }
        Registration registration = new Registration(app, operator, now);
        try {
            store.save(registration);
        } catch (IOException | RuntimeException e) {
            policy.deregister(app.name());
            LOG.warn("run-time app not stored, not registered app={} error={}", app.name(), e.toString());
            storeFailures.increment();
            return new Result(Outcome.NOT_STORED, "app " + app.name() + " could not be stored; see the log", 0);
        }
        registrations.put(app.name(), registration);
        rebuildRoutes();
        gw.audit.emit(gw.events.appRegistered(app, operator));
        schedule();
        return new Result(Outcome.DONE, "registered", 0);
    }

    /** Removes a run-time app: it is no longer routed and its live sessions end. */
    synchronized Result remove(String name, String operator) {
        if (policy.declaredInFiles(name)) {
            return new Result(Outcome.DECLARED_IN_FILES, "app " + name + " is declared in the policy files; "
                    + "remove it there", 0);
        }
        if (!registrations.containsKey(name)) {
            return new Result(Outcome.UNKNOWN, "no app " + name + " is registered at run time", 0);
        }
        boolean deleted = true;
        try {
            store.delete(name);
        } catch (IOException | RuntimeException e) {
            // Removed all the same: an operator's removal takes access away now, whatever the disk.
            LOG.warn("run-time app removed but its file not deleted app={} error={}", name, e.toString());
            storeFailures.increment();
            deleted = false;
        }
        gw.audit.emit(gw.events.appRemoved(name, operator));
        int ended = drop(name, SessionEnding.of(GatewayRedecider.APP_REMOVED, "admin:" + operator));
        LOG.info("run-time app removed app={} by={} sessions_ended={}", name, operator, ended);
        return deleted ? new Result(Outcome.DONE, "removed", ended)
                : new Result(Outcome.NOT_STORED, "app " + name + " was removed, but its file could not be "
                        + "deleted and would register it again at a restart; see the log", ended);
    }

    private synchronized int runtimeCount() {
        return registrations.size();
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    /** Processes every app that has expired, once each, then sets the timer for the next one. */
    // LIMITATION(L-772): once per process: a file app already expired at start is processed again.
    synchronized void check() {
        try {
            Instant now = gw.clock.instant();
            for (App app : policy.apps()) {
                if (app.expiredAt(now) && expired.add(app.name() + "@" + app.expires().get())) {
                    expire(app);
                }
            }
        } catch (RuntimeException e) {
            // The timer must outlive any one app; the router stops routing expired apps anyway.
            LOG.error("app expiry check failed error={}", e.toString(), e);
        }
        schedule();
    }

    private void expire(App app) {
        gw.audit.emit(gw.events.appExpired(app.name(), app.expires().get()));
        SessionEnding ending = SessionEnding.of(DecisionReason.APP_EXPIRED, "expiry");
        int ended;
        if (registrations.containsKey(app.name())) {
            try {
                store.delete(app.name());
            } catch (IOException e) {
                // Not routed either way; restored after a restart it expires again at once.
                LOG.warn("expired run-time app not removed from the store app={} error={}", app.name(),
                        e.toString());
                storeFailures.increment();
            }
            ended = drop(app.name(), ending);
        } else {
            ended = gw.sessions.end(s -> s.app().equals(app.name()), ending);
        }
        expiries.increment();
        LOG.info("app expired app={} expires={} sessions_ended={}", app.name(), app.expires().get(), ended);
    }

    /** Takes a run-time app out of the engine and the router, then ends its sessions. */
    private int drop(String name, SessionEnding ending) {
        registrations.remove(name);
        policy.deregister(name);
        rebuildRoutes();
        return gw.sessions.end(s -> s.app().equals(name), ending);
    }

    private void schedule() {
        Instant now = gw.clock.instant();
        Instant soonest = now.plus(MAX_SLEEP);
        for (App app : policy.apps()) {
            if (app.expires().isPresent() && app.expires().get().isBefore(soonest)
                    && !expired.contains(app.name() + "@" + app.expires().get())) {
                soonest = app.expires().get();
            }
        }
        if (next != null) {
            next.cancel(false);
        }
        // Nanoseconds: a delay rounded down would wake before the instant and check in vain.
        long delay = Math.max(0, Duration.between(now, soonest).toNanos());
        if (!timer.isShutdown()) {
            next = timer.schedule(this::check, delay, TimeUnit.NANOSECONDS);
        }
    }

    /** Every app the engine has, with where it comes from, for the admin API. */
    synchronized List<Map<String, Object>> describe() {
        Instant now = gw.clock.instant();
        List<Map<String, Object>> apps = new ArrayList<>();
        for (App app : policy.apps()) {
            Map<String, Object> d = new LinkedHashMap<>(AppStore.declaration(app));
            d.put("expired", app.expiredAt(now));
            Registration r = registrations.get(app.name());
            d.put("source", r == null ? "files" : "admin");
            if (r != null) {
                d.put("registered_by", r.registeredBy());
                d.put("registered_at", r.registeredAt().toString());
            }
            apps.add(d);
        }
        return apps;
    }
}
