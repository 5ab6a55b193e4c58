package dev.pep.telemetry.audit;

import java.util.Objects;

/**
 * One audit event as the spool holds it: its place in the chain and its canonical JSON line.
 *
 * @param seq its position in its gateway's chain, from 1
 * @param id the event's unique id, for de-duplication by receivers
 * @param timeMillis the event's time, epoch milliseconds
 * @param json the canonical JSON line, without a line terminator
 */
public record SpooledEvent(long seq, String id, long timeMillis, String json) {

    /** Validates. */
    public SpooledEvent {
        if (seq < 1) {
            throw new IllegalArgumentException("seq starts at 1: " + seq);
        }
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(json, "json");
    }
}
