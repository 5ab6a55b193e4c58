package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's quickstart: {@code pep serve --config config/quickstart.yaml}, here on a copy with
 * free ports, laid out like the repository so its {@code ../.pep/dev-ca} stays in the temp dir.
 */
class QuickstartIT {

    @TempDir
    Path dir;

    private GatewayProcess gateway;

    @AfterEach
    void cleanUp() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void quickstart_servesEchoAppAtDemoHost_andDeniesClosedApp() throws Exception {
        String original = Files.readString(GatewayProcess.pepHome().resolve("config/quickstart.yaml"));
        String freePorts = original.replace("port: 8443", "port: 0").replace("port: 9090", "port: 0");
        assertThat(freePorts).as("the quickstart's ports were found and replaced")
                .doesNotContain("8443\n").doesNotContain("port: 9090");
        Path config = Files.createDirectories(dir.resolve("config")).resolve("quickstart.yaml");
        Files.writeString(config, freePorts);

        gateway = GatewayProcess.start(config);

        Path ca = dir.resolve(".pep/dev-ca/ca.pem");
        assertThat(ca).isRegularFile();
        assertThat(gateway.stderr()).contains("development certificate created")
                .contains("trust_ca=" + ca.toRealPath());
        ToolResult demo = Clients.curl(ca, "demo.pep.localhost", gateway.port(),
                "https://demo.pep.localhost:" + gateway.port() + "/");
        assertThat(ProxyingIT.statusLine(demo)).as(demo.toString()).endsWith(" 200");
        assertThat(ProxyingIT.body(demo)).contains("\"app\" : \"pep echo\"").contains("\"path\" : \"/\"");
        ToolResult closed = Clients.curl(ca, "closed.pep.localhost", gateway.port(),
                "https://closed.pep.localhost:" + gateway.port() + "/");
        assertThat(ProxyingIT.statusLine(closed)).as(closed.toString()).endsWith(" 403");
        assertThat(gateway.stop(Duration.ofSeconds(30))).as(gateway.stderr()).isZero();
    }
}
