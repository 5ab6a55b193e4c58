package dev.pep.it;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throwaway certificate authority for fixture servers and clients: EC P-256 keys, one-day
 * certificates.
 * Thread-safe (immutable after creation).
 */
final class TestCa {

    private final String name;
    private final KeyPair keys;
    private final X509Certificate certificate;

    private TestCa(String name, KeyPair keys, X509Certificate certificate) {
        this.name = name;
        this.keys = keys;
        this.certificate = certificate;
    }

    /** A new self-signed CA called {@code cn}. */
    static TestCa create(String cn) throws GeneralSecurityException, OperatorCreationException, IOException {
        KeyPair keys = ecKeys();
        String name = "CN=" + cn;
        X509Certificate cert = sign(name, keys, name, keys, true, null);
        return new TestCa(name, keys, cert);
    }

    /** Writes this CA's certificate as PEM to {@code file}. */
    Path writePem(Path file) throws IOException, GeneralSecurityException {
        return Files.writeString(file, "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder().encodeToString(certificate.getEncoded())
                + "\n-----END CERTIFICATE-----\n");
    }

    /**
     * A server SSLContext whose certificate, issued by this CA, names {@code names}: IP addresses
     * become iPAddress entries, anything else a dNSName.
     */
    SSLContext serverContext(String... names) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(keyManagers(names), null, null);
        return ctx;
    }

    /**
     * A server SSLContext as {@link #serverContext} that trusts client certificates issued by
     * {@code clients} (used with a server socket that requires one).
     */
    SSLContext mutualServerContext(TestCa clients, String... names) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("clients", clients.certificate);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(keyManagers(names), tmf.getTrustManagers(), null);
        return ctx;
    }

    /**
     * Issues a client-authentication certificate for {@code cn} and writes it (leaf then this CA)
     * to {@code chainFile} and its unencrypted PKCS#8 key to {@code keyFile}.
     */
    void writeClient(String cn, Path chainFile, Path keyFile) throws Exception {
        KeyPair leafKeys = ecKeys();
        X509Certificate leaf = sign("CN=" + cn, leafKeys, name, keys, false, null);
        Files.writeString(chainFile, pem("CERTIFICATE", leaf.getEncoded()) + pem("CERTIFICATE",
                certificate.getEncoded()));
        Files.writeString(keyFile, pem("PRIVATE KEY", leafKeys.getPrivate().getEncoded()));
    }

    private KeyManager[] keyManagers(String... names) throws Exception {
        KeyPair leafKeys = ecKeys();
        GeneralName[] san = new GeneralName[names.length];
        for (int i = 0; i < names.length; i++) {
            boolean ip = names[i].matches("[0-9.]+");
            san[i] = new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, names[i]);
        }
        X509Certificate leaf = sign("CN=" + names[0], leafKeys, name, keys, false, new GeneralNames(san));
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        char[] password = "fixture".toCharArray();
        store.setKeyEntry("server", leafKeys.getPrivate(), password, new Certificate[] {leaf, certificate});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, password);
        return kmf.getKeyManagers();
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static KeyPair ecKeys() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        return g.generateKeyPair();
    }

    private static X509Certificate sign(String subject, KeyPair subjectKeys, String issuer, KeyPair issuerKeys,
            boolean ca, GeneralNames san) throws GeneralSecurityException, OperatorCreationException, IOException {
        Instant now = Instant.now().minus(Duration.ofMinutes(5));
        var b = new JcaX509v3CertificateBuilder(new X500Name(issuer), BigInteger.valueOf(System.nanoTime()),
                Date.from(now), Date.from(now.plus(Duration.ofDays(1))), new X500Name(subject),
                subjectKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(ca
                ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature));
        if (!ca && san == null) {
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
        } else if (!ca) {
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectAlternativeName, false, san);
        }
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate())));
    }
}
