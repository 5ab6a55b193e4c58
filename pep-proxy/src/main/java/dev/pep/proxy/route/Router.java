package dev.pep.proxy.route;

import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * Maps a normalised host to its route. Exact names win over {@code *.} wildcards, which match
 * exactly one label. There is no default route: an unknown host has no route, and neither has
 * the host of an expired app, from the instant it expires. Immutable and thread-safe; a new
 * configuration makes a new router.
 */
public final class Router {

    private final HostMap<Route> hosts;
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
        HostMap.Builder<Route> byHost = HostMap.builder();
        for (Route r : routes) {
            for (String host : r.app().hosts()) {
                if (!byHost.put(host, r)) {
                    throw new IllegalArgumentException("host " + host + " has two routes");
                }
            }
        }
        this.hosts = byHost.build();
    }

    /** The route of a normalised host (lower case, no port, no trailing dot). */
    public Optional<Route> route(String host) {
        Route r = hosts.get(host).orElse(null);
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
