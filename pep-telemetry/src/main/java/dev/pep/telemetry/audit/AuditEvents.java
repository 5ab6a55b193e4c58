package dev.pep.telemetry.audit;

import dev.pep.core.AccessRequest;
import dev.pep.core.App;
import dev.pep.core.AuditEvent;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.DevicePosture;
import dev.pep.core.Effect;
import dev.pep.core.Obligation;
import dev.pep.core.PolicyVersion;
import dev.pep.core.Source;
import dev.pep.core.Subject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Builds every {@link AuditEvent} type of the audit schema (docs/audit-schema.md), with the OCSF
 * classification of each type already filled in.
 *
 * <p>Thread-safe when the id supplier is. Events never carry a secret: pass a token only through
 * {@link #tokenHash(String)}. Empty session or request ids mean "none".
 */
public final class AuditEvents {

    /** A session was admitted and opened to an app. */
    public static final String SESSION_STARTED = "session.started";
    /** The policy engine decided one access. */
    public static final String DECISION = "decision";
    /** A session ended. */
    public static final String SESSION_ENDED = "session.ended";
    /** A subject authenticated. */
    public static final String LOGIN_SUCCEEDED = "login.succeeded";
    /** An authentication failed. */
    public static final String LOGIN_FAILED = "login.failed";
    /** A subject logged out. */
    public static final String LOGOUT = "logout";
    /** A session or subject was revoked by an admin or an identity provider. */
    public static final String REVOCATION = "revocation";
    /** A policy was loaded and is now in force. */
    public static final String POLICY_LOADED = "policy.loaded";
    /** A policy was refused; the running one stays in force. */
    public static final String POLICY_REFUSED = "policy.refused";
    /** A connector opened its tunnel. */
    public static final String CONNECTOR_CONNECTED = "connector.connected";
    /** A connector's tunnel closed. */
    public static final String CONNECTOR_DISCONNECTED = "connector.disconnected";
    /** A connector was enrolled. */
    public static final String CONNECTOR_ENROLLED = "connector.enrolled";
    /** A connector's enrolment was revoked. */
    public static final String CONNECTOR_REVOKED = "connector.revoked";
    /** An app was registered. */
    /** A connector's enrolment, tunnel or announced app was refused. */
    public static final String CONNECTOR_REFUSED = "connector.refused";
    public static final String APP_REGISTERED = "app.registered";
    /** An episodic app expired. */
    public static final String APP_EXPIRED = "app.expired";
    /** An app registered at run time was removed. */
    public static final String APP_REMOVED = "app.removed";
    /** An admin acted through the admin API or console. */
    public static final String ADMIN_ACTION = "admin.action";
    /** The pipeline dropped events (best-effort mode only). */
    public static final String GAP = "audit.gap";

    private static final java.util.regex.Pattern TRACE_ID =
            java.util.regex.Pattern.compile("[0-9a-f]{32}");
    private static final java.util.regex.Pattern SPAN_ID =
            java.util.regex.Pattern.compile("[0-9a-f]{16}");

    static final int SEVERITY_INFORMATIONAL = 1;
    static final int SEVERITY_MEDIUM = 3;
    static final int STATUS_SUCCESS = 1;
    static final int STATUS_FAILURE = 2;

    private final String instance;
    private final Clock clock;
    private final Supplier<String> ids;

    /**
     * Events of one gateway instance.
     *
     * @param instance the gateway instance name, not blank
     * @param clock the source of event times
     * @param ids unique event ids, for example random UUIDs
     */
    public AuditEvents(String instance, Clock clock, Supplier<String> ids) {
        this.instance = requireText(instance, "instance");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.ids = Objects.requireNonNull(ids, "ids");
    }

    /** Events of one instance with the UTC system clock and random UUIDs. */
    public static AuditEvents create(String instance) {
        return new AuditEvents(instance, Clock.systemUTC(), () -> UUID.randomUUID().toString());
    }

    /**
     * A short, stable, non-reversible reference to a token, for correlating events without
     * recording the token: {@code sha256:} and the first 16 hex digits of its SHA-256.
     */
    public static String tokenHash(String token) {
        Objects.requireNonNull(token, "token");
        return "sha256:" + HexFormat.of().formatHex(sha256(token), 0, 8);
    }

    /**
     * The same event tied to the W3C trace of its request: {@code trace_id} (32 lower-case hex
     * digits) and {@code span_id} (the gateway's span, 16) added to its fields.
     *
     * @throws IllegalArgumentException when an id is not lower-case hex of its size
     */
    public static AuditEvent traced(AuditEvent event, String traceId, String spanId) {
        if (!TRACE_ID.matcher(traceId).matches() || !SPAN_ID.matcher(spanId).matches()) {
            throw new IllegalArgumentException("not a W3C trace id and span id: " + traceId
                    + " " + spanId);
        }
        Map<String, Object> f = new LinkedHashMap<>(event.fields());
        f.put("trace_id", traceId);
        f.put("span_id", spanId);
        return new AuditEvent(event.id(), event.type(), event.time(), event.instance(),
                event.sessionId(), event.requestId(), f);
    }

    /** The gateway instance these events name. */
    public String instance() {
        return instance;
    }

    /** A session was admitted to an app (OCSF Network Activity: Open). */
    public AuditEvent sessionStarted(
            String sessionId, String requestId, Subject subject, App app, Source source,
            String protocol) {
        Map<String, Object> f = ocsf(OcsfClass.NETWORK_ACTIVITY, 1, SEVERITY_INFORMATIONAL,
                STATUS_SUCCESS);
        f.put("actor", Map.of("user", user(subject)));
        f.put("src_endpoint", endpoint(source));
        f.put("dst_endpoint", Map.of("svc_name", app.name()));
        f.put("connection_info", Map.of("protocol_name", protocol));
        return event(SESSION_STARTED, sessionId, requestId, f);
    }

    /**
     * The engine decided one access (OCSF Web Resource Access Activity: Access Grant or Access
     * Deny). The inputs are summarised: no headers, no query string, no claim values.
     */
    public AuditEvent decision(AccessRequest request, Decision decision, String sessionId) {
        boolean allowed = decision.effect() == Effect.ALLOW;
        Map<String, Object> f = ocsf(OcsfClass.WEB_RESOURCE_ACCESS, allowed ? 1 : 2,
                SEVERITY_INFORMATIONAL, STATUS_SUCCESS);
        f.put("disposition_id", allowed ? 1 : 2);
        f.put("disposition", allowed ? "Allowed" : "Blocked");
        f.put("actor", Map.of("user", user(request.subject())));
        f.put("src_endpoint", endpoint(request.source()));
        f.put("http_request", Map.of(
                "http_method", request.request().method(),
                "version", request.request().protocol(),
                "url", Map.of("hostname", request.request().host(),
                        "path", request.request().path())));
        f.put("web_resources", List.of(Map.of("name", request.app().name())));
        f.put("device", device(request.device(), request.time()));
        f.put("policy", Map.of(
                "uid", decision.ruleId().orElse(""),
                "version", decision.version().id()));
        f.put("decision", decisionSummary(decision));
        return event(DECISION, sessionId, request.requestId(), f);
    }

    /** A session ended (OCSF Network Activity: Close). */
    public AuditEvent sessionEnded(
            String sessionId, long bytesIn, long bytesOut, Duration duration, String reason) {
        if (bytesIn < 0 || bytesOut < 0 || duration.isNegative()) {
            throw new IllegalArgumentException("negative bytes or duration for session "
                    + sessionId);
        }
        Map<String, Object> f = ocsf(OcsfClass.NETWORK_ACTIVITY, 2, SEVERITY_INFORMATIONAL,
                STATUS_SUCCESS);
        f.put("traffic", Map.of("bytes_in", bytesIn, "bytes_out", bytesOut,
                "bytes", bytesIn + bytesOut));
        f.put("duration", duration.toMillis());
        f.put("status_detail", requireText(reason, "reason"));
        return event(SESSION_ENDED, sessionId, "", f);
    }

    /** A subject authenticated (OCSF Authentication: Logon, success). */
    public AuditEvent loginSucceeded(
            String sessionId, String requestId, Subject subject, Source source) {
        Map<String, Object> f = ocsf(OcsfClass.AUTHENTICATION, 1, SEVERITY_INFORMATIONAL,
                STATUS_SUCCESS);
        f.put("user", user(subject));
        f.put("auth_protocol", subject.method().name().toLowerCase(Locale.ROOT));
        f.put("src_endpoint", endpoint(source));
        return event(LOGIN_SUCCEEDED, sessionId, requestId, f);
    }

    /**
     * An authentication failed (OCSF Authentication: Logon, failure).
     *
     * @param issuer the issuer the credential claimed; empty when unknown
     * @param reasonCode a stable lower-case code, for example {@code token_expired}
     */
    public AuditEvent loginFailed(
            String requestId, String issuer, AuthenticationMethod method, Source source,
            String reasonCode) {
        Map<String, Object> f = ocsf(OcsfClass.AUTHENTICATION, 1, SEVERITY_MEDIUM,
                STATUS_FAILURE);
        f.put("user", Map.of("issuer", issuer));
        f.put("auth_protocol", method.name().toLowerCase(Locale.ROOT));
        f.put("src_endpoint", endpoint(source));
        f.put("status_detail", requireText(reasonCode, "reasonCode"));
        return event(LOGIN_FAILED, "", requestId, f);
    }

    /** A subject logged out (OCSF Authentication: Logoff). */
    public AuditEvent logout(String sessionId, Subject subject) {
        Map<String, Object> f = ocsf(OcsfClass.AUTHENTICATION, 2, SEVERITY_INFORMATIONAL,
                STATUS_SUCCESS);
        f.put("user", user(subject));
        return event(LOGOUT, sessionId, "", f);
    }

    /**
     * A session or a subject's access was revoked (OCSF Web Resource Access Activity: Access
     * Revoke).
     *
     * @param subjectId the subject whose access was revoked
     * @param revokedBy who revoked: an admin's name or an identity provider's issuer
     */
    public AuditEvent revocation(
            String sessionId, String subjectId, String revokedBy, String reason) {
        Map<String, Object> f = ocsf(OcsfClass.WEB_RESOURCE_ACCESS, 3, SEVERITY_INFORMATIONAL,
                STATUS_SUCCESS);
        f.put("user", Map.of("uid", subjectId));
        f.put("actor", Map.of("user", Map.of("name", revokedBy)));
        f.put("status_detail", requireText(reason, "reason"));
        return event(REVOCATION, sessionId, "", f);
    }

    /**
     * The gateway ended a live session of {@code subject} to {@code app} (OCSF Web Resource
     * Access Activity: Access Revoke): a re-decision denied it, a limit ran out or an operator
     * asked. With the re-decision that ended it, its rule and policy version are recorded.
     *
     * @param endedBy what ended it: {@code policy}, {@code interval}, {@code logout},
     *     {@code max-session}, {@code admin:NAME}
     * @param reason the stable code the session ended with, for example {@code no_matching_rule}
     */
    public AuditEvent sessionRevoked(
            String sessionId, String requestId, Subject subject, String app, String endedBy,
            String reason, Optional<Decision> decision) {
        Map<String, Object> f = ocsf(OcsfClass.WEB_RESOURCE_ACCESS, 3, SEVERITY_INFORMATIONAL,
                STATUS_SUCCESS);
        f.put("user", user(subject));
        f.put("actor", Map.of("user", Map.of("name", requireText(endedBy, "endedBy"))));
        f.put("web_resources", List.of(Map.of("name", app)));
        f.put("status_detail", requireText(reason, "reason"));
        decision.ifPresent(d -> {
            f.put("policy", Map.of("uid", d.ruleId().orElse(""), "version", d.version().id()));
            f.put("decision", decisionSummary(d));
        });
        return event(REVOCATION, sessionId, requestId, f);
    }

    /** A policy is now in force (OCSF Entity Management: Update, success). */
    public AuditEvent policyLoaded(PolicyVersion version, int rules, List<String> files) {
        Map<String, Object> f = ocsf(OcsfClass.ENTITY_MANAGEMENT, 3, SEVERITY_INFORMATIONAL,
                STATUS_SUCCESS);
        f.put("entity", Map.of("type", "policy", "uid", version.id()));
        f.put("policy", Map.of("version", version.id(), "rules", rules,
                "files", List.copyOf(files)));
        return event(POLICY_LOADED, "", "", f);
    }

    /**
     * A policy was refused (OCSF Entity Management: Update, failure).
     *
     * @param kept the version that stays in force
     * @param error what was wrong, with file, line and column; no secrets
     */
    public AuditEvent policyRefused(PolicyVersion kept, List<String> files, String error) {
        Map<String, Object> f = ocsf(OcsfClass.ENTITY_MANAGEMENT, 3, SEVERITY_MEDIUM,
                STATUS_FAILURE);
        f.put("entity", Map.of("type", "policy", "uid", kept.id()));
        f.put("policy", Map.of("version", kept.id(), "files", List.copyOf(files)));
        f.put("status_detail", requireText(error, "error"));
        return event(POLICY_REFUSED, "", "", f);
    }

    /** A connector opened its tunnel (OCSF Network Activity: Open). */
    public AuditEvent connectorConnected(String connector, Source source) {
        Map<String, Object> f = ocsf(OcsfClass.NETWORK_ACTIVITY, 1, SEVERITY_INFORMATIONAL,
                STATUS_SUCCESS);
        f.put("connector", Map.of("name", requireText(connector, "connector")));
        f.put("src_endpoint", endpoint(source));
        return event(CONNECTOR_CONNECTED, "", "", f);
    }

    /** A connector's tunnel closed (OCSF Network Activity: Close). */
    public AuditEvent connectorDisconnected(String connector, String reason) {
        Map<String, Object> f = ocsf(OcsfClass.NETWORK_ACTIVITY, 2, SEVERITY_INFORMATIONAL,
                STATUS_SUCCESS);
        f.put("connector", Map.of("name", requireText(connector, "connector")));
        f.put("status_detail", requireText(reason, "reason"));
        return event(CONNECTOR_DISCONNECTED, "", "", f);
    }

    /**
     * A connector was refused (OCSF Network Activity: Refuse): an enrolment with a reused,
     * expired or unknown token, a revoked or expired certificate, or an app it announced but was
     * not enrolled for.
     *
     * @param connector the connector's name, or {@code ""} when it could not be told
     * @param app the app refused, or null when the refusal is not about one app
     * @param reason a code, for example {@code token_used}; never the token
     */
    public AuditEvent connectorRefused(String connector, String app, Source source, String reason) {
        Map<String, Object> f = ocsf(OcsfClass.NETWORK_ACTIVITY, 5, SEVERITY_MEDIUM, STATUS_FAILURE);
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("name", connector == null ? "" : connector);
        if (app != null) {
            c.put("app", app);
        }
        f.put("connector", c);
        f.put("src_endpoint", endpoint(source));
        f.put("status_detail", requireText(reason, "reason"));
        return event(CONNECTOR_REFUSED, "", "", f);
    }

    /** A connector was enrolled (OCSF Entity Management: Create). */
    public AuditEvent connectorEnrolled(String connector, String enrolledBy) {
        return entityChange(CONNECTOR_ENROLLED, 1, "connector", connector, enrolledBy);
    }

    /** A connector's enrolment was revoked (OCSF Entity Management: Delete). */
    public AuditEvent connectorRevoked(String connector, String revokedBy) {
        return entityChange(CONNECTOR_REVOKED, 4, "connector", connector, revokedBy);
    }

    /** An app was registered (OCSF Entity Management: Create). */
    public AuditEvent appRegistered(App app, String registeredBy) {
        Map<String, Object> f = ocsf(OcsfClass.ENTITY_MANAGEMENT, 1, SEVERITY_INFORMATIONAL,
                STATUS_SUCCESS);
        Map<String, Object> entity = new LinkedHashMap<>();
        entity.put("type", "app");
        entity.put("name", app.name());
        entity.put("hosts", app.hosts());
        entity.put("episodic", app.episodic());
        app.expires().ifPresent(e -> entity.put("expires", e.toString()));
        f.put("entity", entity);
        f.put("actor", Map.of("user", Map.of("name", requireText(registeredBy, "registeredBy"))));
        return event(APP_REGISTERED, "", "", f);
    }

    /** An episodic app expired and is no longer routed to (OCSF Entity Management: Delete). */
    public AuditEvent appExpired(String app, Instant expiredAt) {
        Map<String, Object> f = ocsf(OcsfClass.ENTITY_MANAGEMENT, 4, SEVERITY_INFORMATIONAL,
                STATUS_SUCCESS);
        f.put("entity", Map.of("type", "app", "name", requireText(app, "app"),
                "expires", expiredAt.toString()));
        return event(APP_EXPIRED, "", "", f);
    }

    /** An app registered at run time was removed (OCSF Entity Management: Delete). */
    public AuditEvent appRemoved(String app, String removedBy) {
        return entityChange(APP_REMOVED, 4, "app", app, removedBy);
    }

    /**
     * An admin acted (OCSF API Activity). The activity is Create, Read, Update or Delete when
     * the operation starts with that verb, otherwise Other.
     *
     * @param operation for example {@code delete-session}
     * @param target what it acted on, for example a session id; never a secret
     */
    public AuditEvent adminAction(
            String admin, String operation, String target, boolean succeeded) {
        Map<String, Object> f = ocsf(OcsfClass.API_ACTIVITY, apiActivity(operation),
                SEVERITY_INFORMATIONAL, succeeded ? STATUS_SUCCESS : STATUS_FAILURE);
        f.put("actor", Map.of("user", Map.of("name", requireText(admin, "admin"))));
        f.put("api", Map.of("operation", requireText(operation, "operation")));
        f.put("resources", List.of(Map.of("uid", target)));
        return event(ADMIN_ACTION, "", "", f);
    }

    /**
     * The pipeline dropped events it could not hold (OCSF Base Event: Other).
     *
     * @param dropped how many, positive
     * @param firstDropped when the first of them was dropped
     */
    public AuditEvent gap(long dropped, Instant firstDropped) {
        if (dropped <= 0) {
            throw new IllegalArgumentException("a gap drops at least one event: " + dropped);
        }
        Map<String, Object> f = ocsf(OcsfClass.BASE_EVENT, 99, SEVERITY_MEDIUM, STATUS_FAILURE);
        f.put("count", dropped);
        f.put("start_time", firstDropped.toEpochMilli());
        f.put("status_detail", "events_dropped");
        return event(GAP, "", "", f);
    }

    private AuditEvent entityChange(
            String type, int activity, String entityType, String name, String by) {
        Map<String, Object> f = ocsf(OcsfClass.ENTITY_MANAGEMENT, activity,
                SEVERITY_INFORMATIONAL, STATUS_SUCCESS);
        f.put("entity", Map.of("type", entityType, "name", requireText(name, entityType)));
        f.put("actor", Map.of("user", Map.of("name", requireText(by, "actor"))));
        return event(type, "", "", f);
    }

    private AuditEvent event(
            String type, String sessionId, String requestId, Map<String, Object> fields) {
        return new AuditEvent(ids.get(), type, clock.instant(), instance, sessionId, requestId,
                fields);
    }

    private static Map<String, Object> ocsf(
            OcsfClass ocsfClass, int activity, int severity, int status) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("class_uid", ocsfClass.uid());
        f.put("category_uid", ocsfClass.category());
        f.put("activity_id", activity);
        f.put("type_uid", ocsfClass.uid() * 100 + activity);
        f.put("severity_id", severity);
        f.put("status_id", status);
        return f;
    }

    /**
     * The device as decided: each signal with its value, source and age at the decision. Posture
     * providers never put secrets into signals (no tokens, no keys); strings are cut at 256.
     */
    private static Map<String, Object> device(DevicePosture device, Instant decidedAt) {
        List<Map<String, Object>> posture = new TreeMap<>(device.signals()).values().stream()
                .map(s -> Map.<String, Object>of("name", s.name(), "value", auditValue(s.value()),
                        "source", s.source(), "age_ms", s.age(decidedAt).toMillis()))
                .toList();
        return Map.of(
                "managed", device.managed(),
                "signals", new TreeSet<>(device.signals().keySet()).stream().toList(),
                "posture", posture);
    }

    private static Object auditValue(Object value) {
        if (value instanceof Boolean || value instanceof Number) {
            return value;
        }
        String text = String.valueOf(value);
        return text.length() <= 256 ? text : text.substring(0, 256);
    }

    private static Map<String, Object> decisionSummary(Decision decision) {
        List<Map<String, Object>> reasons = decision.reasons().stream()
                .map(AuditEvents::reason)
                .toList();
        List<String> obligations = decision.obligations().stream()
                .map(AuditEvents::obligationName)
                .toList();
        return Map.of(
                "effect", decision.effect().name().toLowerCase(Locale.ROOT),
                "rule", decision.ruleId().orElse(""),
                "policy_version", decision.version().id(),
                "reasons", reasons,
                "obligations", obligations,
                "ttl_ms", decision.ttl().toMillis());
    }

    private static Map<String, Object> reason(DecisionReason reason) {
        return Map.of("code", reason.code(), "message", reason.message());
    }

    /** Names only: a SetHeader's value may be an identity assertion and is not recorded. */
    private static String obligationName(Obligation obligation) {
        if (obligation instanceof Obligation.ReadOnly) {
            return "read_only";
        } else if (obligation instanceof Obligation.MaxSessionLength m) {
            return "max_session:" + m.limit();
        } else if (obligation instanceof Obligation.Reevaluate r) {
            return "reevaluate:" + r.interval();
        } else if (obligation instanceof Obligation.SetHeader h) {
            return "set_header:" + h.name().toLowerCase(Locale.ROOT);
        } else if (obligation instanceof Obligation.IdentityAssertion a) {
            return "identity_assertion:" + a.header().toLowerCase(Locale.ROOT);
        }
        throw new IllegalArgumentException("unknown obligation " + obligation);
    }

    private static Map<String, Object> user(Subject subject) {
        Map<String, Object> u = new LinkedHashMap<>();
        u.put("uid", subject.id());
        u.put("issuer", subject.issuer());
        u.put("org", Map.of("name", subject.organisation()));
        if (!subject.email().isEmpty()) {
            u.put("email_addr", subject.email());
        }
        u.put("groups", subject.groups().stream().sorted().map(g -> Map.of("name", g)).toList());
        u.put("auth_protocol", subject.method().name().toLowerCase(Locale.ROOT));
        return u;
    }

    private static Map<String, Object> endpoint(Source source) {
        return Map.of(
                "ip", source.address().getHostAddress(),
                "port", source.port(),
                "networks", source.networks().stream().sorted().toList());
    }

    private static int apiActivity(String operation) {
        String op = operation.toLowerCase(Locale.ROOT);
        if (op.startsWith("create")) {
            return 1;
        } else if (op.startsWith("read") || op.startsWith("list") || op.startsWith("get")) {
            return 2;
        } else if (op.startsWith("update")) {
            return 3;
        } else if (op.startsWith("delete") || op.startsWith("revoke")) {
            return 4;
        }
        return 99;
    }

    private static String requireText(String value, String what) {
        Objects.requireNonNull(value, what);
        if (value.isBlank()) {
            throw new IllegalArgumentException(what + " is blank");
        }
        return value;
    }

    static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** The OCSF classes the audit schema maps to, with their categories. */
    enum OcsfClass {
        BASE_EVENT(0, 0),
        AUTHENTICATION(3002, 3),
        ENTITY_MANAGEMENT(3004, 3),
        NETWORK_ACTIVITY(4001, 4),
        API_ACTIVITY(6003, 6),
        WEB_RESOURCE_ACCESS(6004, 6);

        private final int uid;
        private final int category;

        OcsfClass(int uid, int category) {
            this.uid = uid;
            this.category = category;
        }

        int uid() {
            return uid;
        }

        int category() {
            return category;
        }
    }
}
