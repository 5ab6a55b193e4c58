package dev.pep.proxy.connector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnrolmentStoreTest {

    private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(NOW);

    @Test
    void redeem_freshToken_grantsNameAppsAndExpiry_once() throws Exception {
        EnrolmentStore store = store();
        String token = store.createToken("depot-1", List.of("logistics", "stock"), Duration.ofHours(1),
                NOW.plus(Duration.ofDays(30)), "alice");

        EnrolmentToken grant = store.redeem(token);

        assertThat(grant.name()).isEqualTo("depot-1");
        assertThat(grant.apps()).containsExactly("logistics", "stock");
        assertThat(grant.enrolmentExpires()).isEqualTo(NOW.plus(Duration.ofDays(30)));
        assertThat(grant.createdBy()).isEqualTo("alice");
        assertRefused(store, token, "token_used");
    }

    @Test
    void createToken_storesOnlyTheHash() throws Exception {
        EnrolmentStore store = store();
        String token = store.createToken("depot-1", List.of("logistics"), Duration.ofHours(1), null, "alice");

        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertThat(Files.readString(f)).doesNotContain(token).doesNotContain(token.substring(6));
            }
        }
    }

    @Test
    void redeem_afterTokenTtl_refusedTokenExpired() throws Exception {
        EnrolmentStore store = store();
        String token = store.createToken("depot-1", List.of("logistics"), Duration.ofMinutes(10), null, "alice");
        clock.now = NOW.plus(Duration.ofMinutes(10));

        assertRefused(store, token, "token_expired");
    }

    @Test
    void redeem_forgedOrMalformed_refusedTokenUnknown() throws Exception {
        EnrolmentStore store = store();
        store.createToken("depot-1", List.of("logistics"), Duration.ofHours(1), null, "alice");

        assertRefused(store, "pepct_" + "A".repeat(43), "token_unknown");
        assertRefused(store, "not-a-token", "token_unknown");
        assertRefused(store, null, "token_unknown");
    }

    @Test
    void redeem_racingWithOneToken_exactlyOneWins() throws Exception {
        EnrolmentStore store = store();
        String token = store.createToken("depot-1", List.of("logistics"), Duration.ofHours(1), null, "alice");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Boolean>> results = new ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) {
                Callable<Boolean> attempt = () -> {
                    go.await();
                    try {
                        // A second store on the same directory: another process, as far as files go.
                        new EnrolmentStore(dir, clock, new SecureRandom()).redeem(token);
                        return true;
                    } catch (EnrolmentRefusedException e) {
                        return false;
                    }
                };
                results.add(pool.submit(attempt));
            }
            go.countDown();
            int wins = 0;
            for (Future<Boolean> f : results) {
                wins += f.get() ? 1 : 0;
            }
            assertThat(wins).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void revoke_marksEveryInstanceOfTheName_andItIsUnusable() throws Exception {
        EnrolmentStore store = store();
        store.save(new Enrolment("depot-1", "a1", List.of("logistics"), null, NOW, "alice", null, null));
        store.save(new Enrolment("depot-1", "b2", List.of("logistics"), null, NOW, "alice", null, null));
        store.save(new Enrolment("depot-2", "c3", List.of("logistics"), null, NOW, "alice", null, null));

        List<Enrolment> revoked = store.revoke("depot-1", "bob");

        assertThat(revoked).extracting(Enrolment::serial).containsExactlyInAnyOrder("a1", "b2");
        assertThat(store.enrolment("a1").orElseThrow().unusable(NOW)).contains("connector_revoked");
        assertThat(store.enrolment("a1").orElseThrow().revokedBy()).isEqualTo("bob");
        assertThat(store.enrolment("c3").orElseThrow().unusable(NOW)).isEmpty();
        assertThat(store.revoke("depot-1", "bob")).isEmpty();
    }

    @Test
    void enrolment_pastItsExpiry_isUnusable() {
        Enrolment e = new Enrolment("depot-1", "a1", List.of("logistics"), NOW.plusSeconds(60), NOW, "alice",
                null, null);

        assertThat(e.unusable(NOW)).isEmpty();
        assertThat(e.unusable(NOW.plusSeconds(60))).contains("enrolment_expired");
    }

    @Test
    void createToken_badInput_refusedWithWhatWasExpected() throws Exception {
        EnrolmentStore store = store();

        assertThatThrownBy(() -> store.createToken("Depot 1", List.of("a"), Duration.ofHours(1), null, "x"))
                .hasMessageContaining("invalid connector name");
        assertThatThrownBy(() -> store.createToken("depot-1", List.of(), Duration.ofHours(1), null, "x"))
                .hasMessageContaining("--app");
        assertThatThrownBy(() -> store.createToken("depot-1", List.of("a"), Duration.ofHours(1),
                NOW.minusSeconds(1), "x")).hasMessageContaining("in the past");
    }

    @Test
    void expiry_instantOrDurationFromNow() {
        assertThat(ExpiryParser.parse("2027-01-31T00:00:00Z", NOW)).isEqualTo(Instant.parse("2027-01-31T00:00:00Z"));
        assertThat(ExpiryParser.parse("30d", NOW)).isEqualTo(NOW.plus(Duration.ofDays(30)));
        assertThatThrownBy(() -> ExpiryParser.parse("soon", NOW)).hasMessageContaining("expected an instant");
    }

    private EnrolmentStore store() throws Exception {
        return new EnrolmentStore(dir, clock, new SecureRandom());
    }

    private static void assertRefused(EnrolmentStore store, String token, String reason) {
        assertThatThrownBy(() -> store.redeem(token)).isInstanceOfSatisfying(EnrolmentRefusedException.class,
                e -> assertThat(e.reason()).isEqualTo(reason));
    }

    /** A clock a test moves. */
    static final class MutableClock extends Clock {

        volatile Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneId.of("UTC");
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
