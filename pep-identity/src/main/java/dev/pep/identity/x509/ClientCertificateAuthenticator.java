package dev.pep.identity.x509;

import dev.pep.core.AuthenticationMethod;
import dev.pep.core.AuthenticationResult;
import dev.pep.core.Authenticator;
import dev.pep.core.Credentials;
import dev.pep.core.Subject;
import dev.pep.identity.IdentityReasons;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertStore;
import java.security.cert.CertificateFactory;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXParameters;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates TLS client certificates against the partner CAs trusted for the app's host.
 *
 * <p>The chain is validated with the JDK's PKIX validator at the request's time, with the
 * bundle's CRLs when it has any (no network fetches: no OCSP, no CRL distribution points); the leaf
 * must allow client authentication when it names extended key usages. The subject is mapped from
 * certificate fields. A host without a bundle does not take part ({@code NotPresented}).
 * Thread-safe; never throws.
 */
public final class ClientCertificateAuthenticator implements Authenticator {

    private static final Logger LOG = LoggerFactory.getLogger(ClientCertificateAuthenticator.class);
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String ANY_USAGE = "2.5.29.37.0";

    private final Map<String, TrustBundle> bundlesByHost;
    private final IdField idField;

    /**
     * An authenticator.
     *
     * @param bundlesByHost the trust bundle of each app host (lower case)
     * @param idField which field becomes the subject id
     */
    public ClientCertificateAuthenticator(Map<String, TrustBundle> bundlesByHost, IdField idField) {
        this.bundlesByHost = Map.copyOf(bundlesByHost);
        this.idField = Objects.requireNonNull(idField, "idField");
    }

    @Override
    public AuthenticationResult authenticate(Credentials credentials) {
        List<X509Certificate> chain = credentials.peerCertificates();
        TrustBundle bundle = bundlesByHost.get(credentials.host().toLowerCase(Locale.ROOT));
        if (chain.isEmpty() || bundle == null) {
            return new AuthenticationResult.NotPresented();
        }
        try {
            String problem = validate(chain, bundle, credentials.time());
            if (problem != null) {
                return reject(problem, credentials.host());
            }
            return map(chain.get(0), credentials);
        } catch (RuntimeException e) {
            LOG.warn("client certificate check failed internally error={}", e.getClass().getName());
            return new AuthenticationResult.Rejected(
                    IdentityReasons.of(IdentityReasons.IDENTITY_ERROR));
        }
    }

    private static String validate(List<X509Certificate> chain, TrustBundle bundle,
            java.time.Instant now) {
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            PKIXParameters params = new PKIXParameters(bundle.anchors());
            params.setDate(Date.from(now));
            // LIMITATION(L-203): revocation only from configured CRL files; no OCSP, no CRL fetch.
            params.setRevocationEnabled(!bundle.crls().isEmpty());
            if (!bundle.crls().isEmpty()) {
                params.addCertStore(CertStore.getInstance("Collection",
                        new CollectionCertStoreParameters(bundle.crls())));
            }
            CertPathValidator.getInstance("PKIX").validate(factory.generateCertPath(chain), params);
        } catch (CertPathValidatorException e) {
            return e.getReason() == CertPathValidatorException.BasicReason.REVOKED
                    ? IdentityReasons.CERTIFICATE_REVOKED : IdentityReasons.CERTIFICATE_UNTRUSTED;
        } catch (GeneralSecurityException e) {
            return IdentityReasons.CERTIFICATE_UNTRUSTED;
        }
        return allowsClientAuth(chain.get(0)) ? null : IdentityReasons.CERTIFICATE_UNTRUSTED;
    }

    private static boolean allowsClientAuth(X509Certificate leaf) {
        try {
            List<String> usages = leaf.getExtendedKeyUsage();
            return usages == null || usages.contains(CLIENT_AUTH) || usages.contains(ANY_USAGE);
        } catch (java.security.cert.CertificateParsingException e) {
            return false;
        }
    }

    private AuthenticationResult map(X509Certificate leaf, Credentials credentials) {
        X500Name subject = X500Name.getInstance(leaf.getSubjectX500Principal().getEncoded());
        String email = sanEmail(leaf).orElse("");
        String id = switch (idField) {
            case COMMON_NAME -> first(subject, BCStyle.CN);
            case SAN_EMAIL -> email;
            case SUBJECT_DN -> leaf.getSubjectX500Principal().getName();
        };
        if (id.isEmpty()) {
            return reject(IdentityReasons.CERTIFICATE_UNMAPPED, credentials.host());
        }
        Set<String> units = values(subject, BCStyle.OU);
        Subject mapped = new Subject(id, leaf.getIssuerX500Principal().getName(),
                first(subject, BCStyle.O), units, Set.of(), email, Map.of(),
                AuthenticationMethod.CLIENT_CERTIFICATE, credentials.time());
        return new AuthenticationResult.Authenticated(mapped,
                Optional.of(leaf.getNotAfter().toInstant()));
    }

    private static Optional<String> sanEmail(X509Certificate leaf) {
        try {
            Collection<List<?>> names = leaf.getSubjectAlternativeNames();
            if (names == null) {
                return Optional.empty();
            }
            // Type 1 is rfc822Name (RFC 5280, section 4.2.1.6).
            return names.stream().filter(n -> Integer.valueOf(1).equals(n.get(0)))
                    .map(n -> (String) n.get(1)).findFirst();
        } catch (java.security.cert.CertificateParsingException e) {
            return Optional.empty();
        }
    }

    private static String first(X500Name name, ASN1ObjectIdentifier type) {
        RDN[] rdns = name.getRDNs(type);
        return rdns.length == 0 ? "" : IETFUtils.valueToString(rdns[0].getFirst().getValue());
    }

    private static Set<String> values(X500Name name, ASN1ObjectIdentifier type) {
        return java.util.Arrays.stream(name.getRDNs(type))
                .map(r -> IETFUtils.valueToString(r.getFirst().getValue()))
                .collect(Collectors.toUnmodifiableSet());
    }

    private static AuthenticationResult reject(String code, String host) {
        LOG.debug("client certificate rejected reason={} host={}", code, host);
        return new AuthenticationResult.Rejected(IdentityReasons.of(code));
    }

    /** Which certificate field becomes {@link Subject#id()}. */
    public enum IdField {
        /** The subject's common name (CN). */
        COMMON_NAME,
        /** The first e-mail address among the subject alternative names. */
        SAN_EMAIL,
        /** The whole subject distinguished name (RFC 2253). */
        SUBJECT_DN
    }
}
