package dev.pep.proxy.http;

import dev.pep.core.RequestAttributes;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The one view of a request that the gateway routes, decides and forwards from.
 *
 * @param method the method, upper case
 * @param host the normalised host: lower case, no trailing dot, or an IPv6 literal in brackets
 * @param port the port the client named, when it named one
 * @param path the normalised path the application receives
 * @param query the raw query without {@code ?}, validated; empty when there is none
 * @param headers the header fields to forward: hop-by-hop, Connection-nominated and identity
 *     fields removed, {@code Host} set to the canonical authority; the accessor returns a fresh
 *     mutable copy on every call
 * @param webSocketUpgrade whether this is a complete HTTP/1.1 WebSocket opening handshake; then
 *     {@code headers} carry {@code Connection: upgrade} and {@code Upgrade: websocket}
 * @param contentLength the body length, or -1 when unknown (chunked or HTTP/2 without
 *     Content-Length)
 * @param version the protocol the request arrived with
 */
public record CanonicalRequest(
        String method,
        String host,
        OptionalInt port,
        String path,
        String query,
        HttpHeaders headers,
        boolean webSocketUpgrade,
        long contentLength,
        HttpVersionKind version) implements CanonicalizationResult {

    /** Fields never handed to policy: credentials the gateway consumes. */
    private static final Set<String> HIDDEN_FROM_POLICY = Set.of(
            "authorization", "proxy-authorization", "cookie");

    /** Validates and copies the headers. */
    public CanonicalRequest {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(port, "port");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(query, "query");
        headers = Objects.requireNonNull(headers, "headers").copy();
        Objects.requireNonNull(version, "version");
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("path must start with /, got " + path);
        }
        if (contentLength < -1) {
            throw new IllegalArgumentException("contentLength must be -1 or more");
        }
    }

    /** A fresh mutable copy of the headers to forward. */
    @Override
    public HttpHeaders headers() {
        return headers.copy();
    }

    /** The request-target to send upstream: the path, then {@code ?} and the query if any. */
    public String pathAndQuery() {
        return query.isEmpty() ? path : path + "?" + query;
    }

    /** The host with the port when one was named, as sent upstream in {@code Host}. */
    public String authority() {
        return port.isPresent() ? host + ":" + port.getAsInt() : host;
    }

    /** The attributes for policy, with {@link HttpVersionKind#protocolName()} as protocol. */
    public RequestAttributes toAttributes() {
        return toAttributes(version.protocolName());
    }

    /**
     * The attributes for policy, taken from this view. Header names are lower case, several
     * values are joined with {@code ", "}, and Authorization, Proxy-Authorization and Cookie are
     * left out.
     *
     * @param protocol {@code HTTP/1.1}, {@code HTTP/2} or {@code TCP}
     */
    public RequestAttributes toAttributes(String protocol) {
        // LIMITATION(L-402): policy cannot see cookies, because Cookie also carries the session.
        Map<String, String> byName = new LinkedHashMap<>();
        for (Map.Entry<String, String> field : headers) {
            String name = HttpChars.toLowerAscii(field.getKey());
            if (!HIDDEN_FROM_POLICY.contains(name)) {
                byName.merge(name, field.getValue(), (a, b) -> a + ", " + b);
            }
        }
        return new RequestAttributes(method, host, path, query, byName, protocol);
    }
}
