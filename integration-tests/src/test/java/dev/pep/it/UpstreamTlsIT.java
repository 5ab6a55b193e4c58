package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pep.it.RecordingUpstream.Mode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * TLS from the gateway to {@code https://} applications: the gateway trusts the CA bundle named
 * by {@code tls.upstream-ca}, checks that the certificate names the upstream's host, presents
 * its client certificate ({@code tls.upstream-client-certificates}) to the apps named for it,
 * and on any failure answers 502 {@code upstream_tls_failed} without the application reading a
 * byte of the request.
 */
class UpstreamTlsIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    static RecordingUpstream good;
    static RecordingUpstream wrongName;
    static RecordingUpstream untrusted;
    static RecordingUpstream mutual;
    static GatewayProcess gateway;
    static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        TestCa apps = TestCa.create("apps CA");
        TestCa stranger = TestCa.create("stranger CA");
        apps.writePem(dir.resolve("apps-ca.pem"));
        good = RecordingUpstream.startTls(Mode.ANSWER, apps.serverContext("127.0.0.1", "localhost"));
        wrongName = RecordingUpstream.startTls(Mode.ANSWER, apps.serverContext("other.example"));
        untrusted = RecordingUpstream.startTls(Mode.ANSWER, stranger.serverContext("127.0.0.1"));
        TestCa gatewayClients = TestCa.create("gateway clients CA");
        gatewayClients.writeClient("pep-gateway", dir.resolve("gateway-client.pem"), dir.resolve("gateway-client-key.pem"));
        mutual = RecordingUpstream.startMutualTls(Mode.ANSWER, apps.mutualServerContext(gatewayClients, "127.0.0.1"));
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-upstream-tls")
                .replace("tls:\n", """
                        tls:
                          upstream-ca: apps-ca.pem
                          upstream-client-certificates:
                            - apps: [tls-mutual]
                              certificate: gateway-client.pem
                              key: gateway-client-key.pem
                        """) + """
                apps:
                  tls-good:
                    hosts: [tls-good.pep.localhost]
                    upstream: %s
                    access: public
                  tls-wrong-name:
                    hosts: [tls-wrong-name.pep.localhost]
                    upstream: %s
                    access: public
                  tls-untrusted:
                    hosts: [tls-untrusted.pep.localhost]
                    upstream: %s
                    access: public
                  tls-mutual:
                    hosts: [tls-mutual.pep.localhost]
                    upstream: %4$s
                    access: public
                  tls-mutual-bare:
                    hosts: [tls-mutual-bare.pep.localhost]
                    upstream: %4$s
                    access: public
                """.formatted(good.url(), wrongName.url(), untrusted.url(), mutual.url()));
        client = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, good, wrongName, untrusted, mutual);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"HTTP_1_1", "HTTP_2"})
    void trustedCertificateNamingTheHost_requestReachesTheApp(String version) throws Exception {
        HttpResponse<String> r = assertReaches(version, "tls-good", good, "/over-tls", "sealed");

        assertThat(r.headers().firstValue("x-upstream")).hasValue("recording");
        assertThat(good.url()).startsWith("https://");
    }

    @Test
    void certificateForAnotherName_502UpstreamTlsFailed_appSawNothing() throws Exception {
        assertRefused("tls-wrong-name", wrongName);
    }

    @Test
    void certificateFromAnUntrustedCa_502UpstreamTlsFailed_appSawNothing() throws Exception {
        assertRefused("tls-untrusted", untrusted);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"HTTP_1_1", "HTTP_2"})
    void appRequiringAClientCertificate_acceptsTheGatewaysCertificate(String version) throws Exception {
        assertReaches(version, "tls-mutual", mutual, "/mutual", "both sides proven");
    }

    @Test
    void appRequiringAClientCertificate_appWithoutOne_502UpstreamTlsFailed_appReadNothing() throws Exception {
        assertRefused("tls-mutual-bare", mutual);

        await().atMost(Duration.ofSeconds(10)).until(() -> gateway.stderr()
                .contains("upstream tls failed app=tls-mutual-bare"));
    }

    @Test
    void clientKey_inNoLogLine() throws Exception {
        String key = java.nio.file.Files.readString(dir.resolve("gateway-client-key.pem"));
        String body = key.substring(key.indexOf('\n') + 1, key.indexOf('\n') + 41);

        assertThat(gateway.stdout() + gateway.stderr()).doesNotContain(body);
    }

    /** POSTs {@code body} to the app over {@code version}: 200, and the upstream got it as sent. */
    private static HttpResponse<String> assertReaches(String version, String app, RecordingUpstream upstream,
            String path, String body) throws Exception {
        upstream.clear();
        HttpClient c = Clients.http(gateway.devCa(), HttpClient.Version.valueOf(version));

        HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(url(app, path)))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> upstream.requests().size() == 1);
        assertThat(upstream.requests().get(0).requestLine()).isEqualTo("POST " + path + " HTTP/1.1");
        assertThat(new String(upstream.requests().get(0).body())).isEqualTo(body);
        return r;
    }

    private static void assertRefused(String app, RecordingUpstream upstream) throws Exception {
        upstream.clear();

        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url(app, "/secret")))
                .POST(HttpRequest.BodyPublishers.ofString("do-not-send")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(r.statusCode()).as(r.body()).isEqualTo(502);
        JsonNode error = JSON.readTree(r.body());
        assertThat(error.get("error").asText()).isEqualTo("upstream_tls_failed");
        assertThat(r.body()).doesNotContain("other.example").doesNotContain("stranger");
        assertThat(upstream.connections()).as("the handshake was attempted").isGreaterThanOrEqualTo(1);
        assertThat(upstream.heads()).as("not a byte of the request reached the app").isEmpty();
        assertThat(upstream.requests()).isEmpty();
    }

    private static String url(String app, String path) {
        return "https://" + app + ".pep.localhost:" + gateway.port() + path;
    }
}
