package dev.pep.proxy.connector;

/**
 * An enrolment (or a tunnel) refused for untrusted input: a reused, expired or unknown token, a
 * bad certificate request, a revoked connector. The reason is a stable code for audit and the
 * connector's log; the message says it in words and never contains the token.
 */
public final class EnrolmentRefusedException extends Exception {

    private final String reason;

    /** Refused for {@code reason} (a code such as {@code token_used}), explained by {@code message}. */
    public EnrolmentRefusedException(String reason, String message) {
        super(message);
        this.reason = reason;
    }

    /** The reason code. */
    public String reason() {
        return reason;
    }
}
