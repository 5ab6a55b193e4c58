package dev.pep.core;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a request presented to the gateway, before anyone judged it: the input of an
 * {@link Authenticator} and of a {@link PostureProvider}.
 *
 * <p>Holds secrets (cookies, the Authorization header): never log or audit it whole.
 *
 * @param host the normalised host the request is for
 * @param headers request headers by lower-case name, in arrival order
 * @param peerCertificates the TLS client certificate chain, leaf first; empty when none
 * @param tlsFingerprint a fingerprint of the ClientHello; empty when unknown
 * @param source where the connection comes from
 * @param time when the request arrived
 */
public record Credentials(
        String host,
        Map<String, List<String>> headers,
        List<X509Certificate> peerCertificates,
        Optional<String> tlsFingerprint,
        Source source,
        Instant time) {

    /** Validates and copies. */
    public Credentials {
        Objects.requireNonNull(host, "host");
        headers = Map.copyOf(headers);
        peerCertificates = List.copyOf(peerCertificates);
        Objects.requireNonNull(tlsFingerprint, "tlsFingerprint");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(time, "time");
    }

    /** The values of a header, by lower-case name. */
    public List<String> header(String lowerCaseName) {
        return headers.getOrDefault(lowerCaseName, List.of());
    }
}
