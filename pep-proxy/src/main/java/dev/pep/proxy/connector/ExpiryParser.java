package dev.pep.proxy.connector;

import dev.pep.proxy.config.Units;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/** Reads an enrolment expiry: an instant ({@code 2027-01-31T00:00:00Z}) or a duration from now ({@code 30d}). */
public final class ExpiryParser {

    private ExpiryParser() {
    }

    /**
     * The expiry {@code text} names, relative to {@code now} when it is a duration.
     *
     * @throws IllegalArgumentException naming what was expected
     */
    public static Instant parse(String text, Instant now) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            try {
                return now.plus(Units.duration(text));
            } catch (IllegalArgumentException d) {
                throw new IllegalArgumentException("invalid expiry '" + text
                        + "'; expected an instant such as 2027-01-31T00:00:00Z or a duration such as 30d");
            }
        }
    }
}
