package dev.pep.proxy.config;

import java.net.URI;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/** Checks the {@code posture} section: names, files, URLs and durations. */
final class PostureValidator {

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
    private static final Pattern TOKEN = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern OID = Pattern.compile("[0-2](\\.[0-9]+)+");
    private static final Set<String> DEVICE_ID_FIELDS = Set.of("subject-cn", "san-uri", "san-dns",
            "serial");
    private static final Set<String> ALGORITHMS = Set.of("RS256", "RS384", "RS512", "PS256",
            "PS384", "PS512", "ES256", "ES384", "ES512");

    /** The names of the built-in providers, the sources of their signals. */
    static final Set<String> RESERVED = Set.of("tls-context", "network-sets");

    private final BiConsumer<String, String> problems;
    private final Predicate<String> readable;
    private final Set<String> names = new HashSet<>();

    PostureValidator(BiConsumer<String, String> problems, Predicate<String> readable) {
        this.problems = problems;
        this.readable = readable;
    }

    void check(PostureSettings p) {
        if (p == null) {
            return;
        }
        positive("posture.deadline", p.deadline());
        positive("posture.reload-interval", p.reloadInterval());
        positive("posture.binding-idle-timeout", p.bindingIdleTimeout());
        for (int i = 0; i < p.deviceCertificates().size(); i++) {
            deviceCertificates("posture.device-certificates." + i, p.deviceCertificates().get(i));
        }
        for (int i = 0; i < p.assertions().size(); i++) {
            assertions("posture.assertions." + i, p.assertions().get(i));
        }
        for (int i = 0; i < p.services().size(); i++) {
            service("posture.services." + i, p.services().get(i));
        }
        for (int i = 0; i < p.networks().size(); i++) {
            PostureSettings.NetworkSet n = p.networks().get(i);
            name("posture.networks." + i + ".name", n.name());
            file("posture.networks." + i + ".file", n.file(), true);
        }
    }

    private void deviceCertificates(String key, PostureSettings.DeviceCertificates d) {
        name(key + ".name", d.name());
        file(key + ".ca-bundle", d.caBundle(), true);
        for (int i = 0; i < d.crls().size(); i++) {
            file(key + ".crls." + i, d.crls().get(i), true);
        }
        if (!DEVICE_ID_FIELDS.contains(d.deviceId())) {
            add(key + ".device-id", "invalid value '" + d.deviceId() + "'; expected one of "
                    + new java.util.TreeSet<>(DEVICE_ID_FIELDS));
        }
        d.extensions().forEach((n, oid) -> {
            if (!NAME.matcher(n).matches() || oid == null || !OID.matcher(oid).matches()) {
                add(key + ".extensions." + n, "expected name: OID, such as asset-tag: "
                        + "1.3.6.1.4.1.99999.1; got " + n + ": " + oid);
            }
        });
    }

    private void assertions(String key, PostureSettings.Assertions a) {
        name(key + ".name", a.name());
        if (a.issuer() == null || a.issuer().isBlank()) {
            add(key + ".issuer", "missing; expected the issuer's exact iss value");
        }
        if ((a.jwksFile() == null) == (a.jwksUri() == null)) {
            add(key, "expected exactly one of 'jwks-file' and 'jwks-uri'");
        }
        file(key + ".jwks-file", a.jwksFile(), false);
        if (a.jwksUri() != null && !secureOrLoopback(a.jwksUri())) {
            add(key + ".jwks-uri", "expected an https URL (http only on loopback)");
        }
        if (a.audiences().isEmpty()) {
            add(key + ".audiences", "expected at least one audience");
        }
        if (a.algorithms().isEmpty() || !ALGORITHMS.containsAll(a.algorithms())) {
            add(key + ".algorithms", "expected some of " + new java.util.TreeSet<>(ALGORITHMS)
                    + ", got " + a.algorithms());
        }
        if (!TOKEN.matcher(a.header()).matches()) {
            add(key + ".header", "invalid header name '" + a.header() + "'");
        }
        if (a.cookie() != null && !TOKEN.matcher(a.cookie()).matches()) {
            add(key + ".cookie", "invalid cookie name '" + a.cookie() + "'");
        }
        positive(key + ".max-age", a.maxAge());
    }

    private void service(String key, PostureSettings.Service s) {
        name(key + ".name", s.name());
        URI url = s.url() == null ? null : uri(s.url().replace("{device-id}", "device"));
        if (url == null || !s.url().contains("{device-id}") || url.getHost() == null
                || !("https".equals(url.getScheme()) || "http".equals(url.getScheme()))) {
            add(key + ".url", "expected an http or https URL with {device-id} in it, such as "
                    + "https://posture.example/v1/devices/{device-id}");
        }
        file(key + ".token-file", s.tokenFile(), false);
        file(key + ".client-certificate", s.clientCertificate(), false);
        file(key + ".client-key", s.clientKey(), false);
        file(key + ".ca-bundle", s.caBundle(), false);
        if ((s.clientCertificate() == null) != (s.clientKey() == null)) {
            add(key + ".client-key", "'client-certificate' and 'client-key' go together");
        }
        positive(key + ".timeout", s.timeout());
        positive(key + ".cache-max-age", s.cacheMaxAge());
        positive(key + ".max-age", s.maxAge());
    }

    private void name(String key, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            add(key, "invalid name '" + name + "'; expected lower-case letters, digits, '-' or '_'");
        } else if (!key.startsWith("posture.networks.") && RESERVED.contains(name)) {
            add(key, "the name '" + name + "' is kept for a built-in provider; choose another");
        } else if (!names.add((key.startsWith("posture.networks.") ? "set " : "provider ") + name)) {
            add(key, "the name '" + name + "' is used twice");
        }
    }

    private void file(String key, String path, boolean required) {
        if (path == null) {
            if (required) {
                add(key, "missing; expected a file");
            }
        } else if (!readable.test(path)) {
            add(key, "cannot read file '" + path + "'");
        }
    }

    private void positive(String key, Duration d) {
        if (d.isZero() || d.isNegative()) {
            add(key, "expected a positive duration, got " + d);
        }
    }

    private static boolean secureOrLoopback(URI u) {
        return "https".equals(u.getScheme()) || "http".equals(u.getScheme())
                && List.of("127.0.0.1", "localhost", "[::1]").contains(u.getHost());
    }

    private static URI uri(String text) {
        try {
            return new URI(text);
        } catch (java.net.URISyntaxException e) {
            return null;
        }
    }

    private void add(String key, String message) {
        problems.accept(key, message);
    }
}
