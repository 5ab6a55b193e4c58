package dev.pep.policy;

import dev.cel.common.types.CelType;
import dev.cel.common.types.ListType;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The fixed attribute vocabulary that conditions may name, with its CEL types.
 *
 * <p>Each attribute is a CEL variable with a dotted name ({@code subject.groups}); CEL's checker
 * resolves qualified names against these declarations, so a misspelt attribute fails at load.
 * {@link Activation} supplies the values; docs/policy-reference.md lists them.
 */
final class Vocabulary {

    static final CelType STRING_MAP = MapType.create(SimpleType.STRING, SimpleType.STRING);
    static final CelType DYN_MAP = MapType.create(SimpleType.STRING, SimpleType.DYN);
    static final CelType STRING_LIST = ListType.create(SimpleType.STRING);

    /** Attribute name to CEL type, in documentation order. */
    static final Map<String, CelType> ATTRIBUTES = attributes();

    /** The root objects: subject, device, request, source, app, context. */
    static final List<String> ROOTS =
            List.of("subject", "device", "request", "source", "app", "context");

    private Vocabulary() {
    }

    /** The attributes under a root, for an error message, for example {@code subject.id, ...}. */
    static String attributesOf(String root) {
        return ATTRIBUTES.keySet().stream()
                .filter(name -> name.startsWith(root + "."))
                .collect(Collectors.joining(", "));
    }

    private static Map<String, CelType> attributes() {
        Map<String, CelType> a = new LinkedHashMap<>();
        a.put("subject.id", SimpleType.STRING);
        a.put("subject.issuer", SimpleType.STRING);
        a.put("subject.organisation", SimpleType.STRING);
        a.put("subject.groups", STRING_LIST);
        a.put("subject.roles", STRING_LIST);
        a.put("subject.email", SimpleType.STRING);
        a.put("subject.claims", DYN_MAP);
        a.put("subject.method", SimpleType.STRING);
        a.put("subject.authenticated", SimpleType.BOOL);
        a.put("subject.auth_time", SimpleType.TIMESTAMP);
        a.put("subject.auth_age", SimpleType.DURATION);
        a.put("device.managed", SimpleType.BOOL);
        a.put("device.age", SimpleType.DURATION);
        a.put("device.signals", MapType.create(SimpleType.STRING, DYN_MAP));
        a.put("device.certificate", STRING_MAP);
        a.put("device.fingerprint", SimpleType.STRING);
        a.put("request.id", SimpleType.STRING);
        a.put("request.method", SimpleType.STRING);
        a.put("request.host", SimpleType.STRING);
        a.put("request.path", SimpleType.STRING);
        a.put("request.query", SimpleType.STRING);
        a.put("request.protocol", SimpleType.STRING);
        a.put("request.headers", STRING_MAP);
        a.put("source.ip", SimpleType.STRING);
        a.put("source.port", SimpleType.INT);
        a.put("source.networks", STRING_LIST);
        a.put("app.name", SimpleType.STRING);
        a.put("app.labels", STRING_MAP);
        a.put("app.lifecycle", SimpleType.STRING);
        a.put("app.protocol", SimpleType.STRING);
        a.put("context.time", SimpleType.TIMESTAMP);
        a.put("context.day", SimpleType.STRING);
        a.put("context.hour", SimpleType.INT);
        a.put("context.policy_version", SimpleType.STRING);
        return a;
    }
}
