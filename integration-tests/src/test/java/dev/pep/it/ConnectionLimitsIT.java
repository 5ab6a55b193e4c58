package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.pep.it.RawHttp2.Frame;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Timeouts and connection caps of the partner listener, against the packaged gateway: a client
 * that connects and says nothing is closed after the handshake timeout, a connection left idle
 * after its exchange is closed after the idle timeout (HTTP/1.1 and HTTP/2, the latter with
 * GOAWAY), and the connection past the per-address or total cap is refused and counted.
 */
class ConnectionLimitsIT {

    private static final String HOST = "limit.pep.localhost";
    private static final Duration HANDSHAKE = Duration.ofSeconds(2);
    private static final Duration IDLE = Duration.ofSeconds(3);
    private static final Duration SLACK = Duration.ofSeconds(12);
    private static final int PER_ADDRESS = 2;
    private static final int TOTAL = 4;

    @TempDir
    static Path dir;

    static GatewayProcess gateway;

    private final List<Socket> open = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-limits") + """
                limits:
                  handshake-timeout: %dms
                  idle-timeout: %dms
                  header-read-timeout: 60s
                  max-connections: %d
                  max-connections-per-address: %d
                apps:
                  limit:
                    hosts: [limit.pep.localhost]
                    upstream: pep:echo
                    access: public
                """.formatted(HANDSHAKE.toMillis(), IDLE.toMillis(), TOTAL, PER_ADDRESS));
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway);
    }

    @AfterEach
    void closeOpen() throws IOException {
        for (Socket s : open) {
            s.close();
        }
        open.clear();
        // The next test starts with every slot free again.
        await().atMost(Duration.ofSeconds(20)).until(() -> activeConnections() == 0);
    }

    @Test
    void silentClient_closedAfterHandshakeTimeout() throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), gateway.port())) {
            s.setSoTimeout((int) (HANDSHAKE.plus(SLACK)).toMillis());
            long start = System.nanoTime();

            int first = readOrReset(s.getInputStream());

            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(first).as("closed without a byte").isEqualTo(-1);
            assertThat(took).isBetween(HANDSHAKE.minusMillis(500), HANDSHAKE.plus(SLACK));
        }
    }

    @Test
    void http1_idleAfterExchange_closedAfterIdleTimeout() throws Exception {
        try (SSLSocket s = Clients.tls(gateway.port(), HOST, gateway.devCa(), "http/1.1")) {
            s.getOutputStream().write(("GET /idle HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String head = readHead(s.getInputStream());
            assertThat(head).startsWith("HTTP/1.1 200 ");
            int length = Integer.parseInt(head.replaceAll("(?is).*\r\ncontent-length: *(\\d+).*", "$1"));
            s.getInputStream().readNBytes(length);
            long start = System.nanoTime();

            int next = readOrReset(s.getInputStream());

            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(next).as("closed after the idle timeout").isEqualTo(-1);
            assertThat(took).isBetween(IDLE.minusMillis(500), IDLE.plus(SLACK));
        }
    }

    @Test
    void http2_idleConnection_goawayAndClosedAfterIdleTimeout() throws Exception {
        try (RawHttp2 h2 = RawHttp2.connect(gateway.port(), HOST, gateway.devCa())) {
            h2.readTimeout(IDLE.plus(SLACK));
            long start = System.nanoTime();

            List<Frame> frames = h2.readToEnd();

            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(frames).as("closed within %s", IDLE.plus(SLACK)).isNotNull();
            assertThat(frames).extracting(Frame::type).contains(RawHttp2.GOAWAY);
            assertThat(took).isBetween(IDLE.minusMillis(500), IDLE.plus(SLACK));
        }
    }

    @Test
    void connectionPastPerAddressCap_refused_andCounted() throws Exception {
        double before = refused("address_limit");
        for (int i = 0; i < PER_ADDRESS; i++) {
            open.add(handshake("127.0.0.1"));
        }

        assertThatThrownBy(() -> open.add(handshake("127.0.0.1")))
                .as("connection %d from one address", PER_ADDRESS + 1).isInstanceOf(IOException.class);
        open.add(handshake("127.0.0.2"));
        await().atMost(Duration.ofSeconds(10)).until(() -> refused("address_limit") == before + 1);
        assertThat(exchange((SSLSocket) open.get(0))).as("the admitted ones still work").startsWith("HTTP/1.1 200 ");
    }

    @Test
    void connectionPastTotalCap_refused_andCounted_andASlotFreesAgain() throws Exception {
        double before = refused("total_limit");
        for (int i = 0; i < TOTAL; i++) {
            open.add(handshake("127.0.0." + (2 + i)));
        }

        assertThatThrownBy(() -> open.add(handshake("127.0.0.9")))
                .as("connection %d in total", TOTAL + 1).isInstanceOf(IOException.class);
        await().atMost(Duration.ofSeconds(10)).until(() -> refused("total_limit") == before + 1);
        open.remove(0).close();
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
                .until(() -> open.add(handshake("127.0.0.9")));
    }

    /** A TLS connection from {@code source} (any 127/8 address is this machine), handshake done. */
    private SSLSocket handshake(String source) throws Exception {
        Socket plain = new Socket();
        plain.bind(new InetSocketAddress(InetAddress.getByName(source), 0));
        plain.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), gateway.port()), 10_000);
        SSLSocket s = (SSLSocket) Clients.trusting(gateway.devCa()).getSocketFactory()
                .createSocket(plain, "127.0.0.1", gateway.port(), true);
        SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(HOST)));
        p.setApplicationProtocols(new String[] {"http/1.1"});
        s.setSSLParameters(p);
        s.setSoTimeout(20_000);
        try {
            s.startHandshake();
        } catch (IOException e) {
            s.close();
            throw e;
        }
        return s;
    }

    private static String exchange(SSLSocket s) throws IOException {
        s.getOutputStream().write(("GET /still HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        return readHead(s.getInputStream());
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        while (!b.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            b.append((char) c);
        }
        return b.toString();
    }

    /** -1 at end of stream; a reset after the gateway closed counts as the end too. */
    private static int readOrReset(InputStream in) throws IOException {
        try {
            return in.read();
        } catch (java.net.SocketException e) {
            return -1;
        }
    }

    private static double refused(String reason) throws Exception {
        Matcher m = Pattern.compile("(?m)^pep_connections_refused_total\\{[^}]*reason=\"" + reason
                + "\"[^}]*} (\\S+)$").matcher(metrics());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    private static double activeConnections() throws Exception {
        Matcher m = Pattern.compile("(?m)^pep_connections_active(?:\\{[^}]*})? (\\S+)$").matcher(metrics());
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    private static String metrics() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + gateway.adminPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }
}
