package dev.pep.proxy.server;

import dev.pep.core.AuditEvent;
import dev.pep.core.AuditSink;
import dev.pep.proxy.session.LiveSession;
import dev.pep.proxy.session.SessionEnding;
import dev.pep.proxy.session.SessionRegistry;
import dev.pep.telemetry.audit.AuditRejectedException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Strict audit for live sessions: nothing flows on that the spool cannot record.
 *
 * <ul>
 *   <li>When the spool itself refuses an event ({@code spool_full}, {@code io_error}, or a
 *       failure of unknown kind), it cannot take the ending of any live session either, so
 *       every live session of every connection is ended with reason {@code audit_unavailable},
 *       whatever the event was (a decision, a login, a policy reload). Their
 *       {@code session.ended} events go into the spool's session-end reserve
 *       ({@code AuditConfig.sessionEndReserveBytes}).
 *   <li>When only the moment was wrong ({@code queue_full}: a burst outran the writer;
 *       {@code invalid_event}), the live sessions of the event's own partner connection are
 *       ended.
 * </ul>
 *
 * <p>The exchange of the event's own request is left to its handler, which awaits the same
 * stage and answers 503 {@code audit_unavailable} before anything is forwarded.
 *
 * <p>Thread-safe. The ending runs on the registry's thread, never on the audit writer's; one
 * ending of every session runs at a time, refusals meanwhile join it.
 */
final class StrictSessionAudit implements AuditSink {

    static final String REASON = "audit_unavailable";
    static final String ENDED_BY = "audit";

    private static final Logger LOG = LoggerFactory.getLogger(StrictSessionAudit.class);
    /** Refusals that say something about this one event or moment, not about the spool. */
    private static final Set<String> TRANSIENT = Set.of("queue_full", "invalid_event");

    private final AuditSink delegate;
    private final Supplier<SessionRegistry> sessions;
    private final AtomicBoolean endingAll = new AtomicBoolean();

    /** Wraps {@code delegate}; {@code sessions} may supply null until the registry exists. */
    StrictSessionAudit(AuditSink delegate, Supplier<SessionRegistry> sessions) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
    }

    @Override
    public CompletionStage<Void> emit(AuditEvent event) {
        CompletionStage<Void> recorded = delegate.emit(event);
        recorded.whenComplete((ok, error) -> {
            if (error != null) {
                refused(event, error);
            }
        });
        return recorded;
    }

    private void refused(AuditEvent event, Throwable error) {
        SessionRegistry registry = sessions.get();
        if (registry == null || registry.isClosed()) {
            return; // before start, or the gateway is stopping and ends every session itself
        }
        String reason = reason(error);
        String request = event.requestId();
        if (TRANSIENT.contains(reason)) {
            String connection = event.sessionId();
            if (!connection.isEmpty()) {
                end(registry, s -> s.connectionId().equals(connection) && !s.id().equals(request),
                        event, reason);
            }
            return;
        }
        if (endingAll.compareAndSet(false, true)) {
            end(registry, s -> !s.id().equals(request), event, reason)
                    .whenComplete((n, e) -> endingAll.set(false));
        }
    }

    private CompletionStage<Integer> end(SessionRegistry registry, Predicate<LiveSession> which,
            AuditEvent event, String reason) {
        return registry.endAsync(which, SessionEnding.of(REASON, ENDED_BY)).thenApply(ended -> {
            // Counted by pep_sessions_revoked_total{trigger="audit"} (SessionEvents).
            if (ended > 0) {
                LOG.warn("audit refused an event, live sessions ended session={} event={} reason={} ended={}",
                        event.sessionId(), event.type(), reason, ended);
            }
            return ended;
        });
    }

    /** The pipeline's refusal code; {@code unknown} for a failure that carries none. */
    private static String reason(Throwable error) {
        Throwable e = error instanceof CompletionException && error.getCause() != null
                ? error.getCause() : error;
        return e instanceof AuditRejectedException r ? r.reason() : "unknown";
    }
}
