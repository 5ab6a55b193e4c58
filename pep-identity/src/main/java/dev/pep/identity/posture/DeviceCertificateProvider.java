package dev.pep.identity.posture;

import dev.pep.core.Credentials;
import dev.pep.core.PostureProvider;
import dev.pep.core.PostureSignal;
import dev.pep.core.Subject;
import dev.pep.identity.x509.ChainValidator;
import dev.pep.identity.x509.TrustBundle;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import org.bouncycastle.asn1.ASN1Boolean;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A device certificate: a TLS client certificate issued by a device-management CA (not the user's
 * identity). A chain that validates to the configured CAs at the request's time, unrevoked by
 * the configured CRLs, marks the device managed; its issuer, subject, serial, validity, device id
 * and chosen extensions become {@code certificate.*} signals. Anything else yields only
 * {@code certificate.status} (absent, expired, not_yet_valid, revoked, untrusted).
 *
 * <p>The TLS layer proved possession of the key; this class judges the chain. Verdicts are cached
 * per chain for at most {@link #VERDICT_TTL}. Thread-safe; never throws from {@link #assess}.
 */
public final class DeviceCertificateProvider implements PostureProvider {

    /** How long a chain's verdict is reused before it is validated again. */
    static final Duration VERDICT_TTL = Duration.ofSeconds(60);
    private static final Logger LOG = LoggerFactory.getLogger(DeviceCertificateProvider.class);

    private final Config config;
    private final Clock clock;
    private final Executor executor;
    private final AtomicReference<TrustBundle> bundle;
    private volatile BoundedStore<Verdict> verdicts = new BoundedStore<>(10_000, VERDICT_TTL);

    /**
     * A provider.
     *
     * @param config the CAs and what to read from the certificate; {@link #trust} replaces its
     *     bundle
     * @param clock the time chains are judged at
     * @param executor where chains are validated (CPU work kept off the caller's thread)
     */
    public DeviceCertificateProvider(Config config, Clock clock, Executor executor) {
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.executor = Objects.requireNonNull(executor, "executor");
        this.bundle = new AtomicReference<>(config.bundle());
    }

    /**
     * Judges chains by these CAs and CRLs from now on (a reloaded bundle): verdicts reached under
     * the previous one are forgotten, so a certificate revoked in a new CRL is unmanaged from the
     * next assessment.
     */
    public void trust(TrustBundle next) {
        bundle.set(Objects.requireNonNull(next, "next"));
        verdicts = new BoundedStore<>(10_000, VERDICT_TTL);
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public CompletionStage<List<PostureSignal>> assess(Subject subject, Credentials credentials) {
        return CompletableFuture.supplyAsync(() -> signals(verify(credentials)), executor);
    }

    /**
     * Judges the request's client certificate chain now, on the calling thread; never throws.
     */
    public Verdict verify(Credentials credentials) {
        List<X509Certificate> chain = credentials.peerCertificates();
        Instant now = clock.instant();
        if (chain.isEmpty()) {
            return Verdict.of(PostureSignals.ABSENT, now);
        }
        try {
            String key = thumbprint(chain);
            // Read once: a verdict judged under a bundle is stored only with that bundle's cache.
            BoundedStore<Verdict> cache = verdicts;
            TrustBundle trusted = bundle.get();
            Verdict cached = cache.get(key, now);
            if (cached != null && cached.at().plus(VERDICT_TTL).isAfter(now)) {
                return cached;
            }
            Verdict fresh = judge(chain, trusted, now);
            cache.compute(key, now, (k, old) -> fresh);
            return fresh;
        } catch (RuntimeException | GeneralSecurityException e) {
            LOG.warn("device certificate check failed internally provider={} error={}",
                    config.name(), e.getClass().getName());
            return Verdict.of(PostureSignals.ERROR, now);
        }
    }

    private Verdict judge(List<X509Certificate> chain, TrustBundle trusted, Instant now) {
        // LIMITATION(L-501): revocation only from the configured CRL files; no OCSP, no fetching.
        ChainValidator.Result result = ChainValidator.validate(chain, trusted, now);
        if (!result.valid()) {
            String status = status(result.outcome());
            LOG.debug("device certificate refused provider={} status={} detail={}", config.name(),
                    status, result.detail());
            return Verdict.of(status, now);
        }
        X509Certificate leaf = chain.get(0);
        Optional<String> deviceId = deviceId(leaf);
        return new Verdict(PostureSignals.VALID, deviceId, attributes(leaf, deviceId), now);
    }

    /** The {@code certificate.status} of a refused chain. */
    private static String status(ChainValidator.Outcome outcome) {
        return switch (outcome) {
            case EXPIRED -> PostureSignals.EXPIRED;
            case NOT_YET_VALID -> PostureSignals.NOT_YET_VALID;
            case REVOKED -> PostureSignals.REVOKED;
            default -> PostureSignals.UNTRUSTED;
        };
    }

    private Optional<String> deviceId(X509Certificate leaf) {
        String id = switch (config.deviceId()) {
            case SUBJECT_CN -> commonName(leaf);
            case SAN_URI -> subjectAltName(leaf, 6);
            case SAN_DNS -> subjectAltName(leaf, 2);
            case SERIAL -> leaf.getSerialNumber().toString(16);
        };
        return id == null || id.isBlank() ? Optional.empty() : Optional.of(id);
    }

    private Map<String, Object> attributes(X509Certificate leaf, Optional<String> deviceId) {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("issuer", leaf.getIssuerX500Principal().getName());
        a.put("subject", leaf.getSubjectX500Principal().getName());
        a.put("serial", leaf.getSerialNumber().toString(16));
        a.put("not_before", leaf.getNotBefore().toInstant().toString());
        a.put("not_after", leaf.getNotAfter().toInstant().toString());
        a.put("sha256", hex(sha256(encoded(leaf))));
        deviceId.ifPresent(id -> a.put("device_id", id));
        config.extensions().forEach((name, oid) -> extension(leaf, oid)
                .ifPresent(v -> a.put(name, v)));
        return a;
    }

    private List<PostureSignal> signals(Verdict verdict) {
        String source = config.name();
        List<PostureSignal> out = new ArrayList<>();
        out.add(PostureSignals.signal(PostureSignals.CERTIFICATE_STATUS, verdict.status(), source,
                verdict.at()));
        if (!verdict.valid()) {
            return out;
        }
        out.add(PostureSignals.signal(PostureSignals.MANAGED, true, source, verdict.at()));
        verdict.deviceId().ifPresent(id -> out.add(
                PostureSignals.signal(PostureSignals.DEVICE_ID, id, source, verdict.at())));
        verdict.attributes().forEach((name, value) -> out.add(PostureSignals.signal(
                PostureSignals.CERTIFICATE_PREFIX + name, value, source, verdict.at())));
        return out;
    }

    private static String commonName(X509Certificate leaf) {
        RDN[] cns = X500Name.getInstance(leaf.getSubjectX500Principal().getEncoded())
                .getRDNs(BCStyle.CN);
        return cns.length == 0 ? null : IETFUtils.valueToString(cns[0].getFirst().getValue());
    }

    private static String subjectAltName(X509Certificate leaf, int type) {
        try {
            Collection<List<?>> names = leaf.getSubjectAlternativeNames();
            if (names == null) {
                return null;
            }
            return names.stream().filter(n -> Integer.valueOf(type).equals(n.get(0)))
                    .map(n -> String.valueOf(n.get(1))).findFirst().orElse(null);
        } catch (CertificateParsingException e) {
            return null;
        }
    }

    private static Optional<String> extension(X509Certificate leaf, String oid) {
        byte[] raw = leaf.getExtensionValue(oid);
        if (raw == null) {
            return Optional.empty();
        }
        try {
            ASN1Primitive value = JcaX509ExtensionUtils.parseExtensionValue(raw);
            if (value instanceof ASN1String s) {
                return Optional.of(s.getString());
            }
            if (value instanceof ASN1Integer i) {
                return Optional.of(i.getValue().toString());
            }
            if (value instanceof ASN1Boolean b) {
                return Optional.of(String.valueOf(b.isTrue()));
            }
            return Optional.of(hex(value.getEncoded()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The SHA-256 over the chain's encodings: the cache key of a verdict. */
    private static String thumbprint(List<X509Certificate> chain) throws GeneralSecurityException {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (X509Certificate c : chain) {
            sha.update(c.getEncoded());
        }
        return hex(sha.digest());
    }

    /** The SHA-256 of a certificate's DER encoding. */
    static byte[] sha256(byte[] der) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(der);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    static byte[] encoded(X509Certificate cert) {
        try {
            return cert.getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException("a parsed certificate encodes", e);
        }
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }

    /** Which certificate field holds the device id. */
    public enum DeviceIdField {
        /** The subject's common name. */
        SUBJECT_CN,
        /** The first URI subject alternative name, for example {@code urn:device:1234}. */
        SAN_URI,
        /** The first DNS subject alternative name. */
        SAN_DNS,
        /** The serial number, lower-case hex. */
        SERIAL
    }

    /**
     * What a device certificate provider trusts and reads.
     *
     * @param name the provider's name, recorded as the source of its signals
     * @param bundle the device-management CAs and their CRLs
     * @param deviceId which field holds the device id
     * @param extensions extensions to read, by signal name ({@code certificate.NAME}) to OID
     */
    public record Config(String name, TrustBundle bundle, DeviceIdField deviceId,
            Map<String, String> extensions) {

        /** Validates and copies. */
        public Config {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(bundle, "bundle");
            Objects.requireNonNull(deviceId, "deviceId");
            extensions = Map.copyOf(extensions);
            extensions.forEach((n, oid) -> {
                if (!PostureSignals.validName(n) || n.contains(".")) {
                    throw new IllegalArgumentException("extension name '" + n
                            + "': expected lower-case letters, digits, '_' or '-'");
                }
                if (!oid.matches("[0-2](\\.[0-9]+)+")) {
                    throw new IllegalArgumentException("extension " + n + ": '" + oid
                            + "' is not an OID like 1.3.6.1.4.1.99999.1");
                }
            });
        }
    }

    /**
     * The judgement of one chain.
     *
     * @param status {@code valid} or why not
     * @param deviceId the device id when valid and present
     * @param attributes the certificate's attributes when valid, by name
     * @param at when it was judged
     */
    public record Verdict(String status, Optional<String> deviceId, Map<String, Object> attributes,
            Instant at) {

        static Verdict of(String status, Instant at) {
            return new Verdict(status, Optional.empty(), Map.of(), at);
        }

        /** Whether the chain is a valid device certificate. */
        public boolean valid() {
            return PostureSignals.VALID.equals(status);
        }
    }
}
