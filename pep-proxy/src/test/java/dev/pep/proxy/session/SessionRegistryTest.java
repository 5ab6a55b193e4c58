package dev.pep.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pep.core.AccessRequest;
import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.Credentials;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.DevicePosture;
import dev.pep.core.Effect;
import dev.pep.core.Obligation;
import dev.pep.core.PolicyVersion;
import dev.pep.core.RequestAttributes;
import dev.pep.core.Source;
import dev.pep.core.Subject;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SessionRegistryTest {

    private static final PolicyVersion V1 = new PolicyVersion("sha256:v1");
    private static final PolicyVersion V2 = new PolicyVersion("sha256:v2");
    private static final Instant T0 = Instant.parse("2026-12-04T10:00:00Z");

    private final MutableClock clock = new MutableClock(T0);
    private final AtomicReference<Function<LiveSession, CompletableFuture<Decision>>> engine =
            new AtomicReference<>(s -> CompletableFuture.completedFuture(allow(V2)));
    private final List<String> endedIds = new CopyOnWriteArrayList<>();
    private final Map<String, SessionEnding> endings = new ConcurrentHashMap<>();
    private final SessionRegistry registry = new SessionRegistry((s, now) -> engine.get().apply(s),
            new SessionListener() {
                @Override
                public void ended(LiveSession session, SessionEnding ending) {
                    endedIds.add(session.id());
                }
            }, clock, Duration.ofMinutes(1));

    @AfterEach
    void close() {
        registry.close();
    }

    @Test
    void redecide_deniedSessions_endedWithTheDecision_allowedOnesKeptUnderTheNewVersion() throws Exception {
        LiveSession a = register("a", "ledger", List.of());
        LiveSession b = register("b", "wiki", List.of());
        engine.set(s -> CompletableFuture.completedFuture(s.app().equals("ledger")
                ? Decision.deny(V2, DecisionReason.of(DecisionReason.NO_MATCHING_RULE, "no rule")) : allow(V2)));

        int ended = registry.redecide(s -> true, "policy").get(5, TimeUnit.SECONDS);

        assertThat(ended).isEqualTo(1);
        assertThat(endings.get("a").reason()).isEqualTo("no_matching_rule");
        assertThat(endings.get("a").endedBy()).isEqualTo("policy");
        assertThat(endings.get("a").decision().orElseThrow().version()).isEqualTo(V2);
        assertThat(endings).doesNotContainKey("b");
        assertThat(b.decision().version()).isEqualTo(V2);
        assertThat(registry.find(s -> true)).containsExactly(b);
        assertThat(endedIds).containsExactly("a");
    }

    @Test
    void redecide_failingOrHangingDecision_endsTheSessionWithEvaluationError() throws Exception {
        register("fails", "ledger", List.of());
        engine.set(s -> CompletableFuture.failedFuture(new IllegalStateException("engine down")));

        registry.redecide(s -> true, "policy").get(5, TimeUnit.SECONDS);

        assertThat(endings.get("fails").reason()).isEqualTo(DecisionReason.EVALUATION_ERROR);
    }

    @Test
    void redecide_engineThrowsSynchronously_failsClosed() throws Exception {
        register("throws", "ledger", List.of());
        engine.set(s -> {
            throw new IllegalStateException("bug");
        });

        registry.redecide(s -> true, "policy").get(5, TimeUnit.SECONDS);

        assertThat(endings.get("throws").reason()).isEqualTo(DecisionReason.EVALUATION_ERROR);
    }

    @Test
    void redecide_onlyTheMatchingSessionsAreAsked() throws Exception {
        register("x", "ledger", List.of());
        register("y", "wiki", List.of());
        List<String> asked = new CopyOnWriteArrayList<>();
        engine.set(s -> {
            asked.add(s.id());
            return CompletableFuture.completedFuture(allow(V2));
        });

        registry.redecide(s -> s.app().equals("wiki"), "logout").get(5, TimeUnit.SECONDS);

        assertThat(asked).containsExactly("y");
    }

    @Test
    void tick_maxSessionReached_endsWithSessionLimit_withoutAskingTheEngine() {
        register("long", "ledger", List.of(new Obligation.MaxSessionLength(Duration.ofMinutes(5))));
        engine.set(s -> {
            throw new AssertionError("not to be decided");
        });
        registry.start(Duration.ofMillis(20));

        clock.set(T0.plus(Duration.ofMinutes(5)));

        await().atMost(Duration.ofSeconds(5)).until(() -> endings.containsKey("long"));
        assertThat(endings.get("long").reason()).isEqualTo("session_limit");
        assertThat(endings.get("long").decision()).isEmpty();
    }

    @Test
    void idleOver_countsBytesSeenAtATickAsCarriedThen_andIsOverOnlyAfterTheLimitWithout() {
        LiveSession s = register("idle", "ledger", List.of(new Obligation.IdleLimit(Duration.ofMinutes(1))));

        assertThat(s.idleOver(T0.plusSeconds(59))).isFalse();
        s.carried();
        assertThat(s.idleOver(T0.plusSeconds(60))).as("bytes since the last tick").isFalse();
        assertThat(s.idleOver(T0.plusSeconds(119))).isFalse();
        assertThat(s.idleOver(T0.plusSeconds(120))).as("a minute after the tick that saw bytes").isTrue();
    }

    @Test
    void idleOver_aRuleWithoutIdleLimit_isNeverOver() {
        LiveSession s = register("quiet", "ledger", List.of());

        assertThat(s.idleOver(T0.plus(Duration.ofDays(3)))).isFalse();
    }

    @Test
    void tick_idleLimitReached_endsTheQuietSessionWithIdleLimit_andTheBusyOneLivesOn() {
        List<Obligation> idle = List.of(new Obligation.IdleLimit(Duration.ofMinutes(1)));
        register("quiet", "ledger", idle);
        LiveSession busy = register("busy", "ledger", idle);
        engine.set(s -> {
            throw new AssertionError("not to be decided");
        });
        registry.start(Duration.ofMillis(20));

        for (int second = 20; second <= 60; second += 20) {
            busy.carried();
            clock.set(T0.plusSeconds(second));
            // A tick takes the bytes in at this time.
            await().atMost(Duration.ofSeconds(5)).until(() -> !busy.carriedSinceTick());
        }

        await().atMost(Duration.ofSeconds(5)).until(() -> endings.containsKey("quiet"));
        assertThat(endings.get("quiet").reason()).isEqualTo("idle_limit");
        assertThat(endings.get("quiet").endedBy()).isEqualTo("idle");
        assertThat(endings.get("quiet").decision()).isEmpty();
        assertThat(registry.find(x -> true)).containsExactly(busy);
    }

    @Test
    void idle_anIdleConnectionsEntry_isIdleFromWhenItWasRegistered_notFromTheConnectionsStart() {
        List<Obligation> idle = List.of(new Obligation.IdleLimit(Duration.ofMinutes(1)));
        LiveSession exchange = register("x", "ledger", idle);
        registry.unregister(exchange);

        LiveSession entry = LiveSession.idle(exchange, SessionKind.HTTP1_IDLE, T0, T0.plusSeconds(90),
                exchange.control());

        assertThat(entry.idleOver(T0.plusSeconds(149))).isFalse();
        assertThat(entry.idleOver(T0.plusSeconds(150))).isTrue();
    }

    @Test
    void tick_reevaluateIntervalDue_redecides_andAStillAllowedSessionLivesOn() {
        List<Obligation> every30s = List.of(new Obligation.Reevaluate(Duration.ofSeconds(30)));
        LiveSession s = register("due", "ledger", every30s);
        engine.set(x -> CompletableFuture.completedFuture(new Decision(Effect.ALLOW, Optional.of("r"), V2,
                List.of(DecisionReason.of(DecisionReason.RULE_ALLOWED, "allowed")), every30s, Duration.ZERO)));
        registry.start(Duration.ofMillis(20));

        clock.set(T0.plusSeconds(31));

        await().atMost(Duration.ofSeconds(5)).until(() -> s.decision().version().equals(V2));
        assertThat(s.decidedAt()).isEqualTo(T0.plusSeconds(31));
        assertThat(endings).isEmpty();
        assertThat(s.reevaluateAt()).contains(T0.plusSeconds(61));
    }

    @Test
    void tick_credentialExpired_redecides() {
        LiveSession s = register("token", "ledger", List.of(), Optional.of(T0.plusSeconds(10)));
        engine.set(x -> CompletableFuture.completedFuture(Decision.deny(V1,
                DecisionReason.of("authentication_ended", "the sign-in ended: token_expired"))));
        registry.start(Duration.ofMillis(20));

        clock.set(T0.plusSeconds(9));
        assertThat(registry.find(x -> true)).contains(s);
        clock.set(T0.plusSeconds(10));

        await().atMost(Duration.ofSeconds(5)).until(() -> endings.containsKey("token"));
        assertThat(endings.get("token").endedBy()).isEqualTo("interval");
    }

    @Test
    void register_decidedBeforeATriggerAndRegisteredAfterIt_isDecidedAgainAtOnce() throws Exception {
        long before = registry.generation();
        engine.set(s -> CompletableFuture.completedFuture(
                Decision.deny(V2, DecisionReason.of("authentication_ended", "the sign-in ended: revoked"))));
        registry.redecide(s -> true, "logout").get(5, TimeUnit.SECONDS);

        register("racing", "ledger", List.of(), Optional.empty(), before);

        await().atMost(Duration.ofSeconds(5)).until(() -> endings.containsKey("racing"));
        assertThat(endings.get("racing").endedBy()).isEqualTo("late");
    }

    @Test
    void register_currentGeneration_isNotDecidedAgain() throws Exception {
        engine.set(s -> {
            throw new AssertionError("not to be decided");
        });

        register("fresh", "ledger", List.of());
        registry.redecide(s -> false, "noop").get(5, TimeUnit.SECONDS);

        assertThat(endings).isEmpty();
    }

    @Test
    void register_authenticatedBeforeAnEndingThatNamesIt_isEndedTheSameWay_withoutADecision() {
        long before = registry.generation();
        List<String> asked = new CopyOnWriteArrayList<>();
        engine.set(s -> {
            asked.add(s.id());
            return CompletableFuture.completedFuture(allow(V2));
        });
        registry.end(s -> s.app().equals("ledger"), SessionEnding.of("admin_ended", "admin:alice"));

        register("racing", "ledger", List.of(), Optional.empty(), before);
        register("other-app", "wiki", List.of(), Optional.empty(), before);
        register("after", "ledger", List.of(), Optional.empty(), registry.generation());

        await().atMost(Duration.ofSeconds(5)).until(() -> endings.containsKey("racing") && asked.contains("other-app"));
        assertThat(endings.get("racing")).isEqualTo(SessionEnding.of("admin_ended", "admin:alice"));
        assertThat(asked).containsExactly("other-app");
        assertThat(registry.find(s -> true)).extracting(LiveSession::id)
                .as("another app's session is decided again, one authenticated after the end is left")
                .containsExactlyInAnyOrder("other-app", "after");
    }

    @Test
    void idle_carriesTheLastDecision_fromTheConnectionsStart_underTheSameId() {
        List<Obligation> limit = List.of(new Obligation.MaxSessionLength(Duration.ofMinutes(5)),
                new Obligation.Reevaluate(Duration.ofSeconds(30)));
        LiveSession exchange = register("req-2", "ledger", limit);
        registry.unregister(exchange);

        LiveSession idle = LiveSession.idle(exchange, SessionKind.HTTP1_IDLE, T0.minusSeconds(60), T0, exchange.control());

        assertThat(idle.id()).isEqualTo("req-2");
        assertThat(idle.kind()).isEqualTo(SessionKind.HTTP1_IDLE);
        assertThat(idle.started()).isEqualTo(T0.minusSeconds(60));
        assertThat(idle.endsAt()).contains(T0.plusSeconds(240));
        assertThat(idle.decidedAt()).isEqualTo(exchange.decidedAt());
        assertThat(idle.reevaluateAt()).isEqualTo(exchange.reevaluateAt());
        assertThat(idle.generation()).isEqualTo(exchange.generation());
        assertThat(idle.describe(T0)).containsEntry("kind", "http1_idle").containsEntry("age_seconds", 60L);
    }

    @Test
    void end_byFilter_endsOnce_andASessionThatEndedItselfIsNotEndedAgain() {
        LiveSession one = register("one", "ledger", List.of());
        LiveSession two = register("two", "ledger", List.of());
        registry.unregister(two);

        int ended = registry.end(s -> s.app().equals("ledger"), SessionEnding.of("admin_ended", "admin:alice"));
        int again = registry.end(s -> true, SessionEnding.of("admin_ended", "admin:alice"));

        assertThat(ended).isEqualTo(1);
        assertThat(again).isZero();
        assertThat(endings).containsOnlyKeys("one");
        assertThat(one.describe(T0.plusSeconds(3)))
                .containsEntry("app", "ledger").containsEntry("age_seconds", 3L)
                .doesNotContainKeys("credentials", "headers");
    }

    @Test
    void end_ridingOneTunnel_endsOnlyTheSessionsItCarries_notTheSameAppsOnAnotherOrDirect() {
        Object tunnel = new Object();
        Object other = new Object();
        LiveSession carried = register("carried", "depot", List.of());
        LiveSession elsewhere = register("elsewhere", "depot", List.of());
        register("direct", "depot", List.of());
        carried.carriedBy(tunnel);
        elsewhere.carriedBy(other);

        int ended = registry.end(s -> s.ridesOn(tunnel), SessionEnding.of("connector_revoked", "connector"));

        assertThat(ended).isEqualTo(1);
        assertThat(endings).containsOnlyKeys("carried");
        assertThat(endings.get("carried").reason()).isEqualTo("connector_revoked");
        assertThat(carried.ridesOn(null)).isFalse();
    }

    private LiveSession register(String id, String app, List<Obligation> obligations) {
        return register(id, app, obligations, Optional.empty());
    }

    private LiveSession register(String id, String app, List<Obligation> obligations, Optional<Instant> expires) {
        return register(id, app, obligations, expires, registry.generation());
    }

    private LiveSession register(String id, String app, List<Obligation> obligations, Optional<Instant> expires,
            long generation) {
        App a = new App(app, List.of(app + ".example"), AppProtocol.HTTP, URI.create("pep:echo"), Map.of(),
                false, Optional.empty());
        Source source = new Source(InetAddress.getLoopbackAddress(), 40000, Set.of());
        AccessRequest request = new AccessRequest(Subject.anonymous(), DevicePosture.unknown(), a,
                new RequestAttributes("GET", app + ".example", "/", "", Map.of(), "HTTP/1.1"), source, T0, id);
        Credentials credentials = new Credentials(app + ".example", Map.of(), List.of(), Optional.empty(), source, T0);
        Decision admitted = new Decision(Effect.ALLOW, Optional.of("r"), V1,
                List.of(DecisionReason.of(DecisionReason.RULE_ALLOWED, "allowed")), obligations, Duration.ZERO);
        LiveSession s = new LiveSession(id, "conn-" + id, Optional.empty(), SessionKind.HTTP1, request, credentials,
                expires, generation, admitted, new SessionControl() {
                    @Override
                    public java.util.concurrent.Executor executor() {
                        return Runnable::run;
                    }

                    @Override
                    public void end(LiveSession session, SessionEnding ending) {
                        endings.put(session.id(), ending);
                    }
                });
        registry.register(s);
        return s;
    }

    private static Decision allow(PolicyVersion v) {
        return new Decision(Effect.ALLOW, Optional.of("r"), v,
                List.of(DecisionReason.of(DecisionReason.RULE_ALLOWED, "allowed")), List.of(), Duration.ZERO);
    }

    /** A clock the test moves. */
    private static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        void set(Instant next) {
            now = next;
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }
}
