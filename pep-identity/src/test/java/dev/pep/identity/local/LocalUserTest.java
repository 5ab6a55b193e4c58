package dev.pep.identity.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.AuthenticationMethod;
import dev.pep.core.AuthenticationResult;
import dev.pep.identity.IdentityReasons;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalUserTest {

    static final PasswordHasher.Params CHEAP = new PasswordHasher.Params(64, 1, 1);
    static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");

    @TempDir
    Path dir;

    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();

    int run(String stdin, Map<String, String> env, String... args) {
        return UserCommand.run(args, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                env, new PrintStream(out, true), new PrintStream(err, true), CHEAP);
    }

    @Test
    void hash_isPhcArgon2id_andVerifiesOnlyTheRightPassword() {
        String hash = new PasswordHasher(CHEAP, new SecureRandom()).hash("correct horse".toCharArray());

        assertThat(hash).matches("\\$argon2id\\$v=19\\$m=64,t=1,p=1\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}");
        assertThat(PasswordHasher.verify(hash, "correct horse".toCharArray())).isTrue();
        assertThat(PasswordHasher.verify(hash, "correct horsE".toCharArray())).isFalse();
        assertThat(PasswordHasher.verify("$2a$10$bcrypt", "x".toCharArray())).isFalse();
    }

    @Test
    void userAdd_passwordFromStdin_thenDirectoryAuthenticates() throws Exception {
        Path file = dir.resolve("users");

        int code = run("s3cret-password\n", Map.of(), "add", "--file", file.toString(),
                "--name", "alice", "--group", "coalition-logistics", "--group", "readers",
                "--org", "partner-a", "--email", "alice@partner-a.example");

        assertThat(code).isZero();
        assertThat(Files.readString(file)).doesNotContain("s3cret-password");
        LocalUserDirectory directory = LocalUserDirectory.load(file);
        var result = directory.authenticate("alice", "s3cret-password".toCharArray(), NOW);
        assertThat(result).isInstanceOf(AuthenticationResult.Authenticated.class);
        var subject = ((AuthenticationResult.Authenticated) result).subject();
        assertThat(subject.groups()).containsExactlyInAnyOrder("coalition-logistics", "readers");
        assertThat(subject.organisation()).isEqualTo("partner-a");
        assertThat(subject.email()).isEqualTo("alice@partner-a.example");
        assertThat(subject.method()).isEqualTo(AuthenticationMethod.LOCAL);
    }

    @Test
    void authenticate_wrongPasswordOrUnknownUser_sameReason() throws Exception {
        Path file = dir.resolve("users");
        run("s3cret-password\n", Map.of(), "add", "--file", file.toString(), "--name", "alice");
        LocalUserDirectory directory = LocalUserDirectory.load(file);

        for (var result : new AuthenticationResult[] {
                directory.authenticate("alice", "wrong-password".toCharArray(), NOW),
                directory.authenticate("mallory", "s3cret-password".toCharArray(), NOW)}) {
            assertThat(result).isInstanceOf(AuthenticationResult.Rejected.class);
            assertThat(((AuthenticationResult.Rejected) result).reason().code())
                    .isEqualTo(IdentityReasons.CREDENTIALS_INVALID);
        }
    }

    @Test
    void userAdd_passwordFromEnvironment() throws Exception {
        Path file = dir.resolve("users");

        int code = run("", Map.of("PEP_PW", "env-password-1"), "add", "--file", file.toString(),
                "--name", "bob", "--password-env", "PEP_PW");

        assertThat(code).isZero();
        assertThat(LocalUserDirectory.load(file).authenticate("bob",
                "env-password-1".toCharArray(), NOW))
                .isInstanceOf(AuthenticationResult.Authenticated.class);
    }

    @Test
    void userAdd_passwordOnCommandLine_refusedWithUsage() {
        int code = run("", Map.of(), "add", "--file", dir.resolve("u").toString(), "--name", "a",
                "--password", "visible-in-ps");

        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--password is not accepted");
    }

    @Test
    void userAdd_existingUserWithoutReplace_fails() {
        Path file = dir.resolve("users");
        run("s3cret-password\n", Map.of(), "add", "--file", file.toString(), "--name", "alice");

        int code = run("other-password\n", Map.of(), "add", "--file", file.toString(),
                "--name", "alice");

        assertThat(code).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("exists");
    }

    @Test
    void userAdd_badNameOrShortPassword_fails() {
        assertThat(run("s3cret-password\n", Map.of(), "add", "--file",
                dir.resolve("u").toString(), "--name", "al:ice")).isEqualTo(1);
        assertThat(run("short\n", Map.of(), "add", "--file",
                dir.resolve("u").toString(), "--name", "alice")).isEqualTo(1);
    }

    @Test
    void loginForm_escapesEveryValue() {
        String html = LoginFormRenderer.render("/_pep/login?x=\"><script>", "<b>app</b>",
                Map.of("state", "\"/><script>alert(1)</script>"), "a'b\"c<d>",
                Optional.of("<img src=x onerror=alert(1)>"));

        assertThat(html).doesNotContain("<script>", "<b>app", "<img")
                .contains("&lt;b&gt;app&lt;/b&gt;", "&quot;/&gt;&lt;script&gt;",
                        "a&#39;b&quot;c&lt;d&gt;", "&lt;img src=x onerror=alert(1)&gt;");
    }
}
