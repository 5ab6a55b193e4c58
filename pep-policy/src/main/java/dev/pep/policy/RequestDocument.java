package dev.pep.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pep.core.AccessRequest;
import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.DevicePosture;
import dev.pep.core.PostureSignal;
import dev.pep.core.RequestAttributes;
import dev.pep.core.Source;
import dev.pep.core.Subject;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Reads the request documents of {@code pep policy explain} and policy test files (JSON or YAML)
 * into an {@link AccessRequest}. docs/policy-reference.md describes the format.
 *
 * <p>Unknown keys are refused, so a misspelt attribute cannot silently test nothing.
 */
final class RequestDocument {

    private static final Set<String> TOP =
            Set.of("subject", "device", "app", "request", "source", "time", "id");
    private static final Set<String> SUBJECT = Set.of("id", "issuer", "organisation", "groups",
            "roles", "email", "claims", "method", "authenticated_at");
    private static final Set<String> SIGNAL = Set.of("value", "source", "age", "assessed_at");
    private static final Set<String> REQUEST =
            Set.of("method", "path", "host", "query", "headers", "protocol");
    private static final Set<String> SOURCE = Set.of("ip", "port", "networks");

    private RequestDocument() {
    }

    /**
     * The request a document describes.
     *
     * @param doc the document
     * @param apps the loaded apps by name; an unknown name makes a placeholder app
     * @param now the time when the document gives none
     * @throws IllegalArgumentException naming the bad key or value
     */
    static AccessRequest parse(JsonNode doc, Function<String, Optional<App>> apps, Instant now) {
        keys(doc, TOP, "request document");
        Instant time = doc.has("time") ? instant(doc.get("time"), "time") : now;
        String appName = text(doc, "app", null);
        if (appName == null) {
            throw new IllegalArgumentException("request document needs app: an app name");
        }
        JsonNode req = doc.path("request");
        keys(req, REQUEST, "request");
        App app = apps.apply(appName).orElseGet(() -> placeholder(appName, text(req, "host",
                "unknown.invalid")));
        RequestAttributes attributes = new RequestAttributes(
                text(req, "method", "GET").toUpperCase(Locale.ROOT), text(req, "host",
                app.hosts().get(0)), text(req, "path", "/"), text(req, "query", ""),
                strings(req.path("headers")), text(req, "protocol", "HTTP/1.1"));
        return new AccessRequest(subject(doc.path("subject"), time),
                device(doc.path("device"), time), app, attributes, source(doc.path("source")),
                time, text(doc, "id", "test-request"));
    }

    private static Subject subject(JsonNode s, Instant time) {
        if (s.isMissingNode() || s.isNull()) {
            return Subject.anonymous();
        }
        keys(s, SUBJECT, "subject");
        Map<String, Object> claims = new HashMap<>();
        s.path("claims").fields().forEachRemaining(e -> claims.put(e.getKey(),
                plain(e.getValue())));
        AuthenticationMethod method = AuthenticationMethod.valueOf(
                text(s, "method", "oidc").toUpperCase(Locale.ROOT));
        return new Subject(text(s, "id", "anonymous"), text(s, "issuer", ""),
                text(s, "organisation", ""), new HashSet<>(list(s.path("groups"))),
                new HashSet<>(list(s.path("roles"))), text(s, "email", ""), claims, method,
                s.has("authenticated_at") ? instant(s.get("authenticated_at"), "authenticated_at")
                        : time);
    }

    private static DevicePosture device(JsonNode d, Instant time) {
        if (d.isMissingNode() || d.isNull()) {
            return DevicePosture.unknown();
        }
        keys(d, Set.of("signals"), "device");
        Map<String, PostureSignal> signals = new HashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = d.path("signals").fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            signals.put(e.getKey(), signal(e.getKey(), e.getValue(), time));
        }
        return new DevicePosture(signals);
    }

    private static PostureSignal signal(String name, JsonNode s, Instant time) {
        if (!s.isObject()) {
            return new PostureSignal(name, plain(s), "request-document", time);
        }
        keys(s, SIGNAL, "device signal " + name);
        Instant assessed = time;
        if (s.has("assessed_at")) {
            assessed = instant(s.get("assessed_at"), "assessed_at");
        } else if (s.has("age")) {
            String age = s.get("age").asText();
            assessed = age.equals("0s") ? time : time.minus(Durations.parse(age));
        }
        return new PostureSignal(name, plain(s.path("value")), text(s, "source",
                "request-document"), assessed);
    }

    private static Source source(JsonNode s) {
        keys(s, SOURCE, "source");
        String ip = text(s, "ip", "127.0.0.1");
        try {
            InetAddress address = InetAddress.getByAddress(IpAddresses.parse(ip));
            return new Source(address, s.path("port").asInt(0), new HashSet<>(list(
                    s.path("networks"))));
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("source.ip '" + ip + "' is not an address", e);
        }
    }

    private static App placeholder(String name, String host) {
        return new App(name, List.of(host), AppProtocol.HTTP, URI.create("pep:unknown"),
                Map.of(), false, Optional.empty());
    }

    private static void keys(JsonNode node, Set<String> allowed, String what) {
        if (node.isMissingNode() || node.isNull()) {
            return;
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException(what + ": expected an object");
        }
        node.fieldNames().forEachRemaining(k -> {
            if (!allowed.contains(k)) {
                throw new IllegalArgumentException("unknown key '" + k + "' in " + what
                        + "; expected one of " + new java.util.TreeSet<>(allowed));
            }
        });
    }

    private static String text(JsonNode node, String key, String fallback) {
        JsonNode v = node.path(key);
        return v.isMissingNode() || v.isNull() ? fallback : v.asText();
    }

    private static Instant instant(JsonNode v, String key) {
        try {
            return OffsetDateTime.parse(v.asText()).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(key + " '" + v.asText()
                    + "': expected an RFC 3339 timestamp", e);
        }
    }

    private static List<String> list(JsonNode v) {
        List<String> out = new ArrayList<>();
        v.forEach(e -> out.add(e.asText()));
        return out;
    }

    private static Map<String, String> strings(JsonNode v) {
        Map<String, String> out = new HashMap<>();
        v.fields().forEachRemaining(e -> out.put(e.getKey().toLowerCase(Locale.ROOT),
                e.getValue().asText()));
        return out;
    }

    /** A JSON value as a plain Java value: string, long, double, boolean, list or map. */
    static Object plain(JsonNode v) {
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isIntegralNumber()) {
            return v.longValue();
        }
        if (v.isNumber()) {
            return v.doubleValue();
        }
        if (v.isArray()) {
            List<Object> out = new ArrayList<>();
            v.forEach(e -> out.add(plain(e)));
            return out;
        }
        if (v.isObject()) {
            Map<String, Object> out = new HashMap<>();
            v.fields().forEachRemaining(e -> out.put(e.getKey(), plain(e.getValue())));
            return out;
        }
        return v.asText();
    }
}
