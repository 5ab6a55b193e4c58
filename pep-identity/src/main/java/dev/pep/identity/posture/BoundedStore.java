package dev.pep.identity.posture;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

/**
 * A concurrent map whose entries end after an idle time and whose size is bounded: when full,
 * expired entries go first, then the least recently used ones. Thread-safe.
 *
 * @param <V> the value type
 */
final class BoundedStore<V> {

    private final ConcurrentHashMap<String, Entry<V>> entries = new ConcurrentHashMap<>();
    private final int maxEntries;
    private final Duration idle;

    BoundedStore(int maxEntries, Duration idle) {
        if (maxEntries <= 0) {
            throw new IllegalArgumentException("maxEntries must be positive: " + maxEntries);
        }
        this.maxEntries = maxEntries;
        this.idle = idle;
    }

    /** The live value under {@code key}, touched; null when absent or expired. */
    V get(String key, Instant now) {
        Entry<V> e = entries.get(key);
        if (e == null) {
            return null;
        }
        if (e.expired(now, idle)) {
            entries.remove(key, e);
            return null;
        }
        e.lastUsed = now;
        return e.value;
    }

    /**
     * Atomically computes the value under {@code key} from the live one (null when none) and
     * returns it.
     */
    V compute(String key, Instant now, BiFunction<String, V, V> update) {
        Entry<V> result = entries.compute(key, (k, old) -> {
            V live = old == null || old.expired(now, idle) ? null : old.value;
            V next = update.apply(k, live);
            return next == null ? null : new Entry<>(next, now);
        });
        if (entries.size() > maxEntries) {
            evict(now);
        }
        return result == null ? null : result.value;
    }

    /** Removes the entry under {@code key}. */
    void remove(String key) {
        entries.remove(key);
    }

    int size() {
        return entries.size();
    }

    private void evict(Instant now) {
        entries.entrySet().removeIf(e -> e.getValue().expired(now, idle));
        // Still full: drop the least recently used tenth, so eviction is rare.
        int excess = entries.size() - maxEntries + maxEntries / 10;
        if (excess <= 0) {
            return;
        }
        entries.entrySet().stream()
                .sorted(Map.Entry.comparingByValue((a, b) -> a.lastUsed.compareTo(b.lastUsed)))
                .limit(excess)
                .map(Map.Entry::getKey)
                .toList()
                .forEach(entries::remove);
    }

    static final class Entry<V> {
        final V value;
        volatile Instant lastUsed;

        Entry(V value, Instant now) {
            this.value = value;
            this.lastUsed = now;
        }

        boolean expired(Instant now, Duration idle) {
            return now.isAfter(lastUsed.plus(idle));
        }
    }
}
