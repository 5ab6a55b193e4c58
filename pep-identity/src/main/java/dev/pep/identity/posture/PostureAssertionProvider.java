package dev.pep.identity.posture;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.SignedJWT;
import dev.pep.core.Credentials;
import dev.pep.core.PostureProvider;
import dev.pep.core.PostureSignal;
import dev.pep.core.Subject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A signed posture assertion: a short-lived JWT a partner's device-management or
 * endpoint-security service issues about one device, carried in a header or a cookie the
 * partner's tooling sets.
 *
 * <p>Checked, in this order: one token, at most {@link #MAX_TOKEN_CHARS}; a signed JWT (never
 * {@code none}, encrypted or nested) from the configured issuer, with an allowed algorithm and a
 * key from the issuer's keys by {@code kid}; the audience; {@code exp} and {@code nbf} with a
 * bounded skew; {@code iat} not older than the maximum age; a {@code jti} and a device id; the
 * device binding ({@code cnf.x5t#S256} and a device certificate on the connection must name the
 * same device, and the session must not be bound to another); no other subject used the same
 * {@code jti}. Then the claims map into signals assessed at {@code iat}; failing any check
 * yields only {@code assertion.status}.
 *
 * <p>Signatures are verified once per token and cached by the token's hash; every other check
 * runs on each request. Thread-safe; never throws from {@link #assess}.
 */
public final class PostureAssertionProvider implements PostureProvider {

    /** The longest token read; larger ones are {@code invalid} before they are parsed. */
    public static final int MAX_TOKEN_CHARS = 8 * 1024;
    /** The default header that carries the assertion. */
    public static final String DEFAULT_HEADER = "x-device-posture";
    /** The default claim that names the device. */
    public static final String DEFAULT_DEVICE_ID_CLAIM = "device_id";
    /** Signal name to claim path (dots reach into nested objects), applied unless overridden. */
    public static final Map<String, String> DEFAULT_CLAIMS = defaultClaims();

    private static final Logger LOG = LoggerFactory.getLogger(PostureAssertionProvider.class);
    private static final int MAX_STRING = 256;

    private final Config config;
    private final DeviceBindings bindings;
    private final Clock clock;
    private final Executor executor;
    private final BoundedStore<Verified> verified = new BoundedStore<>(10_000, Duration.ofMinutes(10));

    /**
     * A provider.
     *
     * @param config the issuer, its keys and what to check
     * @param bindings the device bindings of sessions, shared by all providers
     * @param clock the time assertions are judged at
     * @param executor where signatures are verified (kept off the caller's thread)
     */
    public PostureAssertionProvider(Config config, DeviceBindings bindings, Clock clock,
            Executor executor) {
        this.config = Objects.requireNonNull(config, "config");
        this.bindings = Objects.requireNonNull(bindings, "bindings");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.executor = Objects.requireNonNull(executor, "executor");
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public CompletionStage<List<PostureSignal>> assess(Subject subject, Credentials credentials) {
        return CompletableFuture.supplyAsync(() -> evaluate(subject, credentials).signals(),
                executor);
    }

    /** Judges the request's assertion now, on the calling thread; never throws. */
    public Outcome evaluate(Subject subject, Credentials credentials) {
        Instant now = clock.instant();
        try {
            Optional<String> token = token(credentials);
            if (token.isEmpty()) {
                return Outcome.status(PostureSignals.ABSENT, config.name(), now);
            }
            return judge(token.get(), subject, credentials, now);
        } catch (RuntimeException e) {
            LOG.warn("posture assertion check failed internally provider={} error={}",
                    config.name(), e.getClass().getName());
            return Outcome.status(PostureSignals.ERROR, config.name(), now);
        }
    }

    private Optional<String> token(Credentials credentials) {
        List<String> values = credentials.header(config.header());
        if (values.size() == 1) {
            return Optional.of(values.get(0).trim());
        }
        if (values.size() > 1) {
            // Two assertions: which one would the partner's tooling mean? Neither.
            return Optional.of("");
        }
        return config.cookie() == null ? Optional.empty() : cookie(credentials, config.cookie());
    }

    private Outcome judge(String token, Subject subject, Credentials credentials, Instant now) {
        if (token.isEmpty() || token.length() > MAX_TOKEN_CHARS) {
            return refuse(PostureSignals.INVALID, now, "size");
        }
        String hash = hash(token);
        Verified v = verified.get(hash, now);
        if (v == null || !config.keys().find(v.kid()).isPresent()) {
            Object result = verify(token);
            if (result instanceof String status) {
                return refuse(status, now, "signature");
            }
            v = (Verified) result;
            Verified fresh = v;
            verified.compute(hash, now, (k, old) -> fresh);
        }
        if (!config.keys().available()) {
            return refuse(PostureSignals.UNAVAILABLE, now, "keys");
        }
        return checkClaims(v.claims(), subject, credentials, now);
    }

    /** The verified claims, or the status that refuses the token. */
    private Object verify(String token) {
        JWT jwt;
        try {
            jwt = JWTParser.parse(token);
        } catch (ParseException e) {
            return PostureSignals.INVALID;
        }
        if (!(jwt instanceof SignedJWT signed)) {
            // alg none (PlainJWT) and encrypted tokens are never accepted.
            return PostureSignals.INVALID;
        }
        JWTClaimsSet claims;
        try {
            claims = signed.getJWTClaimsSet();
        } catch (ParseException e) {
            return PostureSignals.INVALID;
        }
        if (!config.issuer().equals(claims.getIssuer())) {
            return PostureSignals.UNTRUSTED;
        }
        JWSHeader header = signed.getHeader();
        if (!config.algorithms().contains(header.getAlgorithm().getName()) || header.getKeyID() == null
                || header.getContentType() != null
                && "jwt".equals(header.getContentType().toLowerCase(Locale.ROOT))) {
            return PostureSignals.INVALID;
        }
        if (!config.keys().available()) {
            return PostureSignals.UNAVAILABLE;
        }
        // Keys only from the configured key set, by kid: jwk, jku, x5u and x5c are never read.
        Optional<JWK> key = config.keys().find(header.getKeyID());
        if (key.isEmpty() || !signatureValid(signed, key.get())) {
            return PostureSignals.INVALID;
        }
        return new Verified(claims, header.getKeyID());
    }

    private static boolean signatureValid(SignedJWT jwt, JWK key) {
        JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
        try {
            if (key.getAlgorithm() != null && !key.getAlgorithm().getName().equals(alg.getName())) {
                return false;
            }
            JWSVerifier verifier = null;
            if (JWSAlgorithm.Family.RSA.contains(alg) && key instanceof RSAKey rsa) {
                verifier = new RSASSAVerifier(rsa.toRSAPublicKey());
            } else if (JWSAlgorithm.Family.EC.contains(alg) && key instanceof ECKey ec
                    && Curve.forJWSAlgorithm(alg).contains(ec.getCurve())) {
                verifier = new ECDSAVerifier(ec.toECPublicKey());
            }
            return verifier != null && jwt.verify(verifier);
        } catch (JOSEException e) {
            return false;
        }
    }

    private Outcome checkClaims(JWTClaimsSet claims, Subject subject, Credentials credentials,
            Instant now) {
        String problem = checkAudienceAndTimes(claims, now);
        if (problem != null) {
            return refuse(problem, now, "claims");
        }
        String jti = claims.getJWTID();
        Optional<String> deviceId = string(claims.getClaims(), config.deviceIdClaim());
        if (jti == null || jti.isBlank() || deviceId.isEmpty()) {
            return refuse(PostureSignals.INVALID, now, "jti or device id missing");
        }
        if (!sameDeviceAsCertificate(claims, deviceId.get(), credentials)) {
            return refuse(PostureSignals.WRONG_DEVICE, now, "certificate binding");
        }
        if (!bindings.firstUse(config.issuer() + " " + jti,
                SessionKeys.subjectKey(subject, credentials))) {
            return refuse(PostureSignals.REPLAYED, now, "jti");
        }
        if (!bindings.bind(bindings.sessionKey(subject, credentials), deviceId.get())) {
            return refuse(PostureSignals.WRONG_DEVICE, now, "session binding");
        }
        Instant assessedAt = claims.getIssueTime().toInstant();
        LOG.debug("posture assertion accepted provider={}", config.name());
        return new Outcome(PostureSignals.VALID, deviceId, mapped(claims, deviceId.get(),
                assessedAt, now));
    }

    private String checkAudienceAndTimes(JWTClaimsSet claims, Instant now) {
        if (claims.getAudience().stream().noneMatch(config.audiences()::contains)) {
            return PostureSignals.WRONG_AUDIENCE;
        }
        if (claims.getExpirationTime() == null || claims.getIssueTime() == null) {
            return PostureSignals.INVALID;
        }
        if (!now.isBefore(claims.getExpirationTime().toInstant().plus(config.clockSkew()))) {
            return PostureSignals.EXPIRED;
        }
        Instant latest = now.plus(config.clockSkew());
        Instant issued = claims.getIssueTime().toInstant();
        if (issued.isAfter(latest) || claims.getNotBeforeTime() != null
                && claims.getNotBeforeTime().toInstant().isAfter(latest)) {
            return PostureSignals.NOT_YET_VALID;
        }
        return Duration.between(issued, now).compareTo(config.maxAge()) > 0
                ? PostureSignals.STALE : null;
    }

    /** The assertion's device must be the certificate's, when either names the other. */
    private boolean sameDeviceAsCertificate(JWTClaimsSet claims, String deviceId,
            Credentials credentials) {
        Object cnf = claims.getClaim("cnf");
        if (cnf instanceof Map<?, ?> confirmation && confirmation.get("x5t#S256") != null) {
            // RFC 8705 3.1: the assertion is bound to the client certificate of this connection.
            List<X509Certificate> chain = credentials.peerCertificates();
            String expected = String.valueOf(confirmation.get("x5t#S256"));
            if (chain.isEmpty() || !expected.equals(Base64URL.encode(DeviceCertificateProvider
                    .sha256(DeviceCertificateProvider.encoded(chain.get(0)))).toString())) {
                return false;
            }
        }
        Optional<String> certified = bindings.certificate(credentials)
                .flatMap(DeviceCertificateProvider.Verdict::deviceId);
        return certified.isEmpty() || certified.get().equals(deviceId);
    }

    private Outcome.Signals mapped(JWTClaimsSet claims, String deviceId, Instant assessedAt,
            Instant now) {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put(PostureSignals.ASSERTION_STATUS, PostureSignals.VALID);
        values.put(PostureSignals.DEVICE_ID, deviceId);
        config.claims().forEach((signal, path) -> value(claims.getClaims(), path)
                .ifPresent(v -> values.put(signal, v)));
        return new Outcome.Signals(values, config.name(), assessedAt, now);
    }

    private Outcome refuse(String status, Instant now, String step) {
        LOG.debug("posture assertion refused provider={} status={} step={}", config.name(), status,
                step);
        return Outcome.status(status, config.name(), now);
    }

    private static Optional<Object> value(Map<String, Object> claims, String path) {
        Object v = claims;
        for (String part : path.split("\\.")) {
            if (!(v instanceof Map<?, ?> m)) {
                return Optional.empty();
            }
            v = m.get(part);
        }
        if (v instanceof Boolean || v instanceof Long || v instanceof Double) {
            return Optional.of(v);
        }
        if (v instanceof Number n) {
            return Optional.of(n instanceof Float ? (Object) n.doubleValue() : (Object) n.longValue());
        }
        return v instanceof String s && s.length() <= MAX_STRING ? Optional.of(s) : Optional.empty();
    }

    private static Optional<String> string(Map<String, Object> claims, String path) {
        return value(claims, path).filter(String.class::isInstance).map(String.class::cast)
                .filter(s -> !s.isBlank());
    }

    private static Optional<String> cookie(Credentials credentials, String name) {
        for (String line : credentials.header("cookie")) {
            for (String pair : line.split(";")) {
                String p = pair.trim();
                if (p.startsWith(name + "=")) {
                    return Optional.of(p.substring(name.length() + 1));
                }
            }
        }
        return Optional.empty();
    }

    private static String hash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static Map<String, String> defaultClaims() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(PostureSignals.MANAGED, "managed");
        m.put(PostureSignals.COMPLIANT, "compliant");
        m.put("os.name", "os_name");
        m.put("os.version", "os_version");
        m.put("disk.encrypted", "disk_encrypted");
        m.put("edr.running", "edr_running");
        m.put("risk", "risk_level");
        return java.util.Collections.unmodifiableMap(m);
    }

    private record Verified(JWTClaimsSet claims, String kid) {
    }

    /**
     * The result of judging one request's assertion.
     *
     * @param status {@code valid} or why not
     * @param deviceId the asserted device id when valid
     * @param mapped the signals when valid; null otherwise
     */
    public record Outcome(String status, Optional<String> deviceId, Signals mapped) {

        static Outcome status(String status, String source, Instant now) {
            return new Outcome(status, Optional.empty(), new Signals(
                    Map.of(PostureSignals.ASSERTION_STATUS, status), source, now, now));
        }

        /** Whether the assertion was accepted. */
        public boolean valid() {
            return PostureSignals.VALID.equals(status);
        }

        /** The signals: the status always, the mapped claims when valid. */
        public List<PostureSignal> signals() {
            return mapped.toSignals();
        }

        /**
         * Signal values of one source: the status as of now, the claims as of their assessment.
         */
        record Signals(Map<String, Object> values, String source, Instant assessedAt, Instant now) {
            List<PostureSignal> toSignals() {
                List<PostureSignal> out = new ArrayList<>();
                values.forEach((name, value) -> out.add(PostureSignals.signal(name, value, source,
                        PostureSignals.isStatus(name) ? now : assessedAt)));
                return out;
            }
        }
    }

    /**
     * What one partner's assertions are checked against.
     *
     * @param name the provider's name, recorded as the source of its signals
     * @param issuer the exact {@code iss}
     * @param keys the issuer's public keys
     * @param audiences accepted {@code aud} values; at least one
     * @param algorithms accepted signature algorithms (RSA and EC families only)
     * @param header the lower-case header that carries the assertion
     * @param cookie the cookie that carries it when the header is absent; null for none
     * @param maxAge an assertion issued longer ago than this is {@code stale}
     * @param clockSkew tolerance for {@code exp}, {@code nbf}, {@code iat}
     * @param deviceIdClaim the claim naming the device
     * @param claims signal name to claim path
     */
    public record Config(String name, String issuer, AssertionKeys keys, Set<String> audiences,
            Set<String> algorithms, String header, String cookie, Duration maxAge,
            Duration clockSkew, String deviceIdClaim, Map<String, String> claims) {

        private static final Set<String> ASYMMETRIC = Set.of("RS256", "RS384", "RS512", "PS256",
                "PS384", "PS512", "ES256", "ES384", "ES512");

        /** Validates and copies. */
        public Config {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(issuer, "issuer");
            Objects.requireNonNull(keys, "keys");
            audiences = Set.copyOf(audiences);
            if (audiences.isEmpty()) {
                throw new IllegalArgumentException("assertions of " + issuer + ": no audience");
            }
            algorithms = Set.copyOf(algorithms);
            if (algorithms.isEmpty() || !ASYMMETRIC.containsAll(algorithms)) {
                throw new IllegalArgumentException("assertions of " + issuer + ": algorithms "
                        + algorithms + "; expected some of " + new java.util.TreeSet<>(ASYMMETRIC));
            }
            header = header.toLowerCase(Locale.ROOT);
            Objects.requireNonNull(maxAge, "maxAge");
            Objects.requireNonNull(clockSkew, "clockSkew");
            if (clockSkew.compareTo(Duration.ofMinutes(5)) > 0) {
                throw new IllegalArgumentException("clock skew above 5 minutes: " + clockSkew);
            }
            Objects.requireNonNull(deviceIdClaim, "deviceIdClaim");
            claims = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(claims));
            claims.keySet().forEach(n -> {
                if (!PostureSignals.validName(n) || PostureSignals.isStatus(n)) {
                    throw new IllegalArgumentException("signal name '" + n + "' is not allowed");
                }
            });
        }

        /** A configuration with the defaults: header, 1 hour, 60 s skew, default claims. */
        public static Config of(String name, String issuer, AssertionKeys keys,
                Set<String> audiences, Set<String> algorithms) {
            return new Config(name, issuer, keys, audiences, algorithms, DEFAULT_HEADER, null,
                    Duration.ofHours(1), Duration.ofSeconds(60), DEFAULT_DEVICE_ID_CLAIM,
                    DEFAULT_CLAIMS);
        }

        /** The same with assertions also read from that cookie. */
        public Config withCookie(String cookieName) {
            return new Config(name, issuer, keys, audiences, algorithms, header, cookieName,
                    maxAge, clockSkew, deviceIdClaim, claims);
        }

        /** The same with another maximum age. */
        public Config withMaxAge(Duration age) {
            return new Config(name, issuer, keys, audiences, algorithms, header, cookie, age,
                    clockSkew, deviceIdClaim, claims);
        }
    }
}
