package dev.pep.policy.authzen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pep.core.AccessRequest;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.PolicyEngine;
import dev.pep.core.PolicyVersion;
import dev.pep.policy.PolicyReasons;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A policy engine that asks an external decision point over the AuthZEN Authorization API
 * ({@code POST {base}/access/v1/evaluation}).
 *
 * <p>Fails closed: no answer within the timeout, a status other than 200, a body without a
 * boolean decision or with an obligation pep does not know all deny with
 * {@code decision_point_unavailable}. Allows are cached for the ttl the answer gives
 * ({@code context.ttl_seconds}, else not at all) in a bounded LRU cache keyed by the request
 * without its time and id. Thread-safe; {@link #decideAsync} never blocks.
 */
public final class AuthZenPolicyEngine implements PolicyEngine {

    private static final Logger LOG = LoggerFactory.getLogger(AuthZenPolicyEngine.class);
    private static final DecisionReason UNAVAILABLE = DecisionReason.of(
            DecisionReason.DECISION_POINT_UNAVAILABLE, "access could not be decided now");

    private final URI evaluation;
    private final Duration timeout;
    private final HttpClient client;
    private final Clock clock;
    private final Map<String, Cached> cache;
    private final PolicyVersion ownVersion;
    private final String bearerToken;
    private volatile PolicyVersion lastVersion;

    /**
     * An engine asking the decision point at {@code base}.
     *
     * @param base the decision point's base URI; the evaluation path is appended
     * @param timeout how long one decision may take, end to end
     * @param cacheSize the most decisions kept; 0 for none
     * @param client the HTTP client (shared, so its connections are reused)
     * @param clock the clock that ages cached decisions
     * @param bearerToken sent as {@code Authorization: Bearer} with every evaluation; null for none
     */
    public AuthZenPolicyEngine(URI base, Duration timeout, int cacheSize, HttpClient client,
            Clock clock, String bearerToken) {
        Objects.requireNonNull(base, "base");
        this.evaluation = URI.create(base.toString().replaceAll("/+$", "")
                + AuthZenEndpoint.PATH);
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero() || cacheSize < 0) {
            throw new IllegalArgumentException("timeout must be positive and cache size "
                    + "non-negative: " + timeout + ", " + cacheSize);
        }
        this.client = Objects.requireNonNull(client, "client");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.cache = lru(cacheSize);
        this.ownVersion = new PolicyVersion("authzen:" + base);
        this.lastVersion = ownVersion;
        this.bearerToken = bearerToken;
    }

    /** An engine with a new HTTP client and the system clock, sending no credential. */
    public static AuthZenPolicyEngine create(URI base, Duration timeout, int cacheSize) {
        return create(base, timeout, cacheSize, null);
    }

    /** An engine with a new HTTP client and the system clock, sending that bearer token. */
    public static AuthZenPolicyEngine create(URI base, Duration timeout, int cacheSize,
            String bearerToken) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(timeout).build();
        return new AuthZenPolicyEngine(base, timeout, cacheSize, client, Clock.systemUTC(),
                bearerToken);
    }

    /** Blocks up to the timeout: the gateway's event loops call {@link #decideAsync} only. */
    @Override
    public Decision decide(AccessRequest request) {
        return decideAsync(request).toCompletableFuture().join();
    }

    @Override
    public CompletionStage<Decision> decideAsync(AccessRequest request) {
        ObjectNode body;
        String key;
        try {
            body = AuthZenCodec.request(request);
            key = cacheKey(body);
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(unavailable(request, e));
        }
        Decision cached = cached(key);
        if (cached != null) {
            return CompletableFuture.completedFuture(cached);
        }
        // LIMITATION(L-105): a bearer token, but no client certificate, towards the decision point.
        HttpRequest.Builder http = HttpRequest.newBuilder(evaluation).timeout(timeout)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (bearerToken != null) {
            http.header("Authorization", "Bearer " + bearerToken);
        }
        return client.sendAsync(http.build(), HttpResponse.BodyHandlers.ofString())
                .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .thenApply(this::read)
                .thenApply(decision -> remember(key, decision))
                .exceptionally(e -> unavailable(request, e));
    }

    /** The version the decision point reported last, or {@code authzen:BASE} before any. */
    @Override
    public PolicyVersion version() {
        return lastVersion;
    }

    private Decision read(HttpResponse<String> response) {
        if (response.statusCode() != 200) {
            throw new IllegalStateException("decision point answered " + response.statusCode());
        }
        try {
            JsonNode body = AuthZenCodec.JSON.readTree(response.body());
            Decision decision = AuthZenCodec.decision(body, ownVersion,
                    PolicyReasons.DECISION_POINT_ALLOWED, PolicyReasons.DECISION_POINT_DENIED);
            lastVersion = decision.version();
            return decision;
        } catch (java.io.IOException e) {
            throw new IllegalStateException("unreadable answer: " + e.getMessage(), e);
        }
    }

    private Decision remember(String key, Decision decision) {
        if (cache != null && decision.allowed() && !decision.ttl().isZero()) {
            synchronized (cache) {
                cache.put(key, new Cached(decision, clock.instant().plus(decision.ttl())));
            }
        }
        return decision;
    }

    private Decision cached(String key) {
        if (cache == null) {
            return null;
        }
        synchronized (cache) {
            Cached hit = cache.get(key);
            if (hit == null) {
                return null;
            }
            if (!clock.instant().isBefore(hit.expires)) {
                cache.remove(key);
                return null;
            }
            return hit.decision;
        }
    }

    private Decision unavailable(AccessRequest request, Throwable e) {
        // Peers can make the decision point slow; aggregated metrics belong to the caller.
        LOG.debug("decision point unavailable request_id={} endpoint={} error={}",
                request.requestId(), evaluation, e.toString());
        return Decision.deny(lastVersion, UNAVAILABLE);
    }

    private static String cacheKey(ObjectNode body) {
        ObjectNode copy = body.deepCopy();
        ObjectNode context = (ObjectNode) copy.get("context");
        context.remove("time");
        context.remove("request_id");
        return copy.toString();
    }

    private static Map<String, Cached> lru(int size) {
        if (size == 0) {
            return null;
        }
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Cached> eldest) {
                return size() > size;
            }
        };
    }

    private record Cached(Decision decision, Instant expires) {
    }
}
