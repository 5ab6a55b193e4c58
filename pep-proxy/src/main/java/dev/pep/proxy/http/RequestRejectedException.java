package dev.pep.proxy.http;

import java.util.Objects;

/**
 * Thrown when a request head cannot even be built, for example an HTTP/2 header block with a
 * duplicated pseudo-header; carries the {@link HttpRejection} to answer with.
 *
 * <p>It is an expected outcome for untrusted input, so it carries no stack trace.
 */
public final class RequestRejectedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient HttpRejection rejection;

    /** Creates the exception for the given rejection. */
    public RequestRejectedException(HttpRejection rejection) {
        super(Objects.requireNonNull(rejection, "rejection").code(), null, false, false);
        this.rejection = rejection;
    }

    /** The rejection to answer with. */
    public HttpRejection rejection() {
        return rejection;
    }
}
