package dev.pep.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Load errors name file, line and column exactly, and a load reports all of them. */
class LoadErrorsTest {

    @TempDir
    Path dir;

    private List<PolicyError> errorsOf(String content) {
        return PolicyDirs.errors(PolicyDirs.write(dir, "p.yaml", content));
    }

    private String file() {
        return dir.resolve("p.yaml").toString();
    }

    @Test
    void load_yamlSyntaxError_reportsProblemPosition() {
        List<PolicyError> errors = errorsOf("""
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo"
                rules: []
                """);

        assertThat(errors).hasSize(1);
        assertThat(errors.get(0).file()).isEqualTo(file());
        assertThat(errors.get(0).line()).isEqualTo(3);
        assertThat(errors.get(0).message()).startsWith("YAML syntax:");
    }

    @Test
    void load_unknownKey_reportsKeyPositionAndExpectedKeys() {
        List<PolicyError> errors = errorsOf("""
                apps:
                  a:
                    hosts: [a.example]
                    upstream: "pep:echo"
                    hots: [b.example]
                """);

        assertThat(errors).containsExactly(new PolicyError(file(), 5, 5,
                "unknown key 'hots' in app a; expected one of [connector, description, "
                        + "expires, hosts, labels, lifecycle, preamble, protocol, upstream]"));
    }

    @Test
    void load_unknownAttributeInPlainScalar_reportsExactColumn() {
        List<PolicyError> errors = errorsOf(PolicyDirs.oneRule("subject.id == \"x\"")
                .replace("'subject.id == \"x\"'", "device.manged"));

        assertThat(errors).hasSize(1);
        assertThat(errors.get(0).line()).isEqualTo(8);
        assertThat(errors.get(0).column()).isEqualTo(11);
        assertThat(errors.get(0).message()).contains("unknown attribute of 'device'")
                .contains("device.managed");
    }

    @Test
    void load_errorsInFoldedBlockScalar_mapToTheirFileLines() {
        List<PolicyError> errors = errorsOf("""
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo" }
                rules:
                  - id: r
                    effect: allow
                    when: >
                      "ops" in subject.groups &&
                      device.managed && request.methd == "GET" &&
                      subject.id == 42
                """);

        assertThat(errors).extracting(e -> e.line() + ":" + e.column())
                .containsExactly("8:25", "9:18");
        assertThat(errors.get(0).message()).contains("unknown attribute of 'request'");
        assertThat(errors.get(1).message()).contains("found no matching overload for '_==_'");
    }

    @Test
    void load_errorInLiteralBlockScalar_mapsToItsFileLine() {
        List<PolicyError> errors = errorsOf("""
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo" }
                rules:
                  - id: r
                    effect: allow
                    when: |
                      subject.authenticated &&
                        nosuch.thing
                """);

        assertThat(errors).extracting(e -> e.line() + ":" + e.column()).containsExactly("8:9");
        assertThat(errors.get(0).message()).contains("unknown name 'nosuch'");
    }

    @Test
    void load_errorInQuotedScalar_countsTheQuote() {
        List<PolicyError> errors = errorsOf("""
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo" }
                rules:
                  - { id: r, effect: allow, when: "subject.id == 1" }
                """);

        assertThat(errors).extracting(e -> e.line() + ":" + e.column()).containsExactly("4:47");
    }

    @Test
    void load_errorInQuotedScalarWithEscapes_fallsBackToScalarStart() {
        // Pins L-103: the line is exact, the column is that of the scalar.
        List<PolicyError> errors = errorsOf("""
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo" }
                rules:
                  - { id: r, effect: allow, when: "subject.id == \\"x\\" && nosuch" }
                """);

        assertThat(errors).extracting(e -> e.line() + ":" + e.column()).containsExactly("4:35");
    }

    @Test
    void load_syntaxErrorInCondition_reportsPosition() {
        List<PolicyError> errors = errorsOf("""
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo" }
                rules:
                  - id: r
                    effect: allow
                    when: subject.id ==
                """);

        assertThat(errors).hasSize(1);
        assertThat(errors.get(0).line()).isEqualTo(6);
        assertThat(errors.get(0).message()).contains("condition:");
    }

    @Test
    void load_conditionNotBool_isTypeError() {
        // Line 8 is "    when: 'subject.id'"; CEL places the select expression at its dot.
        List<PolicyError> errors = errorsOf(PolicyDirs.oneRule("subject.id"));

        assertThat(errors).extracting(e -> e.line() + ":" + e.column() + " " + e.message())
                .containsExactly("8:19 condition: expected type 'bool' but found 'string'");
    }

    @Test
    void load_upstreamThatDoesNotFitTheProtocol_isAnErrorAtItsPosition() {
        List<PolicyError> errors = errorsOf("""
                apps:
                  a: { hosts: [a.example], protocol: tcp, upstream: "https://a:443" }
                  b: { hosts: [b.example], protocol: tcp, upstream: "tcp://b" }
                  c: { hosts: [c.example], upstream: "tls://c:6514" }
                  d: { hosts: [d.example], protocol: tcp, upstream: "tls://d:6514" }
                  e: { hosts: [e.example], protocol: tcp, connector: depot-1 }
                """);

        assertThat(errors).extracting(e -> e.line() + ":" + e.column() + " " + e.message()).containsExactly(
                "2:53 upstream 'https://a:443': a tcp app expects tcp://host:port or tls://host:port",
                "3:53 upstream 'tcp://b': a tcp app expects tcp://host:port or tls://host:port",
                "4:38 upstream 'tls://c:6514': tcp:// and tls:// are for apps with protocol: tcp");
    }

    @Test
    void load_preamble_onlyPostgresAndOnlyOnTcpApps() {
        List<PolicyError> errors = errorsOf("""
                apps:
                  a: { hosts: [a.example], protocol: tcp, upstream: "tcp://a:5432", preamble: postgres }
                  b: { hosts: [b.example], upstream: "pep:echo", preamble: postgres }
                  c: { hosts: [c.example], protocol: tcp, upstream: "tcp://c:3306", preamble: mysql }
                """);

        assertThat(errors).extracting(e -> e.line() + ":" + e.column() + " " + e.message()).containsExactly(
                "3:50 preamble applies only to apps with protocol: tcp",
                "4:79 preamble 'mysql': expected postgres or none");
    }

    @Test
    void load_manyProblems_reportsEveryOneEvenADuplicateIdOfAnInvalidRule() {
        List<PolicyError> errors = errorsOf("""
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo" }
                  b: { hosts: [a.example, "B.example"], upstream: "ftp://x" }
                  c: { hosts: [c.example], upstream: "pep:echo", connector: d1 }
                  d: { hosts: [d.example], upstream: "pep:echo", expires: 2027-01-01T00:00:00Z }
                rules:
                  - id: r1
                    apps: [a, nosuch]
                    effect: allow
                    when: "true"
                    obligations: { isolation: readonly, max-session: 8 hours, idle: soon }
                  - id: r1
                    effect: permit
                    when: "true"
                  - id: r3
                    effect: deny
                    when: "true"
                    obligations: { isolation: read-only }
                  - id: r4
                    effect: allow
                  - id: r5
                    effect: allow
                    when: "true"
                    obligations: { headers: { X-A: "${subject.password}" } }
                """);

        assertThat(errors).extracting(e -> e.line() + ":" + e.column() + " " + e.message())
                .containsExactly(
                        "3:27 host 'B.example' must be a lower-case DNS name without port or "
                                + "trailing dot",
                        "3:51 upstream 'ftp://x': expected a URI with scheme http, https, tcp, "
                                + "tls or pep (pep:echo)",
                        "4:3 app c needs exactly one of upstream (a URI) or connector (a "
                                + "connector name)",
                        "5:50 expires applies only to apps with lifecycle: episodic",
                        "8:15 rule r1 names unknown app 'nosuch'; declared apps: [a, d]",
                        "11:31 isolation 'readonly': expected read-only or none",
                        "11:54 '8 hours': expected a duration such as 90s, 15m, 8h or 1d12h",
                        "11:69 'soon': expected a duration such as 90s, 15m, 8h or 1d12h",
                        "12:9 duplicate rule id 'r1'; first declared at " + dir.resolve("p.yaml")
                                + ":7:9",
                        "13:13 effect 'permit': expected allow or deny",
                        "18:5 obligations apply only to rules with effect: allow",
                        "19:5 rule needs a condition (when); write when: \"true\" to match always",
                        "24:36 header X-A: unknown placeholder [subject.password] or a line "
                                + "break; expected placeholders among [app.name, "
                                + "context.policy_version, request.id, subject.email, "
                                + "subject.groups, subject.id, subject.issuer, subject.method, "
                                + "subject.organisation, subject.roles]");
    }

    @Test
    void load_duplicatesAcrossFiles_nameTheFirstDeclaration() {
        PolicyDirs.write(dir, "1.yaml", """
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo" }
                rules:
                  - { id: r, effect: allow, when: "true" }
                """);
        PolicyDirs.write(dir, "2.yaml", """
                apps:
                  a: { hosts: [x.example], upstream: "pep:echo" }
                  b: { hosts: [a.example], upstream: "pep:echo" }
                rules:
                  - { id: r, effect: deny, when: "true" }
                """);

        List<PolicyError> errors = PolicyDirs.errors(dir);

        String first = dir.resolve("1.yaml").toString();
        String second = dir.resolve("2.yaml").toString();
        assertThat(errors).containsExactly(
                new PolicyError(second, 2, 3, "duplicate app 'a'; first declared at "
                        + first + ":2:3"),
                new PolicyError(second, 3, 16, "duplicate host 'a.example'; already routed to "
                        + "another app at " + first + ":2:16"),
                new PolicyError(second, 5, 11, "duplicate rule id 'r'; first declared at "
                        + first + ":4:11"));
    }

    @Test
    void load_duplicateKey_isAnError() {
        List<PolicyError> errors = errorsOf("""
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo", upstream: "pep:other" }
                """);

        assertThat(errors).extracting(e -> e.line() + ":" + e.column()).containsExactly("2:50");
        assertThat(errors.get(0).message()).startsWith("duplicate key 'upstream'");
    }

    @Test
    void load_emptyOrMissingDirectory_isAnError(@TempDir Path empty) {
        assertThat(PolicyDirs.errors(empty)).singleElement()
                .satisfies(e -> assertThat(e.message()).contains("no policy files"));
        assertThat(PolicyDirs.errors(empty.resolve("missing"))).singleElement()
                .satisfies(e -> assertThat(e.message()).contains("expected a directory"));
    }
}
