package dev.pep.telemetry.trace;

import java.util.Map;
import java.util.Objects;

/**
 * The gateway's span of one request, finished: a SERVER span from the request head to the end
 * of the exchange.
 *
 * @param context its trace context
 * @param name for example {@code GET logistics}
 * @param startNanos start, epoch nanoseconds
 * @param endNanos end, epoch nanoseconds
 * @param attributes string or long values only; never a secret
 * @param error whether the exchange failed (a 5xx from the gateway or the app)
 */
public record RequestSpan(TraceContext context, String name, long startNanos, long endNanos,
        Map<String, Object> attributes, boolean error) {

    /** Validates and copies. */
    public RequestSpan {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(name, "name");
        attributes = Map.copyOf(attributes);
        for (Object v : attributes.values()) {
            if (!(v instanceof String) && !(v instanceof Long)) {
                throw new IllegalArgumentException("span attribute is not a string or long: " + v);
            }
        }
    }
}
