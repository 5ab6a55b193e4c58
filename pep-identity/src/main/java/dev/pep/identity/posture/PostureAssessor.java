package dev.pep.identity.posture;

import dev.pep.core.Credentials;
import dev.pep.core.DevicePosture;
import dev.pep.core.PostureProvider;
import dev.pep.core.PostureSignal;
import dev.pep.core.Subject;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Assesses a request's device: runs the providers selected for its app and partner concurrently,
 * waits at most the deadline, and merges what came back into one {@link DevicePosture}. A
 * provider that is late or fails contributes nothing: its signals are absent, never assumed.
 *
 * <p>Merging, in configuration order: {@code managed} is false when any provider says false,
 * else the freshest true; a status signal is {@code valid} when any provider of that kind found
 * valid evidence, else the first; any other name keeps the first provider's signal.
 *
 * <p>Remembers the last posture of each session and app (bounded) and tells the
 * {@link PostureListener}s when it changes. Thread-safe; never blocks the caller, and the
 * returned future completes by the deadline at the latest.
 */
public final class PostureAssessor {

    private static final Logger LOG = LoggerFactory.getLogger(PostureAssessor.class);

    private final List<Selected> providers;
    private final Duration deadline;
    private final DeviceBindings bindings;
    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private final BoundedStore<DevicePosture> last;
    private final List<PostureListener> listeners = new CopyOnWriteArrayList<>();

    /**
     * An assessor.
     *
     * @param providers the providers, in configuration order, each with where it applies
     * @param deadline how long an assessment may take in all
     * @param bindings names the session of a request
     * @param scheduler fires the deadline
     * @param clock the time of change events
     * @param maxSessions the most sessions whose last posture is remembered
     */
    public PostureAssessor(List<Selected> providers, Duration deadline, DeviceBindings bindings,
            ScheduledExecutorService scheduler, Clock clock, int maxSessions) {
        this.providers = List.copyOf(providers);
        if (deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("deadline must be positive: " + deadline);
        }
        this.deadline = deadline;
        this.bindings = Objects.requireNonNull(bindings, "bindings");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.last = new BoundedStore<>(maxSessions, Duration.ofHours(12));
    }

    /** Registers a listener for posture changes. */
    public void addListener(PostureListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /** Removes a listener; no-op when it was not registered. */
    public void removeListener(PostureListener listener) {
        listeners.remove(listener);
    }

    /** The deadline of one assessment. */
    public Duration deadline() {
        return deadline;
    }

    /**
     * Assesses the device behind a request for {@code app}. Completes on a provider or scheduler
     * thread, by the deadline at the latest; never completes exceptionally.
     */
    public CompletableFuture<Assessment> assess(Subject subject, Credentials credentials,
            String app) {
        List<Selected> chosen = providers.stream().filter(p -> p.appliesTo(app, subject)).toList();
        if (chosen.isEmpty()) {
            return CompletableFuture.completedFuture(
                    new Assessment(DevicePosture.unknown(), Map.of()));
        }
        List<CompletableFuture<Result>> results = new ArrayList<>(chosen.size());
        for (Selected s : chosen) {
            results.add(start(s.provider(), subject, credentials));
        }
        ScheduledFuture<?> timer = scheduler.schedule(() -> results.forEach(
                r -> r.complete(Result.TIMED_OUT)), deadline.toMillis(), TimeUnit.MILLISECONDS);
        return CompletableFuture.allOf(results.toArray(new CompletableFuture<?>[0]))
                .thenApply(done -> {
                    timer.cancel(false);
                    return finish(chosen, results, subject, credentials, app);
                });
    }

    private static CompletableFuture<Result> start(PostureProvider provider, Subject subject,
            Credentials credentials) {
        CompletableFuture<Result> result = new CompletableFuture<>();
        try {
            provider.assess(subject, credentials).whenComplete((signals, error) ->
                    result.complete(error == null && signals != null ? new Result(
                            Assessment.OK, signals) : failed(provider, error)));
        } catch (RuntimeException e) {
            result.complete(failed(provider, e));
        }
        return result;
    }

    private static Result failed(PostureProvider provider, Throwable error) {
        LOG.warn("posture provider failed provider={} error={}", provider.name(),
                error == null ? "no result" : error.getClass().getName());
        return Result.FAILED;
    }

    private Assessment finish(List<Selected> chosen, List<CompletableFuture<Result>> results,
            Subject subject, Credentials credentials, String app) {
        Map<String, String> outcomes = new LinkedHashMap<>();
        List<PostureSignal> all = new ArrayList<>();
        for (int i = 0; i < chosen.size(); i++) {
            Result r = results.get(i).join();
            outcomes.put(chosen.get(i).provider().name(), r.outcome());
            all.addAll(r.signals());
            if (r == Result.TIMED_OUT) {
                LOG.debug("posture provider late provider={} deadline_ms={}",
                        chosen.get(i).provider().name(), deadline.toMillis());
            }
        }
        DevicePosture posture = merge(all);
        track(subject, credentials, app, posture);
        return new Assessment(posture, outcomes);
    }

    /** Merges signals given in configuration order; see the class comment for the rules. */
    static DevicePosture merge(List<PostureSignal> signals) {
        Map<String, PostureSignal> out = new LinkedHashMap<>();
        for (PostureSignal s : signals) {
            PostureSignal kept = out.get(s.name());
            if (kept == null || replaces(s, kept)) {
                out.put(s.name(), s);
            }
        }
        return new DevicePosture(out);
    }

    private static boolean replaces(PostureSignal candidate, PostureSignal kept) {
        if (candidate.name().equals(PostureSignals.MANAGED)) {
            boolean keptTrue = Boolean.TRUE.equals(kept.value());
            boolean candidateTrue = Boolean.TRUE.equals(candidate.value());
            // Any provider saying "not managed" wins: fail closed on disagreement.
            return keptTrue && !candidateTrue
                    || keptTrue && candidate.assessedAt().isAfter(kept.assessedAt());
        }
        if (PostureSignals.isStatus(candidate.name())) {
            return PostureSignals.VALID.equals(candidate.value())
                    && !PostureSignals.VALID.equals(kept.value());
        }
        return false;
    }

    private void track(Subject subject, Credentials credentials, String app,
            DevicePosture posture) {
        String sessionKey = bindings.sessionKey(subject, credentials);
        DevicePosture[] previous = new DevicePosture[1];
        last.compute(sessionKey + "\n" + app, clock.instant(), (k, old) -> {
            previous[0] = old;
            return posture;
        });
        if (previous[0] == null || content(previous[0]).equals(content(posture))) {
            return;
        }
        PostureChange change = new PostureChange(sessionKey, app, subject, previous[0], posture,
                clock.instant());
        for (PostureListener l : listeners) {
            try {
                l.postureChanged(change);
            } catch (RuntimeException e) {
                LOG.warn("posture listener failed error={}", e.toString());
            }
        }
    }

    /** A posture's values and sources without their times: what a change is measured on. */
    private static Map<String, List<Object>> content(DevicePosture posture) {
        Map<String, List<Object>> out = new java.util.HashMap<>();
        posture.signals().forEach((n, s) -> out.put(n, List.of(s.value(), s.source())));
        return out;
    }

    /**
     * A provider and where it applies.
     *
     * @param provider the provider
     * @param apps the app names it runs for; empty for every app
     * @param partners the subject organisations it runs for; empty for every subject
     */
    public record Selected(PostureProvider provider, Set<String> apps, Set<String> partners) {

        /** Validates and copies. */
        public Selected {
            Objects.requireNonNull(provider, "provider");
            apps = Set.copyOf(apps);
            partners = Set.copyOf(partners);
        }

        /** A provider that runs for every request. */
        public static Selected always(PostureProvider provider) {
            return new Selected(provider, Set.of(), Set.of());
        }

        boolean appliesTo(String app, Subject subject) {
            return (apps.isEmpty() || apps.contains(app))
                    && (partners.isEmpty() || partners.contains(subject.organisation()));
        }
    }

    private record Result(String outcome, List<PostureSignal> signals) {
        static final Result TIMED_OUT = new Result(Assessment.TIMEOUT, List.of());
        static final Result FAILED = new Result(Assessment.FAILED, List.of());
    }
}
