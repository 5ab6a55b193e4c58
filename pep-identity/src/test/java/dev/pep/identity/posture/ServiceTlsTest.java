package dev.pep.identity.posture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.pep.core.DevicePosture;
import dev.pep.core.PostureSignal;
import dev.pep.core.Subject;
import dev.pep.identity.testing.MutableClock;
import dev.pep.identity.testing.TestCredentials;
import dev.pep.identity.x509.TrustBundle;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The posture service over mutual TLS: a real HTTPS server on loopback that needs a client certificate. */
class ServiceTlsTest {

    static final TestPki SERVICE_PKI = new TestPki("CN=Fleet Service CA");
    static final TestPki DEVICES = new TestPki("CN=Fleet Device CA");

    @TempDir
    Path dir;
    HttpsServer server;

    @BeforeEach
    void start() throws Exception {
        TestPki.Issued serverCert = SERVICE_PKI.loopbackServer();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("server", serverCert.keys().getPrivate(), new char[0],
                new Certificate[] {serverCert.certificate()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", SERVICE_PKI.ca);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(ctx) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = ctx.getDefaultSSLParameters();
                p.setNeedClientAuth(true);
                params.setSSLParameters(p);
            }
        });
        server.createContext("/devices/", exchange -> {
            String device = exchange.getRequestURI().getPath().substring("/devices/".length());
            byte[] body = ("{\"device_id\":\"" + device + "\",\"signals\":{\"compliant\":true}}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    Path write(String name, String content) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    DevicePosture ask(SSLContext tls) {
        MutableClock clock = MutableClock.atRealNow();
        var certificates = new DeviceCertificateProvider(new DeviceCertificateProvider.Config("certs",
                TrustBundle.of(List.of(DEVICES.ca), List.of()),
                DeviceCertificateProvider.DeviceIdField.SUBJECT_CN, Map.of()), clock, Runnable::run);
        var bindings = new DeviceBindings(SessionKeys.perConnection(), List.of(certificates), clock,
                Duration.ofHours(1), 100);
        var config = new PostureServiceProvider.Config("fleet", "https://127.0.0.1:"
                + server.getAddress().getPort() + "/devices/{device-id}", Optional::empty,
                Duration.ofSeconds(3), Duration.ofMinutes(1), Duration.ofMinutes(10));
        var provider = new PostureServiceProvider(config, bindings,
                HttpClient.newBuilder().sslContext(tls).build(), clock, Runnable::run);
        List<PostureSignal> signals = provider.assess(Subject.anonymous(), TestCredentials.of(
                "h.example", Map.of(), List.of(DEVICES.device("laptop-5")), Instant.now()))
                .toCompletableFuture().join();
        return PostureAssessor.merge(signals);
    }

    @Test
    void context_clientCertificateFromPemFiles_serviceAnswers() throws Exception {
        TestPki.Issued client = SERVICE_PKI.client("pep-gateway");
        Path cert = write("client.pem", TestPki.pem("CERTIFICATE", client.certificate().getEncoded()));
        Path key = write("client-key.pem", TestPki.pem("PRIVATE KEY",
                client.keys().getPrivate().getEncoded()));
        Path ca = write("service-ca.pem", TestPki.pem("CERTIFICATE", SERVICE_PKI.ca.getEncoded()));

        DevicePosture posture = ask(ServiceTls.context(cert, key, ca));

        assertThat(posture.signal("service.status").map(PostureSignal::value)).contains("valid");
        assertThat(posture.signal("compliant").map(PostureSignal::value)).contains(true);
    }

    @Test
    void context_withoutClientCertificate_serviceRefusesSoUnavailable() throws Exception {
        Path ca = write("service-ca.pem", TestPki.pem("CERTIFICATE", SERVICE_PKI.ca.getEncoded()));

        DevicePosture posture = ask(ServiceTls.context(null, null, ca));

        assertThat(posture.signal("service.status").map(PostureSignal::value)).contains("unavailable");
        assertThat(posture.signals()).doesNotContainKey("compliant");
    }

    @Test
    void context_keyFileWithoutKey_refusedNamingFileNotContent() throws Exception {
        TestPki.Issued client = SERVICE_PKI.client("pep-gateway");
        Path cert = write("client.pem", TestPki.pem("CERTIFICATE", client.certificate().getEncoded()));
        Path notAKey = write("not-a-key.pem", TestPki.pem("CERTIFICATE",
                client.certificate().getEncoded()));

        assertThatThrownBy(() -> ServiceTls.context(cert, notAKey, null))
                .hasMessageContaining("not-a-key.pem").hasMessageNotContaining("BEGIN");
    }
}
