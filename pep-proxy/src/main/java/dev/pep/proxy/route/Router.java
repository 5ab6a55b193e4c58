package dev.pep.proxy.route;

import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Maps a normalised host to its route. Exact names win over {@code *.} wildcards, which match
 * exactly one label. There is no default route: an unknown host has no route, and neither has
 * the host of an expired app, from the instant it expires. Immutable and thread-safe; a new
 * configuration makes a new router.
 */
public final class Router {

    private final Map<String, Route> exact = new HashMap<>();
    private final Map<String, Route> wildcard = new HashMap<>();
    private final List<Route> routes;
    private final Clock clock;

    /** A router over those routes on the system clock; hosts must be unique across them. */
    public Router(List<Route> routes) {
        this(routes, Clock.systemUTC());
    }

    /** A router over those routes; an app expires by {@code clock}. */
    public Router(List<Route> routes, Clock clock) {
        this.routes = List.copyOf(routes);
        this.clock = clock;
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
        if (r != null && r.app().expires().isPresent() && r.app().expiredAt(clock.instant())) {
            // Expired is gone, whether or not its expiry has been processed yet.
            return Optional.empty();
        }
        return Optional.ofNullable(r);
    }

    /** Every route. */
    public List<Route> routes() {
        return routes;
    }
}
