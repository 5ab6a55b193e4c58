package dev.pep.it;

import java.net.CookieHandler;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A browser as far as sign-in needs one: a cookie jar, {@code Accept: text/html}, redirects
 * followed one hop at a time (so a test can stop at or tamper with one), and HTML
 * forms read from the page. Built on the JDK HttpClient trusting the development CA. Not
 * thread-safe.
 */
final class Browser {

    private static final Pattern FORM = Pattern.compile("<form\\b[^>]*>", Pattern.CASE_INSENSITIVE);
    private static final Pattern ACTION = Pattern.compile("\\baction=\"([^\"]*)\"");
    private static final int MAX_HOPS = 15;

    private final Jar cookies = new Jar();
    private final HttpClient client;

    Browser(Path devCa) throws Exception {
        this.client = HttpClient.newBuilder().sslContext(Clients.trusting(devCa))
                .version(HttpClient.Version.HTTP_1_1).followRedirects(HttpClient.Redirect.NEVER)
                .cookieHandler(cookies).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** One GET, no redirect followed. */
    HttpResponse<String> get(URI uri) throws Exception {
        return send(HttpRequest.newBuilder(uri).GET());
    }

    /** GETs {@code uri} and follows redirects until an answer that is not one. */
    HttpResponse<String> open(URI uri) throws Exception {
        return follow(get(uri));
    }

    /** Follows redirects from {@code response} on, until an answer that is not one. */
    HttpResponse<String> follow(HttpResponse<String> response) throws Exception {
        HttpResponse<String> r = response;
        for (int i = 0; i < MAX_HOPS && isRedirect(r); i++) {
            r = get(location(r));
        }
        return r;
    }

    /** Follows redirects until the next one would go to a URI starting with {@code prefix}; returns that URI. */
    URI followUntil(HttpResponse<String> response, String prefix) throws Exception {
        HttpResponse<String> r = response;
        for (int i = 0; i < MAX_HOPS && isRedirect(r); i++) {
            URI next = location(r);
            if (next.toString().startsWith(prefix)) {
                return next;
            }
            r = get(next);
        }
        throw new AssertionError("no redirect to " + prefix + "; last answer " + r.statusCode() + " " + r.uri()
                + "\n" + r.body());
    }

    /** Submits the page's first form with these fields, not following the answer. */
    HttpResponse<String> submit(HttpResponse<String> page, Map<String, String> fields) throws Exception {
        URI action = page.uri().resolve(formAction(page.body()));
        String body = fields.entrySet().stream().map(e -> enc(e.getKey()) + "=" + enc(e.getValue()))
                .collect(Collectors.joining("&"));
        return send(HttpRequest.newBuilder(action).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    /** POSTs a form as the page at {@code origin} would, with its Origin header. */
    HttpResponse<String> post(URI uri, String origin, String body) throws Exception {
        return send(HttpRequest.newBuilder(uri).header("Origin", origin)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    /** The value of a cookie the jar holds for {@code uri}, if any. */
    Optional<String> cookie(URI uri, String name) {
        return cookies.value(uri, name);
    }

    /** A request sent with exactly this Cookie header and no jar. */
    HttpResponse<String> getWithCookie(URI uri, String cookieHeader) throws Exception {
        HttpClient bare = HttpClient.newBuilder().sslContext(client.sslContext())
                .version(HttpClient.Version.HTTP_1_1).followRedirects(HttpClient.Redirect.NEVER).build();
        return bare.send(HttpRequest.newBuilder(uri).header("Accept", "text/html").header("Cookie", cookieHeader)
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static boolean isRedirect(HttpResponse<?> r) {
        return r.statusCode() >= 301 && r.statusCode() <= 308 && r.headers().firstValue("location").isPresent();
    }

    static URI location(HttpResponse<?> r) {
        return r.uri().resolve(r.headers().firstValue("location").orElseThrow());
    }

    static String formAction(String html) {
        Matcher form = FORM.matcher(html);
        if (!form.find()) {
            throw new AssertionError("no form on the page:\n" + html);
        }
        Matcher action = ACTION.matcher(form.group());
        if (!action.find()) {
            throw new AssertionError("form without action: " + form.group());
        }
        return action.group(1).replace("&amp;", "&");
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        HttpResponse<String> r = client.send(request.header("Accept", "text/html")
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
        return r;
    }

    private static String enc(String s) {
        return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * A cookie jar as browsers keep one (RFC 6265): host-only cookies, path-matched, sent as
     * {@code name=value}. (The JDK's CookieManager sends RFC 2965 quoted values, which no browser
     * does.) The Secure flag is not enforced: the only http peer is Keycloak on loopback, which
     * browsers treat as a secure context (W3C Secure Contexts), and Keycloak marks its cookies
     * Secure even over http.
     */
    private static final class Jar extends CookieHandler {
        private final Map<String, Map<String, String[]>> byHost = new java.util.concurrent.ConcurrentHashMap<>();

        @Override
        public Map<String, List<String>> get(URI uri, Map<String, List<String>> headers) {
            Map<String, String[]> cookies = byHost.getOrDefault(uri.getHost() + ":" + uri.getPort(), Map.of());
            String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
            String header = cookies.entrySet().stream().filter(e -> path.startsWith(e.getValue()[1]))
                    .map(e -> e.getKey() + "=" + e.getValue()[0]).collect(Collectors.joining("; "));
            return header.isEmpty() ? Map.of() : Map.of("Cookie", List.of(header));
        }

        @Override
        public void put(URI uri, Map<String, List<String>> headers) {
            headers.forEach((name, values) -> {
                if (name != null && name.equalsIgnoreCase("set-cookie")) {
                    values.forEach(v -> store(uri, v));
                }
            });
        }

        Optional<String> value(URI uri, String name) {
            return Optional.ofNullable(byHost.getOrDefault(uri.getHost() + ":" + uri.getPort(), Map.of()).get(name))
                    .map(c -> c[0]);
        }

        private void store(URI uri, String setCookie) {
            String[] parts = setCookie.split(";");
            int eq = parts[0].indexOf('=');
            String name = parts[0].substring(0, eq).strip();
            String value = parts[0].substring(eq + 1).strip();
            String path = "/";
            boolean delete = false;
            for (int i = 1; i < parts.length; i++) {
                String attr = parts[i].strip();
                String lower = attr.toLowerCase(java.util.Locale.ROOT);
                if (lower.startsWith("path=")) {
                    path = attr.substring(5);
                } else if (lower.equals("max-age=0") || lower.startsWith("expires=thu, 01-jan-1970")
                        || lower.startsWith("expires=thu, 01 jan 1970")) {
                    delete = true;
                }
            }
            Map<String, String[]> cookies = byHost.computeIfAbsent(uri.getHost() + ":" + uri.getPort(),
                    k -> new java.util.concurrent.ConcurrentHashMap<>());
            if (delete) {
                cookies.remove(name);
            } else {
                cookies.put(name, new String[] {value, path});
            }
        }
    }
}
