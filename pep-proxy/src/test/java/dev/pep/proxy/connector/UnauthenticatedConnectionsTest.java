package dev.pep.proxy.connector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pep.core.AuditEvent;
import dev.pep.proxy.config.ConnectorConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connector listener's bounds on connections without a connector certificate, over real
 * loopback sockets: caps per address and in total, a deadline, the enrolment size limit, each
 * counted; a tunnel no longer counts.
 */
class UnauthenticatedConnectionsTest {

    @TempDir
    Path dir;

    private final List<AuditEvent> audit = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new ArrayList<>();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private EventLoopGroup group;
    private ConnectorListener listener;
    private ConnectorRegistry registry;
    private EnrolmentStore store;
    private UnauthenticatedConnections unauthenticated;

    @BeforeEach
    void start() throws Exception {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        GatewaySide gateway = GatewaySide.create(dir.resolve("gateway"), audit, meters);
        store = gateway.store();
        registry = gateway.registry();
        unauthenticated = new UnauthenticatedConnections(
                new UnauthenticatedConnections.Limits(Duration.ofMillis(1500), 4, 2), meters);
        listener = ConnectorListener.start(group, group, NioServerSocketChannel.class, "127.0.0.1", 0, gateway.ca(),
                registry, gateway.clock(), unauthenticated);
    }

    @AfterEach
    void stop() throws Exception {
        for (Socket s : sockets) {
            s.close();
        }
        listener.close();
        registry.closeAll();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void overThePerAddressCap_closedAtOnce_counted_otherAddressesStillServed() throws Exception {
        Socket first = open("127.0.0.1");
        Socket second = open("127.0.0.1");
        await().atMost(Duration.ofSeconds(5)).until(() -> unauthenticated.count() == 2);

        Socket third = open("127.0.0.1");
        Socket elsewhere = open("127.0.0.2");

        assertThat(closedWithin(third, Duration.ofSeconds(5))).isTrue();
        assertThat(refused("address_limit")).isEqualTo(1);
        assertThat(openFor(first, Duration.ofMillis(200))).isTrue();
        assertThat(openFor(second, Duration.ofMillis(200))).isTrue();
        assertThat(openFor(elsewhere, Duration.ofMillis(200))).isTrue();
    }

    @Test
    void overTheTotalCap_closedAtOnce_counted() throws Exception {
        open("127.0.0.1");
        open("127.0.0.2");
        open("127.0.0.3");
        open("127.0.0.4");
        await().atMost(Duration.ofSeconds(5)).until(() -> unauthenticated.count() == 4);

        Socket fifth = open("127.0.0.5");

        assertThat(closedWithin(fifth, Duration.ofSeconds(5))).isTrue();
        assertThat(refused("total_limit")).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> unauthenticated.count() == 4);
    }

    @Test
    void silentConnection_closedAtTheDeadline_countedAndItsPlaceGivenBack() throws Exception {
        long opened = System.nanoTime();
        Socket silent = open("127.0.0.1");

        assertThat(closedWithin(silent, Duration.ofSeconds(10))).isTrue();

        assertThat(Duration.ofNanos(System.nanoTime() - opened)).isGreaterThanOrEqualTo(Duration.ofMillis(1400));
        assertThat(refused("deadline")).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> unauthenticated.count() == 0);
    }

    @Test
    void enrolmentRequestOverTheLimit_413_counted_noTokenSpent() throws Exception {
        String token = store.createToken("big", List.of("echo"), Duration.ofMinutes(5), null, "test");
        String body = "{\"name\": \"big\", \"token\": \"" + token + "\", \"csr\": \""
                + "A".repeat(ConnectorListener.MAX_ENROLMENT_BYTES) + "\"}";

        String answer = enrol(body);

        assertThat(answer).startsWith("HTTP/1.1 413");
        assertThat(refused("request_too_large")).isEqualTo(1);
        assertThat(store.redeem(token).name()).as("the token is still unspent").isEqualTo("big");
    }

    @Test
    void enrolledConnectorsTunnel_isNotCounted() throws Exception {
        String token = store.createToken("depot-1", List.of("echo"), Duration.ofMinutes(5), null, "test");
        Files.writeString(dir.resolve("token"), token);
        try (ConnectorAgent agent = ConnectorAgent.start(new ConnectorConfig("depot-1",
                List.of(new ConnectorConfig.GatewayAddress("127.0.0.1:" + listener.port())),
                dir.resolve("gateway/ca.pem").toString(), "token", "connector",
                Map.of("echo", new ConnectorConfig.AppAddress("127.0.0.1:9", false)), dir))) {
            await().atMost(Duration.ofSeconds(20)).until(() -> registry.health().stream()
                    .anyMatch(h -> Boolean.TRUE.equals(h.get("connected"))));

            await().atMost(Duration.ofSeconds(5)).until(() -> unauthenticated.count() == 0);
            Socket first = open("127.0.0.1");
            Socket second = open("127.0.0.1");
            await().atMost(Duration.ofSeconds(5)).until(() -> unauthenticated.count() == 2);
            assertThat(openFor(first, Duration.ofMillis(200))).isTrue();
            assertThat(openFor(second, Duration.ofMillis(200))).isTrue();
            assertThat(refused("address_limit")).isZero();
        }
    }

    private Socket open(String from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(new InetSocketAddress("127.0.0.1", listener.port()), 5000);
        sockets.add(s);
        return s;
    }

    private String enrol(String body) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(dir.resolve("gateway/ca.pem"))) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, tmf.getTrustManagers(), null);
        try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", listener.port())) {
            s.setSoTimeout(10_000);
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            OutputStream out = s.getOutputStream();
            out.write(("POST " + TunnelProtocol.ENROL_PATH + " HTTP/1.1\r\nHost: gateway\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            try {
                out.write(bytes);
                out.flush();
            } catch (IOException e) {
                // The gateway may answer and close before the whole body is written.
            }
            return new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
        }
    }

    private double refused(String reason) {
        var c = meters.find("pep.connectors.connections.refused").tag("reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    private static boolean closedWithin(Socket s, Duration d) throws IOException {
        s.setSoTimeout((int) d.toMillis());
        try {
            return s.getInputStream().read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private static boolean openFor(Socket s, Duration d) throws IOException {
        return !closedWithin(s, d);
    }
}
