package dev.pep.identity.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.AuthenticationResult;
import dev.pep.identity.IdentityReasons;
import dev.pep.identity.testing.KeyServer;
import dev.pep.identity.testing.MutableClock;
import dev.pep.identity.testing.TestCredentials;
import dev.pep.identity.testing.TestKeys;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The budget of signature checks for never-seen tokens: the bucket, and the authenticator using it. */
class VerificationBudgetTest {

    static final String ISSUER = JwtAuthenticatorTest.ISSUER;
    static final String AUDIENCE = JwtAuthenticatorTest.AUDIENCE;

    final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    final MutableClock clock = MutableClock.atRealNow();
    final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    KeyServer keyServer;
    JwksSource keys;

    @BeforeEach
    void setUp() throws Exception {
        keyServer = new KeyServer(TestKeys.publicKeys(TestKeys.RSA, TestKeys.EC));
        keys = new JwksSource(ISSUER, keyServer.uri(), HttpClient.newHttpClient(), scheduler, clock,
                new JwksSource.Settings(Duration.ofMinutes(5), Duration.ofSeconds(30),
                        Duration.ofMinutes(30), Duration.ofSeconds(2), 64 * 1024));
        keys.refresh().get();
    }

    @AfterEach
    void tearDown() {
        keys.close();
        scheduler.shutdownNow();
        keyServer.close();
    }

    @Test
    void tryAcquire_burstOfOneSecond_thenRefillsAtTheRate() {
        VerificationBudget budget = VerificationBudget.perSecond(10, nanos::get);

        int granted = 0;
        for (int i = 0; i < 25; i++) {
            granted += budget.tryAcquire() ? 1 : 0;
        }
        nanos.addAndGet(300_000_000L);
        int afterRefill = 0;
        for (int i = 0; i < 25; i++) {
            afterRefill += budget.tryAcquire() ? 1 : 0;
        }
        nanos.addAndGet(60_000_000_000L);
        int afterLongIdle = 0;
        for (int i = 0; i < 25; i++) {
            afterLongIdle += budget.tryAcquire() ? 1 : 0;
        }

        assertThat(granted).isEqualTo(10);
        assertThat(afterRefill).isEqualTo(3);
        assertThat(afterLongIdle).as("never more than one second's worth at once").isEqualTo(10);
        assertThat(budget.refusedCount()).isEqualTo(15 + 22 + 15);
    }

    @Test
    void unbounded_neverRefuses() {
        VerificationBudget budget = VerificationBudget.unbounded();

        for (int i = 0; i < 10_000; i++) {
            assertThat(budget.tryAcquire()).isTrue();
        }
        assertThat(budget.refusedCount()).isZero();
    }

    @Test
    void authenticate_neverSeenTokensPastTheBudget_tooManyTokenChecks_seenTokensStillPass() {
        JwtAuthenticator authenticator = authenticator(VerificationBudget.perSecond(3, nanos::get));
        String first = token();
        assertThat(authenticate(authenticator, first)).isInstanceOf(AuthenticationResult.Authenticated.class);

        authenticate(authenticator, token());
        authenticate(authenticator, token());
        AuthenticationResult flooded = authenticate(authenticator, token());
        AuthenticationResult seen = authenticate(authenticator, first);

        JwtAuthenticatorTest.assertRejected(flooded, IdentityReasons.TOO_MANY_TOKEN_CHECKS);
        assertThat(seen).as("a cached token spends no budget").isInstanceOf(AuthenticationResult.Authenticated.class);
        assertThat(authenticator.budgetRefusals()).isEqualTo(1);

        nanos.addAndGet(1_000_000_000L);
        assertThat(authenticate(authenticator, token())).as("the budget refills")
                .isInstanceOf(AuthenticationResult.Authenticated.class);
    }

    @Test
    void authenticate_cheapRefusals_spendNoBudget() {
        JwtAuthenticator authenticator = authenticator(VerificationBudget.perSecond(1, nanos::get));
        String otherIssuer = TestKeys.sign(TestKeys.rsHeader(TestKeys.RSA).build(),
                TestKeys.claims("https://idp.elsewhere.example", AUDIENCE, clock.instant()).build(), TestKeys.RSA);
        String unknownKid = TestKeys.sign(TestKeys.rsHeader(TestKeys.RSA).keyID("made-up").build(),
                TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).build(), TestKeys.RSA);

        for (int i = 0; i < 50; i++) {
            JwtAuthenticatorTest.assertRejected(authenticate(authenticator, otherIssuer), IdentityReasons.UNKNOWN_ISSUER);
            JwtAuthenticatorTest.assertRejected(authenticate(authenticator, "not.a.token"), IdentityReasons.TOKEN_MALFORMED);
        }
        JwtAuthenticatorTest.assertRejected(authenticate(authenticator, unknownKid), IdentityReasons.UNKNOWN_KEY);

        assertThat(authenticate(authenticator, token())).isInstanceOf(AuthenticationResult.Authenticated.class);
        assertThat(authenticator.budgetRefusals()).isZero();
    }

    /** Pins L-230: a flood from one address spends the budget for a client at another. */
    @Test
    void budget_isSharedByAllSources() throws Exception {
        JwtAuthenticator authenticator = authenticator(VerificationBudget.perSecond(2, nanos::get));
        for (int i = 0; i < 5; i++) {
            authenticator.authenticate(TestCredentials.headers("app.example",
                    Map.of("authorization", List.of("Bearer " + token())), clock.instant()));
        }

        AuthenticationResult other = authenticator.authenticate(new dev.pep.core.Credentials("app.example",
                Map.of("authorization", List.of("Bearer " + token())), List.of(), java.util.Optional.empty(),
                new dev.pep.core.Source(java.net.InetAddress.getByName("198.51.100.9"), 40000, Set.of()),
                clock.instant()));

        JwtAuthenticatorTest.assertRejected(other, IdentityReasons.TOO_MANY_TOKEN_CHECKS);
    }

    @Test
    void tooManyTokenChecks_isAnIdentityReasonWithAPartnerSafeMessage() {
        assertThat(IdentityReasons.of(IdentityReasons.TOO_MANY_TOKEN_CHECKS).message()).contains("try again");
    }

    private JwtAuthenticator authenticator(VerificationBudget budget) {
        return new JwtAuthenticator(Map.of(IssuerConfig.of(ISSUER, URI.create("https://idp.partner-a.example/jwks"),
                Set.of(AUDIENCE)), keys), clock, 1000, budget);
    }

    /** A valid token never seen before. */
    private String token() {
        return TestKeys.sign(TestKeys.rsHeader(TestKeys.RSA).build(),
                TestKeys.claims(ISSUER, AUDIENCE, clock.instant()).jwtID(UUID.randomUUID().toString()).build(),
                TestKeys.RSA);
    }

    private AuthenticationResult authenticate(JwtAuthenticator authenticator, String token) {
        return authenticator.authenticate(TestCredentials.headers("app.example",
                Map.of("authorization", List.of("Bearer " + token)), clock.instant()));
    }
}
