package dev.pep.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin tools, run over the shipped config/ so its examples and tests stay green. */
class PolicyCommandTest {

    private static final Path CONFIG =
            Path.of(System.getProperty("pep.config.dir", "../config"));

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return PolicyCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                Clock.fixed(Requests.NOW, ZoneOffset.UTC));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void validate_shippedPolicies_exitsZero() {
        assertThat(run("validate", CONFIG.resolve("policies").toString())).isZero();
        assertThat(out()).startsWith("valid: 5 apps, version sha256:");
    }

    @Test
    void test_shippedPolicyTests_allPass() {
        int code = run("test", CONFIG.resolve("policy-tests").toString(), "--policies",
                CONFIG.resolve("policies").toString());

        assertThat(code).as(out()).isZero();
        assertThat(out()).doesNotContain("FAIL").containsPattern("\\d+ passed, 0 failed");
    }

    @Test
    void test_defaultPolicyDirIsTheSibling() {
        assertThat(run("test", CONFIG.resolve("policy-tests").toString())).as(out()).isZero();
    }

    @Test
    void shippedPolicies_declareTheDemoApp() {
        DefaultPolicyEngine engine = PolicyDirs.engine(CONFIG.resolve("policies"));

        assertThat(engine.apps()).anySatisfy(app -> {
            assertThat(app.name()).isEqualTo("demo");
            assertThat(app.hosts()).containsExactly("demo.pep.localhost");
            assertThat(app.upstream().toString()).isEqualTo("pep:echo");
        });
    }

    @Test
    void validate_invalidDirectory_printsEveryErrorAndExitsOne(@TempDir Path dir) {
        PolicyDirs.write(dir, "p.yaml", """
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo", colour: red }
                rules:
                  - { id: r, apps: [b], effect: allow, when: "subject.nme == 'x'" }
                """);

        assertThat(run("validate", dir.toString())).isEqualTo(1);
        assertThat(err()).contains(dir.resolve("p.yaml") + ":2:50: unknown key 'colour'")
                .contains(dir.resolve("p.yaml") + ":4:21: rule r names unknown app 'b'")
                .contains(dir.resolve("p.yaml") + ":4:47: condition: unknown attribute")
                .contains("3 error(s)");
    }

    @Test
    void test_failingExpectation_reportsItAndExitsOne(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("t.yaml"), """
                tests:
                  - name: wrong
                    request: { app: demo, subject: { id: alice } }
                    expect: { effect: deny, rule: demo-authenticated }
                  - name: misspelt
                    request: { app: demo, subjct: { id: alice } }
                    expect: { effect: allow }
                """);

        int code = run("test", dir.toString(), "--policies", CONFIG.resolve("policies")
                .toString());

        assertThat(code).isEqualTo(1);
        assertThat(out()).contains("FAIL t.yaml: wrong")
                .contains("effect: expected deny, got allow")
                .contains("FAIL t.yaml: misspelt").contains("unknown key 'subjct'")
                .contains("0 passed, 2 failed");
    }

    @Test
    void explain_requestFile_printsDecisionAndRules(@TempDir Path dir) throws Exception {
        Path request = dir.resolve("r.json");
        Files.writeString(request, """
                {"app": "logistics", "time": "2026-12-03T10:00:00Z",
                 "subject": {"id": "bob", "groups": ["coalition-logistics"]},
                 "device": {"signals": {"managed": {"value": true, "age": "20m"}}},
                 "request": {"method": "GET", "path": "/orders"},
                 "source": {"ip": "198.51.100.7"}}
                """);

        int code = run("explain", "--policies", CONFIG.resolve("policies").toString(),
                "--request", request.toString());

        assertThat(code).as(err()).isZero();
        assertThat(out()).startsWith("decision: deny")
                .contains("no_matching_rule")
                .containsPattern("\\[no match] +logistics-readers")
                .containsPattern("false +&& device.age < duration\\(\"15m\"\\)");
    }

    @Test
    void run_badUsage_exitsTwo() {
        assertThat(run()).isEqualTo(2);
        assertThat(run("frobnicate")).isEqualTo(2);
        assertThat(run("explain", "--policies")).isEqualTo(2);
        assertThat(err()).contains("usage:");
    }
}
