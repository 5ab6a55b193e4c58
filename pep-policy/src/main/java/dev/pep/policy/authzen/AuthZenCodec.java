package dev.pep.policy.authzen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pep.core.AccessRequest;
import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.DevicePosture;
import dev.pep.core.Effect;
import dev.pep.core.Obligation;
import dev.pep.core.PolicyVersion;
import dev.pep.core.PostureSignal;
import dev.pep.core.RequestAttributes;
import dev.pep.core.Source;
import dev.pep.core.Subject;
import dev.pep.policy.IpAddresses;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Maps access requests and decisions to and from the JSON of the AuthZEN Authorization API
 * evaluation endpoint: {@code subject}, {@code action}, {@code resource}, {@code context} in;
 * {@code decision} and {@code context} out. pep's own attributes travel in {@code properties}
 * and {@code context}; docs/policy-reference.md lists them.
 */
final class AuthZenCodec {

    static final ObjectMapper JSON = new ObjectMapper();

    private AuthZenCodec() {
    }

    /** The evaluation request for an access request. */
    static ObjectNode request(AccessRequest r) {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode subject = body.putObject("subject");
        subject.put("type", "user").put("id", r.subject().id());
        ObjectNode sp = subject.putObject("properties");
        sp.put("issuer", r.subject().issuer()).put("organisation", r.subject().organisation())
                .put("email", r.subject().email())
                .put("method", r.subject().method().name().toLowerCase(Locale.ROOT))
                .put("authenticated_at", r.subject().authenticatedAt().toString());
        strings(sp.putArray("groups"), r.subject().groups());
        strings(sp.putArray("roles"), r.subject().roles());
        sp.set("claims", JSON.valueToTree(r.subject().claims()));
        body.putObject("action").put("name", r.request().method());
        ObjectNode resource = body.putObject("resource");
        resource.put("type", "app").put("id", r.app().name());
        ObjectNode rp = resource.putObject("properties");
        rp.put("host", r.request().host()).put("path", r.request().path())
                .put("query", r.request().query()).put("protocol", r.request().protocol());
        rp.set("headers", JSON.valueToTree(r.request().headers()));
        ObjectNode context = body.putObject("context");
        context.put("time", r.time().toString()).put("request_id", r.requestId());
        ObjectNode source = context.putObject("source");
        source.put("ip", r.source().address().getHostAddress()).put("port", r.source().port());
        strings(source.putArray("networks"), r.source().networks());
        ObjectNode signals = context.putObject("device").putObject("signals");
        r.device().signals().values().stream().sorted((a, b) -> a.name().compareTo(b.name()))
                .forEach(s -> {
                    ObjectNode signal = signals.putObject(s.name());
                    signal.set("value", JSON.valueToTree(s.value()));
                    signal.put("source", s.source()).put("assessed_at", s.assessedAt().toString());
                });
        return body;
    }

    /** The access request an evaluation request describes. */
    static AccessRequest accessRequest(JsonNode body, Function<String, Optional<App>> apps)
            throws UnknownHostException {
        JsonNode s = required(body, "subject");
        JsonNode sp = s.path("properties");
        JsonNode resource = required(body, "resource");
        JsonNode rp = resource.path("properties");
        JsonNode context = body.path("context");
        Instant time = context.has("time") ? Instant.parse(context.get("time").asText())
                : Instant.now();
        AuthenticationMethod method = AuthenticationMethod.valueOf(
                sp.path("method").asText("none").toUpperCase(Locale.ROOT));
        Subject subject = method == AuthenticationMethod.NONE ? Subject.anonymous()
                : new Subject(required(s, "id").asText(), sp.path("issuer").asText(""),
                        sp.path("organisation").asText(""), set(sp.path("groups")),
                        set(sp.path("roles")), sp.path("email").asText(""),
                        map(sp.path("claims")), method,
                        Instant.parse(sp.path("authenticated_at").asText(time.toString())));
        String appName = required(resource, "id").asText();
        String host = rp.path("host").asText("unknown.invalid");
        App app = apps.apply(appName).orElseGet(() -> new App(appName, List.of(host),
                AppProtocol.HTTP, URI.create("pep:unknown"), Map.of(), false, Optional.empty()));
        Map<String, String> headers = new HashMap<>();
        rp.path("headers").fields().forEachRemaining(e -> headers.put(e.getKey(),
                e.getValue().asText()));
        RequestAttributes attributes = new RequestAttributes(
                required(required(body, "action"), "name").asText(), host,
                rp.path("path").asText("/"), rp.path("query").asText(""), headers,
                rp.path("protocol").asText("HTTP/1.1"));
        JsonNode src = context.path("source");
        Source source = new Source(InetAddress.getByAddress(IpAddresses.parse(src.path("ip")
                .asText("127.0.0.1"))), src.path("port").asInt(0), set(src.path("networks")));
        return new AccessRequest(subject, posture(context.path("device").path("signals"), time),
                app, attributes, source, time, context.path("request_id").asText("authzen"));
    }

    /** The evaluation response for a decision. */
    static ObjectNode response(Decision d) {
        ObjectNode body = JSON.createObjectNode();
        body.put("decision", d.allowed());
        ObjectNode context = body.putObject("context");
        d.ruleId().ifPresent(rule -> context.put("rule", rule));
        context.put("policy_version", d.version().id());
        ArrayNode reasons = context.putArray("reasons");
        d.reasons().forEach(r -> reasons.addObject().put("code", r.code())
                .put("message", r.message()));
        ArrayNode obligations = context.putArray("obligations");
        d.obligations().forEach(o -> obligation(obligations.addObject(), o));
        context.put("ttl_seconds", d.ttl().toSeconds());
        return body;
    }

    /**
     * The decision an evaluation response carries.
     *
     * @throws IllegalArgumentException when it has no boolean decision or an obligation pep
     *     does not know (the caller denies)
     */
    static Decision decision(JsonNode body, PolicyVersion fallback, String allowCode,
            String denyCode) {
        JsonNode decision = body.path("decision");
        if (!decision.isBoolean()) {
            throw new IllegalArgumentException("response has no boolean decision");
        }
        boolean allowed = decision.booleanValue();
        JsonNode context = body.path("context");
        List<DecisionReason> reasons = new ArrayList<>();
        context.path("reasons").forEach(r -> reasons.add(DecisionReason.of(
                r.path("code").asText(), r.path("message").asText(""))));
        if (reasons.isEmpty()) {
            reasons.add(allowed ? DecisionReason.of(allowCode, "access allowed by policy")
                    : DecisionReason.of(denyCode, "access denied by policy"));
        }
        List<Obligation> obligations = new ArrayList<>();
        if (allowed) {
            context.path("obligations").forEach(o -> obligations.add(obligation(o)));
        }
        PolicyVersion version = context.hasNonNull("policy_version")
                ? new PolicyVersion(context.get("policy_version").asText()) : fallback;
        Duration ttl = allowed ? Duration.ofSeconds(Math.max(0,
                context.path("ttl_seconds").asLong(0))) : Duration.ZERO;
        Optional<String> rule = context.hasNonNull("rule")
                ? Optional.of(context.get("rule").asText()) : Optional.empty();
        return new Decision(allowed ? Effect.ALLOW : Effect.DENY, rule, version, reasons,
                obligations, ttl);
    }

    private static void obligation(ObjectNode out, Obligation o) {
        if (o instanceof Obligation.ReadOnly) {
            out.put("type", "read_only");
        } else if (o instanceof Obligation.MaxSessionLength m) {
            out.put("type", "max_session").put("seconds", m.limit().toSeconds());
        } else if (o instanceof Obligation.IdleLimit i) {
            out.put("type", "idle_limit").put("seconds", i.limit().toSeconds());
        } else if (o instanceof Obligation.Reevaluate e) {
            out.put("type", "reevaluate").put("seconds", e.interval().toSeconds());
        } else if (o instanceof Obligation.SetHeader h) {
            out.put("type", "set_header").put("name", h.name()).put("value", h.value());
        } else if (o instanceof Obligation.IdentityAssertion a) {
            out.put("type", "identity_assertion").put("header", a.header())
                    .put("seconds", a.lifetime().toSeconds());
        }
    }

    private static Obligation obligation(JsonNode o) {
        String type = o.path("type").asText();
        return switch (type) {
            case "read_only" -> new Obligation.ReadOnly();
            case "max_session" -> new Obligation.MaxSessionLength(
                    Duration.ofSeconds(o.path("seconds").asLong()));
            case "idle_limit" -> new Obligation.IdleLimit(
                    Duration.ofSeconds(o.path("seconds").asLong()));
            case "reevaluate" -> new Obligation.Reevaluate(
                    Duration.ofSeconds(o.path("seconds").asLong()));
            case "set_header" -> new Obligation.SetHeader(o.path("name").asText(),
                    o.path("value").asText());
            case "identity_assertion" -> new Obligation.IdentityAssertion(
                    o.path("header").asText(Obligation.IdentityAssertion.DEFAULT_HEADER),
                    Duration.ofSeconds(o.path("seconds").asLong(120)));
            default -> throw new IllegalArgumentException("unknown obligation type: " + type);
        };
    }

    private static DevicePosture posture(JsonNode signals, Instant time) {
        Map<String, PostureSignal> out = new HashMap<>();
        signals.fields().forEachRemaining(e -> out.put(e.getKey(), new PostureSignal(e.getKey(),
                plain(e.getValue().path("value")), e.getValue().path("source").asText("authzen"),
                Instant.parse(e.getValue().path("assessed_at").asText(time.toString())))));
        return new DevicePosture(out);
    }

    private static Object plain(JsonNode v) {
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isIntegralNumber()) {
            return v.longValue();
        }
        if (v.isNumber()) {
            return v.doubleValue();
        }
        return v.isContainerNode() ? JSON.convertValue(v, Object.class) : v.asText();
    }

    private static JsonNode required(JsonNode node, String key) {
        JsonNode v = node.path(key);
        if (v.isMissingNode() || v.isNull()) {
            throw new IllegalArgumentException("missing " + key);
        }
        return v;
    }

    private static Set<String> set(JsonNode array) {
        Set<String> out = new HashSet<>();
        array.forEach(e -> out.add(e.asText()));
        return out;
    }

    private static Map<String, Object> map(JsonNode object) {
        Map<String, Object> out = new HashMap<>();
        object.fields().forEachRemaining(e -> out.put(e.getKey(), plain(e.getValue())));
        return out;
    }

    private static void strings(ArrayNode array, Set<String> values) {
        values.stream().sorted().forEach(array::add);
    }
}
