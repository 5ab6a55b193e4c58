package dev.pep.proxy.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the durations ({@code 250ms}, {@code 10s}, {@code 5m}, {@code 8h}) and sizes of config files. */
public final class Units {

    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");
    private static final Pattern SIZE = Pattern.compile("(\\d{1,12})(B|KiB|MiB|GiB)?");

    private Units() {
    }

    /** A duration such as {@code 10s}; throws with what was expected otherwise. */
    public static Duration duration(String text) {
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    "expected a duration such as 250ms, 10s, 5m, 8h or 1d, got '" + text + "'");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
    }

    /** A size in bytes such as {@code 8KiB}, {@code 10MiB} or {@code 512}; throws otherwise. */
    static long size(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    "expected a size such as 512, 8KiB, 10MiB or 1GiB, got '" + text + "'");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2);
        return switch (unit.toUpperCase(Locale.ROOT)) {
            case "KIB" -> n << 10;
            case "MIB" -> n << 20;
            case "GIB" -> n << 30;
            default -> n;
        };
    }
}
