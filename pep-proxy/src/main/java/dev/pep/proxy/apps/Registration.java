package dev.pep.proxy.apps;

import dev.pep.core.App;
import java.time.Instant;
import java.util.Objects;

/**
 * An app registered through the admin API.
 *
 * @param app the app, checked by the policy files' rules
 * @param registeredBy the operator who registered it
 * @param registeredAt when
 */
public record Registration(App app, String registeredBy, Instant registeredAt) {

    /** Validates. */
    public Registration {
        Objects.requireNonNull(app, "app");
        Objects.requireNonNull(registeredBy, "registeredBy");
        Objects.requireNonNull(registeredAt, "registeredAt");
    }

    /** The app's name. */
    public String name() {
        return app.name();
    }
}
