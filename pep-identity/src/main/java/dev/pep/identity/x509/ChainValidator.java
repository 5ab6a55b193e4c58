package dev.pep.identity.x509;

import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertStore;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * Validates a TLS client's certificate chain against a {@link TrustBundle} with BouncyCastle's
 * PKIX (RFC 5280) path validation: signatures, validity at the given time, issuer chaining, basic
 * constraints and path length, CA key usage, name constraints, policies, unknown critical
 * extensions and, when the bundle has CRLs, revocation by those CRLs only (no OCSP, no CRL
 * download). The leaf must also be usable for TLS client authentication. Failures are told
 * apart into an {@link Outcome}, so every refusal can carry its own reason.
 *
 * <p>BouncyCastle runs through a provider instance of its own that is never registered with
 * {@link java.security.Security}: the JDK's TLS stack keeps the providers it had. Thread-safe;
 * never throws.
 */
public final class ChainValidator {

    /** The BouncyCastle provider this class validates with; never registered globally. */
    private static final Provider BC = new BouncyCastleProvider();
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String ANY_USAGE = "2.5.29.37.0";
    private static final int DIGITAL_SIGNATURE = 0;
    private static final int KEY_AGREEMENT = 4;

    private ChainValidator() {
    }

    /**
     * Judges {@code chain} (leaf first, as the client sent it; CA certificates of the bundle at
     * its end are ignored) against {@code bundle} at {@code now}.
     */
    public static Result validate(List<X509Certificate> chain, TrustBundle bundle, Instant now) {
        Objects.requireNonNull(bundle, "bundle");
        Objects.requireNonNull(now, "now");
        if (chain == null || chain.isEmpty()) {
            return Result.of(Outcome.UNTRUSTED, "no certificate");
        }
        try {
            return judge(withoutAnchors(chain, bundle), bundle, now);
        } catch (GeneralSecurityException | RuntimeException e) {
            // Fail closed: a chain BouncyCastle cannot even read is not trusted.
            return Result.of(Outcome.UNTRUSTED, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    /**
     * The checks in order, cheapest first; BouncyCastle's path validation has the last word and
     * is the only one that can accept. A path it refuses is told apart after the fact.
     */
    private static Result judge(List<X509Certificate> path, TrustBundle bundle, Instant now)
            throws GeneralSecurityException {
        X509Certificate top = path.get(path.size() - 1);
        if (namedAnchors(top, bundle).isEmpty()) {
            return Result.of(Outcome.UNTRUSTED, "no trusted CA named " + top.getIssuerX500Principal());
        }
        Result time = validity(path, now);
        if (time != null) {
            return time;
        }
        String usage = clientAuthUsage(path.get(0));
        if (usage != null) {
            return Result.of(Outcome.WRONG_USAGE, usage);
        }
        Date at = Date.from(now);
        boolean revocation = !bundle.crls().isEmpty();
        try {
            pkix(path, bundle, at, revocation);
            return Result.of(Outcome.VALID, "");
        } catch (CertPathValidatorException refused) {
            if (!signedByAnchor(top, bundle)) {
                return Result.of(Outcome.UNTRUSTED, "not signed by the trusted CA of that name");
            }
            if (!revocation) {
                return Result.of(Outcome.CHAIN_INVALID, refused.getMessage());
            }
            return afterRevocationRefusal(path, bundle, at, refused);
        }
    }

    /** Revocation was on: was it the path itself, a revoked certificate, or no usable CRL? */
    private static Result afterRevocationRefusal(List<X509Certificate> path, TrustBundle bundle,
            Date at, CertPathValidatorException refused) throws GeneralSecurityException {
        try {
            pkix(path, bundle, at, false);
        } catch (CertPathValidatorException structural) {
            return Result.of(Outcome.CHAIN_INVALID, structural.getMessage());
        }
        for (int i = 0; i < path.size(); i++) {
            X509Certificate cert = path.get(i);
            if (revokedBy(cert, issuerKeys(path, i, bundle), bundle.crls())) {
                return Result.of(Outcome.REVOKED, "serial " + cert.getSerialNumber().toString(16)
                        + " of " + cert.getIssuerX500Principal());
            }
        }
        // No current CRL of an issuer on the path (expired, missing or badly signed): fail closed.
        return Result.of(Outcome.REVOCATION_UNKNOWN, refused.getMessage());
    }

    private static void pkix(List<X509Certificate> path, TrustBundle bundle, Date at,
            boolean revocation) throws GeneralSecurityException {
        PKIXParameters params = new PKIXParameters(bundle.anchors());
        params.setDate(at);
        // LIMITATION(L-203): revocation only from configured CRL files; no OCSP, no CRL fetch.
        params.setRevocationEnabled(revocation);
        if (revocation) {
            params.addCertStore(CertStore.getInstance("Collection",
                    new CollectionCertStoreParameters(bundle.crls()), BC));
        }
        CertPath certPath = CertificateFactory.getInstance("X.509", BC).generateCertPath(path);
        CertPathValidator.getInstance("PKIX", BC).validate(certPath, params);
    }

    /** Each certificate on the path must be valid at {@code now}, the leaf's reason first. */
    private static Result validity(List<X509Certificate> path, Instant now) {
        Date at = Date.from(now);
        for (X509Certificate cert : path) {
            try {
                cert.checkValidity(at);
            } catch (CertificateExpiredException e) {
                return Result.of(Outcome.EXPIRED, cert.getSubjectX500Principal() + " expired "
                        + cert.getNotAfter().toInstant());
            } catch (CertificateNotYetValidException e) {
                return Result.of(Outcome.NOT_YET_VALID, cert.getSubjectX500Principal()
                        + " valid from " + cert.getNotBefore().toInstant());
            }
        }
        return null;
    }

    /**
     * RFC 5280 section 4.2.1.12: a leaf that names extended key usages must name client
     * authentication (or any usage), and one that names key usages must allow signing or key
     * agreement, which TLS client authentication needs. Null when it may.
     */
    private static String clientAuthUsage(X509Certificate leaf) {
        try {
            List<String> extended = leaf.getExtendedKeyUsage();
            if (extended != null && !extended.contains(CLIENT_AUTH) && !extended.contains(ANY_USAGE)) {
                return "extended key usage " + extended + " lacks client authentication";
            }
        } catch (CertificateParsingException e) {
            return "unreadable extended key usage";
        }
        boolean[] usage = leaf.getKeyUsage();
        if (usage != null && !usage[DIGITAL_SIGNATURE] && !(usage.length > KEY_AGREEMENT
                && usage[KEY_AGREEMENT])) {
            return "key usage allows neither digitalSignature nor keyAgreement";
        }
        return null;
    }

    /** A client may send its CA too; the path to validate ends below the trust anchor. */
    private static List<X509Certificate> withoutAnchors(List<X509Certificate> chain,
            TrustBundle bundle) {
        List<X509Certificate> path = new ArrayList<>(chain);
        while (path.size() > 1 && bundle.anchors().stream()
                .anyMatch(a -> path.get(path.size() - 1).equals(a.getTrustedCert()))) {
            path.remove(path.size() - 1);
        }
        return path;
    }

    private static List<TrustAnchor> namedAnchors(X509Certificate cert, TrustBundle bundle) {
        return bundle.anchors().stream()
                .filter(a -> a.getTrustedCert().getSubjectX500Principal()
                        .equals(cert.getIssuerX500Principal()))
                .toList();
    }

    private static boolean signedByAnchor(X509Certificate top, TrustBundle bundle) {
        return namedAnchors(top, bundle).stream().anyMatch(a -> verifies(top, a));
    }

    private static boolean verifies(X509Certificate cert, TrustAnchor anchor) {
        try {
            cert.verify(anchor.getTrustedCert().getPublicKey(), BC);
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** The certificates that may have signed {@code path[i]}'s CRL: its issuer on the path. */
    private static List<X509Certificate> issuerKeys(List<X509Certificate> path, int i,
            TrustBundle bundle) {
        if (i + 1 < path.size()) {
            return List.of(path.get(i + 1));
        }
        return namedAnchors(path.get(i), bundle).stream().map(TrustAnchor::getTrustedCert).toList();
    }

    /** Whether a CRL of the certificate's issuer, signed by that issuer, lists it. */
    private static boolean revokedBy(X509Certificate cert, List<X509Certificate> issuers,
            List<X509CRL> crls) {
        for (X509CRL crl : crls) {
            if (!crl.getIssuerX500Principal().equals(cert.getIssuerX500Principal())
                    || crl.getRevokedCertificate(cert) == null) {
                continue;
            }
            for (X509Certificate issuer : issuers) {
                try {
                    crl.verify(issuer.getPublicKey(), BC);
                    return true;
                } catch (GeneralSecurityException e) {
                    // Not this issuer's signature: a forged list revokes nothing.
                }
            }
        }
        return false;
    }

    /** What became of a chain. */
    public enum Outcome {
        /** Every check passed. */
        VALID,
        /** No CA of the bundle issued it (unknown CA, forged issuer name, unreadable chain). */
        UNTRUSTED,
        /** A certificate on the path is past its notAfter. */
        EXPIRED,
        /** A certificate on the path is before its notBefore. */
        NOT_YET_VALID,
        /** The leaf's key usages do not allow TLS client authentication. */
        WRONG_USAGE,
        /** The path breaks RFC 5280: an issuer that is no CA, path length, name constraints... */
        CHAIN_INVALID,
        /** A CRL of the bundle lists a certificate of the path. */
        REVOKED,
        /** Revocation is checked, but no current CRL of an issuer on the path is at hand. */
        REVOCATION_UNKNOWN
    }

    /**
     * A verdict.
     *
     * @param outcome what became of the chain
     * @param detail why, for a DEBUG line (certificate names and BouncyCastle's message, no keys);
     *     empty when valid
     */
    public record Result(Outcome outcome, String detail) {

        /** Validates. */
        public Result {
            Objects.requireNonNull(outcome, "outcome");
            detail = detail == null ? "" : detail;
        }

        static Result of(Outcome outcome, String detail) {
            return new Result(outcome, detail);
        }

        /** Whether the chain is valid. */
        public boolean valid() {
            return outcome == Outcome.VALID;
        }
    }
}
