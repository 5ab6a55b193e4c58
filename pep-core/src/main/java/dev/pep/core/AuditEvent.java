package dev.pep.core;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One audit record: who did what, where, and what the gateway made of it.
 *
 * <p>Never carries a secret: tokens appear only as a short hash or their {@code jti}.
 *
 * @param id unique id, used by sinks to de-duplicate
 * @param type the event type, for example {@code decision} or {@code session.ended}
 * @param time when it happened, UTC
 * @param instance the gateway instance that emitted it
 * @param sessionId the session it belongs to; empty when none
 * @param requestId the request it belongs to; empty when none
 * @param fields the type's own fields: strings, numbers, booleans, lists and maps of them
 */
public record AuditEvent(
        String id,
        String type,
        Instant time,
        String instance,
        String sessionId,
        String requestId,
        Map<String, Object> fields) {

    /** The version of the audit schema these events follow. */
    public static final int SCHEMA_VERSION = 1;

    /** Validates and copies. */
    public AuditEvent {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(instance, "instance");
        Objects.requireNonNull(sessionId, "sessionId");
        Objects.requireNonNull(requestId, "requestId");
        fields = Map.copyOf(fields);
    }
}
