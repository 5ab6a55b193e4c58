package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pep.core.AccessRequest;
import dev.pep.core.AuditEvent;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.DevicePosture;
import dev.pep.core.PolicyVersion;
import dev.pep.core.PostureSignal;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AuditEventsTest {

    private static final AuditEvents EVENTS = Fixtures.events();
    private static final PolicyVersion V1 = new PolicyVersion("sha256:abc");

    static Stream<Arguments> everyType() {
        return Stream.of(
                row(e -> e.sessionStarted("s", "r", Fixtures.subject(), Fixtures.app(),
                        Fixtures.source(), "HTTP/1.1"), AuditEvents.SESSION_STARTED, 4001, 1, 1),
                row(e -> e.decision(Fixtures.request(), Fixtures.allow(), "s"),
                        AuditEvents.DECISION, 6004, 1, 1),
                row(e -> e.decision(Fixtures.request(), Decision.deny(V1, DecisionReason.of(
                        DecisionReason.NO_MATCHING_RULE, "no rule")), "s"),
                        AuditEvents.DECISION, 6004, 2, 1),
                row(e -> e.sessionEnded("s", 10, 20, Duration.ofSeconds(3), "idle_timeout"),
                        AuditEvents.SESSION_ENDED, 4001, 2, 1),
                row(e -> e.loginSucceeded("s", "r", Fixtures.subject(), Fixtures.source()),
                        AuditEvents.LOGIN_SUCCEEDED, 3002, 1, 1),
                row(e -> e.loginFailed("r", "https://idp", AuthenticationMethod.BEARER,
                        Fixtures.source(), "token_expired"), AuditEvents.LOGIN_FAILED, 3002, 1, 2),
                row(e -> e.logout("s", Fixtures.subject()), AuditEvents.LOGOUT, 3002, 2, 1),
                row(e -> e.revocation("s", "alice", "admin", "device_lost"),
                        AuditEvents.REVOCATION, 6004, 3, 1),
                row(e -> e.policyLoaded(V1, 3, List.of("a.yaml")), AuditEvents.POLICY_LOADED,
                        3004, 3, 1),
                row(e -> e.policyRefused(V1, List.of("a.yaml"), "a.yaml:3:7 unknown field"),
                        AuditEvents.POLICY_REFUSED, 3004, 3, 2),
                row(e -> e.connectorConnected("depot-1", Fixtures.source()),
                        AuditEvents.CONNECTOR_CONNECTED, 4001, 1, 1),
                row(e -> e.connectorDisconnected("depot-1", "peer_closed"),
                        AuditEvents.CONNECTOR_DISCONNECTED, 4001, 2, 1),
                row(e -> e.connectorRefused("depot-1", null, Fixtures.source(), "token_used"),
                        AuditEvents.CONNECTOR_REFUSED, 4001, 5, 2),
                row(e -> e.connectorEnrolled("depot-1", "admin"), AuditEvents.CONNECTOR_ENROLLED,
                        3004, 1, 1),
                row(e -> e.connectorRevoked("depot-1", "admin"), AuditEvents.CONNECTOR_REVOKED,
                        3004, 4, 1),
                row(e -> e.appRegistered(Fixtures.app(), "admin"), AuditEvents.APP_REGISTERED,
                        3004, 1, 1),
                row(e -> e.appExpired("logistics", Fixtures.NOW), AuditEvents.APP_EXPIRED,
                        3004, 4, 1),
                row(e -> e.appRemoved("exercise", "admin"), AuditEvents.APP_REMOVED, 3004, 4, 1),
                row(e -> e.adminAction("admin", "delete-session", "s-9", true),
                        AuditEvents.ADMIN_ACTION, 6003, 4, 1),
                row(e -> e.adminAction("admin", "rotate-keys", "gw", false),
                        AuditEvents.ADMIN_ACTION, 6003, 99, 2),
                row(e -> e.gap(5, Fixtures.NOW), AuditEvents.GAP, 0, 99, 2));
    }

    private static Arguments row(Function<AuditEvents, AuditEvent> build, String type,
            int classUid, int activity, int status) {
        return Arguments.of(build, type, classUid, activity, status);
    }

    @ParameterizedTest(name = "{1} -> class {2} activity {3} status {4}")
    @MethodSource("everyType")
    void factory_everyType_carriesOcsfClassificationAndEnvelope(
            Function<AuditEvents, AuditEvent> build, String type, int classUid, int activity,
            int status) {
        AuditEvent event = build.apply(EVENTS);

        assertThat(event.type()).isEqualTo(type);
        assertThat(event.instance()).isEqualTo("gw-1");
        assertThat(event.time()).isEqualTo(Fixtures.NOW);
        assertThat(event.fields()).containsEntry("class_uid", classUid)
                .containsEntry("activity_id", activity)
                .containsEntry("type_uid", classUid * 100 + activity)
                .containsEntry("status_id", status)
                .containsKeys("category_uid", "severity_id");
        assertThat(AuditJson.encode(event, 1, AuditJson.GENESIS_HASH)).contains(
                "\"type\":\"" + type + "\"");
    }

    @Test
    void decision_allow_recordsRulePolicyVersionReasonsAndSummarisedInputs() {
        AuditEvent event = EVENTS.decision(Fixtures.request(), Fixtures.allow(), "s-1");

        @SuppressWarnings("unchecked")
        Map<String, Object> decision = (Map<String, Object>) event.fields().get("decision");
        assertThat(decision).containsEntry("effect", "allow")
                .containsEntry("rule", "logistics-readers")
                .containsEntry("policy_version", "sha256:abc")
                .containsEntry("reasons", List.of(Map.of("code", "rule_allowed",
                        "message", "allowed")))
                .containsEntry("obligations", List.of("read_only", "set_header:x-identity"));
        assertThat(event.requestId()).isEqualTo("req-1");
        assertThat(event.sessionId()).isEqualTo("s-1");
    }

    @Test
    void decision_device_recordsEachSignalWithValueSourceAndAge() {
        DevicePosture device = new DevicePosture(Map.of(
                "managed", new PostureSignal("managed", true, "depot-devices", Fixtures.NOW),
                "os.version", new PostureSignal("os.version", "14.2", "northwind-mdm",
                        Fixtures.NOW.minusSeconds(300))));
        AccessRequest r = Fixtures.request();
        AccessRequest request = new AccessRequest(r.subject(), device, r.app(), r.request(),
                r.source(), r.time(), r.requestId());

        AuditEvent event = EVENTS.decision(request, Fixtures.allow(), "s-1");

        assertThat(event.fields().get("device")).isEqualTo(Map.of(
                "managed", true,
                "signals", List.of("managed", "os.version"),
                "posture", List.of(
                        Map.of("name", "managed", "value", true, "source", "depot-devices",
                                "age_ms", 0L),
                        Map.of("name", "os.version", "value", "14.2", "source", "northwind-mdm",
                                "age_ms", 300_000L))));
    }

    static Stream<Decision> allowAndDeny() {
        return Stream.of(Fixtures.allow(), Decision.deny(V1, DecisionReason.of(
                DecisionReason.RULE_DENIED, "denied")));
    }

    @ParameterizedTest
    @MethodSource("allowAndDeny")
    void decision_tokenInQueryCookieAndHeaderObligation_appearsNowhereInTheJson(Decision d) {
        AuditEvent event = EVENTS.decision(Fixtures.request(), d, "s-1");

        String json = AuditJson.encode(event, 1, AuditJson.GENESIS_HASH);

        assertThat(json).doesNotContain(Fixtures.SECRET_TOKEN).doesNotContain("c2VjcmV0");
    }

    @Test
    void tokenHash_sameToken_sameShortHashWithoutTheToken() {
        String hash = AuditEvents.tokenHash(Fixtures.SECRET_TOKEN);

        assertThat(hash).matches("sha256:[0-9a-f]{16}")
                .isEqualTo(AuditEvents.tokenHash(Fixtures.SECRET_TOKEN))
                .isNotEqualTo(AuditEvents.tokenHash(Fixtures.SECRET_TOKEN + "x"));
    }

    @Test
    void sessionEnded_negativeBytes_isRefused() {
        assertThatThrownBy(() -> EVENTS.sessionEnded("s", -1, 0, Duration.ZERO, "closed"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void sessionEnded_recordsBytesEachWayDurationAndReason() {
        AuditEvent event = EVENTS.sessionEnded("s", 10, 20, Duration.ofMillis(1500), "revoked");

        assertThat(event.fields()).containsEntry("traffic",
                        Map.of("bytes_in", 10L, "bytes_out", 20L, "bytes", 30L))
                .containsEntry("duration", 1500L)
                .containsEntry("status_detail", "revoked");
    }

    @Test
    void traced_addsTraceKeys_untracedEventsHaveNone_badIdsRefused() {
        AuditEvents events = Fixtures.events();
        AuditEvent decision = AuditEvents.traced(events.decision(Fixtures.request(),
                Fixtures.allow(), "sess-1"), "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
        AuditEvent login = events.loginSucceeded("sess-1", "req-1", Fixtures.subject(),
                Fixtures.source());

        assertThat(decision.fields()).containsEntry("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")
                .containsEntry("span_id", "00f067aa0ba902b7");
        assertThat(login.fields()).doesNotContainKeys("trace_id", "span_id");
        assertThatThrownBy(() -> AuditEvents.traced(login,
                "4BF92F3577B34DA6A3CE929D0E0E4736", "00f067aa0ba902b7"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
