package dev.pep.proxy.route;

import dev.pep.core.App;
import dev.pep.proxy.config.AppConfig;
import java.net.URI;
import java.util.Objects;

/**
 * An app and how to reach it: what the router hands the proxy for a host.
 *
 * @param app the app, as policy sees it
 * @param settings the app's limits and timeouts
 * @param target the upstream to connect to; for the built-in echo app, its loopback address
 */
public record Route(App app, AppConfig settings, URI target) {

    /** Validates. */
    public Route {
        Objects.requireNonNull(app, "app");
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(target, "target");
    }

    /** Whether the upstream speaks TLS. */
    public boolean tls() {
        return "https".equals(target.getScheme());
    }

    /** The upstream port, with the scheme's default. */
    public int port() {
        return target.getPort() > 0 ? target.getPort() : tls() ? 443 : 80;
    }

    /** The app's name. */
    public String name() {
        return app.name();
    }
}
