package dev.pep.policy;

import dev.pep.core.AccessRequest;
import dev.pep.core.App;
import dev.pep.core.DevicePosture;
import dev.pep.core.PolicyVersion;
import dev.pep.core.PostureSignal;
import dev.pep.core.Subject;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Builds the CEL variable values of the {@link Vocabulary} from an {@link AccessRequest}.
 *
 * <p>Numbers become CEL ints (long) or doubles; a device with no signal has
 * {@link #UNKNOWN_AGE} as its age, so any freshness condition is false.
 */
final class Activation {

    /** The age of a device about which nothing is known: older than any sane limit. */
    static final Duration UNKNOWN_AGE = Duration.ofDays(36_500);

    private Activation() {
    }

    /** The variables for one request; {@code app} is the loaded app the request names. */
    static Map<String, Object> of(AccessRequest request, App app, PolicyVersion version) {
        Map<String, Object> vars = new HashMap<>(64);
        subject(vars, request.subject(), request.time());
        device(vars, request.device(), request.time());
        vars.put("request.id", request.requestId());
        vars.put("request.method", request.request().method());
        vars.put("request.host", request.request().host());
        vars.put("request.path", request.request().path());
        vars.put("request.query", request.request().query());
        vars.put("request.protocol", request.request().protocol());
        vars.put("request.headers", request.request().headers());
        vars.put("source.ip", request.source().address().getHostAddress());
        vars.put("source.port", (long) request.source().port());
        vars.put("source.networks", List.copyOf(request.source().networks()));
        vars.put("app.name", app.name());
        vars.put("app.labels", app.labels());
        vars.put("app.lifecycle", app.episodic() ? "episodic" : "permanent");
        vars.put("app.protocol", app.protocol().name().toLowerCase(Locale.ROOT));
        Instant time = request.time();
        vars.put("context.time", time);
        vars.put("context.day", time.atZone(ZoneOffset.UTC).getDayOfWeek().name()
                .toLowerCase(Locale.ROOT));
        vars.put("context.hour", (long) time.atZone(ZoneOffset.UTC).getHour());
        vars.put("context.policy_version", version.id());
        return vars;
    }

    private static void subject(Map<String, Object> vars, Subject s, Instant now) {
        vars.put("subject.id", s.id());
        vars.put("subject.issuer", s.issuer());
        vars.put("subject.organisation", s.organisation());
        vars.put("subject.groups", List.copyOf(s.groups()));
        vars.put("subject.roles", List.copyOf(s.roles()));
        vars.put("subject.email", s.email());
        vars.put("subject.claims", normalise(s.claims()));
        vars.put("subject.method", s.method().name().toLowerCase(Locale.ROOT));
        vars.put("subject.authenticated", !s.isAnonymous());
        vars.put("subject.auth_time", s.authenticatedAt());
        Duration age = Duration.between(s.authenticatedAt(), now);
        vars.put("subject.auth_age", age.isNegative() ? Duration.ZERO : age);
    }

    private static void device(Map<String, Object> vars, DevicePosture posture, Instant now) {
        Map<String, Object> signals = new HashMap<>();
        Map<String, String> certificate = new HashMap<>();
        Duration oldest = null;
        for (PostureSignal signal : posture.signals().values()) {
            Duration age = signal.age(now);
            oldest = oldest == null || age.compareTo(oldest) > 0 ? age : oldest;
            signals.put(signal.name(), Map.of("value", value(signal.value()),
                    "source", signal.source(), "age", age, "assessed_at", signal.assessedAt()));
            if (signal.name().startsWith("certificate.")) {
                certificate.put(signal.name().substring("certificate.".length()),
                        String.valueOf(signal.value()));
            }
        }
        Duration age = posture.signal("managed").map(s -> s.age(now))
                .orElse(oldest == null ? UNKNOWN_AGE : oldest);
        vars.put("device.managed", posture.managed());
        vars.put("device.age", age);
        vars.put("device.signals", signals);
        vars.put("device.certificate", certificate);
        vars.put("device.fingerprint", posture.signal("tls.fingerprint")
                .map(s -> String.valueOf(s.value())).orElse(""));
    }

    private static Map<String, Object> normalise(Map<String, Object> claims) {
        Map<String, Object> out = new HashMap<>();
        claims.forEach((k, v) -> out.put(k, value(v)));
        return out;
    }

    /** CEL knows long, double, bool, string, list and map: widen the rest. */
    static Object value(Object v) {
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof Float f) {
            return f.doubleValue();
        }
        if (v instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            list.forEach(e -> out.add(value(e)));
            return out;
        }
        if (v instanceof java.util.Collection<?> c) {
            return value(new ArrayList<>(c));
        }
        if (v instanceof Map<?, ?> map) {
            Map<String, Object> out = new HashMap<>();
            map.forEach((k, e) -> out.put(String.valueOf(k), value(e)));
            return out;
        }
        return v;
    }
}
