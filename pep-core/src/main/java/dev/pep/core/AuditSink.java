package dev.pep.core;

import java.util.concurrent.CompletionStage;

/**
 * Receives audit events.
 *
 * <p>Thread-safe; never blocks the caller. The returned stage completes when the event is
 * durably recorded (for a spooling sink: on disk) and fails when it cannot be; a gateway in
 * strict audit mode forwards nothing whose event failed.
 */
public interface AuditSink {

    /** Records one event. */
    CompletionStage<Void> emit(AuditEvent event);
}
