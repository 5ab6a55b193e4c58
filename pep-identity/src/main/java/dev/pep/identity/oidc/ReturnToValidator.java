package dev.pep.identity.oidc;

import dev.pep.core.App;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Checks where the browser goes after login: only to the app's own hosts, never an open redirect.
 *
 * <p>Accepted are an absolute path ({@code /orders?id=7}) and an {@code https} URL on one of the
 * app's hosts without user info or a port other than 443; the answer is always the path and query
 * alone, so the proxy prefixes the host it chose. Everything else is refused: scheme-relative
 * ({@code //evil}), backslashes ({@code /\evil}), {@code https:evil}, control characters and
 * whitespace, encoded slashes or backslashes at the start, user info tricks. Stateless.
 */
public final class ReturnToValidator {

    /** Characters of a path and query (RFC 3986), no backslash, no whitespace. */
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9\\-._~!$&'()*+,;=:@/%?]*");
    private static final Pattern ENCODED_SEPARATOR = Pattern.compile("(?i)%(2f|5c|25|0[0-9a-f]|1[0-9a-f]|7f)");
    private static final int MAX_LENGTH = 2048;

    private ReturnToValidator() {
    }

    /** The safe path and query to return to, or empty when {@code returnTo} must be refused. */
    public static Optional<String> validate(String returnTo, App app) {
        if (returnTo == null || returnTo.isEmpty() || returnTo.length() > MAX_LENGTH) {
            return Optional.empty();
        }
        if (returnTo.startsWith("/")) {
            return safePath(returnTo);
        }
        return absolute(returnTo, app);
    }

    /** {@link #validate} or {@code /} when refused. */
    public static String validateOrRoot(String returnTo, App app) {
        return validate(returnTo, app).orElse("/");
    }

    private static Optional<String> safePath(String path) {
        if (!SAFE.matcher(path).matches() || path.startsWith("//")) {
            return Optional.empty();
        }
        // Browsers and some proxies decode before they resolve: refuse encoded slashes,
        // backslashes, control characters and double encoding anywhere in the path.
        int query = path.indexOf('?');
        String pathPart = query < 0 ? path : path.substring(0, query);
        if (ENCODED_SEPARATOR.matcher(pathPart).find()) {
            return Optional.empty();
        }
        return Optional.of(path);
    }

    private static Optional<String> absolute(String value, App app) {
        if (!SAFE.matcher(value).matches()) {
            return Optional.empty();
        }
        URI uri;
        try {
            uri = new URI(value);
        } catch (URISyntaxException e) {
            return Optional.empty();
        }
        boolean sameOrigin = "https".equalsIgnoreCase(uri.getScheme())
                && uri.getRawAuthority() != null
                && uri.getRawUserInfo() == null
                && uri.getHost() != null
                && (uri.getPort() == -1 || uri.getPort() == 443)
                && app.hosts().contains(uri.getHost().toLowerCase(Locale.ROOT))
                && uri.getRawAuthority().equalsIgnoreCase(uri.getHost()
                        + (uri.getPort() == -1 ? "" : ":" + uri.getPort()));
        if (!sameOrigin) {
            return Optional.empty();
        }
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        String query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
        return safePath(path + query);
    }
}
