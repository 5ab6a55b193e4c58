package dev.pep.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdminTokensTest {

    static final String ALICE = "a".repeat(32);
    static final String BOB = "0123456789abcdef0123456789abcdef-bob";

    @TempDir
    Path dir;

    @Test
    void operator_knownToken_namesTheOperator_unknownTokenNobody() throws Exception {
        AdminTokens tokens = AdminTokens.read(write("# operators\nalice " + ALICE + "\n\nbob   " + BOB + "\n"));

        assertThat(tokens.operator(ALICE)).contains("alice");
        assertThat(tokens.operator(BOB)).contains("bob");
        assertThat(tokens.operator(ALICE + "x")).isEmpty();
        assertThat(tokens.operator("")).isEmpty();
    }

    @Test
    void read_malformedLine_namesFileAndLine() throws Exception {
        Path file = write("alice " + ALICE + "\nbob\n");

        assertThatThrownBy(() -> AdminTokens.read(file)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(file + ":2: expected 'NAME TOKEN'");
    }

    @Test
    void read_shortToken_refusedWithoutQuotingIt() throws Exception {
        Path file = write("alice short-secret\n");

        assertThatThrownBy(() -> AdminTokens.read(file)).hasMessageContaining(":1:")
                .hasMessageContaining("shorter than 32").hasMessageNotContaining("short-secret");
    }

    @Test
    void read_nameTwice_refused() throws Exception {
        Path file = write("alice " + ALICE + "\nalice " + BOB + "\n");

        assertThatThrownBy(() -> AdminTokens.read(file)).hasMessageContaining(":2: operator 'alice' is named twice");
    }

    @Test
    void read_noEntries_refused() throws Exception {
        Path file = write("# nobody yet\n");

        assertThatThrownBy(() -> AdminTokens.read(file)).hasMessageContaining("no 'NAME TOKEN' line");
    }

    private Path write(String content) throws Exception {
        return Files.writeString(dir.resolve("admin-tokens"), content);
    }
}
