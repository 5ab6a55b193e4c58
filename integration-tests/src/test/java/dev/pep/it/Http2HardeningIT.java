package dev.pep.it;

import static dev.pep.it.RawHttp2.ACK;
import static dev.pep.it.RawHttp2.CONTINUATION;
import static dev.pep.it.RawHttp2.END_HEADERS;
import static dev.pep.it.RawHttp2.END_STREAM;
import static dev.pep.it.RawHttp2.GOAWAY;
import static dev.pep.it.RawHttp2.HEADERS;
import static dev.pep.it.RawHttp2.PING;
import static dev.pep.it.RawHttp2.RST_STREAM;
import static dev.pep.it.RawHttp2.SETTINGS;
import static dev.pep.it.RawHttp2.WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.it.RawHttp2.Frame;
import dev.pep.it.RecordingUpstream.Mode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 as a hostile client speaks it, in raw frames against the packaged gateway: the SETTINGS
 * and connection window it announces are the configured ones, a burst of stream resets (rapid
 * reset) and a header block that never ends (CONTINUATION flood) both cost the client its
 * connection, and the application behind it receives nothing.
 */
class Http2HardeningIT {

    private static final String HOST = "h2.pep.localhost";
    private static final int MAX_STREAMS = 37;
    private static final int HEADER_LIST = 16 * 1024;
    private static final int STREAM_WINDOW = 128 * 1024;
    private static final int CONNECTION_WINDOW = 640 * 1024;
    private static final int MAX_RESETS = 50;
    private static final Duration END = Duration.ofSeconds(30);

    @TempDir
    static Path dir;

    static RecordingUpstream upstream;
    static GatewayProcess gateway;

    @BeforeAll
    static void start() throws Exception {
        upstream = RecordingUpstream.start(Mode.ANSWER);
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-h2") + """
                http2:
                  max-concurrent-streams: %d
                  max-header-list-size: %d
                  initial-window-size: %d
                  connection-window-size: %d
                  max-resets-per-window: %d
                  reset-window-seconds: 120
                apps:
                  h2:
                    hosts: [h2.pep.localhost]
                    upstream: %s
                    access: public
                """.formatted(MAX_STREAMS, HEADER_LIST, STREAM_WINDOW, CONNECTION_WINDOW, MAX_RESETS,
                upstream.url()));
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, upstream);
    }

    @BeforeEach
    void clear() {
        upstream.clear();
    }

    @Test
    void settingsAndConnectionWindow_areTheConfiguredOnes() throws Exception {
        try (RawHttp2 h2 = RawHttp2.connect(gateway.port(), HOST, gateway.devCa())) {
            h2.write(PING, 0, 0, new byte[8]);
            Map<Integer, Long> settings = null;
            long connectionWindow = 65_535;
            for (Frame f = h2.read(); f != null && !(f.type() == PING && f.has(ACK)); f = h2.read()) {
                if (f.type() == SETTINGS && !f.has(ACK)) {
                    settings = f.settings();
                } else if (f.type() == WINDOW_UPDATE && f.stream() == 0) {
                    connectionWindow += f.int32At(0);
                }
            }

            assertThat(settings).as("the gateway's SETTINGS frame").isNotNull()
                    .containsEntry(0x3, (long) MAX_STREAMS)
                    .containsEntry(0x4, (long) STREAM_WINDOW)
                    .containsEntry(0x6, (long) HEADER_LIST);
            assertThat(connectionWindow).as("65535 plus the WINDOW_UPDATEs on stream 0").isEqualTo(CONNECTION_WINDOW);
        }
    }

    @Test
    void resetsBelowTheLimit_connectionStaysUsable() throws Exception {
        try (RawHttp2 h2 = RawHttp2.connect(gateway.port(), HOST, gateway.devCa())) {
            for (int i = 0; i < MAX_RESETS / 2; i++) {
                openAndReset(h2, 1 + 2 * i);
            }
            h2.write(PING, 0, 0, new byte[8]);

            Frame f;
            do {
                f = h2.read();
            } while (f != null && !(f.type() == PING && f.has(ACK)) && f.type() != GOAWAY);
            assertThat(f).as("the PING answered, no GOAWAY").isNotNull()
                    .extracting(Frame::type).isEqualTo(PING);
        }
    }

    @Test
    void rapidReset_manyHeadersAndRstStream_connectionClosedWithGoaway() throws Exception {
        try (RawHttp2 h2 = RawHttp2.connect(gateway.port(), HOST, gateway.devCa())) {
            h2.readTimeout(END);
            CompletableFuture<List<Frame>> received = readInBackground(h2);
            int sent = 0;
            try {
                for (int i = 0; i < 20 * MAX_RESETS && !received.isDone(); i++) {
                    openAndReset(h2, 1 + 2 * i);
                    sent++;
                }
            } catch (IOException e) {
                // The gateway closed the connection under the flood: what this test wants.
            }

            List<Frame> frames = received.get(END.toSeconds() + 10, TimeUnit.SECONDS);
            assertThat(frames).as("the connection ended (null: still open after %s)", END).isNotNull();
            Frame goaway = frames.stream().filter(f -> f.type() == GOAWAY).findFirst().orElse(null);
            assertThat(goaway).as("a GOAWAY before the close; sent %d resets", sent).isNotNull();
            assertThat(goaway.int32At(4)).as("error code ENHANCE_YOUR_CALM").isEqualTo(0xb);
        }
    }

    @Test
    void continuationFlood_headerBlockNeverEnds_connectionClosed_upstreamSawNothing() throws Exception {
        long budget = 64L * 1024 * 1024;
        long written = 0;
        try (RawHttp2 h2 = RawHttp2.connect(gateway.port(), HOST, gateway.devCa())) {
            h2.readTimeout(END);
            CompletableFuture<List<Frame>> received = readInBackground(h2);
            byte[] fragment = RawHttp2.literal("x-flood", "f".repeat(4000));
            try {
                h2.write(HEADERS, 0, 1, RawHttp2.getHeaders(HOST, "/flood"));
                while (written < budget && !received.isDone()) {
                    h2.write(CONTINUATION, 0, 1, fragment);
                    written += fragment.length + 9;
                }
            } catch (IOException e) {
                // The gateway closed the connection under the flood: what this test wants.
            }

            List<Frame> frames = received.get(END.toSeconds() + 10, TimeUnit.SECONDS);
            assertThat(frames).as("the connection ended (null: still open after %s)", END).isNotNull();
            assertThat(frames).extracting(Frame::type).as("a GOAWAY before the close").contains(GOAWAY);
            assertThat(written).as("cut off before the client's budget was spent").isLessThan(budget);
        }
        assertMarkerOnly();
    }

    private static void openAndReset(RawHttp2 h2, int stream) throws IOException {
        h2.write(HEADERS, END_HEADERS | END_STREAM, stream, RawHttp2.getHeaders(HOST, "/reset-" + stream));
        h2.write(RST_STREAM, 0, stream, RawHttp2.int32(0x8));
    }

    private static CompletableFuture<List<Frame>> readInBackground(RawHttp2 h2) {
        CompletableFuture<List<Frame>> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(h2.readToEnd());
            } catch (IOException | RuntimeException e) {
                f.completeExceptionally(e);
            }
        }, "raw-h2-reader");
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** A good request on a fresh connection reaches the app; nothing of the flood did. */
    private static void assertMarkerOnly() throws Exception {
        var client = Clients.http(gateway.devCa(), java.net.http.HttpClient.Version.HTTP_2);
        var response = client.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("https://" + HOST + ":" + gateway.port() + "/marker")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(upstream.requests()).extracting(RecordingUpstream.RecordedRequest::requestLine)
                .containsExactly("GET /marker HTTP/1.1");
    }
}
