package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code pep validate}: a bad file exits 1 naming file, line, column and key. */
class ValidateIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final String VALID = """
            instance: it-validate
            listener:
              address: 127.0.0.1
              port: 0
            tls:
              development-ca:
                directory: dev-ca
            apps:
              demo:
                hosts: [demo.pep.localhost]
                upstream: pep:echo
                access: public
                response-timeout: 5s
            """;

    @TempDir
    Path dir;

    @Test
    void validate_goodConfig_exitsZero() throws Exception {
        Path file = write(VALID);

        ToolResult r = GatewayProcess.run(TIMEOUT, "validate", "--config", file.toString());

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("valid");
    }

    @Test
    void version_printsTheBuiltVersion() throws Exception {
        ToolResult r = GatewayProcess.run(TIMEOUT, "version");

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(System.getProperty("pep.version")).as("set by the failsafe configuration").isNotBlank();
        assertThat(r.out().strip()).isEqualTo("pep " + System.getProperty("pep.version"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "bad number   | '  port: 0'                | '  port: many'               | 4:3  | listener.port",
        "bad enum     | '    access: public'       | '    access: sometimes'      | 12:5 | apps.demo.access",
        "bad duration | '    response-timeout: 5s' | '    response-timeout: soon' | 13:5 | apps.demo.response-timeout"
    })
    void validate_badValue_exitsOne_namingFileLineColumnOfTheKey(String what, String good, String bad,
            String lineColumn, String key) throws Exception {
        Path file = write(replace(good, bad));

        ToolResult r = GatewayProcess.run(TIMEOUT, "validate", "--config", file.toString());

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
        assertThat(r.stderr()).contains(file + ":" + lineColumn + ": " + key + ": ");
    }

    @Test
    void validate_unknownKey_exitsOne_namingFileKeyAndTheKnownKeys() throws Exception {
        Path file = write(replace("  port: 0", "  prot: 0"));

        ToolResult r = GatewayProcess.run(TIMEOUT, "validate", "--config", file.toString());

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
        assertThat(r.stderr()).containsPattern(Pattern.quote(file.toString()) + ":\\d+:\\d+: listener\\.prot: ")
                .contains("unknown key 'prot'").contains("address, port");
    }

    @Test
    void validate_unknownKey_namesTheKeysOwnLineAndColumn() throws Exception {
        Path file = write(replace("  port: 0", "  prot: 0"));

        ToolResult r = GatewayProcess.run(TIMEOUT, "validate", "--config", file.toString());

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
        assertThat(r.stderr()).contains(file + ":4:3: listener.prot: unknown key 'prot'");
    }

    private static String replace(String goodLine, String badLine) {
        assertThat(VALID).contains(goodLine + "\n");
        return VALID.replace(goodLine + "\n", badLine + "\n");
    }

    private Path write(String yaml) throws Exception {
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(file, yaml);
        return file;
    }
}
