package dev.pep.proxy.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Device posture without an agent: which providers assess devices, for which apps and partners,
 * and how long an assessment may take (docs/posture.md).
 *
 * @param deadline how long the providers of one request may take together
 * @param reloadInterval how often network set files are checked for change
 * @param bindingIdleTimeout how long a session's device binding lives unused
 * @param deviceCertificates device-management CAs whose client certificates mark managed devices
 * @param assertions partners' signed posture assertions
 * @param services posture services asked about a device
 * @param networks named network sets (CIDR files)
 * @param fingerprint the TLS ClientHello fingerprint and browser signals
 */
public record PostureSettings(
        Duration deadline,
        Duration reloadInterval,
        Duration bindingIdleTimeout,
        List<DeviceCertificates> deviceCertificates,
        List<Assertions> assertions,
        List<Service> services,
        List<NetworkSet> networks,
        Fingerprint fingerprint) {

    /** Applies defaults and copies. */
    public PostureSettings {
        deadline = deadline == null ? Duration.ofMillis(250) : deadline;
        reloadInterval = reloadInterval == null ? Duration.ofSeconds(10) : reloadInterval;
        bindingIdleTimeout = bindingIdleTimeout == null ? Duration.ofHours(8) : bindingIdleTimeout;
        deviceCertificates = deviceCertificates == null ? List.of() : List.copyOf(deviceCertificates);
        assertions = assertions == null ? List.of() : List.copyOf(assertions);
        services = services == null ? List.of() : List.copyOf(services);
        networks = networks == null ? List.of() : List.copyOf(networks);
        fingerprint = fingerprint == null ? new Fingerprint(null, null, null) : fingerprint;
    }

    /** Whether the listener must ask clients for a certificate. */
    public boolean requestsClientCertificates() {
        return !deviceCertificates.isEmpty();
    }

    /**
     * Device certificates of one device-management CA.
     *
     * @param name the provider's name: the source of its signals
     * @param caBundle PEM file of the CA certificates
     * @param crls CRL files (PEM or DER) checked for revocation
     * @param deviceId which field names the device: subject-cn, san-uri, san-dns or serial
     * @param extensions extensions read into {@code certificate.NAME}, by name to OID
     * @param apps the apps it runs for; empty for all
     * @param partners the subject organisations it runs for; empty for all
     */
    public record DeviceCertificates(String name, String caBundle, List<String> crls,
            String deviceId, Map<String, String> extensions, List<String> apps,
            List<String> partners) {
        /** Applies defaults and copies. */
        public DeviceCertificates {
            crls = crls == null ? List.of() : List.copyOf(crls);
            deviceId = deviceId == null ? "subject-cn" : deviceId;
            extensions = extensions == null ? Map.of() : Map.copyOf(extensions);
            apps = apps == null ? List.of() : List.copyOf(apps);
            partners = partners == null ? List.of() : List.copyOf(partners);
        }
    }

    /**
     * Signed posture assertions of one partner's device-management service.
     *
     * @param name the provider's name
     * @param issuer the exact {@code iss}
     * @param jwksFile a JWKS file with the issuer's public keys
     * @param jwksUri where the issuer publishes its keys (https; http only on loopback)
     * @param audiences accepted {@code aud} values
     * @param algorithms accepted signature algorithms
     * @param header the header carrying the assertion
     * @param cookie a cookie carrying it when the header is absent
     * @param maxAge an assertion issued longer ago is stale
     * @param deviceIdClaim the claim naming the device
     * @param claims signal name to claim path, added to and overriding the defaults
     * @param apps the apps it runs for; empty for all
     * @param partners the subject organisations it runs for; empty for all
     */
    public record Assertions(String name, String issuer, String jwksFile, java.net.URI jwksUri,
            List<String> audiences, List<String> algorithms, String header, String cookie,
            Duration maxAge, String deviceIdClaim, Map<String, String> claims, List<String> apps,
            List<String> partners) {
        /** Applies defaults and copies. */
        public Assertions {
            audiences = audiences == null ? List.of() : List.copyOf(audiences);
            algorithms = algorithms == null ? List.of("ES256", "RS256") : List.copyOf(algorithms);
            header = header == null ? "x-device-posture" : header;
            maxAge = maxAge == null ? Duration.ofHours(1) : maxAge;
            deviceIdClaim = deviceIdClaim == null ? "device_id" : deviceIdClaim;
            claims = claims == null ? Map.of() : Map.copyOf(claims);
            apps = apps == null ? List.of() : List.copyOf(apps);
            partners = partners == null ? List.of() : List.copyOf(partners);
        }
    }

    /**
     * A posture service.
     *
     * @param name the provider's name
     * @param url the URL to GET, with {@code {device-id}} where the device id goes
     * @param tokenFile a file holding the bearer token to send
     * @param clientCertificate PEM client certificate chain for mutual TLS
     * @param clientKey its PEM private key
     * @param caBundle PEM CAs the service's certificate must chain to; the JDK's when absent
     * @param timeout how long one call may take
     * @param cacheMaxAge how long an answer is reused
     * @param maxAge an answer assessed longer ago is stale
     * @param apps the apps it runs for; empty for all
     * @param partners the subject organisations it runs for; empty for all
     */
    public record Service(String name, String url, String tokenFile, String clientCertificate,
            String clientKey, String caBundle, Duration timeout, Duration cacheMaxAge,
            Duration maxAge, List<String> apps, List<String> partners) {
        /** Applies defaults and copies. */
        public Service {
            timeout = timeout == null ? Duration.ofMillis(200) : timeout;
            cacheMaxAge = cacheMaxAge == null ? Duration.ofMinutes(5) : cacheMaxAge;
            maxAge = maxAge == null ? Duration.ofHours(1) : maxAge;
            apps = apps == null ? List.of() : List.copyOf(apps);
            partners = partners == null ? List.of() : List.copyOf(partners);
        }
    }

    /**
     * A named network set.
     *
     * @param name the set's name, in {@code source.networks} and {@code network.NAME}
     * @param file the file of CIDR blocks, one a line
     */
    public record NetworkSet(String name, String file) {
    }

    /**
     * The TLS and browser context.
     *
     * @param enabled whether ClientHellos are fingerprinted and User-Agents read
     * @param apps the apps it runs for; empty for all
     * @param partners the subject organisations it runs for; empty for all
     */
    public record Fingerprint(Boolean enabled, List<String> apps, List<String> partners) {
        /** Applies defaults and copies. */
        public Fingerprint {
            enabled = enabled == null ? Boolean.FALSE : enabled;
            apps = apps == null ? List.of() : List.copyOf(apps);
            partners = partners == null ? List.of() : List.copyOf(partners);
        }
    }
}
