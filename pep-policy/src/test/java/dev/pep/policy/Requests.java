package dev.pep.policy;

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
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** A builder of access requests for tests, with sensible defaults. */
public final class Requests {

    public static final Instant NOW = Instant.parse("2026-12-03T10:00:00Z");

    private String app = "a";
    private String subjectId = "alice";
    private String organisation = "northwind";
    private Set<String> groups = new HashSet<>();
    private Set<String> roles = new HashSet<>();
    private Map<String, Object> claims = new HashMap<>();
    private AuthenticationMethod method = AuthenticationMethod.OIDC;
    private Instant authenticatedAt = NOW.minus(Duration.ofMinutes(30));
    private final Map<String, PostureSignal> signals = new HashMap<>();
    private String httpMethod = "GET";
    private String path = "/";
    private Map<String, String> headers = new HashMap<>();
    private String ip = "198.51.100.7";
    private Set<String> networks = new HashSet<>();
    private Instant time = NOW;

    public static Requests to(String app) {
        Requests r = new Requests();
        r.app = app;
        return r;
    }

    public Requests anonymous() {
        method = AuthenticationMethod.NONE;
        return this;
    }

    public Requests subject(String id) {
        subjectId = id;
        return this;
    }

    public Requests organisation(String value) {
        organisation = value;
        return this;
    }

    public Requests groups(String... values) {
        groups = Set.of(values);
        return this;
    }

    public Requests roles(String... values) {
        roles = Set.of(values);
        return this;
    }

    public Requests claim(String name, Object value) {
        claims.put(name, value);
        return this;
    }

    public Requests method(AuthenticationMethod value) {
        method = value;
        return this;
    }

    public Requests authenticatedAgo(Duration ago) {
        authenticatedAt = time.minus(ago);
        return this;
    }

    public Requests signal(String name, Object value, Duration age) {
        signals.put(name, new PostureSignal(name, value, "test", time.minus(age)));
        return this;
    }

    public Requests managed(Duration age) {
        return signal("managed", true, age);
    }

    public Requests http(String httpMethod, String path) {
        this.httpMethod = httpMethod;
        this.path = path;
        return this;
    }

    public Requests header(String name, String value) {
        headers.put(name, value);
        return this;
    }

    public Requests ip(String value) {
        ip = value;
        return this;
    }

    public Requests networks(String... values) {
        networks = Set.of(values);
        return this;
    }

    public Requests at(String instant) {
        time = Instant.parse(instant);
        return this;
    }

    public AccessRequest build() {
        Subject subject = method == AuthenticationMethod.NONE ? Subject.anonymous()
                : new Subject(subjectId, "https://idp.northwind.example", organisation, groups,
                        roles, subjectId + "@northwind.example", claims, method,
                        authenticatedAt);
        App placeholder = new App(app, List.of(app + ".example"), AppProtocol.HTTP,
                URI.create("pep:echo"), Map.of(), false, Optional.empty());
        try {
            return new AccessRequest(subject, new DevicePosture(signals), placeholder,
                    new RequestAttributes(httpMethod, app + ".example", path, "", headers,
                            "HTTP/1.1"),
                    new Source(InetAddress.getByAddress(IpAddresses.parse(ip)), 40000, networks),
                    time, "req-1");
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
