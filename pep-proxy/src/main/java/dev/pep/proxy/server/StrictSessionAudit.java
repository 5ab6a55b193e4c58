package dev.pep.proxy.server;

import dev.pep.core.AuditEvent;
import dev.pep.core.AuditSink;
import dev.pep.proxy.session.SessionEnding;
import dev.pep.proxy.session.SessionRegistry;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Strict audit for live sessions: when the spool refuses an event that belongs to a partner
 * session (spool full, I/O error, pipeline stopped), every other live session of that partner
 * connection is ended with reason {@code audit_unavailable}, since in strict mode nothing flows
 * on unrecorded; the request the event belongs to is answered 503 by its own handler. Events
 * without a session pass through as they are.
 *
 * <p>Thread-safe. The ending runs on the registry's thread, never on the audit writer's.
 */
final class StrictSessionAudit implements AuditSink {

    static final String REASON = "audit_unavailable";
    static final String ENDED_BY = "audit";

    private static final Logger LOG = LoggerFactory.getLogger(StrictSessionAudit.class);

    private final AuditSink delegate;
    private final Supplier<SessionRegistry> sessions;

    /** Wraps {@code delegate}; {@code sessions} may supply null until the registry exists. */
    StrictSessionAudit(AuditSink delegate, Supplier<SessionRegistry> sessions) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
    }

    // LIMITATION(L-315): a live session that emits no event is not ended while the spool is full.
    @Override
    public CompletionStage<Void> emit(AuditEvent event) {
        CompletionStage<Void> recorded = delegate.emit(event);
        if (!event.sessionId().isEmpty()) {
            recorded.whenComplete((ok, error) -> {
                if (error != null) {
                    refused(event, error);
                }
            });
        }
        return recorded;
    }

    private void refused(AuditEvent event, Throwable error) {
        SessionRegistry registry = sessions.get();
        if (registry == null) {
            return;
        }
        String connection = event.sessionId();
        String request = event.requestId();
        if (registry.isClosed()) {
            return; // the gateway is stopping and ends every session itself
        }
        // The exchange of the event's own request is left to its handler, which awaits the same
        // stage and answers 503 audit_unavailable before anything is forwarded.
        registry.endAsync(s -> s.connectionId().equals(connection) && !s.id().equals(request),
                        SessionEnding.of(REASON, ENDED_BY))
                .thenAccept(ended -> {
                    // Counted by pep_sessions_revoked_total{trigger="audit"} (SessionEvents).
                    if (ended > 0) {
                        LOG.warn("audit refused an event, live sessions ended session={} event={} ended={} error={}",
                                connection, event.type(), ended, error.toString());
                    }
                });
    }
}
