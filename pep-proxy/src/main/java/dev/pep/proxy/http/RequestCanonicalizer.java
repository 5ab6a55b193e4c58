package dev.pep.proxy.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Makes the one canonical view of a request, or rejects a request whose meaning could differ
 * between the gateway and an application. Every rule is listed, with its reason code, in
 * {@code docs/request-canonicalisation.md}.
 *
 * <p>Rejections have status 400, except CONNECT (405). Stateless and thread-safe; never throws
 * for untrusted input.
 */
public final class RequestCanonicalizer {

    /** CONNECT opens a tunnel the gateway does not offer over HTTP. */
    static final HttpRejection CONNECT_REJECTED = new HttpRejection(405,
            "connect_not_supported", "CONNECT is not supported");

    /** Connection-specific fields that make an HTTP/2 request malformed (RFC 9113 8.2.2). */
    private static final Set<String> HTTP2_CONNECTION_SPECIFIC = Set.of(
            "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade");

    /** Fields that must appear at most once, since servers pick different copies. */
    private static final Set<String> SINGLETONS = Set.of(
            "authorization", "content-type", "sec-websocket-key", "sec-websocket-version");

    /** Fields that make some frameworks act on another method than the one decided on. */
    private static final Set<String> METHOD_OVERRIDES = Set.of(
            "x-http-method-override", "x-http-method", "x-method-override");

    private static final int MAX_CONTENT_LENGTH_DIGITS = 18;

    private RequestCanonicalizer() {
    }

    /** Canonicalises a request head; never throws for untrusted input. */
    public static CanonicalizationResult canonicalize(RequestHead head) {
        try {
            return canonicalizeOrThrow(head);
        } catch (RequestRejectedException e) {
            return e.rejection();
        }
    }

    /** Canonicalises an HTTP/1.x request from {@link StrictHttpRequestDecoder}. */
    public static CanonicalizationResult canonicalize(HttpRequest request) {
        return canonicalize(RequestHead.fromHttp1(request));
    }

    /** Canonicalises an HTTP/2 header block, pseudo-headers included. */
    public static CanonicalizationResult canonicalize(Http2Headers block) {
        try {
            return canonicalizeOrThrow(RequestHead.fromHttp2(block));
        } catch (RequestRejectedException e) {
            return e.rejection();
        }
    }

    private static CanonicalRequest canonicalizeOrThrow(RequestHead head) {
        String method = checkMethod(head.method());
        HttpHeaders sent = head.headers();
        checkFields(sent, head.version());
        Target target = parseTarget(head.target(), head.version());
        Authority authority = resolveAuthority(head, target, sent);
        String path = PathNormalizer.normalize(target.path());
        long contentLength = contentLength(sent, head.version());
        boolean webSocket = isWebSocketUpgrade(method, sent, head.version());

        HttpHeaders forward = ForwardHeaders.clean(sent);
        forward.set(HttpHeaderNames.HOST, authority.text());
        if (webSocket) {
            forward.set(HttpHeaderNames.CONNECTION, "upgrade");
            forward.set(HttpHeaderNames.UPGRADE, "websocket");
        }
        return new CanonicalRequest(method, authority.host(), authority.port(), path,
                target.query(), forward, webSocket, contentLength, head.version());
    }

    /** Methods are case-sensitive (RFC 9110 9.1); lower case ones are refused as ambiguous. */
    private static String checkMethod(String method) {
        if (!HttpChars.isToken(method)) {
            throw rejected("method_invalid", "method is not a token");
        }
        for (int i = 0; i < method.length(); i++) {
            char c = method.charAt(i);
            if (c >= 'a' && c <= 'z') {
                throw rejected("method_not_uppercase", "method must be upper case");
            }
        }
        if (method.equals("CONNECT")) {
            throw new RequestRejectedException(CONNECT_REJECTED);
        }
        return method;
    }

    /** Names, values, protocol-specific fields and singletons, in one pass. */
    private static void checkFields(HttpHeaders sent, HttpVersionKind version) {
        Map<String, Integer> seen = new HashMap<>();
        for (Map.Entry<String, String> field : sent) {
            String name = field.getKey();
            String value = field.getValue();
            if (!HttpChars.isToken(name)) {
                throw rejected("header_name_invalid", "field name is not a token");
            }
            if (name.indexOf('_') >= 0) {
                throw rejected("header_name_underscore", "underscore in field name (read as a"
                        + " hyphen by some servers)");
            }
            checkValue(value, version);
            String lower = HttpChars.toLowerAscii(name);
            if (METHOD_OVERRIDES.contains(lower.replace('.', '-'))) {
                throw rejected("method_override_header", "method override field: " + lower);
            }
            if (version == HttpVersionKind.HTTP_2) {
                checkHttp2Field(lower, value);
            }
            if (SINGLETONS.contains(lower) && seen.merge(lower, 1, Integer::sum) > 1) {
                throw rejected("duplicate_header", "field may appear once: " + lower);
            }
        }
    }

    private static void checkValue(String value, HttpVersionKind version) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c > 0xff || (HttpChars.isCtl(c) && c != '\t')) {
                throw rejected("header_value_invalid", "control character in field value");
            }
        }
        if (version == HttpVersionKind.HTTP_2 && HttpChars.hasOuterWhitespace(value)) {
            // RFC 9113 8.2.1: a field value must not start or end with whitespace.
            throw rejected("header_value_invalid", "field value starts or ends with whitespace");
        }
    }

    private static void checkHttp2Field(String lower, String value) {
        if (HTTP2_CONNECTION_SPECIFIC.contains(lower)
                || (lower.equals("te") && !value.equalsIgnoreCase("trailers"))) {
            throw rejected("connection_header_in_http2", "connection-specific field in HTTP/2: "
                    + lower);
        }
    }

    private static Target parseTarget(String target, HttpVersionKind version) {
        if (target.isEmpty()) {
            throw rejected("target_invalid", "empty request target");
        }
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c > 0x7e) {
                throw rejected("target_non_ascii", "non-ASCII character in request target");
            }
            if (c <= 0x20) {
                throw rejected("target_invalid", "whitespace or control in request target");
            }
            if (c == '#') {
                throw rejected("fragment_in_target", "fragment in request target");
            }
        }
        if (target.equals("*")) {
            throw rejected("asterisk_form_not_supported", "asterisk-form target not supported");
        }
        if (target.charAt(0) == '/') {
            return Target.split(null, null, target);
        }
        int separator = target.indexOf("://");
        if (version.isHttp1() && separator > 0) {
            return parseAbsoluteForm(target, separator);
        }
        throw rejected("target_invalid", "request target must be origin-form");
    }

    /** absolute-form (RFC 9112 3.2.2), turned into origin-form plus an authority. */
    private static Target parseAbsoluteForm(String target, int separator) {
        String scheme = HttpChars.toLowerAscii(target.substring(0, separator));
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw rejected("absolute_form_scheme_invalid", "absolute-form scheme must be http or"
                    + " https");
        }
        int start = separator + 3;
        int end = start;
        while (end < target.length() && target.charAt(end) != '/' && target.charAt(end) != '?') {
            end++;
        }
        Authority authority = Authority.parse(target.substring(start, end));
        String rest = target.substring(end);
        if (rest.isEmpty() || rest.charAt(0) == '?') {
            rest = "/" + rest;
        }
        return Target.split(scheme, authority, rest);
    }

    private static Authority resolveAuthority(RequestHead head, Target target, HttpHeaders sent) {
        List<String> hosts = sent.getAll(HttpHeaderNames.HOST);
        if (hosts.size() > 1 || (hosts.size() == 1 && hosts.get(0).indexOf(',') >= 0)) {
            throw rejected("duplicate_host", "more than one Host");
        }
        Authority fromHost = hosts.isEmpty() ? null : Authority.parse(hosts.get(0));
        if (head.version() == HttpVersionKind.HTTP_2) {
            return resolveHttp2Authority(head, fromHost);
        }
        if (target.authority() != null) {
            if (fromHost == null && head.version() == HttpVersionKind.HTTP_1_1) {
                throw rejected("missing_host", "HTTP/1.1 request without Host");
            }
            if (fromHost != null && !target.authority().sameOrigin(fromHost, target.scheme())) {
                throw rejected("host_mismatch", "absolute-form authority differs from Host");
            }
            return target.authority();
        }
        if (fromHost == null) {
            throw rejected("missing_host", "request without Host");
        }
        return fromHost;
    }

    private static Authority resolveHttp2Authority(RequestHead head, Authority fromHost) {
        String scheme = head.scheme() == null ? "" : head.scheme();
        if (!scheme.equals("https") && !scheme.equals("http")) {
            throw rejected("scheme_invalid", ":scheme must be https or http");
        }
        Authority fromPseudo = head.authority() == null ? null : Authority.parse(head.authority());
        if (fromPseudo != null && fromHost != null && !fromPseudo.sameOrigin(fromHost, scheme)) {
            throw rejected("authority_host_mismatch", ":authority differs from Host");
        }
        if (fromPseudo == null && fromHost == null) {
            throw rejected("missing_host", "neither :authority nor Host");
        }
        return fromPseudo != null ? fromPseudo : fromHost;
    }

    /** The body length the framing gives, re-checked here so no other decoder can slip by. */
    private static long contentLength(HttpHeaders sent, HttpVersionKind version) {
        List<String> lengths = sent.getAll(HttpHeaderNames.CONTENT_LENGTH);
        List<String> codings = sent.getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (!codings.isEmpty()) {
            if (!lengths.isEmpty()) {
                throw rejected("content_length_with_transfer_encoding",
                        "both Content-Length and Transfer-Encoding");
            }
            if (version != HttpVersionKind.HTTP_1_1 || codings.size() != 1
                    || !codings.get(0).equalsIgnoreCase("chunked")) {
                throw rejected("transfer_encoding_invalid", "Transfer-Encoding must be chunked");
            }
            return -1;
        }
        if (lengths.isEmpty()) {
            return version == HttpVersionKind.HTTP_2 ? -1 : 0;
        }
        if (lengths.size() > 1 || lengths.get(0).indexOf(',') >= 0) {
            throw rejected("duplicate_content_length", "more than one Content-Length");
        }
        String value = lengths.get(0);
        if (value.isEmpty() || value.length() > MAX_CONTENT_LENGTH_DIGITS
                || !value.chars().allMatch(HttpChars::isDigit)) {
            throw rejected("content_length_invalid", "Content-Length must be 1 to 18 digits");
        }
        return Long.parseLong(value);
    }

    /** Any Upgrade must be a complete WebSocket opening handshake (RFC 6455 4.1). */
    private static boolean isWebSocketUpgrade(String method, HttpHeaders sent,
            HttpVersionKind version) {
        List<String> upgrades = sent.getAll(HttpHeaderNames.UPGRADE);
        if (upgrades.isEmpty()) {
            return false;
        }
        boolean complete = version == HttpVersionKind.HTTP_1_1
                && method.equals("GET")
                && upgrades.size() == 1
                && upgrades.get(0).equalsIgnoreCase("websocket")
                && ForwardHeaders.connectionOptions(sent).contains("upgrade")
                && sent.contains(HttpHeaderNames.SEC_WEBSOCKET_KEY)
                && sent.contains(HttpHeaderNames.SEC_WEBSOCKET_VERSION);
        if (!complete) {
            throw rejected("upgrade_not_supported", "only a complete HTTP/1.1 WebSocket upgrade"
                    + " is supported");
        }
        return true;
    }

    private static RequestRejectedException rejected(String code, String detail) {
        return new RequestRejectedException(HttpRejection.badRequest(code, detail));
    }

    /** A request-target taken apart: scheme and authority only for absolute-form. */
    private record Target(String scheme, Authority authority, String path, String query) {

        static Target split(String scheme, Authority authority, String pathAndQuery) {
            int mark = pathAndQuery.indexOf('?');
            String path = mark < 0 ? pathAndQuery : pathAndQuery.substring(0, mark);
            String query = mark < 0 ? "" : pathAndQuery.substring(mark + 1);
            checkQuery(query);
            return new Target(scheme, authority, path, query);
        }

        /** The query is forwarded raw, so its escapes must at least be well formed. */
        private static void checkQuery(String query) {
            // LIMITATION(L-405): the query is validated but not normalised.
            for (int i = query.indexOf('%'); i >= 0; i = query.indexOf('%', i + 1)) {
                PathNormalizer.escapeValue(query, i);
            }
        }
    }
}
