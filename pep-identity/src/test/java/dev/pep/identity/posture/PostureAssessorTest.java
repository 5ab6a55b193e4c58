package dev.pep.identity.posture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Credentials;
import dev.pep.core.DevicePosture;
import dev.pep.core.PostureProvider;
import dev.pep.core.PostureSignal;
import dev.pep.core.Subject;
import dev.pep.identity.testing.MutableClock;
import dev.pep.identity.testing.TestCredentials;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PostureAssessorTest {

    final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    final MutableClock clock = MutableClock.atRealNow();
    final DeviceBindings bindings = new DeviceBindings(SessionKeys.perConnection(), List.of(), clock,
            Duration.ofHours(1), 100);

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    /** A provider answering these signals at once. */
    record Fixed(String name, List<PostureSignal> signals) implements PostureProvider {
        @Override
        public CompletionStage<List<PostureSignal>> assess(Subject subject, Credentials credentials) {
            return CompletableFuture.completedFuture(signals);
        }
    }

    /** A provider that never answers. */
    record Silent(String name) implements PostureProvider {
        @Override
        public CompletionStage<List<PostureSignal>> assess(Subject subject, Credentials credentials) {
            return new CompletableFuture<>();
        }
    }

    /** A provider that throws. */
    record Broken(String name) implements PostureProvider {
        @Override
        public CompletionStage<List<PostureSignal>> assess(Subject subject, Credentials credentials) {
            throw new IllegalStateException("broken");
        }
    }

    PostureSignal signal(String name, Object value, String source, Duration age) {
        return new PostureSignal(name, value, source, clock.instant().minus(age));
    }

    PostureAssessor assessor(Duration deadline, PostureAssessor.Selected... providers) {
        return new PostureAssessor(List.of(providers), deadline, bindings, scheduler, clock, 100);
    }

    static Subject of(String organisation) {
        return new Subject("bob", "https://idp.example", organisation, Set.of(), Set.of(), "", Map.of(),
                AuthenticationMethod.OIDC, Instant.now());
    }

    static Credentials request() {
        return TestCredentials.of("logistics.partners.example", Map.of(), List.of(), Instant.now());
    }

    @Test
    void assess_silentProvider_othersCountAndItTimesOutByTheDeadline() {
        var fast = new Fixed("mdm", List.of(signal("managed", true, "mdm", Duration.ZERO)));
        PostureAssessor a = assessor(Duration.ofMillis(200), PostureAssessor.Selected.always(fast),
                PostureAssessor.Selected.always(new Silent("fleet")));
        long start = System.nanoTime();

        Assessment result = a.assess(of("northwind"), request(), "logistics").join();

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        assertThat(result.posture().managed()).isTrue();
        assertThat(result.outcomes()).containsEntry("mdm", "ok").containsEntry("fleet", "timeout");
    }

    @Test
    void assess_brokenProvider_failedAndAbsent() {
        PostureAssessor a = assessor(Duration.ofSeconds(1),
                PostureAssessor.Selected.always(new Broken("mdm")));

        Assessment result = a.assess(of("northwind"), request(), "logistics").join();

        assertThat(result.posture().signals()).isEmpty();
        assertThat(result.outcomes()).containsEntry("mdm", "failed");
    }

    @Test
    void assess_noProviderForThisAppOrPartner_unknownAtOnce() {
        var fixed = new Fixed("mdm", List.of(signal("managed", true, "mdm", Duration.ZERO)));
        PostureAssessor a = assessor(Duration.ofSeconds(1),
                new PostureAssessor.Selected(fixed, Set.of("logistics"), Set.of("northwind")));

        CompletableFuture<Assessment> otherApp = a.assess(of("northwind"), request(), "payroll");
        CompletableFuture<Assessment> otherPartner = a.assess(of("southwind"), request(), "logistics");
        CompletableFuture<Assessment> selected = a.assess(of("northwind"), request(), "logistics");

        assertThat(otherApp).isCompletedWithValueMatching(r -> r.posture().signals().isEmpty());
        assertThat(otherPartner).isCompletedWithValueMatching(r -> r.outcomes().isEmpty());
        assertThat(selected.join().posture().managed()).isTrue();
    }

    @Test
    void merge_oneProviderSaysUnmanaged_unmanaged() {
        DevicePosture p = PostureAssessor.merge(List.of(
                signal("managed", true, "certs", Duration.ZERO),
                signal("managed", false, "mdm", Duration.ofMinutes(3))));

        assertThat(p.managed()).isFalse();
        assertThat(p.signal("managed").orElseThrow().source()).isEqualTo("mdm");
    }

    @Test
    void merge_twoSayManaged_freshestKept() {
        DevicePosture p = PostureAssessor.merge(List.of(
                signal("managed", true, "mdm", Duration.ofMinutes(10)),
                signal("managed", true, "certs", Duration.ZERO)));

        assertThat(p.signal("managed").orElseThrow().source()).isEqualTo("certs");
    }

    @Test
    void merge_statusValidFromAnyProviderOfTheKind_valid() {
        DevicePosture p = PostureAssessor.merge(List.of(
                signal("certificate.status", "untrusted", "partner-a-devices", Duration.ZERO),
                signal("certificate.status", "valid", "partner-b-devices", Duration.ZERO),
                signal("os.version", "14.2", "mdm", Duration.ZERO),
                signal("os.version", "13.0", "fleet", Duration.ZERO)));

        assertThat(p.signal("certificate.status").orElseThrow().source()).isEqualTo("partner-b-devices");
        assertThat(p.signal("os.version").orElseThrow().value()).isEqualTo("14.2");
    }

    @Test
    void assess_postureChanges_listenerToldOnceWithBoth() {
        List<PostureSignal> current = new ArrayList<>(List.of(signal("managed", true, "mdm", Duration.ZERO)));
        PostureProvider changing = new PostureProvider() {
            @Override
            public String name() {
                return "mdm";
            }

            @Override
            public CompletionStage<List<PostureSignal>> assess(Subject s, Credentials c) {
                return CompletableFuture.completedFuture(List.copyOf(current));
            }
        };
        PostureAssessor a = assessor(Duration.ofSeconds(1), PostureAssessor.Selected.always(changing));
        List<PostureChange> changes = new ArrayList<>();
        a.addListener(changes::add);
        Credentials c = request();

        a.assess(of("northwind"), c, "logistics").join();
        clock.advance(Duration.ofSeconds(30));
        current.set(0, signal("managed", true, "mdm", Duration.ZERO));
        a.assess(of("northwind"), c, "logistics").join();
        current.set(0, signal("managed", false, "mdm", Duration.ZERO));
        a.assess(of("northwind"), c, "logistics").join();

        assertThat(changes).hasSize(1);
        assertThat(changes.get(0).managedChanged()).isTrue();
        assertThat(changes.get(0).previous().managed()).isTrue();
        assertThat(changes.get(0).current().managed()).isFalse();
        assertThat(changes.get(0).app()).isEqualTo("logistics");
    }

    @Test
    void assess_listenerThrows_assessmentStillCompletes() throws Exception {
        List<PostureSignal> current = new ArrayList<>(List.of(signal("risk", "low", "mdm", Duration.ZERO)));
        PostureAssessor a = assessor(Duration.ofSeconds(1), PostureAssessor.Selected.always(
                new PostureProvider() {
                    @Override
                    public String name() {
                        return "mdm";
                    }

                    @Override
                    public CompletionStage<List<PostureSignal>> assess(Subject s, Credentials c) {
                        return CompletableFuture.completedFuture(List.copyOf(current));
                    }
                }));
        a.addListener(change -> {
            throw new IllegalStateException("listener bug");
        });
        a.assess(of("northwind"), request(), "logistics").join();
        current.set(0, signal("risk", "high", "mdm", Duration.ZERO));

        Assessment second = a.assess(of("northwind"), request(), "logistics").get(2, TimeUnit.SECONDS);

        assertThat(second.posture().signal("risk").orElseThrow().value()).isEqualTo("high");
    }
}
