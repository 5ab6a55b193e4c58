package dev.pep.proxy.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * The gateway's own answers: small HTML for browsers, JSON for API clients. They carry a status,
 * a stable reason code, a safe message and the request id, and never internal details.
 */
final class ErrorPages {

    private ErrorPages() {
    }

    /**
     * An error response.
     *
     * @param html whether the client prefers HTML (a browser)
     */
    static FullHttpResponse page(ByteBufAllocator alloc, int status, String code, String message,
            String requestId, boolean html) {
        HttpResponseStatus s = HttpResponseStatus.valueOf(status);
        String body = html ? html(s, code, message, requestId) : json(s, code, message, requestId);
        ByteBuf buf = alloc.buffer(body.length());
        buf.writeCharSequence(body, StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, s, buf);
        r.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, html ? "text/html; charset=utf-8" : "application/json")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, buf.readableBytes())
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
                .set("x-content-type-options", "nosniff")
                .set("x-request-id", requestId);
        if (html) {
            r.headers().set("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'");
        }
        return r;
    }

    /** Whether an Accept header value prefers HTML: browsers ask for text/html first. */
    static boolean prefersHtml(String accept) {
        return accept != null && accept.contains("text/html");
    }

    private static String html(HttpResponseStatus s, String code, String message, String requestId) {
        return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
                + s.code() + " " + escape(s.reasonPhrase()) + "</title>"
                + "<style>body{font:16px system-ui,sans-serif;max-width:36em;margin:4em auto;color:#222}"
                + "code{background:#eee;padding:0 .3em}</style></head><body>"
                + "<h1>" + s.code() + " " + escape(s.reasonPhrase()) + "</h1>"
                + "<p>" + escape(message) + "</p>"
                + "<p>Reason: <code>" + escape(code) + "</code><br>Request id: <code>"
                + escape(requestId) + "</code></p></body></html>\n";
    }

    private static String json(HttpResponseStatus s, String code, String message, String requestId) {
        return "{\"status\":" + s.code() + ",\"error\":\"" + jsonEscape(code) + "\",\"message\":\""
                + jsonEscape(message) + "\",\"request_id\":\"" + jsonEscape(requestId) + "\"}\n";
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    static String jsonEscape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
