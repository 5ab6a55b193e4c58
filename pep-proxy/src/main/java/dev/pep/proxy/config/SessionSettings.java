package dev.pep.proxy.config;

import java.time.Duration;

/**
 * How live sessions are kept decided.
 *
 * @param redecideInterval every live session is decided again at least this often, whatever
 *     its rule says; a rule's {@code reevaluate} can ask for more often
 * @param checkInterval how often the registry looks for limits and re-decisions that are due;
 *     a session's maximum length and its app's expiry are enforced to within this
 */
public record SessionSettings(Duration redecideInterval, Duration checkInterval) {

    static final SessionSettings DEFAULT = new SessionSettings(null, null);

    /** Applies defaults. */
    public SessionSettings {
        redecideInterval = redecideInterval == null ? Duration.ofSeconds(60) : redecideInterval;
        checkInterval = checkInterval == null ? Duration.ofSeconds(1) : checkInterval;
    }
}
