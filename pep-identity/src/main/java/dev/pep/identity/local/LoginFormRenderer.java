package dev.pep.identity.local;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Renders the local login form the proxy serves. Every value is HTML-escaped; the page loads
 * nothing from elsewhere, so it works under {@code Content-Security-Policy: default-src 'none';
 * style-src 'unsafe-inline'}.
 */
public final class LoginFormRenderer {

    private LoginFormRenderer() {
    }

    /**
     * The page.
     *
     * @param action where the form posts (a path on the gateway)
     * @param appName the app the partner wants to reach, shown as a title
     * @param hiddenFields fields posted back unchanged (anti-forgery token, return address)
     * @param username the name to prefill after a failed attempt; may be empty
     * @param error a partner-safe message after a failed attempt
     */
    public static String render(String action, String appName, Map<String, String> hiddenFields,
            String username, Optional<String> error) {
        Objects.requireNonNull(hiddenFields, "hiddenFields");
        StringBuilder hidden = new StringBuilder();
        hiddenFields.forEach((name, value) -> hidden.append("<input type=\"hidden\" name=\"")
                .append(escape(name)).append("\" value=\"").append(escape(value))
                .append("\">\n"));
        String message = error.map(e -> "<p class=\"error\" role=\"alert\">" + escape(e)
                + "</p>\n").orElse("");
        return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                + "<title>Sign in to " + escape(appName) + "</title>\n"
                + "<style>body{font-family:sans-serif;max-width:22rem;margin:4rem auto}"
                + "label,input{display:block;width:100%;margin:.3rem 0}"
                + ".error{color:#a00}</style></head>\n<body>\n"
                + "<h1>Sign in to " + escape(appName) + "</h1>\n" + message
                + "<form method=\"post\" action=\"" + escape(action) + "\">\n" + hidden
                + "<label for=\"username\">User name</label>\n"
                + "<input id=\"username\" name=\"username\" autocomplete=\"username\" required"
                + " value=\"" + escape(username) + "\">\n"
                + "<label for=\"password\">Password</label>\n"
                + "<input id=\"password\" name=\"password\" type=\"password\""
                + " autocomplete=\"current-password\" required>\n"
                + "<input type=\"submit\" value=\"Sign in\">\n</form>\n</body></html>\n";
    }

    /** Escapes text for HTML element content and quoted attribute values. */
    public static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (char c : text.toCharArray()) {
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                case '`' -> out.append("&#96;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
