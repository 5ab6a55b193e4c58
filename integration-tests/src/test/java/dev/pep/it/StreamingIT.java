package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.it.RecordingUpstream.Mode;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bodies far larger than the gateway's memory stream through it with backpressure: the gateway
 * runs with a 64 MiB heap and 64 MiB of direct memory, and relays 256 MiB to a client that reads
 * slowly, and 256 MiB from a client to an application that reads slowly. Both transfers complete
 * intact, and the gateway's resident memory grows by far less than the body: nothing was held
 * whole, in heap or off it.
 */
class StreamingIT {

    private static final long BODY = 256L * 1024 * 1024;
    /** Growth of the gateway's resident set that a body held whole would exceed. */
    private static final long MAX_GROWTH = 160L * 1024 * 1024;
    private static final Duration TRANSFER = Duration.ofMinutes(4);

    @TempDir
    static Path dir;

    static RecordingUpstream upstream;
    static GatewayProcess gateway;

    private ScheduledExecutorService sampler;
    private final AtomicLong peak = new AtomicLong();

    @BeforeAll
    static void start() throws Exception {
        upstream = RecordingUpstream.start(Mode.ANSWER);
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-streaming") + """
                apps:
                  big:
                    hosts: [big.pep.localhost]
                    upstream: %s
                    access: public
                    max-body-size: 1GiB
                    response-timeout: 5m
                """.formatted(upstream.url()),
                Map.of("PEP_JAVA_OPTS", "-Xmx64m -XX:MaxDirectMemorySize=64m -XX:+UseG1GC"));
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, upstream);
    }

    @BeforeEach
    void warmUpAndSample() throws Exception {
        String cmdline = Files.readString(Path.of("/proc", Long.toString(gateway.pid()), "cmdline"));
        assertThat(cmdline).as("the launcher passed PEP_JAVA_OPTS to the JVM").contains("-Xmx64m");
        // A small exchange first, so that start-up allocations are in the baseline.
        HttpClient c = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
        c.send(HttpRequest.newBuilder(URI.create(url("/warm?size=100000"))).build(),
                HttpResponse.BodyHandlers.discarding());
        peak.set(gateway.residentBytes());
        sampler = Executors.newSingleThreadScheduledExecutor();
        sampler.scheduleAtFixedRate(() -> {
            try {
                peak.accumulateAndGet(gateway.residentBytes(), Math::max);
            } catch (Exception e) {
                // The process is gone; the transfer's own assertions say so.
            }
        }, 0, 100, TimeUnit.MILLISECONDS);
    }

    @AfterEach
    void stopSampling() {
        sampler.shutdownNow();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"HTTP_1_1", "HTTP_2"})
    void download256MiB_slowReadingClient_completes_memoryBounded(String version) throws Exception {
        long baseline = gateway.residentBytes();
        HttpClient c = Clients.http(gateway.devCa(), HttpClient.Version.valueOf(version));

        HttpResponse<InputStream> r = c.send(HttpRequest.newBuilder(URI.create(url("/download?stream=" + BODY)))
                .timeout(TRANSFER).build(), HttpResponse.BodyHandlers.ofInputStream());
        MessageDigest sha = RecordingUpstream.sha256();
        long received = 0;
        try (InputStream in = r.body()) {
            byte[] piece = new byte[64 * 1024];
            for (int n = in.read(piece); n >= 0; n = in.read(piece)) {
                sha.update(piece, 0, n);
                received += n;
                if (received % (1024 * 1024) < n) {
                    Thread.sleep(5); // a slow reader: 5 ms per MiB on top of its own work
                }
            }
        }

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(received).isEqualTo(BODY);
        assertThat(HexFormat.of().formatHex(sha.digest())).isEqualTo(patternSha(BODY));
        assertBounded(baseline);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"HTTP_1_1", "HTTP_2"})
    void upload256MiB_slowReadingApp_completes_memoryBounded(String version) throws Exception {
        long baseline = gateway.residentBytes();
        HttpClient c = Clients.http(gateway.devCa(), HttpClient.Version.valueOf(version));

        HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(url("/upload?sink&pause=1")))
                .timeout(TRANSFER)
                .POST(HttpRequest.BodyPublishers.fromPublisher(
                        HttpRequest.BodyPublishers.ofInputStream(() -> new PatternStream(BODY)), BODY))
                .build(), HttpResponse.BodyHandlers.ofString());

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("POST /upload?sink&pause=1 " + BODY + " " + patternSha(BODY) + "\n");
        assertBounded(baseline);
    }

    private void assertBounded(long baseline) {
        System.out.printf("streaming gateway rss baseline=%dMiB peak=%dMiB growth=%dMiB%n",
                baseline >> 20, peak.get() >> 20, (peak.get() - baseline) >> 20);
        assertThat(gateway.isAlive()).isTrue();
        assertThat(gateway.stderr()).doesNotContain("OutOfMemoryError");
        assertThat(peak.get() - baseline).as("growth of the gateway's resident set (baseline %d MiB, peak %d MiB)",
                baseline >> 20, peak.get() >> 20).isLessThan(MAX_GROWTH);
    }

    private static String url(String pathAndQuery) {
        return "https://big.pep.localhost:" + gateway.port() + pathAndQuery;
    }

    private static String patternSha(long n) {
        MessageDigest sha = RecordingUpstream.sha256();
        byte[] piece = new byte[64 * 1024];
        for (long off = 0; off < n; off += piece.length) {
            int len = (int) Math.min(piece.length, n - off);
            RecordingUpstream.patternAt(off, piece, len);
            sha.update(piece, 0, len);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** The fixture's pattern as a stream of {@code n} bytes, generated as it is read. */
    private static final class PatternStream extends InputStream {
        private final long n;
        private long off;

        PatternStream(long n) {
            this.n = n;
        }

        @Override
        public int read() {
            return off < n ? 'a' + (int) (off++ % 26) : -1;
        }

        @Override
        public int read(byte[] b, int at, int len) {
            if (off >= n) {
                return -1;
            }
            int k = (int) Math.min(len, n - off);
            for (int i = 0; i < k; i++) {
                b[at + i] = (byte) ('a' + (off + i) % 26);
            }
            off += k;
            return k;
        }
    }
}
