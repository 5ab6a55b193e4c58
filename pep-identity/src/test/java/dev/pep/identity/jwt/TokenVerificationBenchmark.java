package dev.pep.identity.jwt;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.JWK;
import dev.pep.core.AuthenticationResult;
import dev.pep.identity.testing.KeyServer;
import dev.pep.identity.testing.TestKeys;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Bearer verification cost with and without the verified-token cache, for an RSA (RS256, 2048-bit)
 * and an elliptic-curve (ES256, P-256) signing key. Not run by
 * {@code mvn verify}; run it with {@code org.openjdk.jmh.Main TokenVerificationBenchmark} on the
 * test class path (see docs/identity.md).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class TokenVerificationBenchmark {

    private static final String ISSUER = "https://idp.partner-a.example";

    /** The token's signature algorithm: RS256 or ES256. */
    @Param({"RS256", "ES256"})
    public String algorithm;

    private KeyServer keyServer;
    private ScheduledExecutorService scheduler;
    private JwtAuthenticator cached;
    private JwtAuthenticator uncached;
    private String token;
    private Instant now;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        JWK key = "ES256".equals(algorithm) ? TestKeys.EC : TestKeys.RSA;
        keyServer = new KeyServer(TestKeys.publicKeys(key));
        scheduler = Executors.newSingleThreadScheduledExecutor();
        JwksSource keys = new JwksSource(ISSUER, keyServer.uri(), HttpClient.newHttpClient(),
                scheduler, Clock.systemUTC(), JwksSource.Settings.defaults());
        keys.refresh().get();
        IssuerConfig config = IssuerConfig.of(ISSUER, URI.create("https://idp.example/jwks"),
                Set.of("api"));
        cached = new JwtAuthenticator(Map.of(config, keys), Clock.systemUTC(), 10_000);
        uncached = new JwtAuthenticator(Map.of(config, keys), Clock.systemUTC(), 0);
        now = Instant.now();
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.parse(algorithm))
                .keyID(key.getKeyID()).type(new JOSEObjectType("at+jwt")).build();
        token = TestKeys.sign(header,
                TestKeys.claims(ISSUER, "api", now).expirationTime(
                        java.util.Date.from(now.plus(Duration.ofHours(1)))).build(), key);
        if (!(cached.authenticateToken(token, now) instanceof AuthenticationResult.Authenticated)) {
            throw new IllegalStateException("benchmark token not accepted");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        scheduler.shutdownNow();
        keyServer.close();
    }

    @Benchmark
    public AuthenticationResult verifyWithCache() {
        return cached.authenticateToken(token, now);
    }

    @Benchmark
    public AuthenticationResult verifyWithoutCache() {
        return uncached.authenticateToken(token, now);
    }
}
