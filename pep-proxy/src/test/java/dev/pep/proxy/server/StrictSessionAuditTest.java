package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pep.core.AccessRequest;
import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.AuditEvent;
import dev.pep.core.AuditSink;
import dev.pep.core.Credentials;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.DevicePosture;
import dev.pep.core.Effect;
import dev.pep.core.PolicyVersion;
import dev.pep.core.RequestAttributes;
import dev.pep.core.Source;
import dev.pep.core.Subject;
import dev.pep.proxy.session.LiveSession;
import dev.pep.proxy.session.SessionControl;
import dev.pep.proxy.session.SessionEnding;
import dev.pep.proxy.session.SessionKind;
import dev.pep.proxy.session.SessionRegistry;
import dev.pep.telemetry.audit.AuditRejectedException;
import java.net.InetAddress;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Strict audit for live sessions, with a fake spool: a spool that refuses any event ends every
 * live session; a queue that refuses an event of a partner session ends that connection's live
 * sessions and no other; accepted events end nothing.
 */
class StrictSessionAuditTest {

    private static final Instant T0 = Instant.parse("2026-12-04T10:00:00Z");

    private final Map<String, SessionEnding> endings = new ConcurrentHashMap<>();
    private final SessionRegistry registry = new SessionRegistry(
            (s, now) -> CompletableFuture.completedFuture(allow()), (session, ending) -> { },
            Clock.fixed(T0, ZoneOffset.UTC), Duration.ofMinutes(1));
    private final Set<String> refusedTypes = ConcurrentHashMap.newKeySet();
    private volatile String refusal = "spool_full";
    private final AuditSink spool = event -> refusedTypes.contains(event.type())
            ? CompletableFuture.failedFuture(new AuditRejectedException(refusal, "refused"))
            : CompletableFuture.completedFuture(null);
    private final StrictSessionAudit audit = new StrictSessionAudit(spool, () -> registry);

    @AfterEach
    void close() {
        registry.close();
    }

    @ParameterizedTest
    @CsvSource({"session.started,spool_full", "decision,io_error", "revocation,spool_full",
            "policy.loaded,spool_full", "login.failed,io_error"})
    void spoolRefusesAnyEvent_endsEveryLiveSessionOfEveryConnection(String type, String reason) {
        register("ws-1", "conn-a");
        register("sse-2", "conn-a");
        register("ws-3", "conn-b");
        refusedTypes.add(type);
        refusal = reason;

        CompletionStage<Void> stage = audit.emit(event(type, type.startsWith("policy") ? "" : "conn-a"));

        assertThat(stage.toCompletableFuture()).isCompletedExceptionally();
        await().atMost(Duration.ofSeconds(10)).until(() -> endings.size() == 3);
        assertThat(endings.keySet()).containsExactlyInAnyOrder("ws-1", "sse-2", "ws-3");
        assertThat(endings.values()).allSatisfy(e -> {
            assertThat(e.reason()).isEqualTo("audit_unavailable");
            assertThat(e.endedBy()).isEqualTo("audit");
        });
        assertThat(registry.size()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"session.started", "decision", "revocation"})
    void queueRefusesAnEventOfASession_endsThatConnectionsLiveSessions_only(String type) {
        register("ws-1", "conn-a");
        register("sse-2", "conn-a");
        register("ws-3", "conn-b");
        refusedTypes.add(type);
        refusal = "queue_full";

        CompletionStage<Void> stage = audit.emit(event(type, "conn-a"));

        assertThat(stage.toCompletableFuture()).isCompletedExceptionally();
        await().atMost(Duration.ofSeconds(10)).until(() -> endings.size() == 2);
        assertThat(endings.keySet()).containsExactlyInAnyOrder("ws-1", "sse-2");
        assertThat(registry.size()).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"spool_full", "queue_full"})
    void refusedEventOfARequest_leavesThatRequestToItsHandler(String reason) {
        register("req-1", "conn-a");
        register("sse-2", "conn-a");
        refusedTypes.add("session.started");
        refusal = reason;

        audit.emit(event("session.started", "conn-a"));

        await().atMost(Duration.ofSeconds(10)).until(() -> endings.size() == 1);
        assertThat(endings.keySet()).containsExactly("sse-2");
        assertThat(registry.find(s -> true)).extracting(LiveSession::id).containsExactly("req-1");
    }

    @Test
    void acceptedEvent_orQueueRefusedEventWithoutASession_endsNothing() throws Exception {
        register("ws-1", "conn-a");
        audit.emit(event("decision", "conn-a")).toCompletableFuture().get();
        refusedTypes.add("policy.loaded");
        refusal = "queue_full";

        audit.emit(event("policy.loaded", ""));

        // Ending runs on the registry's thread: a task queued after it has seen any ending.
        registry.endAsync(s -> false, SessionEnding.of("none", "test")).get();
        assertThat(endings).isEmpty();
        assertThat(registry.size()).isEqualTo(1);
    }

    private static AuditEvent event(String type, String session) {
        return new AuditEvent("evt-" + type, type, T0, "gw", session, "req-1", Map.of());
    }

    private void register(String id, String connection) {
        App app = new App("chat", List.of("chat.example"), AppProtocol.HTTP, URI.create("pep:echo"), Map.of(),
                false, Optional.empty());
        Source source = new Source(InetAddress.getLoopbackAddress(), 40000, Set.of());
        AccessRequest request = new AccessRequest(Subject.anonymous(), DevicePosture.unknown(), app,
                new RequestAttributes("GET", "chat.example", "/", "", Map.of(), "HTTP/2"), source, T0, id);
        Credentials credentials = new Credentials("chat.example", Map.of(), List.of(), Optional.empty(), source, T0);
        registry.register(new LiveSession(id, connection, Optional.empty(), SessionKind.HTTP2, request, credentials,
                Optional.empty(), registry.generation(), allow(), new SessionControl() {
                    @Override
                    public java.util.concurrent.Executor executor() {
                        return Runnable::run;
                    }

                    @Override
                    public void end(LiveSession session, SessionEnding ending) {
                        endings.put(session.id(), ending);
                    }
                }));
    }

    private static Decision allow() {
        return new Decision(Effect.ALLOW, Optional.of("r"), new PolicyVersion("sha256:v1"),
                List.of(DecisionReason.of(DecisionReason.RULE_ALLOWED, "allowed")), List.of(), Duration.ZERO);
    }
}
