package dev.pep.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code identity.providers}: binding, defaults, and every refusal with its key and line. */
class ProviderConfigTest {

    @TempDir
    Path dir;

    @Test
    void load_provider_bindsEveryKey() throws Exception {
        Files.writeString(dir.resolve("alpha.secret"), "s3cret\n");
        GatewayConfig c = load("""
                tls: { development-ca: {} }
                identity:
                  providers:
                    - name: alpha
                      issuer: https://idp.alpha.example/realms/alpha
                      client-id: pep-gateway
                      client-secret-file: alpha.secret
                      scopes: [openid, email]
                      algorithms: [RS256]
                      clock-skew: 30s
                      hosts: [logistics.partners.example]
                      email-domains: [alpha.example]
                      claims:
                        fixed-organisation: alpha
                        groups: groups
                        roles: realm_access.roles
                        extra: [department]
                """);

        IdentitySettings.Provider p = c.identity().providers().get(0);
        assertThat(p.issuer()).isEqualTo(URI.create("https://idp.alpha.example/realms/alpha"));
        assertThat(p.clientSecretFile()).isEqualTo("alpha.secret");
        assertThat(p.scopes()).containsExactly("openid", "email");
        assertThat(p.clockSkew()).isEqualTo(Duration.ofSeconds(30));
        assertThat(p.hosts()).containsExactly("logistics.partners.example");
        assertThat(p.claims().fixedOrganisation()).isEqualTo("alpha");
        assertThat(p.claims().roles()).isEqualTo("realm_access.roles");
        assertThat(p.claims().email()).isEqualTo("email");
        assertThat(p.claims().extra()).containsExactly("department");
        assertThat(p.insecureHttp()).isFalse();
        assertThat(p.toString()).doesNotContain("s3cret");
    }

    @Test
    void load_inlineSecret_isAnUnknownKey() throws IOException {
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                identity:
                  providers:
                    - name: alpha
                      issuer: https://idp.alpha.example/
                      client-id: pep-gateway
                      client-secret: s3cret
                """);

        assertThat(p.line()).isEqualTo(7);
        assertThat(p.message()).contains("unknown key 'client-secret'").contains("client-secret-file")
                .doesNotContain("s3cret");
    }

    @Test
    void load_httpIssuer_isRefusedUnlessInsecureHttp() throws Exception {
        Files.writeString(dir.resolve("a.secret"), "x");
        String yaml = """
                tls: { development-ca: {} }
                identity:
                  providers:
                    - name: alpha
                      issuer: http://127.0.0.1:8080/realms/alpha
                      client-id: pep-gateway
                      client-secret-file: a.secret
                """;
        ConfigProblem p = problem(yaml);

        assertThat(p.key()).isEqualTo("identity.providers.0.issuer");
        assertThat(p.line()).isEqualTo(5);
        assertThat(p.message()).contains("expected an https URL").contains("insecure-http");
        assertThat(load(yaml + "      insecure-http: true\n").identity().providers()).hasSize(1);
    }

    @Test
    void load_noSecretSource_saysBothChoices() throws IOException {
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                identity:
                  providers:
                    - name: alpha
                      issuer: https://idp.alpha.example/
                      client-id: pep-gateway
                """);

        assertThat(p.key()).isEqualTo("identity.providers.0");
        assertThat(p.message()).contains("client-secret-file").contains("client-secret-env");
    }

    @Test
    void load_unsetEnvironmentVariable_namesIt() throws IOException {
        ConfigProblem p = problem("""
                tls: { development-ca: {} }
                identity:
                  providers:
                    - name: alpha
                      issuer: https://idp.alpha.example/
                      client-id: pep-gateway
                      client-secret-env: PEP_TEST_SURELY_UNSET_VARIABLE_4711
                """);

        assertThat(p.key()).isEqualTo("identity.providers.0.client-secret-env");
        assertThat(p.line()).isEqualTo(7);
        assertThat(p.message()).contains("PEP_TEST_SURELY_UNSET_VARIABLE_4711").contains("not set");
    }

    @Test
    void load_badSelectionAndClaims_areEachNamed() throws IOException {
        Files.writeString(dir.resolve("a.secret"), "x");
        ConfigException e = refused("""
                tls: { development-ca: {} }
                identity:
                  providers:
                    - name: alpha
                      issuer: https://idp.alpha.example/
                      client-id: pep-gateway
                      client-secret-file: a.secret
                      scopes: [profile]
                      algorithms: [HS256]
                      hosts: ["*.alpha.example"]
                      claims: { groups: "bad claim" }
                    - name: alpha
                      issuer: https://idp.other.example/
                      client-id: pep-gateway
                      client-secret-file: a.secret
                """);

        assertThat(e.problems()).extracting(ConfigProblem::key).containsExactlyInAnyOrder(
                "identity.providers.0.scopes", "identity.providers.0.algorithms",
                "identity.providers.0.hosts", "identity.providers.0.claims.groups",
                "identity.providers.1.name");
        assertThat(e.problems()).filteredOn(p -> p.key().endsWith("algorithms"))
                .extracting(ConfigProblem::line).containsExactly(9);
    }

    private GatewayConfig load(String yaml) throws IOException, ConfigException {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, yaml);
        return ConfigLoader.load(f);
    }

    private ConfigProblem problem(String yaml) throws IOException {
        List<ConfigProblem> problems = refused(yaml).problems();
        return problems.get(0);
    }

    private ConfigException refused(String yaml) throws IOException {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, yaml);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(f));
        assertThat(e).as("expected the configuration to be refused").isNotNull();
        return e;
    }
}
