package dev.pep.proxy.connector;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * The gateway's internal CA for connectors, kept in the connectors state directory: it issues
 * each enrolled connector's client certificate (naming the connector) and the certificate of
 * the gateway's connector listener. Its certificate ({@value #CA_FILE}) is what connectors trust
 * as {@code gateway-ca}. Thread-safe after {@link #open}; the CA key never leaves the directory.
 */
public final class ConnectorCa {

    /** The CA certificate connectors trust. */
    public static final String CA_FILE = "ca.pem";
    private static final String CA_KEY_FILE = "ca-key.pem";
    private static final String LISTENER_FILE = "listener.pem";
    private static final String LISTENER_KEY_FILE = "listener-key.pem";
    private static final Duration LISTENER_LIFETIME = Duration.ofDays(397);

    private final Path directory;
    private final Clock clock;
    private final SecureRandom random;
    private final X509Certificate certificate;
    private final PrivateKey key;

    private ConnectorCa(Path directory, Clock clock, SecureRandom random, X509Certificate certificate,
            PrivateKey key) {
        this.directory = directory;
        this.clock = clock;
        this.random = random;
        this.certificate = certificate;
        this.key = key;
    }

    /** Opens the CA in {@code directory}, making it on first use. */
    public static ConnectorCa open(Path directory, Clock clock, SecureRandom random)
            throws IOException, GeneralSecurityException {
        Files.createDirectories(directory);
        Path caFile = directory.resolve(CA_FILE);
        Path keyFile = directory.resolve(CA_KEY_FILE);
        if (!Files.isReadable(caFile) || !Files.isReadable(keyFile)) {
            KeyPair keys = Pem.ecKeys(random);
            X509Certificate ca = issueCa(keys, clock.instant(), random);
            Pem.writePrivate(keyFile, Pem.encode(new JcaPKCS8Generator(keys.getPrivate(), null)));
            Pem.writeAtomically(caFile, Pem.encode(ca));
        }
        return new ConnectorCa(directory, clock, random, Pem.certificates(caFile).get(0),
                Pem.privateKey(keyFile));
    }

    /** The CA certificate. */
    public X509Certificate certificate() {
        return certificate;
    }

    /** The CA certificate file, the connectors' {@code gateway-ca}. */
    public Path caFile() {
        return directory.resolve(CA_FILE);
    }

    /** The connector listener's certificate chain file, leaf first. */
    public Path listenerCertificate() {
        return directory.resolve(LISTENER_FILE);
    }

    /** The connector listener's key file. */
    public Path listenerKey() {
        return directory.resolve(LISTENER_KEY_FILE);
    }

    /**
     * Makes the listener certificate unless a current one exists. It names {@code hosts} (DNS
     * names or IP addresses) and is good for TLS servers only, so no connector certificate can
     * stand in for it.
     */
    public void ensureListener(List<String> hosts) throws IOException, GeneralSecurityException {
        Path cert = listenerCertificate();
        if (Files.isReadable(cert) && Files.isReadable(listenerKey())) {
            X509Certificate current = Pem.certificates(cert).get(0);
            if (current.getNotAfter().toInstant().isAfter(clock.instant().plus(Duration.ofDays(30)))) {
                return;
            }
        }
        KeyPair keys = Pem.ecKeys(random);
        Instant now = clock.instant();
        var b = new JcaX509v3CertificateBuilder(certificate, serial(), Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(LISTENER_LIFETIME)), new X500Name("CN=pep gateway connector listener"),
                keys.getPublic());
        List<GeneralName> names = new ArrayList<>();
        for (String h : hosts) {
            boolean ip = h.matches("[0-9.]+") || h.contains(":");
            names.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, h));
        }
        try {
            var ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(names.toArray(GeneralName[]::new)));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
            X509Certificate leaf = convert(b.build(signer(key)));
            Pem.writePrivate(listenerKey(), Pem.encode(new JcaPKCS8Generator(keys.getPrivate(), null)));
            Pem.writeAtomically(cert, Pem.encode(leaf) + Pem.encode(certificate));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot issue the connector listener certificate", e);
        }
    }

    /**
     * Issues a connector's client certificate for a certificate request, after checking the
     * request's own signature (proof that the connector holds the key).
     *
     * @param csrPem a PKCS#10 request, PEM
     * @param name the connector's enrolled name; the certificate's subject CN
     * @param notAfter the end of the enrolment
     * @throws EnrolmentRefusedException {@code csr_invalid} when the request is unreadable or
     *     its signature does not verify
     */
    public X509Certificate issueConnector(String csrPem, String name, Instant notAfter)
            throws EnrolmentRefusedException, GeneralSecurityException {
        PublicKey publicKey = verifiedKey(csrPem);
        Instant now = clock.instant();
        Instant end = notAfter.isAfter(certificate.getNotAfter().toInstant())
                ? certificate.getNotAfter().toInstant() : notAfter;
        var b = new JcaX509v3CertificateBuilder(certificate, serial(), Date.from(now.minus(Duration.ofMinutes(5))),
                Date.from(end), subject(name), publicKey);
        try {
            var ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
            return convert(b.build(signer(key)));
        } catch (OperatorCreationException | IOException e) {
            throw new GeneralSecurityException("cannot issue a connector certificate", e);
        }
    }

    /** The connector name a certificate of this CA carries: its subject CN. */
    public static String connectorName(X509Certificate cert) {
        X500Name subject = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
        var rdns = subject.getRDNs(BCStyle.CN);
        return rdns.length == 0 ? "" : IETFUtils.valueToString(rdns[0].getFirst().getValue());
    }

    /** A certificate's serial number as the store keys it: lower-case hex. */
    public static String serial(X509Certificate cert) {
        return cert.getSerialNumber().toString(16);
    }

    /** Checks that a certificate request is readable and signed by its own key. */
    static void verifyRequest(String csrPem) throws EnrolmentRefusedException {
        verifiedKey(csrPem);
    }

    private static X500Name subject(String name) {
        return new X500Name("CN=" + name + ",O=pep connectors");
    }

    private static PublicKey verifiedKey(String csrPem) throws EnrolmentRefusedException {
        try (PEMParser parser = new PEMParser(new StringReader(csrPem))) {
            Object o = parser.readObject();
            if (!(o instanceof PKCS10CertificationRequest csr)) {
                throw new EnrolmentRefusedException("csr_invalid", "expected a PEM certificate request");
            }
            SubjectPublicKeyInfo info = csr.getSubjectPublicKeyInfo();
            String oid = info.getAlgorithm().getAlgorithm().getId();
            String algorithm = switch (oid) {
                case "1.2.840.10045.2.1" -> "EC";
                case "1.2.840.113549.1.1.1" -> "RSA";
                default -> null;
            };
            if (algorithm == null) {
                throw new EnrolmentRefusedException("csr_invalid", "expected an EC or RSA key, got " + oid);
            }
            PublicKey key = java.security.KeyFactory.getInstance(algorithm)
                    .generatePublic(new java.security.spec.X509EncodedKeySpec(info.getEncoded()));
            if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key))) {
                throw new EnrolmentRefusedException("csr_invalid", "the request's signature does not verify");
            }
            return key;
        } catch (IOException | OperatorCreationException | PKCSException | GeneralSecurityException
                | RuntimeException e) {
            throw new EnrolmentRefusedException("csr_invalid", "unreadable certificate request");
        }
    }

    private static X509Certificate issueCa(KeyPair keys, Instant now, SecureRandom random)
            throws GeneralSecurityException {
        X500Name name = new X500Name("CN=pep connector CA " + Long.toHexString(random.nextLong()) + ",O=pep");
        var b = new JcaX509v3CertificateBuilder(name, new BigInteger(127, random).add(BigInteger.ONE),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(3650))), name,
                keys.getPublic());
        try {
            var ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
            return convert(b.build(signer(keys.getPrivate())));
        } catch (IOException | OperatorCreationException e) {
            throw new GeneralSecurityException("cannot make the connector CA", e);
        }
    }

    private BigInteger serial() {
        return new BigInteger(127, random).add(BigInteger.ONE);
    }

    private static ContentSigner signer(PrivateKey key) throws OperatorCreationException {
        return new JcaContentSignerBuilder("SHA256withECDSA").build(key);
    }

    private static X509Certificate convert(X509CertificateHolder holder) throws GeneralSecurityException {
        return new JcaX509CertificateConverter().getCertificate(holder);
    }

    /** PEM files: keys, certificates, requests; private files written owner-only. */
    static final class Pem {

        private Pem() {
        }

        static KeyPair ecKeys(SecureRandom random) throws GeneralSecurityException {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), random);
            return g.generateKeyPair();
        }

        static String encode(Object o) throws IOException {
            StringWriter w = new StringWriter();
            try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
                pw.writeObject(o);
            }
            return w.toString();
        }

        static List<X509Certificate> certificates(Path file) throws IOException, GeneralSecurityException {
            try (var in = Files.newInputStream(file)) {
                List<X509Certificate> certs = new ArrayList<>();
                for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    certs.add((X509Certificate) c);
                }
                if (certs.isEmpty()) {
                    throw new GeneralSecurityException("no certificate in " + file);
                }
                return certs;
            }
        }

        static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
            try (Reader r = Files.newBufferedReader(file); PEMParser parser = new PEMParser(r)) {
                Object o = parser.readObject();
                if (o instanceof PrivateKeyInfo info) {
                    return new JcaPEMKeyConverter().getPrivateKey(info);
                }
                throw new GeneralSecurityException("no PKCS#8 private key in " + file);
            }
        }

        static void writePrivate(Path file, String content) throws IOException {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            try {
                Files.createFile(tmp,
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException e) {
                Files.createFile(tmp);
            }
            Files.writeString(tmp, content);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }

        static void writeAtomically(Path file, String content) throws IOException {
            Path tmp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp");
            Files.writeString(tmp, content);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }

        static List<String> localNames() {
            List<String> names = new ArrayList<>(List.of("localhost", "127.0.0.1", "::1"));
            try {
                names.add(InetAddress.getLocalHost().getHostName());
            } catch (IOException e) {
                // No resolvable host name: the connectors check the CA and purpose, not the name.
            }
            return names;
        }
    }
}
