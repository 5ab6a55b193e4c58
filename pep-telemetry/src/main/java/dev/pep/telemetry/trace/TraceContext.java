package dev.pep.telemetry.trace;

import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The W3C trace context (https://www.w3.org/TR/trace-context/) of one request at the gateway:
 * the trace it belongs to, the gateway's own span in it, the caller's span when the trace came
 * in with the request, and whether it is sampled.
 *
 * @param traceId 32 lower-case hex digits, not all zero
 * @param spanId the gateway's span: 16 lower-case hex digits, not all zero
 * @param parentSpanId the caller's span, or empty when the gateway started the trace
 * @param sampled whether the trace is recorded (the {@code sampled} flag)
 * @param traceState the caller's {@code tracestate}, passed on unchanged; empty when none
 * @param origin how the context came about
 */
public record TraceContext(String traceId, String spanId, String parentSpanId, boolean sampled,
        String traceState, Origin origin) {

    /** Where a request's trace came from; a metrics label. */
    public enum Origin {
        /** A valid {@code traceparent} came with the request and was continued. */
        CONTINUED,
        /** No {@code traceparent} came; the gateway started a trace. */
        STARTED,
        /** A malformed or repeated {@code traceparent} came; a new trace replaced it. */
        REPLACED
    }

    /** The longest {@code tracestate} passed on (section 3.3.1.5 lets vendors cut longer). */
    static final int MAX_TRACE_STATE = 512;
    private static final String ZERO_TRACE = "0".repeat(32);
    private static final String ZERO_SPAN = "0".repeat(16);

    /** Validates. */
    public TraceContext {
        if (!isId(traceId, 32) || !isId(spanId, 16)) {
            throw new IllegalArgumentException("invalid trace or span id");
        }
        Objects.requireNonNull(parentSpanId, "parentSpanId");
        Objects.requireNonNull(traceState, "traceState");
        Objects.requireNonNull(origin, "origin");
    }

    /** The {@code traceparent} to send on: this trace, the gateway's span as the parent. */
    public String traceparent() {
        return "00-" + traceId + "-" + spanId + "-" + (sampled ? "01" : "00");
    }

    /**
     * The caller's trace, from the request's {@code traceparent} fields, read strictly as
     * section 3.2 of the recommendation says: exactly one field; version two lower-case hex
     * digits and not {@code ff}; for version {@code 00} exactly 55 characters; a later version
     * at least 55 with a {@code -} after them; lower-case hex ids, neither all zeros.
     *
     * @return the caller's trace, or empty when there is none or it is malformed
     */
    public static Optional<Parent> parse(List<String> traceparents) {
        if (traceparents.size() != 1) {
            return Optional.empty();
        }
        String t = traceparents.get(0);
        if (t.length() < 55 || t.charAt(2) != '-' || t.charAt(35) != '-' || t.charAt(52) != '-') {
            return Optional.empty();
        }
        String version = t.substring(0, 2);
        if (!isHex(version) || version.equals("ff")
                || version.equals("00") && t.length() != 55
                || t.length() > 55 && t.charAt(55) != '-') {
            return Optional.empty();
        }
        String traceId = t.substring(3, 35);
        String parentId = t.substring(36, 52);
        String flags = t.substring(53, 55);
        if (!isId(traceId, 32) || !isId(parentId, 16) || !isHex(flags)) {
            return Optional.empty();
        }
        boolean sampled = (HexFormat.fromHexDigits(flags) & 1) == 1;
        return Optional.of(new Parent(traceId, parentId, sampled));
    }

    /**
     * The {@code tracestate} to pass on with a continued trace: the fields joined by commas,
     * or empty when there are none or they are longer than {@value #MAX_TRACE_STATE}.
     */
    static String traceState(List<String> fields) {
        String joined = String.join(",", fields);
        return joined.length() > MAX_TRACE_STATE ? "" : joined;
    }

    static boolean isId(String id, int length) {
        return id != null && id.length() == length && isHex(id)
                && !id.equals(length == 32 ? ZERO_TRACE : ZERO_SPAN);
    }

    private static boolean isHex(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    /**
     * A caller's trace as its {@code traceparent} named it.
     *
     * @param traceId the trace
     * @param spanId the caller's span, the parent of the gateway's
     * @param sampled the caller's {@code sampled} flag
     */
    public record Parent(String traceId, String spanId, boolean sampled) {
    }
}
