package dev.pep.proxy.connector;

/** A connector refused a session's stream, or could not reach the app; the reason is its code. */
public final class StreamRefusedException extends Exception {

    private final String reason;

    StreamRefusedException(String reason, String message) {
        super(message);
        this.reason = reason;
    }

    /** The connector's reason code, for example {@code app_unreachable}. */
    public String reason() {
        return reason;
    }
}
