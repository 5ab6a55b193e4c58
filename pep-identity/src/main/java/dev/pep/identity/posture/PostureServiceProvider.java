package dev.pep.identity.posture;

import com.nimbusds.jose.util.JSONObjectUtils;
import dev.pep.core.Credentials;
import dev.pep.core.PostureProvider;
import dev.pep.core.PostureSignal;
import dev.pep.core.Subject;
import java.io.IOException;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks a posture service about the request's device: {@code GET} the configured URL with the
 * device id in it, a bearer token and/or a client certificate, within a timeout. A 200 answer
 * ({@code {"device_id", "assessed_at", "signals": {...}}}) gives the signals, assessed when the
 * service says; 404 gives {@code unknown_device}; anything else, including no answer in time,
 * gives {@code unavailable} and no other signal: a service that is down never makes a device
 * compliant.
 *
 * <p>The device id comes only from verified evidence ({@link DeviceBindings#deviceId}): a valid
 * device certificate or the device bound to the session; without one the service is not asked
 * ({@code no_device_id}). Answers (200 and 404) are cached per device for the cache's maximum
 * age; concurrent requests for one device share one call. Answers assessed longer ago than the
 * maximum age are {@code stale}. Thread-safe; never throws from {@link #assess}.
 */
public final class PostureServiceProvider implements PostureProvider {

    /** The largest answer read. */
    static final int MAX_BODY_BYTES = 64 * 1024;
    /** The most signals taken from one answer. */
    static final int MAX_SIGNALS = 64;
    private static final Logger LOG = LoggerFactory.getLogger(PostureServiceProvider.class);
    private static final long WARNING_INTERVAL_NANOS = Duration.ofSeconds(10).toNanos();
    private static final List<String> RESERVED = List.of(PostureSignals.CERTIFICATE_PREFIX,
            "assertion.", "service.", "tls.", "browser.", PostureSignals.NETWORK_PREFIX);

    private final Config config;
    private final DeviceBindings bindings;
    private final HttpClient http;
    private final Clock clock;
    private final Executor executor;
    private final BoundedStore<Answer> cache;
    private final ConcurrentHashMap<String, CompletableFuture<Answer>> inFlight =
            new ConcurrentHashMap<>();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong calls = new AtomicLong();
    private volatile boolean lastCallFailed;
    private final AtomicLong lastWarning = new AtomicLong(System.nanoTime() - WARNING_INTERVAL_NANOS);

    /**
     * A provider.
     *
     * @param config the service and its limits
     * @param bindings where the verified device id comes from
     * @param http the client (with the client certificate and trusted CAs, for mutual TLS)
     * @param clock the time answers are aged by
     * @param executor where the device id is resolved and answers are parsed
     */
    public PostureServiceProvider(Config config, DeviceBindings bindings, HttpClient http,
            Clock clock, Executor executor) {
        this.config = Objects.requireNonNull(config, "config");
        this.bindings = Objects.requireNonNull(bindings, "bindings");
        this.http = Objects.requireNonNull(http, "http");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.executor = Objects.requireNonNull(executor, "executor");
        this.cache = new BoundedStore<>(100_000, config.cacheMaxAge());
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public CompletionStage<List<PostureSignal>> assess(Subject subject, Credentials credentials) {
        return CompletableFuture.supplyAsync(() -> bindings.deviceId(subject, credentials), executor)
                .thenCompose(id -> id.isEmpty()
                        ? CompletableFuture.completedFuture(Answer.status(PostureSignals.NO_DEVICE_ID,
                                clock.instant()))
                        : answer(id.get()))
                .thenApply(this::signals)
                .exceptionally(e -> {
                    LOG.warn("posture service check failed internally provider={} error={}",
                            config.name(), e.getClass().getName());
                    return signals(Answer.status(PostureSignals.ERROR, clock.instant()));
                });
    }

    /** How many calls to the service failed (no answer, bad answer), for metrics. */
    public long failureCount() {
        return failures.get();
    }

    /**
     * Whether the service answered the last call (200 with a readable answer, or 404); true
     * before the first call. For provider health metrics.
     */
    public boolean reachable() {
        return !lastCallFailed;
    }

    /** How many calls were made to the service. */
    public long callCount() {
        return calls.get();
    }

    private CompletableFuture<Answer> answer(String deviceId) {
        Instant now = clock.instant();
        Answer cached = cache.get(deviceId, now);
        if (cached != null && !now.isAfter(cached.fetchedAt().plus(config.cacheMaxAge()))) {
            return CompletableFuture.completedFuture(cached);
        }
        CompletableFuture<Answer> mine = new CompletableFuture<>();
        CompletableFuture<Answer> running = inFlight.putIfAbsent(deviceId, mine);
        if (running != null) {
            return running;
        }
        fetch(deviceId).whenComplete((answer, error) -> {
            inFlight.remove(deviceId, mine);
            Answer result = answer != null ? answer : failed(deviceId, error);
            if (result.cacheable()) {
                cache.compute(deviceId, result.fetchedAt(), (k, old) -> result);
            }
            mine.complete(result);
        });
        return mine;
    }

    private CompletableFuture<Answer> fetch(String deviceId) {
        calls.incrementAndGet();
        String url = config.url().replace(Config.PLACEHOLDER,
                URLEncoder.encode(deviceId, StandardCharsets.UTF_8).replace("+", "%20"));
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url))
                .timeout(config.timeout())
                .header("Accept", "application/json")
                .GET();
        config.token().get().ifPresent(t -> request.header("Authorization", "Bearer " + t));
        // The body is collected without blocking and bounded, so the timeout covers the whole
        // answer: a service that trickles its body is as unavailable as one that never answers.
        CompletableFuture<HttpResponse<byte[]>> call = http.sendAsync(request.build(),
                info -> new BoundedBody(MAX_BODY_BYTES));
        return call.copy()
                .orTimeout(config.timeout().toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((response, error) -> {
                    if (error != null) {
                        call.cancel(true);
                    }
                })
                .thenApplyAsync(response -> read(deviceId, response), executor);
    }

    private Answer read(String deviceId, HttpResponse<byte[]> response) {
        Instant now = clock.instant();
        try {
            if (response.statusCode() == 404) {
                lastCallFailed = false;
                return Answer.status(PostureSignals.UNKNOWN_DEVICE, now).cached();
            }
            if (response.statusCode() != 200) {
                return failed(deviceId, new IOException("status " + response.statusCode()));
            }
            Answer answer = parse(deviceId, new String(response.body(), StandardCharsets.UTF_8), now);
            lastCallFailed = false;
            return answer;
        } catch (ParseException | RuntimeException e) {
            return failed(deviceId, e);
        }
    }

    private Answer parse(String deviceId, String json, Instant now) throws ParseException {
        Map<String, Object> doc = JSONObjectUtils.parse(json);
        if (!deviceId.equals(doc.get("device_id"))) {
            throw new ParseException("answer names another device", 0);
        }
        Instant assessedAt = now;
        if (doc.get("assessed_at") instanceof String at) {
            try {
                assessedAt = OffsetDateTime.parse(at).toInstant();
            } catch (DateTimeParseException e) {
                throw new ParseException("assessed_at is not an RFC 3339 time", 0);
            }
        }
        if (!(doc.get("signals") instanceof Map<?, ?> raw)) {
            throw new ParseException("no signals object", 0);
        }
        Map<String, Object> values = new LinkedHashMap<>();
        raw.forEach((name, value) -> accept(String.valueOf(name), value, values));
        return new Answer(PostureSignals.VALID, values, assessedAt, now, true);
    }

    private static void accept(String name, Object value, Map<String, Object> into) {
        if (into.size() >= MAX_SIGNALS || !PostureSignals.validName(name)
                || PostureSignals.isStatus(name) || RESERVED.stream().anyMatch(name::startsWith)) {
            return;
        }
        if (value instanceof Boolean || value instanceof String s && s.length() <= 256) {
            into.put(name, value);
        } else if (value instanceof Number n) {
            into.put(name, n instanceof Double || n instanceof Float ? (Object) n.doubleValue()
                    : (Object) n.longValue());
        }
    }

    private Answer failed(String deviceId, Throwable error) {
        failures.incrementAndGet();
        lastCallFailed = true;
        Throwable cause = error instanceof java.util.concurrent.CompletionException
                && error.getCause() != null ? error.getCause() : error;
        long now = System.nanoTime();
        long last = lastWarning.get();
        // At most one line per interval however many requests fail; the counter has them all.
        // The device id is not logged: it identifies a partner's device, not the gateway's fault.
        if (now - last >= WARNING_INTERVAL_NANOS && lastWarning.compareAndSet(last, now)) {
            LOG.warn("posture service unavailable provider={} failures={} error={}", config.name(),
                    failures.get(), cause == null ? "unknown" : cause.getClass().getSimpleName());
        }
        return Answer.status(PostureSignals.UNAVAILABLE, clock.instant());
    }

    private List<PostureSignal> signals(Answer answer) {
        Instant now = clock.instant();
        String status = answer.status();
        boolean stale = answer.valid()
                && Duration.between(answer.assessedAt(), now).compareTo(config.maxAge()) > 0;
        List<PostureSignal> out = new ArrayList<>();
        String source = config.name();
        out.add(PostureSignals.signal(PostureSignals.SERVICE_STATUS,
                stale ? PostureSignals.STALE : status, source, now));
        if (answer.valid() && !stale) {
            answer.values().forEach((n, v) -> out.add(PostureSignals.signal(n, v, source,
                    answer.assessedAt())));
        }
        return out;
    }

    /** Collects a body of at most {@code max} bytes; a larger one fails the call. */
    private static final class BoundedBody implements HttpResponse.BodySubscriber<byte[]> {
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final int max;
        private Flow.Subscription subscription;

        BoundedBody(int max) {
            this.max = max;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            for (ByteBuffer b : items) {
                if (bytes.size() + b.remaining() > max) {
                    subscription.cancel();
                    result.completeExceptionally(new IOException("answer larger than " + max));
                    return;
                }
                byte[] chunk = new byte[b.remaining()];
                b.get(chunk);
                bytes.writeBytes(chunk);
            }
        }

        @Override
        public void onError(Throwable error) {
            result.completeExceptionally(error);
        }

        @Override
        public void onComplete() {
            result.complete(bytes.toByteArray());
        }
    }

    /** One answer of the service, as cached. */
    private record Answer(String status, Map<String, Object> values, Instant assessedAt,
            Instant fetchedAt, boolean cacheable) {

        static Answer status(String status, Instant now) {
            return new Answer(status, Map.of(), now, now, false);
        }

        Answer cached() {
            return new Answer(status, values, assessedAt, fetchedAt, true);
        }

        boolean valid() {
            return PostureSignals.VALID.equals(status);
        }
    }

    /**
     * A posture service.
     *
     * @param name the provider's name, recorded as the source of its signals
     * @param url the URL to GET, with {@value #PLACEHOLDER} where the device id goes
     * @param token the bearer token to send, read when needed; empty for none
     * @param timeout how long one call may take
     * @param cacheMaxAge how long an answer is reused
     * @param maxAge an answer assessed longer ago than this is {@code stale}
     */
    public record Config(String name, String url, Supplier<Optional<String>> token,
            Duration timeout, Duration cacheMaxAge, Duration maxAge) {

        /** Where the device id goes in the URL. */
        public static final String PLACEHOLDER = "{device-id}";

        /** Validates. */
        public Config {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(url, "url");
            if (!url.contains(PLACEHOLDER)) {
                throw new IllegalArgumentException("posture service url " + url + " has no "
                        + PLACEHOLDER);
            }
            Objects.requireNonNull(token, "token");
            positive(timeout, "timeout");
            positive(cacheMaxAge, "cacheMaxAge");
            positive(maxAge, "maxAge");
        }

        private static void positive(Duration d, String what) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(what + " must be positive: " + d);
            }
        }
    }
}
