package dev.pep.core;

import java.time.Duration;
import java.util.Objects;

/**
 * Something the gateway must do when it enforces an allow.
 *
 * <p>A sealed family so the enforcer can be checked for completeness: an obligation the
 * enforcer cannot apply turns the allow into a deny.
 */
public sealed interface Obligation {

    /** Only safe methods (GET, HEAD, OPTIONS) may reach the app for the rest of the session. */
    record ReadOnly() implements Obligation {
    }

    /**
     * The session ends at most this long after it started.
     *
     * @param limit positive
     */
    record MaxSessionLength(Duration limit) implements Obligation {
        /** Validates. */
        public MaxSessionLength {
            requirePositive(limit, "max session length");
        }
    }

    /**
     * The session is re-decided at least this often.
     *
     * @param interval positive
     */
    record Reevaluate(Duration interval) implements Obligation {
        /** Validates. */
        public Reevaluate {
            requirePositive(interval, "re-evaluation interval");
        }
    }

    /**
     * A header the gateway sets on the request to the app, replacing any of that name.
     *
     * @param name a header name (a token)
     * @param value the value; the gateway removes a client-sent header of this name first
     */
    record SetHeader(String name, String value) implements Obligation {
        /** Validates. */
        public SetHeader {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            if (!name.matches("[A-Za-z0-9!#$%&'*+.^`|~-]+")) {
                throw new IllegalArgumentException("not a header name: " + name);
            }
            if (value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0 || value.indexOf(0) >= 0) {
                throw new IllegalArgumentException("header value has CR, LF or NUL: " + name);
            }
        }
    }

    private static void requirePositive(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " must be positive: " + d);
        }
    }
}
