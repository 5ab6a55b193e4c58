package dev.pep.identity.assertion;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.pep.core.Subject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Signs what the application sees: a short-lived JWT about the subject, signed ES256 with the
 * gateway's own key, which the app checks against {@link #jwksJson()}.
 *
 * <p>The keys live in one file, a JWK set of private P-256 keys readable by the owner only, made
 * with one key on first start. The last key of the file signs; every key of the file is
 * published, so a key added by {@link #addKey} (rotation) is verifiable next to the one before it
 * and assertions signed before a rotation stay verifiable until the old key is deleted from the
 * file. Every token names its key in {@code kid}.
 *
 * <p>The token has {@code typ} {@code pep-assertion+jwt}, {@code iss} the gateway, {@code aud}
 * the app, {@code sub}, {@code iat}, {@code nbf}, {@code exp}, {@code jti}, and the subject's
 * {@code idp}, {@code org}, {@code groups}, {@code roles}, {@code email}, {@code amr},
 * {@code claims}. ES256 signing is costly (about a millisecond on Java 17), so an assertion for
 * the same subject, app and lifetime is reused for up to half its lifetime. Thread-safe.
 */
// LIMITATION(L-208): ES256 only; a key added to the file signs from the next start.
public final class SubjectAssertionSigner {

    /** The {@code typ} of assertions, so they are never mistaken for access or ID tokens. */
    public static final JOSEObjectType TYPE = new JOSEObjectType("pep-assertion+jwt");
    /** The longest lifetime of an assertion. */
    public static final Duration MAX_LIFETIME = Duration.ofMinutes(15);
    private static final int MAX_REUSED = 10_000;

    private final List<ECKey> keys;
    private final ECKey current;
    private final JWSSigner signer;
    private final String issuer;
    private final Clock clock;
    private final Map<Reuse, Issued> issued = new ConcurrentHashMap<>();

    private SubjectAssertionSigner(List<ECKey> keys, String issuer, Clock clock) throws JOSEException {
        this.keys = List.copyOf(keys);
        this.current = keys.get(keys.size() - 1);
        this.signer = new ECDSASigner(current);
        this.issuer = Objects.requireNonNull(issuer, "issuer");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Loads the signing keys from {@code keyFile}, making the file with one new P-256 key first
     * when it is absent.
     *
     * @throws IOException when the file cannot be read or written, or holds no EC private key;
     *     the message never shows key material
     */
    public static SubjectAssertionSigner loadOrCreate(Path keyFile, String issuer, Clock clock)
            throws IOException {
        if (!Files.exists(keyFile)) {
            write(keyFile, List.of(newKey()));
        }
        List<ECKey> keys = read(keyFile);
        try {
            return new SubjectAssertionSigner(keys, issuer, clock);
        } catch (JOSEException e) {
            throw new IOException("cannot use the last key of " + keyFile + " (content not shown)");
        }
    }

    /**
     * Rotation: adds a new key at the end of {@code keyFile} (making the file when absent); a
     * gateway started on the file from then on signs with it and still publishes the older ones.
     *
     * @return the new key's id
     * @throws IOException when the file cannot be read or written
     */
    public static String addKey(Path keyFile) throws IOException {
        List<ECKey> keys = Files.exists(keyFile) ? new ArrayList<>(read(keyFile)) : new ArrayList<>();
        ECKey key = newKey();
        keys.add(key);
        write(keyFile, keys);
        return key.getKeyID();
    }

    /**
     * A signed assertion of {@code subject} for the app {@code audience}, valid for
     * {@code lifetime}; the same one again while less than half of its lifetime has passed.
     *
     * @throws IllegalArgumentException when the lifetime is not within (0, 15 minutes]
     */
    public String sign(Subject subject, String audience, Duration lifetime) {
        if (lifetime.isNegative() || lifetime.isZero() || lifetime.compareTo(MAX_LIFETIME) > 0) {
            throw new IllegalArgumentException("assertion lifetime must be within 0..15 minutes: "
                    + lifetime);
        }
        Instant now = clock.instant();
        Reuse key = new Reuse(subject, audience, lifetime);
        Issued before = issued.get(key);
        if (before != null && now.isBefore(before.at().plus(lifetime.dividedBy(2)))
                && !now.isBefore(before.at())) {
            return before.token();
        }
        String token = signNew(subject, audience, lifetime, now);
        if (issued.size() >= MAX_REUSED) {
            // Bounded: a flood of subjects costs signatures, never memory.
            issued.clear();
        }
        issued.put(key, new Issued(token, now));
        return token;
    }

    /** The public key set apps verify assertions with, as JSON: every key of the file. */
    public String jwksJson() {
        List<JWK> published = new ArrayList<>();
        for (ECKey k : keys) {
            published.add(k.toPublicJWK());
        }
        return new JWKSet(published).toString(true);
    }

    /** The signing key's id. */
    public String keyId() {
        return current.getKeyID();
    }

    /** The ids of every published key, oldest first. */
    public List<String> keyIds() {
        return keys.stream().map(ECKey::getKeyID).toList();
    }

    private String signNew(Subject subject, String audience, Duration lifetime, Instant now) {
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .issuer(issuer)
                .audience(audience)
                .subject(subject.id())
                .issueTime(Date.from(now))
                .notBeforeTime(Date.from(now))
                .expirationTime(Date.from(now.plus(lifetime)))
                .jwtID(UUID.randomUUID().toString())
                .claim("idp", subject.issuer())
                .claim("org", subject.organisation())
                .claim("groups", List.copyOf(subject.groups()))
                .claim("roles", List.copyOf(subject.roles()))
                .claim("email", subject.email())
                .claim("amr", subject.method().name().toLowerCase(Locale.ROOT))
                .claim("claims", subject.claims())
                .build();
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256).type(TYPE)
                .keyID(current.getKeyID()).build();
        try {
            SignedJWT jwt = new SignedJWT(header, claims);
            jwt.sign(signer);
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException("signing failed", e);
        }
    }

    private static ECKey newKey() throws IOException {
        try {
            return new ECKeyGenerator(Curve.P_256).keyUse(KeyUse.SIGNATURE)
                    .algorithm(JWSAlgorithm.ES256).keyIDFromThumbprint(true).generate();
        } catch (JOSEException e) {
            throw new IOException("cannot make a P-256 key", e);
        }
    }

    /** Reads a JWK set of private EC keys (or, as first written, one bare EC JWK). */
    private static List<ECKey> read(Path keyFile) throws IOException {
        String text = Files.readString(keyFile, StandardCharsets.UTF_8);
        List<ECKey> keys = new ArrayList<>();
        try {
            List<JWK> all = text.contains("\"keys\"") ? JWKSet.parse(text).getKeys()
                    : List.of(ECKey.parse(text));
            for (JWK k : all) {
                if (!(k instanceof ECKey ec) || !ec.isPrivate() || !Curve.P_256.equals(ec.getCurve())
                        || ec.getKeyID() == null) {
                    throw new IOException(keyFile + " holds a key that is not a private P-256 key"
                            + " with a kid (content not shown)");
                }
                keys.add(ec);
            }
        } catch (ParseException e) {
            throw new IOException(keyFile + " is not a JWK set (content not shown)");
        }
        if (keys.isEmpty()) {
            throw new IOException(keyFile + " holds no key");
        }
        return keys;
    }

    private static void write(Path file, List<ECKey> keys) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, ".assertion", ".tmp");
        try {
            Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: the operator protects the file by other means.
        }
        List<JWK> all = new ArrayList<>(keys);
        Files.writeString(temp, new JWKSet(all).toString(false), StandardCharsets.UTF_8);
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private record Reuse(Subject subject, String audience, Duration lifetime) {
    }

    private record Issued(String token, Instant at) {
    }
}
