package dev.pep.proxy.admin;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An authenticated call to the admin API.
 *
 * @param operator who asked: the name of the token's line in the token file
 * @param method the HTTP method, upper case
 * @param path the path, decoded, without the query
 * @param rest what follows the endpoint's prefix for a prefix endpoint, empty otherwise
 * @param query the query parameters
 * @param body the request body as UTF-8 text, empty when none
 */
public record AdminRequest(String operator, String method, String path, String rest,
        Map<String, List<String>> query, String body) {

    /** Copies. */
    public AdminRequest {
        query = Map.copyOf(query);
    }

    /** The first value of a query parameter, if present and not blank. */
    public Optional<String> param(String name) {
        return query.getOrDefault(name, List.of()).stream().filter(v -> !v.isBlank()).findFirst();
    }
}
