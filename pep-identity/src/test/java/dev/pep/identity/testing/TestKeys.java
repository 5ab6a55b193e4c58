package dev.pep.identity.testing;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.UUID;

/** Keys and tokens for tests; RSA keys are generated once per JVM because that is slow. */
public final class TestKeys {

    public static final RSAKey RSA = rsa("rsa-1");
    public static final RSAKey RSA_ROTATED = rsa("rsa-2");
    public static final RSAKey ATTACKER = rsa("attacker");
    public static final ECKey EC = ec("ec-1");

    private TestKeys() {
    }

    public static RSAKey rsa(String kid) {
        try {
            return new RSAKeyGenerator(2048).keyID(kid).keyUse(KeyUse.SIGNATURE).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    public static ECKey ec(String kid) {
        try {
            return new ECKeyGenerator(Curve.P_256).keyID(kid).keyUse(KeyUse.SIGNATURE).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    public static List<JWK> publicKeys(JWK... keys) {
        return java.util.Arrays.stream(keys).map(JWK::toPublicJWK).toList();
    }

    /** Claims of a valid access token at {@code now}. */
    public static JWTClaimsSet.Builder claims(String issuer, String audience, Instant now) {
        return new JWTClaimsSet.Builder()
                .issuer(issuer)
                .subject("alice")
                .audience(audience)
                .issueTime(Date.from(now))
                .notBeforeTime(Date.from(now))
                .expirationTime(Date.from(now.plus(Duration.ofMinutes(10))))
                .jwtID(UUID.randomUUID().toString())
                .claim("org", "partner-a")
                .claim("groups", List.of("coalition-logistics"))
                .claim("email", "alice@partner-a.example");
    }

    /** An RS256 at+jwt header with the key's id. */
    public static JWSHeader.Builder rsHeader(JWK key) {
        return new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID())
                .type(new JOSEObjectType("at+jwt"));
    }

    public static String sign(JWSHeader header, JWTClaimsSet claims, JWK key) {
        try {
            SignedJWT jwt = new SignedJWT(header, claims);
            if (key instanceof RSAKey rsa) {
                jwt.sign(new RSASSASigner(rsa));
            } else {
                jwt.sign(new ECDSASigner((ECKey) key));
            }
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }
}
