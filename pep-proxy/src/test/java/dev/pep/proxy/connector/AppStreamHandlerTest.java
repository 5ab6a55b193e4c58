package dev.pep.proxy.connector;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.proxy.config.ConnectorConfig.AppAddress;
import org.junit.jupiter.api.Test;

/** Which session streams the connector half-closes (TunnelTest drives them end to end). */
class AppStreamHandlerTest {

    @Test
    void tcpSessionToAPlainApp_halfClosed_tlsApp_endsBothWays_httpExchange_endsBothWays() {
        AppAddress plain = new AppAddress("127.0.0.1:5432", false);
        AppAddress tls = new AppAddress("db.internal:5432", true);

        assertThat(AppStreamHandler.halfClose(Tunnel.connect("db", null, true), plain)).isTrue();
        // Pins L-740: a TLS app's stream ends both ways at the first END_STREAM.
        assertThat(AppStreamHandler.halfClose(Tunnel.connect("db", null, true), tls)).isFalse();
        assertThat(AppStreamHandler.halfClose(Tunnel.connect("web", null, false), plain)).isFalse();
    }
}
