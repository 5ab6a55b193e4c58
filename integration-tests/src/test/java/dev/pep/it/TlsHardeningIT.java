package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The partner listener's TLS as clients see it, against two packaged gateways (the default
 * "intermediate" profile and "modern"): which protocol versions {@code openssl s_client} gets
 * through, which cipher suites the JDK client gets through when it offers one at a time, and
 * which application protocol ALPN picks. The development certificate has an ECDSA key, so of
 * the intermediate TLS 1.2 suites the ECDSA ones are the ones a handshake can use.
 */
class TlsHardeningIT {

    private static final String HOST = "demo.pep.localhost";
    private static final Duration TOOL = Duration.ofSeconds(30);
    private static final Set<String> INTERMEDIATE_TLS12_ECDSA = Set.of(
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
    private static final Set<String> TLS13 = Set.of(
            "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");

    @TempDir
    static Path dir;

    static GatewayProcess intermediate;
    static GatewayProcess modern;

    @BeforeAll
    static void start() throws Exception {
        String apps = """
                apps:
                  demo:
                    hosts: [demo.pep.localhost]
                    upstream: pep:echo
                    access: public
                """;
        Path a = Files.createDirectories(dir.resolve("intermediate"));
        Path b = Files.createDirectories(dir.resolve("modern"));
        intermediate = GatewayProcess.start(a, GatewayProcess.baseConfig("it-tls") + apps);
        modern = GatewayProcess.start(b, GatewayProcess.baseConfig("it-tls-modern")
                .replace("tls:\n", "tls:\n  profile: modern\n") + apps);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            GatewayProcess.stopAll(intermediate);
        } finally {
            GatewayProcess.stopAll(modern);
        }
    }

    @ParameterizedTest(name = "{0} refused")
    @ValueSource(strings = {"-tls1", "-tls1_1"})
    void oldProtocol_isRefusedByTheGateway(String flag) throws Exception {
        // SECLEVEL=0 lets this openssl offer TLS 1.0/1.1 at all, so the refusal is the gateway's.
        ToolResult r = sClient(intermediate.port(), flag, "-cipher", "DEFAULT:@SECLEVEL=0");

        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        assertThat(r.stderr()).as("the gateway's protocol_version alert\n%s", r).contains("alert protocol version");
    }

    @ParameterizedTest(name = "{0} accepted")
    @ValueSource(strings = {"-tls1_2", "-tls1_3"})
    void currentProtocol_isAccepted(String flag) throws Exception {
        ToolResult r = sClient(intermediate.port(), flag);

        String version = flag.equals("-tls1_2") ? "TLSv1.2" : "TLSv1.3";
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).as(r.toString()).contains("New, " + version + ", Cipher is ")
                .contains("Verify return code: 0 (ok)");
    }

    @Test
    void modernProfile_refusesTls12_acceptsTls13() throws Exception {
        ToolResult tls12 = sClient(modern.port(), "-tls1_2");
        ToolResult tls13 = sClient(modern.port(), "-tls1_3");

        assertThat(tls12.exitCode()).as(tls12.toString()).isNotZero();
        assertThat(tls12.stderr()).as(tls12.toString()).contains("alert protocol version");
        assertThat(tls13.exitCode()).as(tls13.toString()).isZero();
    }

    @Test
    void intermediateProfile_acceptsExactlyItsSuites() throws Exception {
        Set<String> tls12 = acceptedSuites(intermediate, "TLSv1.2");
        Set<String> tls13 = acceptedSuites(intermediate, "TLSv1.3");

        assertThat(tls12).isEqualTo(new TreeSet<>(INTERMEDIATE_TLS12_ECDSA));
        assertThat(tls13).isEqualTo(new TreeSet<>(TLS13));
    }

    @Test
    void modernProfile_acceptsOnlyTls13Suites() throws Exception {
        assertThat(acceptedSuites(modern, "TLSv1.2")).isEmpty();
        assertThat(acceptedSuites(modern, "TLSv1.3")).isEqualTo(new TreeSet<>(TLS13));
    }

    @Test
    void alpn_prefersH2_andOffersHttp11() throws Exception {
        assertThat(negotiate("h2", "http/1.1")).isEqualTo("h2");
        assertThat(negotiate("http/1.1", "h2")).as("the server's preference, h2 first").isEqualTo("h2");
        assertThat(negotiate("http/1.1")).isEqualTo("http/1.1");
        assertThat(negotiate("h2")).isEqualTo("h2");
    }

    @Test
    void alpn_opensslSeesH2() throws Exception {
        ToolResult r = sClient(intermediate.port(), "-alpn", "h2,http/1.1");

        assertThat(r.out()).as(r.toString()).contains("ALPN protocol: h2");
    }

    /** Every suite this JDK supports for {@code protocol}, offered alone: those the gateway took. */
    private static Set<String> acceptedSuites(GatewayProcess gw, String protocol) throws Exception {
        SSLContext ctx = Clients.trusting(gw.devCa());
        String[] supported = ctx.getSupportedSSLParameters().getCipherSuites();
        Set<String> accepted = new TreeSet<>();
        for (String suite : supported) {
            boolean tls13Suite = TLS13.contains(suite);
            if (suite.contains("SCSV") || tls13Suite != protocol.equals("TLSv1.3")) {
                continue;
            }
            try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", gw.port())) {
                SSLParameters p = s.getSSLParameters();
                p.setServerNames(List.of(new SNIHostName(HOST)));
                p.setProtocols(new String[] {protocol});
                p.setCipherSuites(new String[] {suite});
                s.setSSLParameters(p);
                s.setSoTimeout(20_000);
                s.startHandshake();
                accepted.add(s.getSession().getCipherSuite());
            } catch (IOException e) {
                // Refused by the gateway (or unusable with this key): not accepted.
            }
        }
        return accepted;
    }

    private static String negotiate(String... protocols) throws Exception {
        try (SSLSocket s = Clients.tls(intermediate.port(), HOST, intermediate.devCa(), protocols)) {
            return s.getApplicationProtocol();
        }
    }

    private static ToolResult sClient(int port, String... args) throws Exception {
        ToolResult.assumeInstalled("openssl");
        List<String> command = new java.util.ArrayList<>(List.of("openssl", "s_client", "-connect",
                "127.0.0.1:" + port, "-servername", HOST, "-CAfile", intermediate.devCa().toString()));
        command.addAll(Arrays.asList(args));
        return ToolResult.run(new ProcessBuilder(command), new byte[0], TOOL);
    }
}
