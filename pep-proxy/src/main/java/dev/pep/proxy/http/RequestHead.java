package dev.pep.proxy.http;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.Map;
import java.util.Objects;

/**
 * A request head as it arrived, in a form shared by HTTP/1 and HTTP/2, before canonicalisation.
 *
 * <p>The header set is held, not copied: a head is built and consumed on one event loop.
 *
 * @param method the method as sent
 * @param target the request-target (HTTP/1) or {@code :path} (HTTP/2) as sent
 * @param headers the regular header fields in arrival order, names as sent
 * @param authority the HTTP/2 {@code :authority}, or null (always null for HTTP/1)
 * @param scheme the HTTP/2 {@code :scheme}, or null (always null for HTTP/1)
 * @param version the protocol the request arrived with
 */
public record RequestHead(
        String method,
        String target,
        HttpHeaders headers,
        String authority,
        String scheme,
        HttpVersionKind version) {

    /** Checks the required components. */
    public RequestHead {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(headers, "headers");
        Objects.requireNonNull(version, "version");
    }

    /**
     * The head of an HTTP/1.x request, typically from {@link StrictHttpRequestDecoder}.
     *
     * @throws IllegalArgumentException for a version other than HTTP/1.0 or HTTP/1.1, which the
     *     decoder never emits
     */
    public static RequestHead fromHttp1(HttpRequest request) {
        HttpVersion v = request.protocolVersion();
        HttpVersionKind kind;
        if (v.majorVersion() == 1 && v.minorVersion() == 1) {
            kind = HttpVersionKind.HTTP_1_1;
        } else if (v.majorVersion() == 1 && v.minorVersion() == 0) {
            kind = HttpVersionKind.HTTP_1_0;
        } else {
            throw new IllegalArgumentException("not an HTTP/1.x request: " + v);
        }
        return new RequestHead(request.method().name(), request.uri(), request.headers(), null,
                null, kind);
    }

    /**
     * The head of an HTTP/2 request. Checks the pseudo-headers (RFC 9113 8.3.1): exactly one
     * {@code :method}, {@code :scheme} and {@code :path}, at most one {@code :authority}, none
     * other, none after a regular field, and regular field names in lower case. Connection-specific
     * fields are left for {@link RequestCanonicalizer} to reject.
     *
     * @throws RequestRejectedException with status 400 (405 for CONNECT) when the block is
     *     malformed
     */
    public static RequestHead fromHttp2(Http2Headers block) {
        String[] pseudo = new String[4];
        HttpHeaders regular = DefaultHttpHeadersFactory.headersFactory().withValidation(false)
                .newHeaders();
        boolean sawRegular = false;
        for (Map.Entry<CharSequence, CharSequence> field : block) {
            String name = field.getKey().toString();
            String value = field.getValue().toString();
            if (name.startsWith(":")) {
                if (sawRegular) {
                    throw rejected("pseudo_header_misplaced", "pseudo-header after a regular"
                            + " field");
                }
                setPseudo(pseudo, name, value);
            } else {
                sawRegular = true;
                if (!name.equals(HttpChars.toLowerAscii(name))) {
                    throw rejected("header_name_invalid", "HTTP/2 field name not in lower case");
                }
                regular.add(name, value);
            }
        }
        return fromPseudo(pseudo, regular);
    }

    private static RequestHead fromPseudo(String[] pseudo, HttpHeaders regular) {
        String method = pseudo[0];
        if (method == null) {
            throw rejected("pseudo_header_missing", "missing :method");
        }
        if (method.equals("CONNECT")) {
            throw new RequestRejectedException(RequestCanonicalizer.CONNECT_REJECTED);
        }
        if (pseudo[1] == null || pseudo[2] == null) {
            throw rejected("pseudo_header_missing", "missing :scheme or :path");
        }
        return new RequestHead(method, pseudo[2], regular, pseudo[3], pseudo[1],
                HttpVersionKind.HTTP_2);
    }

    private static void setPseudo(String[] pseudo, String name, String value) {
        int slot = switch (name) {
            case ":method" -> 0;
            case ":scheme" -> 1;
            case ":path" -> 2;
            case ":authority" -> 3;
            // LIMITATION(L-401): :protocol (RFC 8441 WebSocket over HTTP/2) is refused.
            default -> throw rejected("pseudo_header_unknown", "unknown pseudo-header");
        };
        if (pseudo[slot] != null) {
            throw rejected("pseudo_header_duplicate", "duplicate pseudo-header " + name);
        }
        pseudo[slot] = value;
    }

    private static RequestRejectedException rejected(String code, String detail) {
        return new RequestRejectedException(HttpRejection.badRequest(code, detail));
    }
}
