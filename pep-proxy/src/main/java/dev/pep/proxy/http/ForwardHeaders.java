package dev.pep.proxy.http;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Which request header fields the gateway forwards to an application, and the forwarding fields
 * it adds from its own knowledge.
 *
 * <p>Three rules, applied to what the client sent and before the gateway adds anything:
 * hop-by-hop fields are dropped (RFC 9110 7.6.1); every field the {@code Connection} field names
 * is dropped, except {@code Host} and {@code Content-Length}, which frame and route the request
 * and which the gateway alone decides about; and every field of the identity and forwarding
 * namespace is dropped, whatever its case and whether it is spelled with {@code -}, {@code .} or
 * {@code _}, so an application can only ever see identity headers the gateway set itself.
 *
 * <p>Stateless and thread-safe.
 */
public final class ForwardHeaders {

    /** Fields that describe one connection, never the request (RFC 9110 7.6.1, 11.7). */
    static final Set<String> HOP_BY_HOP = Set.of(
            "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
            "upgrade", "proxy-authorization", "proxy-authenticate");

    /** Fields a {@code Connection} option can never remove. */
    private static final Set<String> PROTECTED = Set.of("host", "content-length");

    /** Exact names, after lower-casing and mapping {@code .} and {@code _} to {@code -}. */
    private static final Set<String> IDENTITY_NAMES = Set.of(
            "forwarded", "x-real-ip", "x-client-ip", "true-client-ip", "x-cluster-client-ip",
            "cf-connecting-ip", "fastly-client-ip", "x-remote-ip", "x-remote-addr", "x-host",
            "x-rewrite-url", "x-url-scheme", "front-end-https", "client-ip");

    /** Name prefixes, compared the same way. */
    private static final List<String> IDENTITY_PREFIXES = List.of(
            "x-forwarded", "x-original-", "x-pep-");

    private ForwardHeaders() {
    }

    /**
     * Whether a field belongs to the identity and forwarding namespace that only the gateway may
     * set: {@code X-Forwarded-*}, {@code Forwarded}, {@code X-Real-IP}, {@code X-Client-IP},
     * {@code X-Original-*}, {@code X-Pep-*} and similar client-address fields.
     *
     * @param name a field name in any case and spelling
     */
    public static boolean isIdentityHeader(CharSequence name) {
        String folded = fold(name);
        if (IDENTITY_NAMES.contains(folded)) {
            return true;
        }
        for (String prefix : IDENTITY_PREFIXES) {
            if (folded.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a field is hop-by-hop and therefore never forwarded as sent. */
    public static boolean isHopByHop(CharSequence name) {
        return HOP_BY_HOP.contains(HttpChars.toLowerAscii(name));
    }

    /**
     * Returns a new header set holding the client's fields that may be forwarded, in their
     * original order and spelling.
     *
     * @throws RequestRejectedException with code {@code connection_header_invalid} when a
     *     {@code Connection} option is not a token
     */
    public static HttpHeaders clean(HttpHeaders sent) {
        Set<String> nominated = connectionOptions(sent);
        HttpHeaders kept = DefaultHttpHeadersFactory.headersFactory().newHeaders();
        for (Map.Entry<String, String> field : sent) {
            String lower = HttpChars.toLowerAscii(field.getKey());
            if (HOP_BY_HOP.contains(lower) || nominated.contains(lower)
                    || isIdentityHeader(lower)) {
                continue;
            }
            kept.add(field.getKey(), field.getValue());
        }
        return kept;
    }

    /**
     * The options of every {@code Connection} field, lower case, without the protected ones.
     *
     * @throws RequestRejectedException when an option is not a token
     */
    static Set<String> connectionOptions(HttpHeaders sent) {
        Set<String> options = new HashSet<>();
        for (String value : sent.getAll(HttpHeaderNames.CONNECTION)) {
            for (String element : value.split(",", -1)) {
                String option = element.strip();
                if (option.isEmpty()) {
                    continue; // RFC 9110 5.6.1: empty list elements are ignored.
                }
                if (!HttpChars.isToken(option)) {
                    throw new RequestRejectedException(HttpRejection.badRequest(
                            "connection_header_invalid", "Connection option is not a token"));
                }
                options.add(HttpChars.toLowerAscii(option));
            }
        }
        options.removeAll(PROTECTED);
        return options;
    }

    /**
     * Sets {@code X-Forwarded-For}, {@code X-Forwarded-Proto: https} and
     * {@code X-Forwarded-Host} from the gateway's own knowledge, replacing any
     * {@code X-Forwarded-*} or {@code Forwarded} field still present. Other gateway identity
     * fields ({@code X-Pep-*}) are left alone, so the order of the two steps does not matter.
     *
     * @param headers the cleaned headers to forward, changed in place
     * @param clientIp the address of the client's TCP connection as the gateway saw it
     * @param host the canonical host (with port when one was sent) the request was routed by
     * @return {@code headers}
     */
    public static HttpHeaders applyForwarding(HttpHeaders headers, String clientIp, String host) {
        Objects.requireNonNull(headers, "headers");
        Objects.requireNonNull(clientIp, "clientIp");
        Objects.requireNonNull(host, "host");
        headers.names().stream()
                .filter(ForwardHeaders::isForwardingHeader)
                .toList()
                .forEach(headers::remove);
        headers.set("X-Forwarded-For", clientIp);
        headers.set("X-Forwarded-Proto", "https");
        headers.set("X-Forwarded-Host", host);
        return headers;
    }

    /**
     * Removes every field whose name folds to the same name as {@code name} (case, and {@code -},
     * {@code .} and {@code _} read alike), before the gateway sets that field itself: an app that
     * reads {@code X_User} as {@code X-User} never sees a client's copy beside the gateway's.
     *
     * @param headers the headers to forward, changed in place
     * @param name the name the gateway is about to set
     * @return {@code headers}
     */
    public static HttpHeaders removeEverySpelling(HttpHeaders headers, String name) {
        String folded = fold(name);
        headers.names().stream()
                .filter(n -> fold(n).equals(folded))
                .toList()
                .forEach(headers::remove);
        return headers;
    }

    private static boolean isForwardingHeader(String name) {
        String folded = fold(name);
        return folded.equals("forwarded") || folded.startsWith("x-forwarded");
    }

    /** Lower case, with {@code .} and {@code _} read as {@code -}. */
    private static String fold(CharSequence name) {
        return HttpChars.toLowerAscii(name).replace('.', '-').replace('_', '-');
    }
}
