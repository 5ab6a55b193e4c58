package dev.pep.core;

import java.util.Map;
import java.util.Objects;

/**
 * The action a request asks for, taken from the gateway's canonical view of it.
 *
 * @param method the HTTP method in upper case, or {@code CONNECT} for a TCP session
 * @param host the normalised host
 * @param path the normalised path the application will receive, without the query
 * @param query the raw query string, empty when there is none
 * @param headers request headers by lower-case name, several values joined with {@code ", "};
 *     never the credentials the gateway consumed (Authorization, the session cookie)
 * @param protocol {@code HTTP/1.1}, {@code HTTP/2} or {@code TCP}
 */
public record RequestAttributes(
        String method,
        String host,
        String path,
        String query,
        Map<String, String> headers,
        String protocol) {

    /** Validates and copies. */
    public RequestAttributes {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(query, "query");
        headers = Map.copyOf(headers);
        Objects.requireNonNull(protocol, "protocol");
    }
}
