package dev.pep.identity.testing;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralSubtree;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.NameConstraints;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates and CRLs for chain tests, made with BouncyCastle: {@link #ca} and {@link #leaf}
 * start a builder whose defaults make a valid certificate; each {@code with…} breaks one thing.
 */
public final class TestPki {

    private static final AtomicLong SERIALS = new AtomicLong(System.currentTimeMillis());

    private TestPki() {
    }

    /** A CA: keys, certificate. */
    public record Ca(KeyPair keys, X509Certificate cert) {
        /** Starts a certificate this CA issues. */
        public Builder issue(String dn) {
            return new Builder(dn, this);
        }

        /** A CRL of this CA listing {@code revoked}, current for a day. */
        public X509CRL crl(X509Certificate... revoked) {
            Instant now = Instant.now();
            return crl(now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)), keys, revoked);
        }

        /** A CRL in this CA's name for that time, signed by {@code signer}. */
        public X509CRL crl(Instant thisUpdate, Instant nextUpdate, KeyPair signer,
                X509Certificate... revoked) {
            try {
                var b = new X509v2CRLBuilder(name(cert), Date.from(thisUpdate));
                b.setNextUpdate(Date.from(nextUpdate));
                for (X509Certificate c : revoked) {
                    b.addCRLEntry(c.getSerialNumber(), Date.from(thisUpdate), CRLReason.keyCompromise);
                }
                return new JcaX509CRLConverter().getCRL(b.build(
                        new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** A self-signed root CA. */
    public static Ca root(String dn) {
        KeyPair keys = TestCertificates.ecKeyPair();
        return new Ca(keys, new Builder(dn, null).ca(-1).build(keys));
    }

    /** One certificate; by default a client-authentication leaf valid from an hour ago for 30 days. */
    public static final class Builder {
        private final String dn;
        private final Ca issuer;
        private Instant notBefore = Instant.now().minus(Duration.ofHours(1));
        private Instant notAfter = Instant.now().plus(Duration.ofDays(30));
        private BasicConstraints constraints = new BasicConstraints(false);
        private boolean withConstraints = true;
        private int keyUsage = KeyUsage.digitalSignature;
        private KeyPurposeId[] purposes = {KeyPurposeId.id_kp_clientAuth};
        private NameConstraints nameConstraints;
        private String email;

        Builder(String dn, Ca issuer) {
            this.dn = dn;
            this.issuer = issuer;
        }

        /** A CA certificate; {@code pathLength} below zero: no limit. */
        public Builder ca(int pathLength) {
            constraints = pathLength < 0 ? new BasicConstraints(true) : new BasicConstraints(pathLength);
            keyUsage = KeyUsage.keyCertSign | KeyUsage.cRLSign;
            purposes = null;
            return this;
        }

        /** A certificate that may sign certificates but says it is no CA (or says nothing). */
        public Builder signingButNotCa(boolean omitBasicConstraints) {
            constraints = new BasicConstraints(false);
            withConstraints = !omitBasicConstraints;
            keyUsage = KeyUsage.keyCertSign | KeyUsage.cRLSign;
            purposes = null;
            return this;
        }

        public Builder validity(Instant from, Instant to) {
            notBefore = from;
            notAfter = to;
            return this;
        }

        public Builder purposes(KeyPurposeId... ids) {
            purposes = ids;
            return this;
        }

        public Builder keyUsage(int bits) {
            keyUsage = bits;
            return this;
        }

        /** Only subjects under {@code permittedDn} may be issued below this CA. */
        public Builder permitted(String permittedDn) {
            nameConstraints = new NameConstraints(new GeneralSubtree[] {new GeneralSubtree(
                    new GeneralName(new X500Name(permittedDn)))}, null);
            return this;
        }

        public Builder email(String address) {
            email = address;
            return this;
        }

        /** Issues it for a fresh key. */
        public X509Certificate build() {
            return build(TestCertificates.ecKeyPair());
        }

        /** Issues it as a CA that can issue further. */
        public Ca buildCa() {
            KeyPair keys = TestCertificates.ecKeyPair();
            return new Ca(keys, build(keys));
        }

        X509Certificate build(KeyPair subject) {
            try {
                X500Name issuerName = issuer == null ? new X500Name(dn) : name(issuer.cert());
                var b = new JcaX509v3CertificateBuilder(issuerName,
                        BigInteger.valueOf(SERIALS.incrementAndGet()), Date.from(notBefore),
                        Date.from(notAfter), new X500Name(dn), subject.getPublic());
                if (withConstraints) {
                    b.addExtension(Extension.basicConstraints, true, constraints);
                }
                b.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
                if (purposes != null) {
                    b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes));
                }
                if (nameConstraints != null) {
                    b.addExtension(Extension.nameConstraints, true, nameConstraints);
                }
                if (email != null) {
                    b.addExtension(Extension.subjectAlternativeName, false,
                            new org.bouncycastle.asn1.x509.GeneralNames(
                                    new GeneralName(GeneralName.rfc822Name, email)));
                }
                KeyPair signer = issuer == null ? subject : issuer.keys();
                return new JcaX509CertificateConverter().getCertificate(b.build(
                        new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static X500Name name(X509Certificate cert) {
        return X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
    }
}
