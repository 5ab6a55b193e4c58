package dev.pep.policy;

import dev.pep.core.AccessRequest;
import dev.pep.core.App;
import dev.pep.core.Decision;
import dev.pep.core.PolicyEngine;
import dev.pep.core.PolicyVersion;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The built-in policy engine: apps and rules from a directory of YAML files, conditions in CEL.
 *
 * <p>Deny overrides allow; no matching rule denies ({@code no_matching_rule}); an evaluation
 * error denies ({@code evaluation_error}); an app the policy does not declare is denied
 * ({@code unknown_app}), an expired one too ({@code app_expired}).
 *
 * <p>Apps come from the files and, through {@link #register}, at run time; rules select run-time
 * apps by their labels ({@code app-labels}) or apply to every app.
 *
 * <p>Thread-safe. Each decision reads one immutable compiled set, swapped atomically on reload,
 * so a decision is made wholly by one version. An invalid reload keeps the running version and
 * reports its errors to the listeners.
 */
public final class DefaultPolicyEngine implements PolicyEngine, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DefaultPolicyEngine.class);

    private final Path dir;
    private final AtomicReference<PolicySet> current;
    private final List<PolicyListener> listeners = new CopyOnWriteArrayList<>();
    private final Object reloadLock = new Object();
    private volatile PolicyVersion lastSeen;
    private ScheduledExecutorService watcher;

    private DefaultPolicyEngine(Path dir, PolicySet set) {
        this.dir = dir;
        this.current = new AtomicReference<>(set);
        this.lastSeen = set.version();
    }

    /**
     * Loads a policy directory.
     *
     * @param dir a directory holding {@code *.yaml} policy files
     * @return the engine, or every error of the load with file, line and column
     */
    public static PolicyLoadResult load(Path dir) {
        Objects.requireNonNull(dir, "dir");
        PolicyLoader.Outcome outcome = PolicyLoader.load(dir);
        if (outcome.set() == null) {
            return new PolicyLoadResult.Failed(outcome.errors());
        }
        return new PolicyLoadResult.Loaded(new DefaultPolicyEngine(dir, outcome.set()));
    }

    @Override
    public Decision decide(AccessRequest request) {
        return current.get().decide(request);
    }

    /** Decides and tells why: every rule considered for the app and each term's result. */
    public Explanation explain(AccessRequest request) {
        return current.get().explain(request);
    }

    @Override
    public PolicyVersion version() {
        return current.get().version();
    }

    /** The apps of the running version, in declaration order. */
    public List<App> apps() {
        return current.get().apps();
    }

    /**
     * Per app of the running version, a digest of what decides its requests (the app and its
     * rules); an app whose digest is the same in two versions is decided alike by both.
     */
    public Map<String, String> appFingerprints() {
        return current.get().fingerprints();
    }

    /** Whether the running version's app of that name comes from the policy files. */
    public boolean declaredInFiles(String app) {
        return current.get().declaredInFiles(app);
    }

    /** The apps registered at run time, in registration order. */
    public List<App> runtimeApps() {
        return List.copyOf(current.get().runtimeApps().values());
    }

    /**
     * Adds an app at run time, beside the files' apps: it is decided by the rules that select it
     * (by label, or rules for every app), and later reloads keep it. The policy version stays.
     *
     * @return empty when added; otherwise why not (its name or a host is taken), and nothing
     *     changed
     */
    // LIMITATION(L-773): the policy version does not change when run-time apps do.
    public Optional<String> register(App app) {
        Objects.requireNonNull(app, "app");
        synchronized (reloadLock) {
            PolicySet running = current.get();
            Optional<String> conflict = running.conflict(app);
            if (conflict.isEmpty()) {
                Map<String, App> runtime = new LinkedHashMap<>(running.runtimeApps());
                runtime.put(app.name(), app);
                current.set(running.withRuntimeApps(runtime));
                LOG.info("app registered app={} hosts={} version={}", app.name(), app.hosts(),
                        running.version());
            }
            return conflict;
        }
    }

    /**
     * Removes an app registered at run time.
     *
     * @return false, changing nothing, when no run-time app has that name (files' apps included)
     */
    public boolean deregister(String app) {
        synchronized (reloadLock) {
            PolicySet running = current.get();
            if (!running.runtimeApps().containsKey(app)) {
                return false;
            }
            Map<String, App> runtime = new LinkedHashMap<>(running.runtimeApps());
            runtime.remove(app);
            current.set(running.withRuntimeApps(runtime));
            LOG.info("app deregistered app={} version={}", app, running.version());
            return true;
        }
    }

    /** Registers a listener for version changes and refused reloads. */
    public void addListener(PolicyListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /** Removes a listener; no-op when it was not registered. */
    public void removeListener(PolicyListener listener) {
        listeners.remove(listener);
    }

    /**
     * Reloads the directory now.
     *
     * @return the errors of the reload, empty when the directory was valid (changed or not)
     */
    public List<PolicyError> reload() {
        synchronized (reloadLock) {
            PolicySet running = current.get();
            PolicyLoader.Outcome outcome = PolicyLoader.load(dir, running.runtimeApps());
            if (outcome.version() != null) {
                lastSeen = outcome.version();
            }
            if (outcome.set() == null) {
                LOG.warn("policy reload refused dir={} errors={} running_version={}", dir,
                        outcome.errors().size(), running.version());
                listeners.forEach(l -> notify(() -> l.reloadRefused(running.version(),
                        outcome.errors())));
                return outcome.errors();
            }
            if (!outcome.set().version().equals(running.version())) {
                current.set(outcome.set());
                LOG.info("policy reloaded dir={} version={} previous={}", dir,
                        outcome.set().version(), running.version());
                listeners.forEach(l -> notify(() -> l.versionChanged(running.version(),
                        outcome.set().version())));
            }
            return List.of();
        }
    }

    /**
     * Starts polling the directory; a changed content is reloaded. No-op if already watching.
     *
     * @param interval how often to look; a file's content, not its timestamp, counts
     */
    public synchronized void startWatching(Duration interval) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("watch interval must be positive: " + interval);
        }
        if (watcher != null) {
            return;
        }
        watcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pep-policy-watcher");
            t.setDaemon(true);
            return t;
        });
        long millis = Math.max(1, interval.toMillis());
        watcher.scheduleWithFixedDelay(this::poll, millis, millis, TimeUnit.MILLISECONDS);
    }

    /** Stops polling; the running version keeps deciding. */
    public synchronized void stopWatching() {
        if (watcher != null) {
            watcher.shutdownNow();
            watcher = null;
        }
    }

    /** Stops the watcher. */
    @Override
    public void close() {
        stopWatching();
    }

    private void poll() {
        try {
            PolicyVersion seen = PolicyLoader.fingerprint(dir);
            if (seen != null && !seen.equals(lastSeen)) {
                reload();
            }
        } catch (RuntimeException e) {
            LOG.warn("policy watch failed dir={} error={}", dir, e.toString());
        }
    }

    private static void notify(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            LOG.warn("policy listener failed error={}", e.toString());
        }
    }
}
