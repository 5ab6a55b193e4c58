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
     * The session ends once it carried no bytes, in either direction, for this long.
     *
     * @param limit positive
     */
    record IdleLimit(Duration limit) implements Obligation {
        /** Validates. */
        public IdleLimit {
            requirePositive(limit, "idle limit");
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

    /**
     * A short-lived signed assertion of the subject, sent to the app in a header: a JWT signed
     * by the gateway's own key, with the app as its audience. The gateway removes a client-sent
     * header of this name, in every spelling, first.
     *
     * @param header the header name (a token)
     * @param lifetime how long the assertion is valid; positive, at most {@link #MAX_ASSERTION}
     */
    record IdentityAssertion(String header, Duration lifetime) implements Obligation {
        /** The longest lifetime an assertion may have. */
        public static final Duration MAX_ASSERTION = Duration.ofMinutes(15);
        /** The header used when a rule names none. */
        public static final String DEFAULT_HEADER = "X-Pep-Assertion";

        /** Validates. */
        public IdentityAssertion {
            Objects.requireNonNull(header, "header");
            if (!header.matches("[A-Za-z0-9!#$%&'*+.^`|~-]+")) {
                throw new IllegalArgumentException("not a header name: " + header);
            }
            requirePositive(lifetime, "assertion lifetime");
            if (lifetime.compareTo(MAX_ASSERTION) > 0) {
                throw new IllegalArgumentException("assertion lifetime above " + MAX_ASSERTION
                        + ": " + lifetime);
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
