package dev.pep.identity.jwt;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One issuer's signing keys, fetched in the background from its JWKS endpoint.
 *
 * <p>Lookups never do I/O: they read the last fetched key set. Keys are refreshed on a schedule;
 * an unknown {@code kid} asks for at most one extra fetch per cooldown (key rotation is picked up
 * without restart) while the request that carried it is rejected. When the endpoint fails, the last
 * keys keep working for the stale window, after which every lookup answers {@link Stale}.
 *
 * <p>Only public signature keys are kept: private, symmetric and encryption keys in the document
 * are dropped. Thread-safe.
 */
public final class JwksSource implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(JwksSource.class);

    private final String issuer;
    private final URI jwksUri;
    private final HttpClient http;
    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private final Settings settings;
    private final AtomicReference<Snapshot> snapshot = new AtomicReference<>();
    private final AtomicReference<Instant> lastOnDemandFetch = new AtomicReference<>(Instant.MIN);
    private final AtomicLong fetches = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile ScheduledFuture<?> schedule;

    /**
     * Creates a source; nothing is fetched until {@link #start()} or {@link #refresh()}.
     *
     * @param issuer the issuer the keys belong to, for logs
     * @param jwksUri where the issuer publishes its keys
     * @param http the client to fetch with
     * @param scheduler runs fetches; never the request path's threads
     * @param clock decides staleness and cooldowns
     * @param settings intervals and limits
     */
    public JwksSource(String issuer, URI jwksUri, HttpClient http,
            ScheduledExecutorService scheduler, Clock clock, Settings settings) {
        this.issuer = Objects.requireNonNull(issuer, "issuer");
        this.jwksUri = Objects.requireNonNull(jwksUri, "jwksUri");
        this.http = Objects.requireNonNull(http, "http");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    /** Fetches now and then every refresh interval, in the background. */
    public void start() {
        long every = settings.refreshInterval().toMillis();
        schedule = scheduler.scheduleWithFixedDelay(this::fetchQuietly, 0, every,
                TimeUnit.MILLISECONDS);
    }

    /** Fetches once, in the background; the future completes when the attempt is over. */
    public CompletableFuture<Void> refresh() {
        return CompletableFuture.runAsync(this::fetchQuietly, scheduler);
    }

    /**
     * Finds the key with that id without any I/O.
     *
     * <p>An unknown id starts one background fetch unless one was started within the cooldown.
     */
    public Lookup lookup(String kid) {
        Snapshot current = snapshot.get();
        if (current == null) {
            return new Unavailable();
        }
        if (isStale(current)) {
            return new Stale();
        }
        JWK key = current.keys().get(kid);
        if (key != null) {
            return new Found(key);
        }
        requestOnDemandFetch();
        return new Unknown();
    }

    /** Whether the keys are older than the stale window (or were never fetched). */
    public boolean usable() {
        Snapshot current = snapshot.get();
        return current != null && !isStale(current);
    }

    /** How many fetches were attempted, for tests and metrics. */
    public long fetchCount() {
        return fetches.get();
    }

    /** How many fetches failed, for metrics. */
    public long failureCount() {
        return failures.get();
    }

    /** The issuer these keys belong to. */
    public String issuer() {
        return issuer;
    }

    /** Stops the scheduled refresh; the scheduler itself belongs to the caller. */
    @Override
    public void close() {
        ScheduledFuture<?> current = schedule;
        if (current != null) {
            current.cancel(false);
        }
    }

    private boolean isStale(Snapshot current) {
        Instant deadline = current.fetchedAt().plus(settings.staleWindow());
        return clock.instant().isAfter(deadline);
    }

    private void requestOnDemandFetch() {
        Instant now = clock.instant();
        Instant last = lastOnDemandFetch.get();
        boolean cooled = last.equals(Instant.MIN)
                || !now.isBefore(last.plus(settings.unknownKeyCooldown()));
        // The compare-and-set lets exactly one of many concurrent unknown kids start the fetch.
        if (cooled && lastOnDemandFetch.compareAndSet(last, now)) {
            scheduler.execute(this::fetchQuietly);
        }
    }

    private void fetchQuietly() {
        fetches.incrementAndGet();
        try {
            Map<String, JWK> keys = fetch();
            snapshot.set(new Snapshot(keys, clock.instant()));
            LOG.debug("jwks fetched issuer={} keys={}", issuer, keys.size());
        } catch (IOException | java.text.ParseException | RuntimeException e) {
            failures.incrementAndGet();
            LOG.warn("jwks fetch failed issuer={} uri={} error={}", issuer, jwksUri, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Map<String, JWK> fetch() throws IOException, InterruptedException,
            java.text.ParseException {
        HttpRequest request = HttpRequest.newBuilder(jwksUri)
                .timeout(settings.fetchTimeout())
                .header("Accept", "application/jwk-set+json, application/json")
                .GET().build();
        HttpResponse<InputStream> response =
                http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = response.body()) {
            if (response.statusCode() != 200) {
                throw new IOException("status " + response.statusCode());
            }
            byte[] bytes = body.readNBytes(settings.maxDocumentBytes() + 1);
            if (bytes.length > settings.maxDocumentBytes()) {
                throw new IOException("key set larger than " + settings.maxDocumentBytes());
            }
            return signatureKeys(JWKSet.parse(new String(bytes, StandardCharsets.UTF_8)));
        }
    }

    private static Map<String, JWK> signatureKeys(JWKSet set) {
        List<JWK> keys = set.getKeys().stream()
                .filter(k -> k.getKeyID() != null)
                .filter(k -> !k.isPrivate())
                .filter(k -> k.getKeyUse() == null || KeyUse.SIGNATURE.equals(k.getKeyUse()))
                .filter(k -> k instanceof com.nimbusds.jose.jwk.RSAKey
                        || k instanceof com.nimbusds.jose.jwk.ECKey)
                .toList();
        return keys.stream().collect(Collectors.toUnmodifiableMap(JWK::getKeyID, k -> k,
                (first, second) -> first));
    }

    /** The outcome of a {@link #lookup(String)}. */
    public sealed interface Lookup {
    }

    /** The key was found. @param key the issuer's public key with that id */
    public record Found(JWK key) implements Lookup {
    }

    /** No key with that id in the current set. */
    public record Unknown() implements Lookup {
    }

    /** The keys are older than the stale window: deny everything from this issuer. */
    public record Stale() implements Lookup {
    }

    /** The keys were never fetched successfully. */
    public record Unavailable() implements Lookup {
    }

    /**
     * Intervals and limits of a {@link JwksSource}.
     *
     * @param refreshInterval how often keys are refreshed on schedule
     * @param unknownKeyCooldown the least time between two fetches caused by unknown key ids
     * @param staleWindow how long the last keys stay usable after the last successful fetch
     * @param fetchTimeout how long one fetch may take
     * @param maxDocumentBytes the largest key set accepted
     */
    public record Settings(Duration refreshInterval, Duration unknownKeyCooldown,
            Duration staleWindow, Duration fetchTimeout, int maxDocumentBytes) {

        /** Validates. */
        public Settings {
            requirePositive(refreshInterval, "refreshInterval");
            requirePositive(unknownKeyCooldown, "unknownKeyCooldown");
            requirePositive(staleWindow, "staleWindow");
            requirePositive(fetchTimeout, "fetchTimeout");
            if (staleWindow.compareTo(refreshInterval) <= 0) {
                throw new IllegalArgumentException("staleWindow " + staleWindow
                        + " must be longer than refreshInterval " + refreshInterval);
            }
            if (maxDocumentBytes < 1024) {
                throw new IllegalArgumentException("maxDocumentBytes below 1024: "
                        + maxDocumentBytes);
            }
        }

        /** Refresh every 5 minutes, cooldown 30 s, stale after 1 hour, 5 s timeout, 256 KiB. */
        public static Settings defaults() {
            return new Settings(Duration.ofMinutes(5), Duration.ofSeconds(30),
                    Duration.ofHours(1), Duration.ofSeconds(5), 256 * 1024);
        }

        private static void requirePositive(Duration value, String name) {
            Objects.requireNonNull(value, name);
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(name + " must be positive: " + value);
            }
        }
    }

    private record Snapshot(Map<String, JWK> keys, Instant fetchedAt) {
    }

    /** For tests: the fetched key ids. */
    Optional<java.util.Set<String>> keyIds() {
        return Optional.ofNullable(snapshot.get()).map(s -> s.keys().keySet());
    }
}
