package dev.pep.it;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * Real clients pointed at the gateway: the JDK HttpClient trusting only the development CA, curl
 * and {@code openssl s_client} as processes. Names resolve through the test hosts file.
 */
final class Clients {

    static final Duration TOOL_TIMEOUT = Duration.ofSeconds(30);

    private Clients() {
    }

    /** A GET of {@code uri}, with {@code Authorization: Bearer TOKEN} unless {@code bearer} is null. */
    static HttpResponse<String> get(HttpClient client, URI uri, String bearer)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri);
        if (bearer != null) {
            request.header("Authorization", "Bearer " + bearer);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** An SSLContext that trusts exactly the CA certificates in {@code caPem} (one or more). */
    static SSLContext trusting(Path caPem) throws IOException, GeneralSecurityException {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(caPem)) {
            int i = 0;
            for (var ca : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trust.setCertificateEntry("ca-" + i++, ca);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /**
     * A TLS socket to the gateway on 127.0.0.1, handshake done, trusting only {@code caPem}, with
     * {@code sni} as server name and {@code alpn} offered (none when empty).
     */
    static SSLSocket tls(int port, String sni, Path caPem, String... alpn)
            throws IOException, GeneralSecurityException {
        return tls(trusting(caPem), port, sni, alpn);
    }

    /** As {@link #tls(int, String, Path, String...)} with the client's own TLS context. */
    static SSLSocket tls(SSLContext context, int port, String sni, String... alpn) throws IOException {
        SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
        SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(sni)));
        p.setEndpointIdentificationAlgorithm("HTTPS");
        if (alpn.length > 0) {
            p.setApplicationProtocols(alpn);
        }
        s.setSSLParameters(p);
        s.setSoTimeout((int) TOOL_TIMEOUT.toMillis());
        s.startHandshake();
        return s;
    }

    /** A JDK client that prefers {@code version} (HTTP/2 is negotiated by ALPN). */
    static HttpClient http(Path caPem, HttpClient.Version version) throws IOException, GeneralSecurityException {
        return HttpClient.newBuilder()
                .sslContext(trusting(caPem))
                .version(version)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
    }

    /**
     * Runs curl against the gateway with the dev CA and {@code --resolve} for {@code host}; the
     * last stdout line is {@code <http_version> <status>}.
     */
    static ToolResult curl(Path caPem, String host, int port, String... args)
            throws IOException, InterruptedException {
        ToolResult.assumeInstalled("curl");
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20",
                "--cacert", caPem.toString(), "--resolve", host + ":" + port + ":127.0.0.1",
                "-w", "\n%{http_version} %{http_code}"));
        command.addAll(List.of(args));
        return ToolResult.run(new ProcessBuilder(command), new byte[0], TOOL_TIMEOUT);
    }

    /**
     * Sends raw bytes over TLS with {@code openssl s_client -quiet} (which keeps reading after its
     * stdin ends), so the tool exits only when the gateway closes the connection: a result that
     * timed out means the gateway kept the connection open.
     */
    static ToolResult openssl(int port, String sni, byte[] request, Duration timeout)
            throws IOException, InterruptedException {
        ToolResult.assumeInstalled("openssl");
        ProcessBuilder pb = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-servername", sni, "-quiet");
        return ToolResult.run(pb, request, timeout);
    }
}
