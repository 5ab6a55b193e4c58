package dev.pep.proxy.route;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Maps a normalised host to its route. Exact names win over {@code *.} wildcards, which match
 * exactly one label. There is no default route: an unknown host has no route. Immutable and
 * thread-safe; a new configuration makes a new router.
 */
public final class Router {

    private final Map<String, Route> exact = new HashMap<>();
    private final Map<String, Route> wildcard = new HashMap<>();
    private final List<Route> routes;

    /** A router over those routes; hosts must be unique across them. */
    public Router(List<Route> routes) {
        this.routes = List.copyOf(routes);
        for (Route r : routes) {
            for (String host : r.app().hosts()) {
                Map<String, Route> target = host.startsWith("*.") ? wildcard : exact;
                String key = host.startsWith("*.") ? host.substring(2) : host;
                if (target.putIfAbsent(key, r) != null) {
                    throw new IllegalArgumentException("host " + host + " has two routes");
                }
            }
        }
    }

    /** The route of a normalised host (lower case, no port, no trailing dot). */
    public Optional<Route> route(String host) {
        Route r = exact.get(host);
        if (r == null) {
            int dot = host.indexOf('.');
            r = dot > 0 ? wildcard.get(host.substring(dot + 1)) : null;
        }
        return Optional.ofNullable(r);
    }

    /** Every route. */
    public List<Route> routes() {
        return routes;
    }
}
