package dev.pep.policy;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the durations of policy files: {@code 90s}, {@code 15m}, {@code 8h}, {@code 1d12h}. */
final class Durations {

    private static final Pattern FORMAT =
            Pattern.compile("(?:(\\d+)d)?(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?");

    private Durations() {
    }

    /**
     * The duration, positive.
     *
     * @throws IllegalArgumentException if the text is not a positive duration
     */
    static Duration parse(String text) {
        Matcher m = FORMAT.matcher(text);
        if (text.isEmpty() || !m.matches()) {
            throw new IllegalArgumentException("expected a duration such as 90s, 15m, 8h or 1d12h");
        }
        Duration d = Duration.ofDays(number(m.group(1))).plusHours(number(m.group(2)))
                .plusMinutes(number(m.group(3))).plusSeconds(number(m.group(4)));
        if (d.isZero()) {
            throw new IllegalArgumentException("expected a positive duration");
        }
        return d;
    }

    private static long number(String group) {
        return group == null ? 0 : Long.parseLong(group);
    }
}
