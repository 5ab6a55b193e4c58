package dev.pep.identity.assertion;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.SignedJWT;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Subject;
import dev.pep.identity.testing.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SubjectAssertionSignerTest {

    final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T10:00:00Z"));

    @TempDir
    Path dir;

    static Subject alice() {
        return new Subject("alice", "https://idp.partner-a.example", "partner-a",
                Set.of("coalition-logistics"), Set.of(), "alice@partner-a.example", Map.of(),
                AuthenticationMethod.OIDC, Instant.parse("2026-12-01T09:59:00Z"));
    }

    @Test
    void sign_assertion_verifiesWithPublishedJwks() throws Exception {
        var signer = SubjectAssertionSigner.loadOrCreate(dir.resolve("assertion.jwk"),
                "https://gateway.example", Duration.ofMinutes(2), clock);

        SignedJWT jwt = SignedJWT.parse(signer.sign(alice(), "logistics"));
        ECKey published = (ECKey) JWKSet.parse(signer.jwksJson()).getKeyByKeyId(signer.keyId());

        assertThat(published.isPrivate()).isFalse();
        assertThat(signer.jwksJson()).doesNotContain("\"d\"");
        assertThat(jwt.verify(new ECDSAVerifier(published))).isTrue();
        assertThat(jwt.getHeader().getType()).isEqualTo(SubjectAssertionSigner.TYPE);
        var claims = jwt.getJWTClaimsSet();
        assertThat(claims.getSubject()).isEqualTo("alice");
        assertThat(claims.getAudience()).containsExactly("logistics");
        assertThat(claims.getStringClaim("org")).isEqualTo("partner-a");
        assertThat(claims.getStringListClaim("groups")).containsExactly("coalition-logistics");
        assertThat(claims.getExpirationTime().toInstant())
                .isEqualTo(clock.instant().plus(Duration.ofMinutes(2)));
    }

    @Test
    void loadOrCreate_secondStart_sameKeyAndOwnerOnlyFile() throws Exception {
        Path file = dir.resolve("assertion.jwk");
        var first = SubjectAssertionSigner.loadOrCreate(file, "gw", Duration.ofMinutes(2), clock);
        var second = SubjectAssertionSigner.loadOrCreate(file, "gw", Duration.ofMinutes(2), clock);

        assertThat(second.keyId()).isEqualTo(first.keyId());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                .isEqualTo("rw-------");
    }
}
