package dev.pep.telemetry.audit;

/** How the audit pipeline trades availability against completeness. */
public enum AuditMode {
    /**
     * No event is lost silently: an emitted stage completes only once the event is fsynced in
     * the spool, and fails when the queue or the spool is full, so the gateway refuses (503)
     * what it cannot record.
     */
    STRICT,
    /**
     * The gateway never waits for audit: a stage completes once the event is queued; when the
     * queue or the spool is full events are dropped, counted, and a {@code audit.gap} event
     * records how many.
     */
    BEST_EFFORT
}
