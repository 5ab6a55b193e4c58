package dev.pep.identity.session;

import com.nimbusds.jose.util.JSONObjectUtils;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Subject;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The JSON form of a {@link Session} inside the sealed cookie; short keys keep cookies small. */
final class SessionJson {

    private SessionJson() {
    }

    static String write(Session session) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("sid", session.id());
        out.put("app", session.app());
        out.put("host", session.host());
        out.put("iat", session.issuedAt().getEpochSecond());
        out.put("seen", session.lastSeenAt().getEpochSecond());
        out.put("idle", session.idleTimeout().getSeconds());
        out.put("exp", session.absoluteExpiresAt().getEpochSecond());
        out.put("psid", session.providerSessionId());
        out.put("sub", subject(session.subject()));
        return JSONObjectUtils.toJSONString(out);
    }

    static Session read(String json) throws ParseException {
        Map<String, Object> in = JSONObjectUtils.parse(json);
        try {
            return new Session(str(in, "sid"), subject(JSONObjectUtils.getJSONObject(in, "sub")),
                    str(in, "app"), str(in, "host"), time(in, "iat"), time(in, "seen"),
                    Duration.ofSeconds(JSONObjectUtils.getLong(in, "idle")), time(in, "exp"),
                    str(in, "psid"));
        } catch (RuntimeException e) {
            throw new ParseException("session: " + e.getClass().getSimpleName(), 0);
        }
    }

    private static Map<String, Object> subject(Subject subject) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", subject.id());
        out.put("iss", subject.issuer());
        out.put("org", subject.organisation());
        out.put("groups", List.copyOf(subject.groups()));
        out.put("roles", List.copyOf(subject.roles()));
        out.put("email", subject.email());
        out.put("claims", subject.claims());
        out.put("amr", subject.method().name());
        out.put("auth", subject.authenticatedAt().getEpochSecond());
        return out;
    }

    private static Subject subject(Map<String, Object> in) throws ParseException {
        if (in == null) {
            throw new ParseException("no subject", 0);
        }
        Map<String, Object> claims = JSONObjectUtils.getJSONObject(in, "claims");
        return new Subject(str(in, "id"), str(in, "iss"), str(in, "org"), set(in, "groups"),
                set(in, "roles"), str(in, "email"), claims == null ? Map.of() : claims,
                AuthenticationMethod.valueOf(str(in, "amr")), time(in, "auth"));
    }

    private static String str(Map<String, Object> in, String key) throws ParseException {
        String value = JSONObjectUtils.getString(in, key);
        if (value == null) {
            throw new ParseException("missing " + key, 0);
        }
        return value;
    }

    private static Instant time(Map<String, Object> in, String key) throws ParseException {
        return Instant.ofEpochSecond(JSONObjectUtils.getLong(in, key));
    }

    private static Set<String> set(Map<String, Object> in, String key) {
        Set<String> out = new LinkedHashSet<>();
        if (in.get(key) instanceof Collection<?> values) {
            values.forEach(v -> out.add(String.valueOf(v)));
        }
        return out;
    }
}
