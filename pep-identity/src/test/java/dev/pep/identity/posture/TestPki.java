package dev.pep.identity.posture;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A device-management CA made with BouncyCastle for the posture tests. */
final class TestPki {

    static final String ASSET_TAG_OID = "1.3.6.1.4.1.55555.1.1";
    private static final AtomicLong SERIALS = new AtomicLong(System.currentTimeMillis());

    final KeyPair caKeys = keys();
    final X509Certificate ca;

    TestPki(String caName) {
        ca = issue(new X500Name(caName), caKeys.getPrivate(), new X500Name(caName),
                caKeys, true, Instant.now().minus(Duration.ofDays(1)), Duration.ofDays(365), null,
                null, true);
    }

    static KeyPair keys() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(256);
            return g.generateKeyPair();
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A device certificate for {@code deviceCn}, valid from {@code notBefore} for {@code life}. */
    X509Certificate device(String deviceCn, Instant notBefore, Duration life, String sanUri,
            String assetTag) {
        return issue(new X500Name("CN=" + deviceCn + ",O=Northwind Devices"), caKeys.getPrivate(),
                X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()), keys(), false,
                notBefore, life, sanUri, assetTag, true);
    }

    /** A currently valid device certificate. */
    X509Certificate device(String deviceCn) {
        return device(deviceCn, Instant.now().minus(Duration.ofHours(1)), Duration.ofDays(30),
                "urn:device:" + deviceCn, "AT-" + deviceCn);
    }

    /** A device certificate whose key usage names only server authentication. */
    X509Certificate serverOnly(String deviceCn) {
        return issue(new X500Name("CN=" + deviceCn), caKeys.getPrivate(),
                X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()), keys(), false,
                Instant.now().minus(Duration.ofHours(1)), Duration.ofDays(30), null, null, false);
    }

    /** A server certificate for 127.0.0.1 and its keys. */
    Issued loopbackServer() {
        KeyPair k = keys();
        return new Issued(issue(new X500Name("CN=127.0.0.1"), caKeys.getPrivate(),
                X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()), k, false,
                Instant.now().minus(Duration.ofHours(1)), Duration.ofDays(1), null, null, false,
                new GeneralName(GeneralName.iPAddress, "127.0.0.1")), k);
    }

    /** A client certificate and its keys. */
    Issued client(String cn) {
        KeyPair k = keys();
        return new Issued(issue(new X500Name("CN=" + cn), caKeys.getPrivate(),
                X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()), k, false,
                Instant.now().minus(Duration.ofHours(1)), Duration.ofDays(1), null, null, true), k);
    }

    record Issued(X509Certificate certificate, KeyPair keys) {
    }

    X509CRL crl(X509Certificate... revoked) {
        try {
            Instant now = Instant.now();
            var builder = new X509v2CRLBuilder(
                    X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()),
                    Date.from(now.minus(Duration.ofMinutes(5))));
            builder.setNextUpdate(Date.from(now.plus(Duration.ofDays(1))));
            for (X509Certificate c : revoked) {
                builder.addCRLEntry(c.getSerialNumber(), Date.from(now.minus(Duration.ofMinutes(1))),
                        CRLReason.keyCompromise);
            }
            return new JcaX509CRLConverter().getCRL(builder.build(
                    new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static X509Certificate issue(X500Name subject, PrivateKey signer, X500Name issuer,
            KeyPair subjectKeys, boolean ca, Instant notBefore, Duration life, String sanUri,
            String assetTag, boolean clientAuth, GeneralName... names) {
        try {
            var b = new JcaX509v3CertificateBuilder(issuer,
                    BigInteger.valueOf(SERIALS.incrementAndGet()), Date.from(notBefore),
                    Date.from(notBefore.plus(life)), subject, subjectKeys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(ca
                    ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature));
            if (!ca) {
                b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(clientAuth
                        ? KeyPurposeId.id_kp_clientAuth : KeyPurposeId.id_kp_serverAuth));
            }
            if (sanUri != null) {
                b.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier,
                                sanUri)));
            }
            if (names.length > 0) {
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
            }
            if (assetTag != null) {
                b.addExtension(new ASN1ObjectIdentifier(ASSET_TAG_OID), false,
                        new DERUTF8String(assetTag));
            }
            return new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
