package dev.pep.identity.assertion;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
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
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * Signs what the application sees: a short-lived JWT about the subject, signed ES256 with the
 * gateway's own key, which the app checks against {@link #jwksJson()}.
 *
 * <p>The key is generated on first start and kept in a file readable by the owner only. The token
 * has {@code typ} {@code pep-assertion+jwt}, {@code iss} the gateway, {@code aud} the app,
 * {@code sub}, {@code iat}, {@code nbf}, {@code exp}, {@code jti}, and the subject's
 * {@code org}, {@code groups}, {@code roles}, {@code email}, {@code amr}, {@code claims}.
 * Thread-safe.
 */
// LIMITATION(L-208): one assertion key, ES256 only, no rotation with overlap.
public final class SubjectAssertionSigner {

    /** The {@code typ} of assertions, so they are never mistaken for access or ID tokens. */
    public static final JOSEObjectType TYPE = new JOSEObjectType("pep-assertion+jwt");

    private final ECKey key;
    private final JWSSigner signer;
    private final String issuer;
    private final Duration lifetime;
    private final Clock clock;

    private SubjectAssertionSigner(ECKey key, String issuer, Duration lifetime, Clock clock)
            throws JOSEException {
        this.key = key;
        this.signer = new ECDSASigner(key);
        this.issuer = Objects.requireNonNull(issuer, "issuer");
        this.lifetime = Objects.requireNonNull(lifetime, "lifetime");
        this.clock = Objects.requireNonNull(clock, "clock");
        if (lifetime.isNegative() || lifetime.isZero() || lifetime.compareTo(Duration.ofMinutes(15)) > 0) {
            throw new IllegalArgumentException("assertion lifetime must be within 0..15 minutes: "
                    + lifetime);
        }
    }

    /**
     * Loads the signing key from {@code keyFile}, generating a P-256 key there first when absent.
     *
     * @throws IOException when the file cannot be read or written, or holds no EC private key
     */
    public static SubjectAssertionSigner loadOrCreate(Path keyFile, String issuer,
            Duration lifetime, Clock clock) throws IOException {
        try {
            if (!Files.exists(keyFile)) {
                write(keyFile, new ECKeyGenerator(Curve.P_256).keyUse(KeyUse.SIGNATURE)
                        .algorithm(JWSAlgorithm.ES256)
                        .keyIDFromThumbprint(true).generate());
            }
            ECKey key = ECKey.parse(Files.readString(keyFile, StandardCharsets.UTF_8));
            if (!key.isPrivate()) {
                throw new IOException(keyFile + " holds no private key");
            }
            return new SubjectAssertionSigner(key, issuer, lifetime, clock);
        } catch (ParseException e) {
            throw new IOException(keyFile + " is not an EC JWK: " + e.getMessage());
        } catch (JOSEException e) {
            throw new IOException("cannot use the key of " + keyFile, e);
        }
    }

    /** A signed assertion of {@code subject} for the app {@code audience}. */
    public String sign(Subject subject, String audience) {
        Instant now = clock.instant();
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
                .claim("amr", subject.method().name().toLowerCase(java.util.Locale.ROOT))
                .claim("claims", subject.claims())
                .build();
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256).type(TYPE)
                .keyID(key.getKeyID()).build();
        try {
            SignedJWT jwt = new SignedJWT(header, claims);
            jwt.sign(signer);
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException("signing failed", e);
        }
    }

    /** The public key set apps verify assertions with, as JSON. */
    public String jwksJson() {
        return new JWKSet(key.toPublicJWK()).toString(true);
    }

    /** The signing key's id. */
    public String keyId() {
        return key.getKeyID();
    }

    private static void write(Path file, ECKey key) throws IOException {
        Path temp = Files.createTempFile(file.toAbsolutePath().getParent(), ".assertion", ".tmp");
        try {
            Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: the operator protects the file by other means.
        }
        Files.writeString(temp, key.toJSONString(), StandardCharsets.UTF_8);
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
    }
}
