package dev.pep.proxy.config;

import java.time.Duration;
import java.util.List;

/**
 * Certificates and protocol settings of the partner-facing listener.
 *
 * @param profile which cipher suites and protocol versions to offer
 * @param certificates one entry per certificate, each naming the hosts it serves
 * @param developmentCa when set, a development CA and certificate are generated on first start
 * @param reloadInterval how often certificate files are checked for change
 * @param upstreamCa a PEM bundle of the CAs trusted for {@code https://} upstreams, in place of
 *     the JDK's trust store; null to use the JDK's
 * @param upstreamClientCertificates certificates the gateway presents to the direct upstreams
 *     ({@code https://}, {@code tls://}) of the apps each names
 */
public record TlsConfig(
        TlsProfile profile,
        List<CertificateConfig> certificates,
        DevelopmentCaConfig developmentCa,
        Duration reloadInterval,
        String upstreamCa,
        List<UpstreamClientCertificateConfig> upstreamClientCertificates) {

    /** Applies defaults and copies. */
    public TlsConfig {
        profile = profile == null ? TlsProfile.INTERMEDIATE : profile;
        certificates = certificates == null ? List.of() : List.copyOf(certificates);
        reloadInterval = reloadInterval == null ? Duration.ofSeconds(10) : reloadInterval;
        upstreamClientCertificates = upstreamClientCertificates == null
                ? List.of() : List.copyOf(upstreamClientCertificates);
    }

    /** Mozilla's server-side TLS profiles. */
    public enum TlsProfile {
        /** TLS 1.2 and 1.3 with forward-secret AEAD suites: every client of the last years. */
        INTERMEDIATE,
        /** TLS 1.3 only. */
        MODERN
    }

    /**
     * One certificate and its key, PEM files.
     *
     * @param hosts the host names it serves; {@code *.example.org} matches one label
     * @param certificate the certificate chain, leaf first
     * @param key the private key (PKCS#8)
     */
    public record CertificateConfig(List<String> hosts, String certificate, String key) {
        /** Copies. */
        public CertificateConfig {
            hosts = hosts == null ? List.of() : List.copyOf(hosts);
        }
    }

    /**
     * A client certificate the gateway presents when it opens TLS to the upstreams of some apps
     * (for apps that require mutual TLS). PEM files.
     *
     * @param apps the names of the apps whose direct upstreams get this certificate
     * @param certificate the certificate chain, leaf first
     * @param key its private key (unencrypted PKCS#8); never logged
     */
    public record UpstreamClientCertificateConfig(List<String> apps, String certificate, String key) {
        /** Copies. */
        public UpstreamClientCertificateConfig {
            apps = apps == null ? List.of() : List.copyOf(apps);
        }
    }

    /**
     * A local development CA, generated once and reused.
     *
     * @param directory where the CA and the certificate are kept
     * @param hosts the host names of the generated certificate
     */
    public record DevelopmentCaConfig(String directory, List<String> hosts) {
        /** Applies defaults and copies. */
        public DevelopmentCaConfig {
            directory = directory == null ? ".pep/dev-ca" : directory;
            hosts = hosts == null ? List.of("*.pep.localhost", "pep.localhost") : List.copyOf(hosts);
        }
    }
}
