package dev.pep.proxy.connector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConnectorCaTest {

    private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
    private final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);

    @TempDir
    Path dir;

    @Test
    void issueConnector_validRequest_namesTheConnectorForClientsOnly() throws Exception {
        ConnectorCa ca = ConnectorCa.open(dir, clock, new SecureRandom());
        KeyPair keys = ConnectorCa.Pem.ecKeys(new SecureRandom());

        X509Certificate cert = ca.issueConnector(csr("anything", keys), "depot-1", NOW.plus(Duration.ofDays(30)));

        assertThat(ConnectorCa.connectorName(cert)).isEqualTo("depot-1");
        assertThat(cert.getPublicKey()).isEqualTo(keys.getPublic());
        assertThat(cert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        assertThat(cert.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(30)));
        cert.verify(ca.certificate().getPublicKey());
    }

    @Test
    void issueConnector_requestSignedByAnotherKey_refusedCsrInvalid() throws Exception {
        ConnectorCa ca = ConnectorCa.open(dir, clock, new SecureRandom());
        KeyPair keys = ConnectorCa.Pem.ecKeys(new SecureRandom());
        KeyPair other = ConnectorCa.Pem.ecKeys(new SecureRandom());
        var forged = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), keys.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(other.getPrivate()));

        assertThatThrownBy(() -> ca.issueConnector(ConnectorCa.Pem.encode(forged), "depot-1", NOW.plusSeconds(60)))
                .isInstanceOfSatisfying(EnrolmentRefusedException.class,
                        e -> assertThat(e.reason()).isEqualTo("csr_invalid"));
        assertThatThrownBy(() -> ca.issueConnector("not pem", "depot-1", NOW.plusSeconds(60)))
                .isInstanceOfSatisfying(EnrolmentRefusedException.class,
                        e -> assertThat(e.reason()).isEqualTo("csr_invalid"));
    }

    @Test
    void open_twice_keepsTheSameCa_andListenerIsForServersOnly() throws Exception {
        ConnectorCa first = ConnectorCa.open(dir, clock, new SecureRandom());
        first.ensureListener(List.of("localhost", "127.0.0.1"));
        ConnectorCa second = ConnectorCa.open(dir, clock, new SecureRandom());

        assertThat(second.certificate()).isEqualTo(first.certificate());
        X509Certificate listener = ConnectorCa.Pem.certificates(first.listenerCertificate()).get(0);
        assertThat(listener.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
        listener.verify(first.certificate().getPublicKey());
    }

    @Test
    void trust_connectorCertificateAsServer_refused() throws Exception {
        ConnectorCa ca = ConnectorCa.open(dir, clock, new SecureRandom());
        X509Certificate connector = ca.issueConnector(csr("c", ConnectorCa.Pem.ecKeys(new SecureRandom())),
                "depot-1", NOW.plusSeconds(3600));
        ConnectorTrust trust = new ConnectorTrust(ca.certificate(), clock, null);

        // A connector's certificate cannot pose as the gateway's listener.
        assertThatThrownBy(() -> trust.checkServerTrusted(new X509Certificate[] {connector}, "ECDHE_ECDSA"))
                .hasMessageContaining("connector listener");
    }

    @Test
    void trust_listenerOfAnotherCa_refused() throws Exception {
        ConnectorCa ours = ConnectorCa.open(dir.resolve("ours"), clock, new SecureRandom());
        ConnectorCa theirs = ConnectorCa.open(dir.resolve("theirs"), clock, new SecureRandom());
        theirs.ensureListener(List.of("localhost"));
        X509Certificate listener = ConnectorCa.Pem.certificates(theirs.listenerCertificate()).get(0);

        // Pins L-741: a connector trusts exactly one gateway CA.
        assertThatThrownBy(() -> new ConnectorTrust(ours.certificate(), clock, null)
                .checkServerTrusted(new X509Certificate[] {listener}, "ECDHE_ECDSA"))
                .hasMessageContaining("not issued by the connector CA");
    }

    static String csr(String cn, KeyPair keys) throws Exception {
        var csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + cn), keys.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));
        return ConnectorCa.Pem.encode(csr);
    }
}
