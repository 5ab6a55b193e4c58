package dev.pep.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    @TempDir
    Path dir;

    @Test
    void load_quickstart_isValid() throws Exception {
        GatewayConfig c = ConfigLoader.load(Path.of("../config/quickstart.yaml"));

        // The quickstart takes its apps from the policy directory and signs users in locally.
        assertThat(c.apps()).isEmpty();
        assertThat(c.policy().directory()).isEqualTo("policies");
        assertThat(c.resolve(c.policy().directory()).resolve("demo.yaml")).isRegularFile();
        assertThat(c.resolve(c.identity().localUsers())).isRegularFile();
        assertThat(c.listener().port()).isEqualTo(8443);
    }

    @Test
    void load_exampleGatewayConfig_isValid() throws Exception {
        GatewayConfig c = ConfigLoader.load(Path.of("../config/gateway.yaml"));

        assertThat(c.apps()).isNotEmpty();
    }

    @Test
    void load_decisionPointWithoutHttpUrl_namesTheKey() throws IOException {
        Files.createDirectories(dir.resolve("policies"));
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                policy:
                  directory: policies
                  decision-point:
                    url: ftp://pdp.example/
                """);

        assertThat(p.key()).isEqualTo("policy.decision-point.url");
        assertThat(p.line()).isEqualTo(5);
        assertThat(p.message()).contains("expected an http or https URL");
    }

    @Test
    void load_tcpAndClientCertificates_boundWithDefaults() throws Exception {
        Files.writeString(dir.resolve("partner-ca.pem"), "not read by the loader");
        GatewayConfig c = load("""
                tls: { development-ca: {} }
                identity:
                  client-certificates:
                    - ca-bundle: partner-ca.pem
                      hosts: ["*.partners.example"]
                tcp:
                  idle-timeout: 90s
                """);

        assertThat(c.tcp().idleTimeout()).isEqualTo(Duration.ofSeconds(90));
        assertThat(c.tcp().maxDuration()).isEqualTo(Duration.ofHours(24));
        var cc = c.identity().clientCertificates().get(0);
        assertThat(cc.subjectId()).isEqualTo("common-name");
        assertThat(cc.crls()).isEmpty();
    }

    @Test
    void load_hostInTwoClientCertificateEntries_namesTheSecond() throws IOException {
        Files.writeString(dir.resolve("a.pem"), "a");
        Files.writeString(dir.resolve("b.pem"), "b");
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                identity:
                  client-certificates:
                    - ca-bundle: a.pem
                      hosts: [feed.example]
                    - ca-bundle: b.pem
                      hosts: [feed.example]
                """);

        assertThat(p.key()).isEqualTo("identity.client-certificates.1.hosts");
        assertThat(p.message()).contains("already in identity.client-certificates.0");
    }

    @Test
    void load_unknownSubjectIdAndMissingBundle_refused() throws IOException {
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                identity:
                  client-certificates:
                    - ca-bundle: nowhere.pem
                      subject-id: serial
                      hosts: [feed.example]
                """);

        assertThat(p.key()).isEqualTo("identity.client-certificates.0.ca-bundle");
        assertThat(p.message()).contains("cannot read file 'nowhere.pem'");
    }

    @Test
    void load_zeroTcpIdleTimeout_refused() throws IOException {
        ConfigProblem p = problem("tls: { development-ca: {} }\ntcp: { idle-timeout: 0s }\n");

        assertThat(p.key()).isEqualTo("tcp.idle-timeout");
        assertThat(p.message()).contains("expected a positive duration");
    }

    @Test
    void load_defaults_areExplicit() throws Exception {
        GatewayConfig c = load("tls: { development-ca: {} }\n");

        assertThat(c.limits().headerReadTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.limits().maxHeaderSize().bytes()).isEqualTo(32 * 1024);
        assertThat(c.http2().maxConcurrentStreams()).isEqualTo(100);
        assertThat(c.http2().connectionWindowSize().bytes()).isEqualTo(1024 * 1024);
        assertThat(c.tls().upstreamCa()).isNull();
        assertThat(c.drainTimeout()).isEqualTo(Duration.ofSeconds(20));
    }

    @Test
    void load_sizeAsBareNumber_isBytes() throws Exception {
        GatewayConfig c = load("tls: { development-ca: {} }\nhttp2: { max-header-list-size: 16384 }\n");

        assertThat(c.http2().maxHeaderListSize().bytes()).isEqualTo(16_384);
    }

    @Test
    void load_connectionWindowBelowTwiceStreamWindow_namesTheKey() throws IOException {
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                http2:
                  initial-window-size: 256KiB
                  connection-window-size: 300KiB
                """);

        assertThat(p.key()).isEqualTo("http2.connection-window-size");
        assertThat(p.message()).contains("twice initial-window-size").contains("307200");
    }

    @Test
    void load_upstreamCaWithoutCertificates_namesTheKey() throws IOException {
        Files.writeString(dir.resolve("not-a-ca.pem"), "just text\n");

        ConfigProblem p = problem("""
                tls:
                  development-ca: {}
                  upstream-ca: not-a-ca.pem
                """);

        assertThat(p.key()).isEqualTo("tls.upstream-ca");
        assertThat(p.message()).contains("expected PEM CA certificates");
    }

    @Test
    void load_unknownKey_namesLineColumnKeyAndExpected() throws IOException {
        ConfigProblem p = problem("""
                tls:
                  development-ca: {}
                apps:
                  demo:
                    hosts: [demo.example]
                    upsteam: pep:echo
                """);

        assertThat(p.line()).isEqualTo(6);
        assertThat(p.column()).isEqualTo(5);
        assertThat(p.key()).isEqualTo("apps.demo.upsteam");
        assertThat(p.message()).contains("unknown key 'upsteam'").contains("upstream");
    }

    @Test
    void load_badDuration_saysWhatWasExpected() throws IOException {
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                limits:
                  idle-timeout: ten seconds
                """);

        assertThat(p.line()).isEqualTo(3);
        assertThat(p.key()).isEqualTo("limits.idle-timeout");
        assertThat(p.message()).contains("expected a duration").contains("ten seconds");
    }

    @Test
    void load_badEnum_listsTheChoices() throws IOException {
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                apps:
                  demo: { hosts: [a.example], upstream: pep:echo, access: maybe }
                """);

        assertThat(p.line()).isEqualTo(3);
        assertThat(p.message()).contains("'maybe'").contains("public").contains("deny");
    }

    @Test
    void load_hostServedTwice_pointsAtTheSecondApp() throws IOException {
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                apps:
                  a:
                    hosts: [x.example]
                    upstream: pep:echo
                  b:
                    hosts: [x.example]
                    upstream: pep:echo
                """);

        assertThat(p.key()).isEqualTo("apps.b.hosts");
        assertThat(p.line()).isEqualTo(7);
        assertThat(p.message()).contains("already served by app 'a'");
    }

    @Test
    void load_missingCertificateFile_namesTheKey() throws IOException {
        ConfigProblem p = problem("""
                tls:
                  certificates:
                    - hosts: [a.example]
                      certificate: nope.pem
                      key: nope-key.pem
                """);

        assertThat(p.key()).isEqualTo("tls.certificates.0.certificate");
        assertThat(p.line()).isEqualTo(4);
        assertThat(p.message()).contains("nope.pem");
    }

    @Test
    void load_upstreamWithPath_isRefused() throws IOException {
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                apps:
                  a: { hosts: [a.example], upstream: "http://10.0.0.1:8080/base" }
                """);

        assertThat(p.key()).isEqualTo("apps.a.upstream");
        assertThat(p.message()).contains("without path");
    }

    @Test
    void load_yamlSyntaxError_hasPosition() throws IOException {
        ConfigProblem p = problem("tls:\n  development-ca: {}\n apps: [\n");

        assertThat(p.line()).isPositive();
        assertThat(p.message()).contains("not valid YAML");
    }

    @Test
    void load_listWhereMappingExpected_saysMapping() throws IOException {
        ConfigProblem p = problem("tls: [a, b]\n");

        assertThat(p.key()).isEqualTo("tls");
        assertThat(p.message()).contains("expected a mapping");
    }

    @Test
    void load_noCertificate_isRefused() throws IOException {
        ConfigProblem p = problem("tls: {}\n");

        assertThat(p.key()).isEqualTo("tls");
        assertThat(p.message()).contains("no certificate");
    }

    @Test
    void load_everySinkTypeAtOnce_bindsEachSinksKeys() throws Exception {
        GatewayConfig c = load("""
                tls: { development-ca: {} }
                audit:
                  retry-backoff: 50ms
                  retry-max-backoff: 5s
                  sinks:
                    - type: file
                    - type: syslog
                      address: siem.example.org:6514
                      timeout: 3s
                    - type: kafka
                      bootstrap-servers: [k1.example.org:9093, k2.example.org:9093]
                      topic: pep-audit
                      properties: { security.protocol: SSL }
                    - type: otlp
                      url: http://127.0.0.1:4318/v1/logs
                tracing:
                  otlp-endpoint: http://127.0.0.1:4318/v1/traces
                  sample-ratio: 0.25
                """);

        assertThat(c.audit().sinks()).extracting(AuditSettings.Sink::name)
                .containsExactly("file", "syslog", "kafka", "otlp");
        assertThat(c.audit().retryBackoff()).hasMillis(50);
        assertThat(c.audit().sinks().get(1).timeout()).hasSeconds(3);
        assertThat(c.audit().sinks().get(2).bootstrapServers()).hasSize(2);
        assertThat(c.audit().sinks().get(2).properties()).containsEntry("security.protocol", "SSL");
        assertThat(c.tracing().sampleRatio()).isEqualTo(0.25);
    }

    @Test
    void load_kafkaSinkWithoutTopic_namesTheKey() throws IOException {
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                audit:
                  sinks:
                    - type: kafka
                      bootstrap-servers: [k1.example.org:9093]
                """);

        assertThat(p.key()).isEqualTo("audit.sinks.0.topic");
        assertThat(p.message()).contains("needs a topic");
    }

    @Test
    void load_syslogAddressWithoutPort_namesTheKey() throws IOException {
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                audit:
                  sinks:
                    - type: syslog
                      address: siem.example.org
                """);

        assertThat(p.key()).isEqualTo("audit.sinks.0.address");
        assertThat(p.message()).contains("'siem.example.org'");
    }

    @Test
    void load_sampleRatioAboveOne_isRefused() throws IOException {
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                tracing: { sample-ratio: 1.5 }
                """);

        assertThat(p.key()).isEqualTo("tracing.sample-ratio");
        assertThat(p.message()).contains("from 0 to 1");
    }

    @Test
    void load_missingFile_saysSo() {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.load(dir.resolve("absent.yaml")));

        assertThat(e.getMessage()).contains("absent.yaml").contains("no such file");
    }

    private GatewayConfig load(String yaml) throws Exception {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, yaml);
        return ConfigLoader.load(f);
    }

    @Test
    void load_upstreamClientCertificate_keyAndChainOfOnePair_accepted() throws Exception {
        Path a = devCa("a");
        Files.writeString(dir.resolve("gateway.yaml"), upstreamClientCertificate("[billing, ledger]",
                a.resolve("dev.pem"), a.resolve("dev-key.pem")));

        GatewayConfig c = ConfigLoader.load(dir.resolve("gateway.yaml"));

        assertThat(c.tls().upstreamClientCertificates()).singleElement()
                .satisfies(u -> assertThat(u.apps()).containsExactly("billing", "ledger"));
    }

    @Test
    void load_upstreamClientCertificate_keyOfAnotherCertificate_namesKeyAndBothFiles() throws Exception {
        Path a = devCa("a");
        Path b = devCa("b");

        ConfigProblem p = problem(upstreamClientCertificate("[billing]", a.resolve("dev.pem"),
                b.resolve("dev-key.pem")));

        assertThat(p.key()).isEqualTo("tls.upstream-client-certificates.0.key");
        assertThat(p.line()).isEqualTo(6);
        assertThat(p.message()).contains("does not belong to the certificate").contains("dev.pem");
    }

    @Test
    void load_upstreamClientCertificate_keyFileWithoutAKey_refusedWithoutQuotingIt() throws Exception {
        Path a = devCa("a");
        Files.writeString(dir.resolve("broken-key.pem"), "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXNhdWNl\n"
                + "-----END PRIVATE KEY-----\n");

        ConfigProblem p = problem(upstreamClientCertificate("[billing]", a.resolve("dev.pem"),
                dir.resolve("broken-key.pem")));

        assertThat(p.key()).isEqualTo("tls.upstream-client-certificates.0.key");
        assertThat(p.message()).contains("expected an unencrypted PKCS#8").doesNotContain("c2VjcmV0LXNhdWNl");
    }

    @Test
    void load_upstreamClientCertificate_missingFilesAndTwiceNamedApp_eachReported() throws Exception {
        Path a = devCa("a");
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, upstreamClientCertificate("[billing]", a.resolve("dev.pem"), a.resolve("dev-key.pem"))
                + "    - apps: [billing]\n      certificate: nowhere.pem\n      key: nowhere-key.pem\n");

        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(f));

        assertThat(e.problems()).extracting(ConfigProblem::key).contains(
                "tls.upstream-client-certificates.1.apps", "tls.upstream-client-certificates.1.certificate",
                "tls.upstream-client-certificates.1.key");
        assertThat(e.getMessage()).contains("app 'billing' already has a client certificate")
                .contains("cannot read file 'nowhere-key.pem'");
    }

    private Path devCa(String name) throws Exception {
        var ca = new dev.pep.proxy.tls.DevelopmentCa(dir.resolve(name), java.time.Clock.systemUTC(),
                new java.security.SecureRandom());
        ca.ensure(java.util.List.of("gateway.example"));
        Files.copy(ca.certFile(), dir.resolve(name).resolve("dev.pem"));
        Files.copy(ca.keyFile(), dir.resolve(name).resolve("dev-key.pem"));
        return dir.resolve(name);
    }

    private static String upstreamClientCertificate(String apps, Path certificate, Path key) {
        return """
                tls:
                  development-ca: {}
                  upstream-client-certificates:
                    - apps: %s
                      certificate: %s
                      key: %s
                """.formatted(apps, certificate, key);
    }

    private ConfigProblem problem(String yaml) throws IOException {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, yaml);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(f));
        assertThat(e).as("expected the configuration to be refused").isNotNull();
        assertThat(e.getMessage()).startsWith(f.toString());
        return e.problems().get(0);
    }
}
