package dev.pep.telemetry.audit;

/**
 * An audit event the pipeline did not record: its queue or spool is full, it is not running,
 * or the event cannot be encoded. In strict mode the gateway answers 503 to what caused it.
 */
public final class AuditRejectedException extends RuntimeException {

    /** Why it was rejected, as a stable lower-case code. */
    private final String reason;

    /** A rejection for {@code reason} (one of the codes of {@link #reason()}). */
    public AuditRejectedException(String reason, String message) {
        this(reason, message, null);
    }

    AuditRejectedException(String reason, String message, Throwable cause) {
        super(message, cause, false, false);
        this.reason = reason;
    }

    /** {@code queue_full}, {@code spool_full}, {@code not_running}, {@code invalid_event} or
     *  {@code io_error}. */
    public String reason() {
        return reason;
    }
}
