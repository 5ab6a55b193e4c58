package dev.pep.identity.x509;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CRL;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The partner CAs one app trusts for client certificates, with their revocation lists.
 *
 * @param anchors the trusted CA certificates
 * @param crls certificate revocation lists; when empty, revocation is not checked
 */
public record TrustBundle(Set<TrustAnchor> anchors, List<X509CRL> crls) {

    /** Validates and copies. */
    public TrustBundle {
        anchors = Set.copyOf(anchors);
        if (anchors.isEmpty()) {
            throw new IllegalArgumentException("trust bundle has no CA certificates");
        }
        crls = List.copyOf(crls);
    }

    /** A bundle of these CA certificates and CRLs. */
    public static TrustBundle of(Collection<X509Certificate> cas, List<X509CRL> crls) {
        return new TrustBundle(cas.stream().map(c -> new TrustAnchor(c, null))
                .collect(Collectors.toUnmodifiableSet()), crls);
    }

    /**
     * Reads a PEM bundle of CA certificates and CRL files (PEM or DER).
     *
     * @throws IOException naming the file when it cannot be read or parsed
     */
    public static TrustBundle load(Path caBundle, List<Path> crlFiles) throws IOException {
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            List<X509Certificate> cas = new ArrayList<>();
            try (InputStream in = Files.newInputStream(caBundle)) {
                for (Certificate c : factory.generateCertificates(in)) {
                    cas.add((X509Certificate) c);
                }
            }
            List<X509CRL> crls = new ArrayList<>();
            for (Path file : crlFiles) {
                try (InputStream in = Files.newInputStream(file)) {
                    Collection<? extends CRL> read = factory.generateCRLs(in);
                    if (read.isEmpty()) {
                        // An empty file (one being rewritten, or truncated) reads as no CRL at all:
                        // taken as is, it would quietly end revocation checks, so it is an error.
                        throw new IOException("cannot read trust bundle " + caBundle + ": no CRL in " + file);
                    }
                    for (CRL crl : read) {
                        crls.add((X509CRL) crl);
                    }
                }
            }
            return of(cas, crls);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IOException("cannot read trust bundle " + caBundle + ": " + e.getMessage(), e);
        }
    }
}
