package dev.pep.proxy.server;

import dev.pep.core.AuthenticationResult;
import dev.pep.core.Credentials;
import dev.pep.identity.x509.ClientCertificateAuthenticator;
import dev.pep.identity.x509.TrustBundleFiles;
import dev.pep.proxy.config.GatewayConfig;
import dev.pep.proxy.config.IdentitySettings;
import dev.pep.proxy.route.HostMap;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The partner CAs of {@code identity.client-certificates}: one authenticator per entry, chosen by
 * the request's host the way the router chooses an app (exact name, else a one-label wildcard).
 * Each entry's CA bundle and CRL files are re-read when their content changes
 * ({@link #reloadIfChanged}, on the certificate reload timer); a change that does not load keeps
 * the entry's previous bundle, with a WARN line, counted in its {@link #health} as a failure
 * ({@code pep_provider_failures_total{kind="client_trust"}}).
 * Thread-safe.
 */
final class GatewayClientCertificates {

    private final HostMap<ClientCertificateAuthenticator> byHost;
    private final List<TrustBundleFiles> files;
    /** Held here: metrics keep only weak references to what they read. */
    private final List<ProviderHealth> health;

    private GatewayClientCertificates(HostMap<ClientCertificateAuthenticator> byHost,
            List<TrustBundleFiles> files, List<ProviderHealth> health) {
        this.byHost = byHost;
        this.files = List.copyOf(files);
        this.health = List.copyOf(health);
    }

    /**
     * Reads every configured bundle now; throws naming the file that does not load.
     *
     * @param clock the time a CRL's nextUpdate is compared with, for {@link #health}
     */
    static GatewayClientCertificates load(GatewayConfig config, Clock clock) throws IOException {
        HostMap.Builder<ClientCertificateAuthenticator> byHost = HostMap.builder();
        List<TrustBundleFiles> files = new ArrayList<>();
        List<ProviderHealth> health = new ArrayList<>();
        List<IdentitySettings.ClientCertificates> entries = config.identity() == null ? List.of()
                : config.identity().clientCertificates();
        for (IdentitySettings.ClientCertificates c : entries) {
            TrustBundleFiles bundle = TrustBundleFiles.load(config.resolve(c.caBundle()),
                    c.crls().stream().map(config::resolve).toList());
            var field = ClientCertificateAuthenticator.IdField.valueOf(
                    c.subjectId().toUpperCase(Locale.ROOT).replace('-', '_'));
            var authenticator = new ClientCertificateAuthenticator(bundle::current, field);
            // The validator keeps a host in one entry only.
            c.hosts().forEach(h -> byHost.put(h.toLowerCase(Locale.ROOT), authenticator));
            files.add(bundle);
            health.add(new ProviderHealth("client_trust", c.caBundle(), () -> bundle.fresh(clock.instant()),
                    bundle::reloadFailures));
        }
        return new GatewayClientCertificates(byHost.build(), files, health);
    }

    /** Judges a request's client certificate by the partner CAs of its host; none: not presented. */
    AuthenticationResult authenticate(Credentials credentials) {
        return byHost.get(credentials.host()).map(a -> a.authenticate(credentials))
                .orElseGet(AuthenticationResult.NotPresented::new);
    }

    /** How many hosts entries name. */
    int entries() {
        return files.size();
    }

    /** Re-reads the bundles whose files changed; never throws. */
    void reloadIfChanged() {
        files.forEach(TrustBundleFiles::reloadIfChanged);
    }

    /** The partner CAs in force, which the listener names when it asks for a certificate. */
    List<X509Certificate> issuers() {
        Set<X509Certificate> issuers = new LinkedHashSet<>();
        files.forEach(f -> f.current().anchors().forEach(a -> issuers.add(a.getTrustedCert())));
        return List.copyOf(issuers);
    }

    /**
     * One health entry per configured bundle, named by its {@code ca-bundle} as configured: up
     * while its files loaded at the last check and no CRL is past its nextUpdate; failures are
     * changed files that did not load.
     */
    List<ProviderHealth> health() {
        return health;
    }
}
