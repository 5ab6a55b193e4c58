package dev.pep.proxy.tls;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A local development CA for the quickstart: made once, kept in a directory, and used to issue
 * one server certificate for the configured hosts. Never for production: the CA key sits beside
 * the certificate.
 */
public final class DevelopmentCa {

    /** The CA certificate that clients must trust. */
    public static final String CA_FILE = "ca.pem";
    /** The server certificate chain, leaf first. */
    public static final String CERT_FILE = "server.pem";
    /** The server key, PKCS#8. */
    public static final String KEY_FILE = "server-key.pem";
    private static final String CA_KEY_FILE = "ca-key.pem";

    private final Path directory;
    private final Clock clock;
    private final SecureRandom random;

    /** A CA kept in {@code directory}. */
    public DevelopmentCa(Path directory, Clock clock, SecureRandom random) {
        this.directory = directory;
        this.clock = clock;
        this.random = random;
    }

    /**
     * Makes the CA and the server certificate unless both exist already.
     *
     * @return true when new files were written
     */
    public boolean ensure(List<String> hosts) throws IOException, GeneralSecurityException {
        if (Files.isReadable(caFile()) && Files.isReadable(certFile()) && Files.isReadable(keyFile())) {
            return false;
        }
        Files.createDirectories(directory);
        KeyPair caKeys = ecKeys();
        Instant now = clock.instant();
        X509Certificate ca = issueCa(caKeys, now);
        KeyPair serverKeys = ecKeys();
        X509Certificate server = issueServer(serverKeys, caKeys, ca, hosts, now);
        writePrivate(directory.resolve(CA_KEY_FILE), pem(new JcaPKCS8Generator(caKeys.getPrivate(), null)));
        writePrivate(keyFile(), pem(new JcaPKCS8Generator(serverKeys.getPrivate(), null)));
        Files.writeString(certFile(), pem(server) + pem(ca));
        Files.writeString(caFile(), pem(ca));
        return true;
    }

    /** The CA certificate file. */
    public Path caFile() {
        return directory.resolve(CA_FILE);
    }

    /** The server certificate chain file. */
    public Path certFile() {
        return directory.resolve(CERT_FILE);
    }

    /** The server key file. */
    public Path keyFile() {
        return directory.resolve(KEY_FILE);
    }

    private KeyPair ecKeys() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), random);
        return g.generateKeyPair();
    }

    private X509Certificate issueCa(KeyPair keys, Instant now) throws GeneralSecurityException {
        X500Name name = new X500Name("CN=pep development CA,O=pep quickstart");
        var b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(3650))), name, keys.getPublic());
        try {
            var ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
            return sign(b.build(signer(keys)));
        } catch (IOException | OperatorCreationException e) {
            throw new GeneralSecurityException("cannot issue the development CA", e);
        }
    }

    private X509Certificate issueServer(KeyPair keys, KeyPair caKeys, X509Certificate ca,
            List<String> hosts, Instant now) throws GeneralSecurityException {
        var b = new JcaX509v3CertificateBuilder(ca, serial(), Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(397))), new X500Name("CN=" + hosts.get(0)),
                keys.getPublic());
        GeneralName[] names = hosts.stream().map(h -> new GeneralName(GeneralName.dNSName, h))
                .toArray(GeneralName[]::new);
        try {
            var ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca));
            return sign(b.build(signer(caKeys)));
        } catch (IOException | OperatorCreationException e) {
            throw new GeneralSecurityException("cannot issue the development certificate", e);
        }
    }

    private BigInteger serial() {
        return new BigInteger(127, random).add(BigInteger.ONE);
    }

    private static ContentSigner signer(KeyPair keys) throws OperatorCreationException {
        return new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate());
    }

    private static X509Certificate sign(X509CertificateHolder holder) throws GeneralSecurityException {
        return new JcaX509CertificateConverter().getCertificate(holder);
    }

    private static String pem(Object o) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(o);
        }
        return w.toString();
    }

    private static void writePrivate(Path file, String content) throws IOException {
        Files.deleteIfExists(file);
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(file);
        }
        Files.writeString(file, content);
    }
}
