package dev.pep.proxy.route;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Values by host name, looked up the way the gateway routes: an exact name wins over a
 * {@code *.} wildcard, which matches exactly one label ({@code *.example.org} matches
 * {@code a.example.org}, not {@code example.org} nor {@code a.b.example.org}). Keys are
 * normalised host names (lower case, no port, no trailing dot). Immutable and thread-safe once
 * built.
 *
 * @param <V> what a host leads to
 */
public final class HostMap<V> {

    private final Map<String, V> exact;
    private final Map<String, V> wildcard;

    private HostMap(Map<String, V> exact, Map<String, V> wildcard) {
        this.exact = Map.copyOf(exact);
        this.wildcard = Map.copyOf(wildcard);
    }

    /** A builder of an empty map. */
    public static <V> Builder<V> builder() {
        return new Builder<>();
    }

    /** The value of a normalised host: its exact entry, else the wildcard of its parent. */
    public Optional<V> get(String host) {
        V v = exact.get(host);
        if (v == null) {
            int dot = host.indexOf('.');
            v = dot > 0 ? wildcard.get(host.substring(dot + 1)) : null;
        }
        return Optional.ofNullable(v);
    }

    /** Whether no host has a value. */
    public boolean isEmpty() {
        return exact.isEmpty() && wildcard.isEmpty();
    }

    /** Collects entries; not thread-safe. */
    public static final class Builder<V> {
        private final Map<String, V> exact = new HashMap<>();
        private final Map<String, V> wildcard = new HashMap<>();

        private Builder() {
        }

        /**
         * Adds a host name or a {@code *.} wildcard.
         *
         * @return false, adding nothing, when that name already has a value
         */
        public boolean put(String host, V value) {
            boolean wild = host.startsWith("*.");
            Map<String, V> target = wild ? wildcard : exact;
            return target.putIfAbsent(wild ? host.substring(2) : host, value) == null;
        }

        /** The map. */
        public HostMap<V> build() {
            return new HostMap<>(exact, wildcard);
        }
    }
}
