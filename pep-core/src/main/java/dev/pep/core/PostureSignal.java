package dev.pep.core;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * One fact about a device, with where it came from and when it was assessed.
 *
 * @param name the signal's name in policy, for example {@code managed} or {@code os.version}
 * @param value a string, number or boolean
 * @param source the provider that assessed it, for example {@code device-certificate}
 * @param assessedAt when the provider assessed it; stale posture is no posture
 */
public record PostureSignal(String name, Object value, String source, Instant assessedAt) {

    /** Validates. */
    public PostureSignal {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(assessedAt, "assessedAt");
    }

    /** How old this signal is at {@code now}; never negative. */
    public Duration age(Instant now) {
        Duration age = Duration.between(assessedAt, now);
        return age.isNegative() ? Duration.ZERO : age;
    }
}
