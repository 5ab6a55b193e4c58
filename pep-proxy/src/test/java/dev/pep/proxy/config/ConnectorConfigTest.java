package dev.pep.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The connectors section of gateway.yaml and the connector's own file. */
class ConnectorConfigTest {

    @TempDir
    Path dir;

    @Test
    void gateway_connectorsSection_bindsWithDefaults() throws Exception {
        GatewayConfig c = gateway("""
                tls: { development-ca: {} }
                connectors:
                  port: 9444
                apps:
                  logistics:
                    hosts: [logistics.example]
                    upstream: connector:depot-1
                """);

        assertThat(c.connectors().address()).isEqualTo("127.0.0.1");
        assertThat(c.connectors().port()).isEqualTo(9444);
        assertThat(c.connectors().stateDirectory()).isEqualTo(".pep/connectors");
        assertThat(c.apps().get("logistics").upstream()).isEqualTo("connector:depot-1");
    }

    @Test
    void gateway_connectorsBadPortAndUnknownKey_namesFileLineAndKey() throws Exception {
        ConfigException e = gatewayFails("""
                tls: { development-ca: {} }
                connectors:
                  port: 70000
                """);
        assertThat(e.problems().get(0).key()).isEqualTo("connectors.port");
        assertThat(e.problems().get(0).line()).isEqualTo(3);
        assertThat(e.getMessage()).contains("gateway.yaml:3").contains("expected a port");

        ConfigException unknown = gatewayFails("""
                tls: { development-ca: {} }
                connectors:
                  state-dir: x
                """);
        assertThat(unknown.getMessage()).contains("unknown key 'state-dir'").contains("state-directory");
    }

    @Test
    void gateway_connectorUpstreamWithBadName_refused() throws Exception {
        ConfigException e = gatewayFails("""
                tls: { development-ca: {} }
                apps:
                  logistics:
                    hosts: [logistics.example]
                    upstream: connector:Depot 1
                """);
        assertThat(e.problems().get(0).key()).isEqualTo("apps.logistics.upstream");
        assertThat(e.getMessage()).contains("expected connector:NAME");
    }

    @Test
    void connector_validFile_binds() throws Exception {
        Files.writeString(dir.resolve("ca.pem"), "x");
        ConnectorConfig c = connector("""
                name: depot-1
                gateways:
                  - address: gateway.example:8444
                  - address: 10.0.0.2:8444
                gateway-ca: ca.pem
                enrolment-token-file: enrolment-token
                state-directory: state
                apps:
                  logistics: { address: 127.0.0.1:8080 }
                  stock: { address: stock.internal:8443, tls: true }
                """);

        assertThat(c.name()).isEqualTo("depot-1");
        assertThat(c.gateways()).extracting(ConnectorConfig.GatewayAddress::address)
                .containsExactly("gateway.example:8444", "10.0.0.2:8444");
        assertThat(c.apps().get("stock").tls()).isTrue();
        assertThat(c.apps().get("logistics").tls()).isFalse();
        assertThat(c.resolve(c.stateDirectory())).isEqualTo(dir.resolve("state"));
    }

    @Test
    void connector_problems_eachNamedWithLineAndKey() throws Exception {
        ConfigException e = assertThatConnectorFails("""
                name: Depot 1
                gateways:
                  - address: gateway.example
                gateway-ca: missing.pem
                enrolment-token-file: t
                state-directory: s
                apps:
                  logistics: { address: 127.0.0.1:99999 }
                """);

        assertThat(e.problems()).extracting(ConfigProblem::key).containsExactly("name", "gateways.0.address",
                "gateway-ca", "apps.logistics.address");
        assertThat(e.problems().get(1).line()).isEqualTo(3);
        assertThat(e.getMessage()).contains("cannot read file 'missing.pem'");
    }

    @Test
    void connector_unknownKey_listsTheKnownOnes() throws Exception {
        ConfigException e = assertThatConnectorFails("""
                name: depot-1
                gateway: x:1
                """);

        assertThat(e.getMessage()).contains(":2:").contains("unknown key 'gateway'").contains("gateways");
    }

    private GatewayConfig gateway(String yaml) throws Exception {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, yaml);
        return ConfigLoader.load(f);
    }

    private ConfigException gatewayFails(String yaml) throws Exception {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, yaml);
        return org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ConfigLoader.load(f));
    }

    private ConnectorConfig connector(String yaml) throws Exception {
        Path f = dir.resolve("connector.yaml");
        Files.writeString(f, yaml);
        return ConfigLoader.loadConnector(f);
    }

    private ConfigException assertThatConnectorFails(String yaml) throws Exception {
        Path f = dir.resolve("connector.yaml");
        Files.writeString(f, yaml);
        assertThatThrownBy(() -> ConfigLoader.loadConnector(f)).isInstanceOf(ConfigException.class);
        return org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ConfigLoader.loadConnector(f));
    }
}
