package dev.pep.identity.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pep.core.AuthenticationMethod;
import dev.pep.core.AuthenticationResult;
import dev.pep.core.Subject;
import dev.pep.identity.IdentityReasons;
import dev.pep.identity.testing.MutableClock;
import dev.pep.identity.testing.TestCredentials;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SessionCookieTest {

    static final String HOST = "logistics.partners.example";

    final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T10:00:00Z"));
    final SecureRandom random = new SecureRandom();
    final InMemorySessionStore store = new InMemorySessionStore(Duration.ofHours(12));

    @TempDir
    Path dir;

    static Subject alice() {
        return new Subject("alice", "https://idp.partner-a.example", "partner-a",
                Set.of("coalition-logistics"), Set.of("reader"), "alice@partner-a.example",
                Map.of("clearance", "nato-restricted"), AuthenticationMethod.OIDC,
                Instant.parse("2026-12-01T10:00:00Z"));
    }

    Session newSession(String host) {
        return Session.start(alice(), "logistics", host, clock.instant(), Duration.ofMinutes(30),
                Duration.ofHours(8), "idp-sid-1", random);
    }

    SessionCookieCodec codec(Path keyFile) throws Exception {
        return new SessionCookieCodec(new AeadSealer(
                SessionKeyRing.loadOrCreate(keyFile, clock, random), random));
    }

    AuthenticationResult present(SessionCookieCodec codec, String host, String value) {
        var credentials = TestCredentials.headers(host,
                Map.of("cookie", List.of("other=1; " + SessionCookieCodec.COOKIE_NAME + "=" + value)),
                clock.instant());
        return new SessionCookieAuthenticator(codec, store).authenticate(credentials);
    }

    static void assertRejected(AuthenticationResult result, String code) {
        assertThat(result).isInstanceOf(AuthenticationResult.Rejected.class);
        assertThat(((AuthenticationResult.Rejected) result).reason().code()).isEqualTo(code);
    }

    @Test
    void open_sealedSession_roundTripsSubject() throws Exception {
        SessionCookieCodec codec = codec(dir.resolve("keys"));
        Session session = newSession(HOST);

        AuthenticationResult result = present(codec, HOST, codec.seal(session));

        assertThat(result).isInstanceOf(AuthenticationResult.Authenticated.class);
        var authenticated = (AuthenticationResult.Authenticated) result;
        assertThat(authenticated.subject()).isEqualTo(alice());
        assertThat(authenticated.expiresAt()).contains(clock.instant().plus(Duration.ofMinutes(30)));
    }

    @Test
    void authenticate_noCookie_notPresented() throws Exception {
        var credentials = TestCredentials.headers(HOST, Map.of(), clock.instant());

        assertThat(new SessionCookieAuthenticator(codec(dir.resolve("keys")), store)
                .authenticate(credentials)).isInstanceOf(AuthenticationResult.NotPresented.class);
    }

    @Test
    void open_tamperedCookie_cookieInvalid() throws Exception {
        SessionCookieCodec codec = codec(dir.resolve("keys"));
        String value = codec.seal(newSession(HOST));
        char last = value.charAt(value.length() - 5);
        String tampered = value.substring(0, value.length() - 5) + (last == 'A' ? 'B' : 'A')
                + value.substring(value.length() - 4);

        assertRejected(present(codec, HOST, tampered), IdentityReasons.COOKIE_INVALID);
        assertRejected(present(codec, HOST, "garbage"), IdentityReasons.COOKIE_INVALID);
        assertRejected(present(codec, HOST, "v1.unknown." + value.split("\\.")[2]),
                IdentityReasons.COOKIE_INVALID);
    }

    @Test
    void open_cookieMovedToAnotherApp_audienceMismatch() throws Exception {
        SessionCookieCodec codec = codec(dir.resolve("keys"));
        String value = codec.seal(newSession(HOST));

        assertRejected(present(codec, "finance.partners.example", value),
                IdentityReasons.COOKIE_AUDIENCE_MISMATCH);
    }

    @Test
    void open_idleTooLong_sessionExpired() throws Exception {
        SessionCookieCodec codec = codec(dir.resolve("keys"));
        String value = codec.seal(newSession(HOST));
        clock.advance(Duration.ofMinutes(31));

        assertRejected(present(codec, HOST, value), IdentityReasons.SESSION_EXPIRED);
    }

    @Test
    void open_touchedSessionPastAbsoluteExpiry_sessionExpired() throws Exception {
        SessionCookieCodec codec = codec(dir.resolve("keys"));
        Session session = newSession(HOST);
        clock.advance(Duration.ofHours(8).minusMinutes(1));
        String touched = codec.seal(session.touch(clock.instant()));

        assertThat(present(codec, HOST, touched))
                .isInstanceOf(AuthenticationResult.Authenticated.class);
        clock.advance(Duration.ofMinutes(2));
        assertRejected(present(codec, HOST, touched), IdentityReasons.SESSION_EXPIRED);
    }

    @Test
    void open_revokedSession_staysDeadWithValidCookie() throws Exception {
        SessionCookieCodec codec = codec(dir.resolve("keys"));
        Session session = newSession(HOST);
        store.register(session);
        String value = codec.seal(session);
        store.revoke(session.id(), clock.instant());

        assertRejected(present(codec, HOST, value), IdentityReasons.SESSION_REVOKED);
    }

    @Test
    void revokeSubjectAndProviderSession_endOnlyThatUsersSessions() {
        Session first = newSession(HOST);
        Session second = newSession("finance.partners.example");
        Session bob = Session.start(new Subject("bob", alice().issuer(), "", Set.of(), Set.of(),
                "", Map.of(), AuthenticationMethod.OIDC, clock.instant()), "logistics", HOST,
                clock.instant(), Duration.ofMinutes(30), Duration.ofHours(8), "idp-sid-2", random);
        List.of(first, second, bob).forEach(store::register);

        assertThat(store.revokeSubject(alice().issuer(), "alice", clock.instant()))
                .containsExactlyInAnyOrder(first.id(), second.id());
        assertThat(store.isRevoked(bob.id(), clock.instant())).isFalse();
        assertThat(store.revokeProviderSession(alice().issuer(), "idp-sid-2", clock.instant()))
                .containsExactly(bob.id());
        assertThat(store.isRevoked(bob.id(), clock.instant())).isTrue();
    }

    @Test
    void seal_subjectTooLargeForCookie_refused() throws Exception {
        Set<String> groups = new java.util.HashSet<>();
        for (int i = 0; i < 400; i++) {
            groups.add("group-with-a-long-name-" + i);
        }
        Subject big = new Subject("alice", "iss", "", groups, Set.of(), "", Map.of(),
                AuthenticationMethod.OIDC, clock.instant());
        Session session = Session.start(big, "logistics", HOST, clock.instant(),
                Duration.ofMinutes(30), Duration.ofHours(8), "", random);

        assertThatThrownBy(() -> codec(dir.resolve("keys")).seal(session))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("too large");
    }

    @Test
    void store_newInstance_forgetsRevocations() {
        Session session = newSession(HOST);
        store.register(session);
        store.revoke(session.id(), clock.instant());

        assertThat(new InMemorySessionStore(Duration.ofHours(12))
                .isRevoked(session.id(), clock.instant())).isFalse();
    }

    @Test
    void start_everyLogin_freshSessionId() {
        assertThat(newSession(HOST).id()).isNotEqualTo(newSession(HOST).id())
                .hasSizeGreaterThanOrEqualTo(22);
    }

    @Test
    void keyRotation_oldCookiesStillOpen_newCookiesUseNewKey() throws Exception {
        Path keys = dir.resolve("keys");
        SessionCookieCodec before = codec(keys);
        String oldValue = before.seal(newSession(HOST));
        clock.advance(Duration.ofMinutes(1));
        SessionKeyRing.addKey(keys, clock, random);
        SessionKeyRing rotated = SessionKeyRing.load(keys);
        SessionCookieCodec after = new SessionCookieCodec(new AeadSealer(rotated, random));

        assertThat(rotated.size()).isEqualTo(2);
        assertThat(present(after, HOST, oldValue))
                .isInstanceOf(AuthenticationResult.Authenticated.class);
        assertThat(after.seal(newSession(HOST)).split("\\.")[1])
                .isEqualTo(rotated.sealingKey().id())
                .isNotEqualTo(oldValue.split("\\.")[1]);
    }

    @Test
    void keyRemoved_cookiesItSealed_cookieInvalid() throws Exception {
        Path keys = dir.resolve("keys");
        String oldValue = codec(keys).seal(newSession(HOST));
        Files.delete(keys);

        assertRejected(present(codec(keys), HOST, oldValue), IdentityReasons.COOKIE_INVALID);
    }

    @Test
    void loadOrCreate_missingDirectory_createdWithAnOwnerOnlyKeyFile() throws Exception {
        Path keys = dir.resolve("not/yet/there/keys");

        SessionKeyRing ring = SessionKeyRing.loadOrCreate(keys, clock, random);

        assertThat(ring.sealingKey()).isNotNull();
        assertThat(Files.getPosixFilePermissions(keys)).containsExactlyInAnyOrder(
                java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
    }

    @Test
    void sealer_valueSealedForLoginState_doesNotOpenAsSession() throws Exception {
        AeadSealer sealer = new AeadSealer(
                SessionKeyRing.loadOrCreate(dir.resolve("keys"), clock, random), random);
        String loginState = sealer.seal(SessionJson.write(newSession(HOST))
                .getBytes(StandardCharsets.UTF_8), "login-state");

        assertRejected(present(new SessionCookieCodec(sealer), HOST, loginState),
                IdentityReasons.COOKIE_INVALID);
    }

    @Test
    void setCookie_hasHostPrefixAndAttributes() throws Exception {
        String header = codec(dir.resolve("keys")).setCookie(newSession(HOST), clock.instant());

        assertThat(header).startsWith("__Host-pep_session=v1.")
                .contains("; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax",
                        "; Max-Age=28800")
                .doesNotContain("Domain");
    }

    @Test
    void keyFile_malformedLine_namesLineButNotKey(@TempDir Path other) throws Exception {
        Path file = other.resolve("keys");
        Files.writeString(file, "# keys\nk1 2026-01-01T00:00:00Z c2VjcmV0LXNob3J0\n");

        assertThatThrownBy(() -> SessionKeyRing.load(file))
                .hasMessageContaining(":2:")
                .hasMessageContaining("32 bytes")
                .hasMessageNotContaining("c2VjcmV0LXNob3J0");
    }
}
