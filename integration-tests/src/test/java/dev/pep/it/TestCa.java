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
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
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
 * A throwaway certificate authority for fixture servers and partner clients: EC P-256 keys,
 * one-day certificates.
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
        return Files.writeString(file, pem("CERTIFICATE", certificate.getEncoded()));
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /**
     * Writes a client-authentication certificate for the DN {@code subject}, issued by this CA, to
     * {@code cert} and its PKCS#8 key to {@code key} (owner-only: libpq refuses a key others may
     * read), both PEM.
     */
    void writeClient(String subject, Path cert, Path key) throws Exception {
        KeyPair leafKeys = ecKeys();
        X509Certificate leaf = sign(subject, leafKeys, name, keys, false, null);
        Files.writeString(cert, pem("CERTIFICATE", leaf.getEncoded()));
        Files.writeString(key, pem("PRIVATE KEY", leafKeys.getPrivate().getEncoded()));
        Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    }

    /**
     * A server SSLContext whose certificate, issued by this CA, names {@code names}: IP addresses
     * become iPAddress entries, anything else a dNSName.
     */
    SSLContext serverContext(String... names) throws Exception {
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
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
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
        if (!ca) {
            // No names: a client certificate; names: a server certificate for them.
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(san == null
                    ? KeyPurposeId.id_kp_clientAuth : KeyPurposeId.id_kp_serverAuth));
        }
        if (!ca && san != null) {
            b.addExtension(Extension.subjectAlternativeName, false, san);
        }
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate())));
    }
}
