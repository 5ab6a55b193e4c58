package dev.pep.proxy.connector;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pep.proxy.config.ConnectorConfig;
import dev.pep.proxy.server.Transport;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connector process ({@code pep connector --config FILE}): enrols once with its token, then
 * keeps one tunnel up to each configured gateway and serves the sessions the gateways open on
 * them. Start with {@link #start}; stop with {@link #close}.
 */
public final class ConnectorAgent implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectorAgent.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String KEY_FILE = "key.pem";
    static final String CERT_FILE = "certificate.pem";
    static final String ENROLMENT_FILE = "enrolment.json";

    private final EventLoopGroup group;
    private final List<GatewayLink> links;

    private ConnectorAgent(EventLoopGroup group, List<GatewayLink> links) {
        this.group = group;
        this.links = links;
    }

    /**
     * Enrols if the state directory holds no certificate, then starts the tunnels.
     *
     * @throws EnrolmentRefusedException when a gateway refuses the token (used, expired, unknown)
     */
    public static ConnectorAgent start(ConnectorConfig config) throws Exception {
        Path state = config.resolve(config.stateDirectory());
        Files.createDirectories(state);
        // LIMITATION(L-741): one gateway CA for every gateway the connector dials.
        X509Certificate gatewayCa = ConnectorCa.Pem.certificates(config.resolve(config.gatewayCa())).get(0);
        ConnectorTrust trust = new ConnectorTrust(gatewayCa, Clock.systemUTC(), null);
        if (!Files.isReadable(state.resolve(CERT_FILE))) {
            enrol(config, state, trust);
        }
        JsonNode enrolment = JSON.readTree(Files.readString(state.resolve(ENROLMENT_FILE)));
        Set<String> enrolled = new HashSet<>();
        enrolment.path("apps").forEach(a -> enrolled.add(a.asText()));
        String name = enrolment.path("name").asText();
        if (!name.equals(config.name())) {
            throw new EnrolmentRefusedException("name_mismatch", "the state directory holds connector '" + name
                    + "', not '" + config.name() + "'; give this connector its own state directory");
        }
        for (String app : config.apps().keySet()) {
            if (!enrolled.contains(app)) {
                LOG.warn("app configured but not enrolled, the gateway will not route it app={} enrolled={}", app,
                        enrolled);
            }
        }
        SslContext tls = SslContextBuilder.forClient()
                .keyManager(state.resolve(CERT_FILE).toFile(), state.resolve(KEY_FILE).toFile())
                .sslProvider(dev.pep.proxy.tls.TlsContexts.provider())
                .trustManager(trust).protocols("TLSv1.3", "TLSv1.2").build();
        SslContext appTls = SslContextBuilder.forClient().build();
        Transport transport = Transport.best();
        EventLoopGroup group = transport.group(0, "pep-connector");
        List<GatewayLink> links = new ArrayList<>();
        for (ConnectorConfig.GatewayAddress g : config.gateways()) {
            GatewayLink link = new GatewayLink(group, transport.socketChannel(), tls, g.address(),
                    new AppStreams(config.apps(), Set.copyOf(enrolled), transport.socketChannel(), appTls),
                    new SecureRandom());
            links.add(link);
            link.start();
        }
        LOG.info("connector started connector={} serial={} gateways={} apps={} enrolled={} expires={}", config.name(),
                enrolment.path("serial").asText(), config.gateways().size(), config.apps().keySet(), enrolled,
                enrolment.path("expires").isTextual() ? enrolment.path("expires").asText() : "never");
        return new ConnectorAgent(group, links);
    }

    /** Whether a tunnel to at least one gateway is up. */
    public boolean connected() {
        return links.stream().anyMatch(GatewayLink::up);
    }

    @Override
    public void close() {
        links.forEach(GatewayLink::close);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        LOG.info("connector stopped");
    }

    /** Generates a key, presents the token with a request, keeps what the gateway issues. */
    private static void enrol(ConnectorConfig config, Path state, ConnectorTrust trust) throws Exception {
        Path tokenFile = config.resolve(config.enrolmentTokenFile());
        if (!Files.isReadable(tokenFile)) {
            throw new IOException("not enrolled yet and cannot read the enrolment token file " + tokenFile);
        }
        String token = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
        KeyPair keys = ConnectorCa.Pem.ecKeys(new SecureRandom());
        ObjectNode body = JSON.createObjectNode();
        body.put("name", config.name());
        body.put("token", token);
        body.put("csr", request(config.name(), keys));
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, new TrustManager[] {trust}, new SecureRandom());
        HttpClient client = HttpClient.newBuilder().sslContext(ssl).version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        Backoff backoff = new Backoff(new SecureRandom());
        while (true) {
            for (ConnectorConfig.GatewayAddress g : config.gateways()) {
                HttpResponse<String> r;
                try {
                    URI enrol = URI.create("https://" + g.address() + TunnelProtocol.ENROL_PATH);
                    r = client.send(HttpRequest.newBuilder(enrol)
                            .timeout(Duration.ofSeconds(30)).header("content-type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                            HttpResponse.BodyHandlers.ofString());
                } catch (ConnectException | java.net.http.HttpConnectTimeoutException e) {
                    LOG.warn("gateway unreachable for enrolment, trying again gateway={} error={}", g.address(),
                            e.toString());
                    continue;
                }
                JsonNode answer = JSON.readTree(r.body());
                if (r.statusCode() != 200) {
                    throw new EnrolmentRefusedException(answer.path("error").asText("enrolment_refused"),
                            answer.path("message").asText("the gateway refused the enrolment"));
                }
                ConnectorCa.Pem.writePrivate(state.resolve(KEY_FILE),
                        ConnectorCa.Pem.encode(new JcaPKCS8Generator(keys.getPrivate(), null)));
                ObjectNode kept = JSON.createObjectNode();
                kept.put("name", answer.path("name").asText());
                kept.put("serial", answer.path("serial").asText());
                kept.set("apps", answer.path("apps"));
                kept.set("expires", answer.path("expires"));
                kept.put("gateway", g.address());
                ConnectorCa.Pem.writeAtomically(state.resolve(ENROLMENT_FILE), kept.toString());
                // The certificate last: its presence is what says "enrolled".
                ConnectorCa.Pem.writeAtomically(state.resolve(CERT_FILE), answer.path("certificate").asText());
                LOG.info("connector enrolled connector={} serial={} apps={} gateway={}", config.name(),
                        kept.path("serial").asText(), kept.path("apps"), g.address());
                return;
            }
            Thread.sleep(backoff.next().toMillis());
        }
    }

    private static String request(String name, KeyPair keys) throws GeneralSecurityException, IOException {
        try {
            var csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + name), keys.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));
            return ConnectorCa.Pem.encode(csr);
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign the certificate request", e);
        }
    }
}
