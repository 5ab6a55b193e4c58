package dev.pep.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostureConfigTest {

    @TempDir
    Path dir;

    private GatewayConfig load(String yaml) throws Exception {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, "tls: { development-ca: {} }\n" + yaml);
        return ConfigLoader.load(f);
    }

    private List<ConfigProblem> problems(String yaml) throws Exception {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, "tls: { development-ca: {} }\n" + yaml);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(f));
        assertThat(e).as("expected the configuration to be refused").isNotNull();
        return e.problems();
    }

    @Test
    void load_postureSection_bindsWithDefaults() throws Exception {
        Files.writeString(dir.resolve("device-ca.pem"), "x");
        Files.writeString(dir.resolve("mdm.jwks.json"), "{}");
        Files.writeString(dir.resolve("vpn.txt"), "10.0.0.0/8\n");

        GatewayConfig c = load("""
                posture:
                  device-certificates:
                    - { name: depot-devices, ca-bundle: device-ca.pem, device-id: san-uri }
                  assertions:
                    - { name: northwind-mdm, issuer: "https://mdm.example", jwks-file: mdm.jwks.json,
                        audiences: [pep], partners: [northwind] }
                  services:
                    - { name: fleet, url: "https://posture.example/v1/devices/{device-id}" }
                  networks:
                    - { name: partner-vpn, file: vpn.txt }
                  fingerprint: { enabled: true }
                """);

        PostureSettings p = c.posture();
        assertThat(p.deadline()).isEqualTo(Duration.ofMillis(250));
        assertThat(p.requestsClientCertificates()).isTrue();
        assertThat(p.deviceCertificates().get(0).deviceId()).isEqualTo("san-uri");
        assertThat(p.assertions().get(0).header()).isEqualTo("x-device-posture");
        assertThat(p.assertions().get(0).maxAge()).isEqualTo(Duration.ofHours(1));
        assertThat(p.assertions().get(0).partners()).containsExactly("northwind");
        assertThat(p.services().get(0).timeout()).isEqualTo(Duration.ofMillis(200));
        assertThat(p.services().get(0).cacheMaxAge()).isEqualTo(Duration.ofMinutes(5));
        assertThat(p.networks().get(0).name()).isEqualTo("partner-vpn");
        assertThat(p.fingerprint().enabled()).isTrue();
    }

    @Test
    void load_noPostureSection_null() throws Exception {
        assertThat(load("").posture()).isNull();
    }

    @Test
    void load_badPosture_everyProblemNamedByKey() throws Exception {
        List<ConfigProblem> problems = problems("""
                posture:
                  deadline: 0s
                  device-certificates:
                    - { name: Depot, ca-bundle: missing.pem, device-id: mac-address,
                        extensions: { tag: "not-an-oid" } }
                  assertions:
                    - { name: mdm, issuer: "https://mdm.example", audiences: [],
                        algorithms: [HS256], jwks-uri: "http://mdm.example/jwks" }
                  services:
                    - { name: mdm, url: "https://posture.example/v1/devices", client-key: k.pem }
                  networks:
                    - { name: vpn, file: absent.txt }
                """);

        assertThat(problems).extracting(ConfigProblem::key).contains(
                "posture.deadline",
                "posture.device-certificates.0.name",
                "posture.device-certificates.0.ca-bundle",
                "posture.device-certificates.0.device-id",
                "posture.device-certificates.0.extensions.tag",
                "posture.assertions.0.audiences",
                "posture.assertions.0.algorithms",
                "posture.assertions.0.jwks-uri",
                "posture.services.0.name",
                "posture.services.0.url",
                "posture.services.0.client-key",
                "posture.networks.0.file");
        assertThat(problems).filteredOn(p -> p.key().equals("posture.services.0.name"))
                .extracting(ConfigProblem::message).anyMatch(m -> m.contains("used twice"));
        assertThat(problems).filteredOn(p -> p.key().equals("posture.device-certificates.0.ca-bundle"))
                .allMatch(p -> p.line() == 5);
    }

    @Test
    void load_builtInProviderName_refused() throws Exception {
        Files.writeString(dir.resolve("device-ca.pem"), "x");

        List<ConfigProblem> problems = problems("""
                posture:
                  device-certificates:
                    - { name: tls-context, ca-bundle: device-ca.pem }
                """);

        assertThat(problems).extracting(ConfigProblem::message)
                .anyMatch(m -> m.contains("built-in"));
    }
}
