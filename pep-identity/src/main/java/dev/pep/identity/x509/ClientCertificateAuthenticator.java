package dev.pep.identity.x509;

import dev.pep.core.AuthenticationMethod;
import dev.pep.core.AuthenticationResult;
import dev.pep.core.Authenticator;
import dev.pep.core.Credentials;
import dev.pep.core.Subject;
import dev.pep.identity.IdentityReasons;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates TLS client certificates against one partner CA bundle.
 *
 * <p>The chain is validated by {@link ChainValidator} (BouncyCastle's PKIX) at the request's
 * time, with the bundle's CRLs when it has any (no network fetches: no OCSP, no CRL distribution
 * points); the leaf must allow client authentication. The subject is mapped from certificate
 * fields. Which requests a bundle applies to (the app hosts of its configuration entry) is the
 * caller's choice. The bundle is read from {@code trust} at each request, so a reloaded bundle
 * applies from the next one; a chain found valid under a bundle is not validated again under it
 * for up to a minute ({@link ValidChains}). Thread-safe; never throws.
 */
public final class ClientCertificateAuthenticator implements Authenticator {

    private static final Logger LOG = LoggerFactory.getLogger(ClientCertificateAuthenticator.class);

    private final Supplier<TrustBundle> trust;
    private final IdField idField;
    private final ValidChains valid = new ValidChains();

    /**
     * An authenticator.
     *
     * @param trust the bundle in force at each call (for example {@link TrustBundleFiles#current})
     * @param idField which field becomes the subject id
     */
    public ClientCertificateAuthenticator(Supplier<TrustBundle> trust, IdField idField) {
        this.trust = Objects.requireNonNull(trust, "trust");
        this.idField = Objects.requireNonNull(idField, "idField");
    }

    /** An authenticator over a bundle that never changes. */
    public static ClientCertificateAuthenticator of(TrustBundle bundle, IdField idField) {
        Objects.requireNonNull(bundle, "bundle");
        return new ClientCertificateAuthenticator(() -> bundle, idField);
    }

    @Override
    public AuthenticationResult authenticate(Credentials credentials) {
        List<X509Certificate> chain = credentials.peerCertificates();
        if (chain.isEmpty()) {
            return new AuthenticationResult.NotPresented();
        }
        try {
            TrustBundle bundle = trust.get();
            if (!valid.contains(chain, bundle, credentials.time())) {
                ChainValidator.Result verdict = ChainValidator.validate(chain, bundle,
                        credentials.time());
                if (!verdict.valid()) {
                    LOG.debug("client certificate refused outcome={} detail={} host={}",
                            verdict.outcome(), verdict.detail(), credentials.host());
                    return reject(reason(verdict.outcome()), credentials.host());
                }
                valid.add(chain, bundle, credentials.time());
            }
            return map(chain.get(0), credentials);
        } catch (RuntimeException e) {
            LOG.warn("client certificate check failed internally error={}", e.getClass().getName());
            return new AuthenticationResult.Rejected(
                    IdentityReasons.of(IdentityReasons.IDENTITY_ERROR));
        }
    }

    /** The reason code of each way a chain can fail. */
    static String reason(ChainValidator.Outcome outcome) {
        return switch (outcome) {
            case UNTRUSTED -> IdentityReasons.CERTIFICATE_UNTRUSTED;
            case EXPIRED -> IdentityReasons.CERTIFICATE_EXPIRED;
            case NOT_YET_VALID -> IdentityReasons.CERTIFICATE_NOT_YET_VALID;
            case WRONG_USAGE -> IdentityReasons.CERTIFICATE_WRONG_USAGE;
            case CHAIN_INVALID -> IdentityReasons.CERTIFICATE_CHAIN_INVALID;
            case REVOKED -> IdentityReasons.CERTIFICATE_REVOKED;
            case REVOCATION_UNKNOWN -> IdentityReasons.CERTIFICATE_REVOCATION_UNKNOWN;
            case VALID -> throw new IllegalArgumentException("a valid chain has no reason");
        };
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
