package dev.pep.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gateway configuration of docker/compose.yaml and the Keycloak realm it signs browsers in with. */
class ContainerConfigTest {

    private static final Path COMPOSE_CONFIG = Path.of("../docker/config/gateway.yaml");
    private static final Path REALM = Path.of("../docker/keycloak/northwind-realm.json");
    /** Mounted at /run/secrets/pep-gateway-client-secret by compose.yaml's secret of that name. */
    private static final Path CLIENT_SECRET = Path.of("../docker/keycloak/pep-gateway-client.secret");
    private static final String SECRET_IN_CONTAINER = "/run/secrets/pep-gateway-client-secret";

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
    void composeConfig_signsBrowsersInAtNorthwindsKeycloak_asTheRealmRegistersTheGateway() throws Exception {
        GatewayConfig c = ConfigLoader.load(withoutConnectorsSection());
        JsonNode client = realmClient("pep-gateway");

        assertThat(c.identity().providers()).singleElement().satisfies(p -> {
            // One issuer for browsers and programs: Keycloak is keycloak.pep.localhost:8453 inside
            // the compose network (an alias) and on the host (a published port) alike.
            assertThat(p.issuer().toString()).isEqualTo(c.identity().bearer().get(0).issuer());
            assertThat(p.issuer().toString()).startsWith("https://keycloak.pep.localhost:8453/realms/northwind");
            assertThat(p.clientId()).isEqualTo("pep-gateway");
            assertThat(p.claims().fixedOrganisation()).isEqualTo("northwind");
        });
        assertThat(client.get("publicClient").asBoolean()).isFalse();
        assertThat(client.get("secret").asText()).isEqualTo(Files.readString(CLIENT_SECRET).trim());
        assertThat(client.get("attributes").get("pkce.code.challenge.method").asText()).isEqualTo("S256");
        assertThat(client.get("redirectUris")).extracting(JsonNode::asText)
                .containsExactly("https://demo.pep.localhost:" + c.listener().port() + "/.pep/callback");
        // L-793: Keycloak cannot call the gateway back on logout in this demo.
        assertThat(client.get("attributes").has("backchannel.logout.url")).isFalse();
    }

    private static JsonNode realmClient(String clientId) throws IOException {
        for (JsonNode client : new ObjectMapper().readTree(REALM.toFile()).get("clients")) {
            if (client.get("clientId").asText().equals(clientId)) {
                return client;
            }
        }
        throw new AssertionError("no client " + clientId + " in " + REALM);
    }

    /**
     * The compose file's configuration (the client secret read from the repository's copy, as the
     * container reads the compose secret), without its {@code connectors} section when this build
     * does not know that section; everything else must load as it is.
     */
    private Path withoutConnectorsSection() throws IOException, ConfigException {
        assertThat(Files.readString(COMPOSE_CONFIG)).contains(SECRET_IN_CONTAINER);
        String yaml = Files.readString(COMPOSE_CONFIG)
                .replace(SECRET_IN_CONTAINER, CLIENT_SECRET.toAbsolutePath().toString());
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
