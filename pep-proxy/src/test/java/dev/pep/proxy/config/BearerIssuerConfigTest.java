package dev.pep.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code identity.bearer}: token types, required claims, skew and claim mapping, refusals by key and line. */
class BearerIssuerConfigTest {

    @TempDir
    Path dir;

    @Test
    void load_bearerIssuer_bindsTypesClaimsAndMapping() throws Exception {
        GatewayConfig c = load("""
                tls: { development-ca: {} }
                identity:
                  bearer:
                    - issuer: https://sso.northwind.example/realms/northwind
                      jwks-uri: https://sso.northwind.example/realms/northwind/certs
                      audiences: [pep-gateway]
                      types: [JWT, at+jwt]
                      required-claims: []
                      clock-skew: 30s
                      claims:
                        fixed-organisation: northwind
                        roles: realm_access.roles
                        extra: [department]
                """);

        IdentitySettings.BearerIssuer b = c.identity().bearer().get(0);
        assertThat(b.types()).containsExactly("JWT", "at+jwt");
        assertThat(b.requiredClaims()).isEmpty();
        assertThat(b.clockSkew()).isEqualTo(Duration.ofSeconds(30));
        assertThat(b.fixedOrganisation()).isEqualTo("northwind");
        assertThat(b.claims().roles()).isEqualTo("realm_access.roles");
        assertThat(b.claims().groups()).isEqualTo("groups");
        assertThat(b.claims().extra()).containsExactly("department");
    }

    @Test
    void load_bearerIssuerWithoutNewKeys_keepsTheStrictDefaults() throws Exception {
        GatewayConfig c = load("""
                tls: { development-ca: {} }
                identity:
                  bearer:
                    - issuer: https://idp.example
                      jwks-uri: https://idp.example/jwks
                      audiences: [pep-gateway]
                      organisation: alpha
                """);

        IdentitySettings.BearerIssuer b = c.identity().bearer().get(0);
        assertThat(b.types()).containsExactly("at+jwt");
        assertThat(b.requiredClaims()).containsExactly("nbf");
        assertThat(b.clockSkew()).isEqualTo(Duration.ofSeconds(60));
        assertThat(b.fixedOrganisation()).isEqualTo("alpha");
    }

    @Test
    void load_badTypesClaimsAndMapping_eachNamedWithItsLine() throws IOException {
        ConfigException e = refused("""
                tls: { development-ca: {} }
                identity:
                  bearer:
                    - issuer: https://idp.example
                      jwks-uri: https://idp.example/jwks
                      audiences: [pep-gateway]
                      types: ["at jwt"]
                      required-claims: [realm_access.roles]
                      algorithms: [HS256]
                      clock-skew: 10m
                      organisation: alpha
                      claims: { fixed-organisation: beta, groups: "bad claim" }
                    - issuer: https://idp2.example
                      jwks-uri: https://idp2.example/jwks
                      audiences: [pep-gateway]
                      types: []
                """);

        assertThat(e.problems()).extracting(ConfigProblem::key).containsExactlyInAnyOrder(
                "identity.bearer.0.types", "identity.bearer.0.required-claims", "identity.bearer.0.algorithms",
                "identity.bearer.0.clock-skew", "identity.bearer.0.organisation",
                "identity.bearer.0.claims.groups", "identity.bearer.1.types");
        assertThat(e.problems()).filteredOn(p -> p.key().equals("identity.bearer.0.required-claims"))
                .singleElement().satisfies(p -> {
                    assertThat(p.line()).isEqualTo(8);
                    assertThat(p.file()).endsWith("gateway.yaml");
                    assertThat(p.message()).contains("realm_access.roles").contains("top-level claim");
                });
        assertThat(e.problems()).filteredOn(p -> p.key().equals("identity.bearer.0.types"))
                .extracting(ConfigProblem::line).containsExactly(7);
    }

    @Test
    void load_bearerInlineUnknownKey_refusedWithLine() throws IOException {
        ConfigException e = refused("""
                tls: { development-ca: {} }
                identity:
                  bearer:
                    - issuer: https://idp.example
                      jwks-uri: https://idp.example/jwks
                      audiences: [pep-gateway]
                      typ: [JWT]
                """);

        assertThat(e.problems()).first().satisfies(p -> {
            assertThat(p.line()).isEqualTo(7);
            assertThat(p.message()).contains("unknown key 'typ'");
        });
    }

    private GatewayConfig load(String yaml) throws IOException, ConfigException {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, yaml);
        return ConfigLoader.load(f);
    }

    private ConfigException refused(String yaml) throws IOException {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, yaml);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(f));
        assertThat(e).as("expected the configuration to be refused").isNotNull();
        return e;
    }
}
