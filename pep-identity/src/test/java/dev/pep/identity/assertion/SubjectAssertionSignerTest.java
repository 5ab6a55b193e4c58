package dev.pep.identity.assertion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.SignedJWT;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Subject;
import dev.pep.identity.testing.MutableClock;
import java.io.IOException;
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

    static final Duration TWO_MINUTES = Duration.ofMinutes(2);

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
        var signer = SubjectAssertionSigner.loadOrCreate(dir.resolve("assertion.jwks"),
                "https://gateway.example", clock);

        SignedJWT jwt = SignedJWT.parse(signer.sign(alice(), "logistics", TWO_MINUTES));
        ECKey published = (ECKey) JWKSet.parse(signer.jwksJson()).getKeyByKeyId(signer.keyId());

        assertThat(published.isPrivate()).isFalse();
        assertThat(signer.jwksJson()).doesNotContain("\"d\"");
        assertThat(jwt.verify(new ECDSAVerifier(published))).isTrue();
        assertThat(jwt.getHeader().getType()).isEqualTo(SubjectAssertionSigner.TYPE);
        assertThat(jwt.getHeader().getKeyID()).isEqualTo(signer.keyId());
        var claims = jwt.getJWTClaimsSet();
        assertThat(claims.getSubject()).isEqualTo("alice");
        assertThat(claims.getIssuer()).isEqualTo("https://gateway.example");
        assertThat(claims.getAudience()).containsExactly("logistics");
        assertThat(claims.getStringClaim("org")).isEqualTo("partner-a");
        assertThat(claims.getStringClaim("amr")).isEqualTo("oidc");
        assertThat(claims.getStringListClaim("groups")).containsExactly("coalition-logistics");
        assertThat(claims.getExpirationTime().toInstant()).isEqualTo(clock.instant().plus(TWO_MINUTES));
    }

    @Test
    void loadOrCreate_secondStart_sameKeyAndOwnerOnlyFile() throws Exception {
        Path file = dir.resolve("assertion.jwks");
        var first = SubjectAssertionSigner.loadOrCreate(file, "gw", clock);
        var second = SubjectAssertionSigner.loadOrCreate(file, "gw", clock);

        assertThat(second.keyId()).isEqualTo(first.keyId());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                .isEqualTo("rw-------");
    }

    /** Rotation: the added key signs from the next start, and the old one is still published. */
    @Test
    void addKey_newKeySignsAfterRestart_oldStillPublished() throws Exception {
        Path file = dir.resolve("assertion.jwks");
        var before = SubjectAssertionSigner.loadOrCreate(file, "gw", clock);
        String oldToken = before.sign(alice(), "logistics", TWO_MINUTES);

        String added = SubjectAssertionSigner.addKey(file);
        var after = SubjectAssertionSigner.loadOrCreate(file, "gw", clock);

        assertThat(before.keyId()).isNotEqualTo(added);
        assertThat(after.keyId()).isEqualTo(added);
        assertThat(after.keyIds()).containsExactly(before.keyId(), added);
        JWKSet published = JWKSet.parse(after.jwksJson());
        SignedJWT old = SignedJWT.parse(oldToken);
        SignedJWT fresh = SignedJWT.parse(after.sign(alice(), "logistics", TWO_MINUTES));
        assertThat(fresh.getHeader().getKeyID()).isEqualTo(added);
        assertThat(old.verify(new ECDSAVerifier((ECKey) published.getKeyByKeyId(before.keyId())))).isTrue();
        assertThat(fresh.verify(new ECDSAVerifier((ECKey) published.getKeyByKeyId(added)))).isTrue();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                .isEqualTo("rw-------");
    }

    @Test
    void sign_sameSubjectWithinHalfLifetime_reused_thenFresh() throws Exception {
        var signer = SubjectAssertionSigner.loadOrCreate(dir.resolve("a.jwks"), "gw", clock);
        String first = signer.sign(alice(), "logistics", TWO_MINUTES);

        clock.advance(Duration.ofSeconds(59));
        String reused = signer.sign(alice(), "logistics", TWO_MINUTES);
        String otherApp = signer.sign(alice(), "finance", TWO_MINUTES);
        clock.advance(Duration.ofSeconds(1));
        String fresh = signer.sign(alice(), "logistics", TWO_MINUTES);

        assertThat(reused).isEqualTo(first);
        assertThat(otherApp).isNotEqualTo(first);
        assertThat(fresh).isNotEqualTo(first);
        assertThat(SignedJWT.parse(fresh).getJWTClaimsSet().getExpirationTime().toInstant())
                .isEqualTo(clock.instant().plus(TWO_MINUTES));
    }

    @Test
    void sign_lifetimeOutOfRange_refused() throws Exception {
        var signer = SubjectAssertionSigner.loadOrCreate(dir.resolve("a.jwks"), "gw", clock);

        assertThatThrownBy(() -> signer.sign(alice(), "x", Duration.ofMinutes(16)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> signer.sign(alice(), "x", Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void loadOrCreate_publicKeyOnly_refusedWithoutShowingTheKey() throws Exception {
        var signer = SubjectAssertionSigner.loadOrCreate(dir.resolve("a.jwks"), "gw", clock);
        Path bad = dir.resolve("public.jwks");
        Files.writeString(bad, signer.jwksJson());

        assertThatThrownBy(() -> SubjectAssertionSigner.loadOrCreate(bad, "gw", clock))
                .isInstanceOf(IOException.class).hasMessageContaining("not a private P-256 key")
                .hasMessageNotContaining("\"x\"");
    }
}
