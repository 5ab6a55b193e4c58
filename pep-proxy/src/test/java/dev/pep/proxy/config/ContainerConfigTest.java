package dev.pep.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gateway configuration of docker/compose.yaml, and what gateway.yaml cannot say yet. */
class ContainerConfigTest {

    private static final Path COMPOSE_CONFIG = Path.of("../docker/config/gateway.yaml");

    @TempDir
    Path dir;

    @Test
    void load_composeGatewayConfig_isValid_andWritesOnlyUnderTheStateVolume() throws Exception {
        GatewayConfig c = ConfigLoader.load(withoutConnectorsSection());

        List<String> writable = List.of(c.audit().directory(), c.identity().sessionKeys(),
                c.tls().developmentCa().directory());
        // The configuration directory is mounted read-only: every path the gateway writes is on
        // the /var/lib/pep volume, never relative to /etc/pep.
        assertThat(writable).allSatisfy(p -> assertThat(p).startsWith("/var/lib/pep/"));
        assertThat(c.identity().bearer()).singleElement()
                .satisfies(b -> assertThat(b.jwksUri().getScheme()).isEqualTo("https"));
        assertThat(c.admin().port()).isEqualTo(9090);
    }

    @Test
    void composeConfig_hasNoOpenIdProvider_demoUsesBearerTokens() throws Exception {
        // L-791: the compose demo signs in with tokens, not through Keycloak's login page.
        GatewayConfig c = ConfigLoader.load(withoutConnectorsSection());

        assertThat(c.identity().providers()).isEmpty();
        assertThat(c.identity().bearer()).isNotEmpty();
    }

    /**
     * The compose file's configuration, without its {@code connectors} section when this build
     * does not know that section; everything else must load as it is.
     */
    private Path withoutConnectorsSection() throws IOException, ConfigException {
        String yaml = Files.readString(COMPOSE_CONFIG);
        Path copy = dir.resolve("gateway.yaml");
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(copy, yaml);
        try {
            ConfigLoader.load(copy);
            return copy;
        } catch (ConfigException e) {
            if (e.problems().stream().noneMatch(p -> p.key().equals("connectors"))) {
                throw e;
            }
        }
        Files.writeString(copy, yaml.replaceAll("(?m)^connectors:\\n(  .*\\n)+", ""));
        return copy;
    }
}
