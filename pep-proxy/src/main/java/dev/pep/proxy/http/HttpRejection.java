package dev.pep.proxy.http;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A request the gateway refuses because its meaning is not unambiguous, with the answer to send.
 *
 * <p>Emitted by {@link StrictHttpRequestDecoder} as a channel message (after which the decoder
 * discards all further input) and returned by {@link RequestCanonicalizer}. The handler that sees
 * it answers with {@link #status()} and closes the connection (HTTP/1) or resets the stream
 * (HTTP/2).
 *
 * @param status the HTTP status to answer with, 400 to 599
 * @param code a stable lower_snake_case reason code for audit and metrics, e.g. {@code bare_lf}
 * @param detail a short explanation that is safe to show to the client: it never echoes request
 *     bytes beyond a header name
 */
public record HttpRejection(int status, String code, String detail)
        implements CanonicalizationResult {

    private static final Pattern CODE = Pattern.compile("[a-z0-9]+(_[a-z0-9]+)*");

    /** Validates the status range and the code's shape. */
    public HttpRejection {
        if (status < 400 || status > 599) {
            throw new IllegalArgumentException("status must be 400..599, got " + status);
        }
        Objects.requireNonNull(code, "code");
        if (!CODE.matcher(code).matches()) {
            throw new IllegalArgumentException("code must be lower_snake_case, got " + code);
        }
        Objects.requireNonNull(detail, "detail");
    }

    /** A 400 Bad Request rejection. */
    public static HttpRejection badRequest(String code, String detail) {
        return new HttpRejection(400, code, detail);
    }
}
