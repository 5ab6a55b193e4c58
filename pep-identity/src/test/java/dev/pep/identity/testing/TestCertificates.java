package dev.pep.identity.testing;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.RSAKey;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Certificates for tests, made with BouncyCastle. */
public final class TestCertificates {

    private TestCertificates() {
    }

    public static KeyPair ecKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(256);
            return generator.generateKeyPair();
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static X509Certificate selfSigned(RSAKey key) {
        try {
            return issue("CN=attacker", key.toPublicKey(), new X500Name("CN=attacker"),
                    key.toPrivateKey(),
                    true, null, "SHA256withRSA");
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    public static X509Certificate ca(String dn, KeyPair keys) {
        return issue(dn, keys.getPublic(), new X500Name(dn), keys.getPrivate(), true, null,
                "SHA256withECDSA");
    }

    public static X509Certificate leaf(String dn, PublicKey key, X509Certificate issuer,
            PrivateKey issuerKey, String email) {
        return issue(dn, key, X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()),
                issuerKey, false, email, "SHA256withECDSA");
    }

    /** A CRL of {@code ca} revoking {@code revoked}. */
    public static java.security.cert.X509CRL crl(X509Certificate ca, PrivateKey caKey,
            X509Certificate... revoked) {
        try {
            Instant now = Instant.now();
            var builder = new org.bouncycastle.cert.X509v2CRLBuilder(
                    X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()),
                    Date.from(now.minus(Duration.ofMinutes(5))));
            builder.setNextUpdate(Date.from(now.plus(Duration.ofDays(1))));
            for (X509Certificate cert : revoked) {
                builder.addCRLEntry(cert.getSerialNumber(), Date.from(now.minus(Duration.ofMinutes(1))),
                        org.bouncycastle.asn1.x509.CRLReason.keyCompromise);
            }
            var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(caKey);
            return new org.bouncycastle.cert.jcajce.JcaX509CRLConverter()
                    .getCRL(builder.build(signer));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static X509Certificate issue(String dn, PublicKey key, X500Name issuerDn, PrivateKey signer,
            boolean ca, String email, String algorithm) {
        try {
            Instant now = Instant.now();
            var builder = new JcaX509v3CertificateBuilder(issuerDn,
                    BigInteger.valueOf(now.toEpochMilli()).add(BigInteger.valueOf(dn.hashCode())),
                    Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(now.plus(Duration.ofDays(30))), new X500Name(dn), key);
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            int usage = ca ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature;
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(usage));
            if (email != null) {
                builder.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(new GeneralName(GeneralName.rfc822Name, email)));
            }
            var signerBuilder = new JcaContentSignerBuilder(algorithm).build(signer);
            return new JcaX509CertificateConverter().getCertificate(builder.build(signerBuilder));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
