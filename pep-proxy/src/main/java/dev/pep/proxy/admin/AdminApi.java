package dev.pep.proxy.admin;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;

/**
 * The authenticated part of the admin listener: every path under {@value #PREFIX}. A caller
 * presents {@code Authorization: Bearer TOKEN} with a token from the admin token file; without a
 * token file the API is off and answers 403 {@code admin_api_disabled}. Endpoints are registered
 * by method and path, exactly or, with a path ending in {@code /*}, by prefix.
 *
 * <p>Thread-safe; endpoints may be registered while the gateway runs. Every authenticated call is
 * reported to the audit callback with the operator, the operation and whether it succeeded.
 */
public final class AdminApi {

    /** Where the API lives on the admin listener. */
    public static final String PREFIX = "/api/";

    private final AdminTokens tokens;
    private final BiConsumer<AdminRequest, AdminResponse> audit;
    private final Map<String, AdminEndpoint> exact = new ConcurrentHashMap<>();
    private final Map<String, AdminEndpoint> prefixes = new ConcurrentHashMap<>();

    /**
     * An API that authenticates with these tokens.
     *
     * @param tokens the operators' tokens; null turns the API off
     * @param audit told of every authenticated call and its answer
     */
    public AdminApi(AdminTokens tokens, BiConsumer<AdminRequest, AdminResponse> audit) {
        this.tokens = tokens;
        this.audit = audit;
    }

    /**
     * Registers an endpoint.
     *
     * @param method the HTTP method, for example {@code GET}
     * @param path a path under {@value #PREFIX}; ending in {@code /*} it matches every longer path
     * @throws IllegalArgumentException when the path is outside the API or already taken
     */
    public void register(String method, String path, AdminEndpoint endpoint) {
        if (!path.startsWith(PREFIX)) {
            throw new IllegalArgumentException("admin endpoint outside " + PREFIX + ": " + path);
        }
        boolean prefix = path.endsWith("/*");
        String key = method + " " + (prefix ? path.substring(0, path.length() - 1) : path);
        if ((prefix ? prefixes : exact).putIfAbsent(key, endpoint) != null) {
            throw new IllegalArgumentException("admin endpoint registered twice: " + key);
        }
    }

    /**
     * Answers a call to the API.
     *
     * @param authorization the Authorization header, or null
     */
    public CompletionStage<AdminResponse> handle(String method, String path, Map<String, List<String>> query,
            String authorization, String body) {
        if (tokens == null) {
            return done(AdminResponse.error(403, "admin_api_disabled",
                    "The admin API is off: no admin token file is configured."));
        }
        Optional<String> operator = bearer(authorization).flatMap(tokens::operator);
        if (operator.isEmpty()) {
            return done(AdminResponse.error(401, "admin_unauthenticated",
                    "Present an admin token as 'Authorization: Bearer TOKEN'."));
        }
        Match match = match(method, path);
        if (match == null) {
            return done(knownPath(path)
                    ? AdminResponse.error(405, "method_not_allowed", method + " is not allowed on " + path)
                    : AdminResponse.error(404, "admin_endpoint_unknown", "No admin endpoint at " + path));
        }
        AdminRequest request = new AdminRequest(operator.get(), method, path, match.rest, query, body);
        return call(match.endpoint, request).thenApply(response -> {
            audit.accept(request, response);
            return response;
        });
    }

    private static CompletionStage<AdminResponse> call(AdminEndpoint endpoint, AdminRequest request) {
        CompletionStage<AdminResponse> answer;
        try {
            answer = endpoint.handle(request);
        } catch (RuntimeException e) {
            answer = CompletableFuture.failedFuture(e);
        }
        return answer.exceptionally(e -> AdminResponse.error(500, "admin_internal_error",
                "The operation failed inside the gateway; see its log."));
    }

    private Match match(String method, String path) {
        AdminEndpoint e = exact.get(method + " " + path);
        if (e != null) {
            return new Match(e, "");
        }
        String best = null;
        for (String key : prefixes.keySet()) {
            String p = key.substring(key.indexOf(' ') + 1);
            if (key.startsWith(method + " ") && path.startsWith(p) && path.length() > p.length()
                    && (best == null || p.length() > best.length())) {
                best = p;
            }
        }
        return best == null ? null : new Match(prefixes.get(method + " " + best), path.substring(best.length()));
    }

    private boolean knownPath(String path) {
        return exact.keySet().stream().anyMatch(k -> k.endsWith(" " + path))
                || prefixes.keySet().stream().map(k -> k.substring(k.indexOf(' ') + 1))
                        .anyMatch(p -> path.startsWith(p) && path.length() > p.length());
    }

    private static Optional<String> bearer(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Optional.empty();
        }
        String token = authorization.substring(7).strip();
        return token.isEmpty() ? Optional.empty() : Optional.of(token);
    }

    private static CompletionStage<AdminResponse> done(AdminResponse r) {
        return CompletableFuture.completedFuture(r);
    }

    private record Match(AdminEndpoint endpoint, String rest) {
    }
}
