package dev.pep.proxy.server;

import dev.pep.core.Credentials;
import dev.pep.core.Subject;
import dev.pep.identity.jwt.JwksSource;
import dev.pep.identity.posture.AssertionKeys;
import dev.pep.identity.posture.Assessment;
import dev.pep.identity.posture.DeviceBindings;
import dev.pep.identity.posture.DeviceCertificateProvider;
import dev.pep.identity.posture.NetworkSetProvider;
import dev.pep.identity.posture.NetworkSets;
import dev.pep.identity.posture.PostureAssertionProvider;
import dev.pep.identity.posture.PostureAssessor;
import dev.pep.identity.posture.PostureServiceProvider;
import dev.pep.identity.posture.ServiceTls;
import dev.pep.identity.posture.SessionKeys;
import dev.pep.identity.posture.TlsContextProvider;
import dev.pep.identity.x509.TrustBundle;
import dev.pep.identity.x509.TrustBundleFiles;
import dev.pep.proxy.config.GatewayConfig;
import dev.pep.proxy.config.PostureSettings;
import java.io.IOException;
import java.net.InetAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The posture providers gateway.yaml's {@code posture} section asks for, and the assessor that
 * runs them for each request off the event loops: their CPU work on a small pool, their deadline
 * and the network set reloads on a timer thread. Thread-safe.
 */
final class GatewayPosture implements AutoCloseable {

    /** The source name of the TLS and browser signals. */
    static final String TLS_PROVIDER = "tls-context";
    /** The source name of the network set signals. */
    static final String NETWORK_PROVIDER = "network-sets";
    private static final Logger LOG = LoggerFactory.getLogger(GatewayPosture.class);
    private static final int MAX_SESSIONS = 100_000;

    private final PostureAssessor assessor;
    private final NetworkSets networks;
    private final boolean fingerprints;
    private final ExecutorService workers;
    private final ScheduledExecutorService timer;
    private final List<AutoCloseable> closeables;
    private final PostureCarriers carriers;
    private final List<ProviderHealth> health;

    private GatewayPosture(PostureAssessor assessor, NetworkSets networks, boolean fingerprints,
            ExecutorService workers, ScheduledExecutorService timer, List<AutoCloseable> closeables,
            PostureCarriers carriers, List<ProviderHealth> health) {
        this.carriers = carriers;
        this.health = List.copyOf(health);
        this.assessor = assessor;
        this.networks = networks;
        this.fingerprints = fingerprints;
        this.workers = workers;
        this.timer = timer;
        this.closeables = closeables;
    }

    /**
     * Builds the providers; throws naming the file that does not load.
     *
     * @param sessionKeys names a request's session, for device bindings and change events
     */
    static GatewayPosture create(GatewayConfig config, Clock clock, SessionKeys sessionKeys)
            throws IOException {
        PostureSettings p = config.posture();
        ExecutorService workers = Executors.newFixedThreadPool(2, daemon("pep-posture"));
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
                daemon("pep-posture-timer"));
        List<AutoCloseable> closeables = new ArrayList<>();
        List<ProviderHealth> health = new ArrayList<>();
        try {
            List<PostureAssessor.Selected> selected = new ArrayList<>();
            List<DeviceCertificateProvider> certificates = new ArrayList<>();
            for (PostureSettings.DeviceCertificates d : p.deviceCertificates()) {
                TrustBundleFiles files = TrustBundleFiles.load(config.resolve(d.caBundle()),
                        d.crls().stream().map(config::resolve).toList());
                var provider = new DeviceCertificateProvider(certificateConfig(d, files.current()),
                        clock, workers);
                reloadOnChange(files, provider, p.reloadInterval(), timer);
                health.add(new ProviderHealth("device_trust", d.name(),
                        () -> files.fresh(clock.instant()), files::reloadFailures));
                certificates.add(provider);
                selected.add(select(provider, d.apps(), d.partners()));
            }
            DeviceBindings bindings = new DeviceBindings(sessionKeys, certificates, clock,
                    p.bindingIdleTimeout(), MAX_SESSIONS);
            for (PostureSettings.Assertions a : p.assertions()) {
                selected.add(select(new PostureAssertionProvider(assertionConfig(config, a,
                        clock, closeables, health), bindings, clock, workers), a.apps(),
                        a.partners()));
            }
            for (PostureSettings.Service s : p.services()) {
                PostureServiceProvider service = service(config, s, bindings, clock, workers);
                health.add(new ProviderHealth("posture_service", s.name(), service::reachable,
                        service::failureCount));
                selected.add(select(service, s.apps(), s.partners()));
            }
            NetworkSets sets = networkSets(config, p, timer);
            if (sets != null) {
                sets.setNames().forEach(n -> health.add(new ProviderHealth("network_set", n,
                        () -> sets.current(n), () -> sets.reloadFailures(n))));
                selected.add(PostureAssessor.Selected.always(
                        new NetworkSetProvider(NETWORK_PROVIDER, sets)));
            }
            if (p.fingerprint().enabled()) {
                selected.add(select(new TlsContextProvider(TLS_PROVIDER, bindings,
                        p.bindingIdleTimeout(), MAX_SESSIONS), p.fingerprint().apps(),
                        p.fingerprint().partners()));
            }
            PostureAssessor assessor = new PostureAssessor(selected, p.deadline(), bindings, timer,
                    clock, MAX_SESSIONS);
            LOG.info("posture ready providers={} deadline_ms={} client_certificates={} "
                    + "fingerprints={}", selected.size(), p.deadline().toMillis(),
                    !certificates.isEmpty(), p.fingerprint().enabled());
            return new GatewayPosture(assessor, sets, p.fingerprint().enabled(), workers, timer,
                    closeables, PostureCarriers.of(p), health);
        } catch (IOException | RuntimeException e) {
            workers.shutdownNow();
            timer.shutdownNow();
            closeAll(closeables);
            throw e;
        }
    }

    /**
     * Names a request's session for device bindings: the gateway's own session when its cookie
     * opens one (the binding lasts the whole sign-in, across connections), else the subject on its
     * TLS connection ({@link SessionKeys#perConnection()}).
     *
     * @param sessionId the id of the gateway session a request's cookie opens, if any
     */
    static SessionKeys sessionKeys(Function<Credentials, Optional<String>> sessionId) {
        SessionKeys perConnection = SessionKeys.perConnection();
        return (subject, credentials) -> sessionId.apply(credentials).map(id -> "session " + id)
                .orElseGet(() -> perConnection.of(subject, credentials));
    }

    /**
     * The device CAs the listener names when it asks for a client certificate, as of each call:
     * the CA files are read again when they changed (a broken one keeps its previous CAs). Throws
     * now when one does not load.
     */
    static Supplier<List<X509Certificate>> clientIssuers(GatewayConfig config) throws IOException {
        if (config.posture() == null) {
            return List::of;
        }
        List<TrustBundleFiles> files = new ArrayList<>();
        for (PostureSettings.DeviceCertificates d : config.posture().deviceCertificates()) {
            files.add(TrustBundleFiles.load(config.resolve(d.caBundle()), List.of()));
        }
        return () -> {
            Set<X509Certificate> issuers = new LinkedHashSet<>();
            for (TrustBundleFiles f : files) {
                f.reloadIfChanged();
                f.current().anchors().forEach(a -> issuers.add(a.getTrustedCert()));
            }
            return List.copyOf(issuers);
        };
    }

    /** Assesses the device behind a request; completes off the event loop by the deadline. */
    CompletableFuture<Assessment> assess(Subject subject, Credentials credentials, String app) {
        return assessor.assess(subject, credentials, app);
    }

    /** The named network sets that contain an address. */
    Set<String> networks(InetAddress address) {
        return networks == null ? Set.of() : networks.names(address);
    }

    /** The headers and cookies that carry posture assertions, stripped before the app. */
    PostureCarriers carriers() {
        return carriers;
    }

    /** Whether ClientHellos are fingerprinted. */
    boolean fingerprints() {
        return fingerprints;
    }

    /** The posture service, key set and trust and network file providers, for health metrics. */
    List<ProviderHealth> health() {
        return health;
    }

    /** The assessor, for posture change listeners. */
    PostureAssessor assessor() {
        return assessor;
    }

    @Override
    public void close() {
        timer.shutdownNow();
        workers.shutdownNow();
        closeAll(closeables);
    }

    private static PostureAssessor.Selected select(dev.pep.core.PostureProvider provider,
            List<String> apps, List<String> partners) {
        return new PostureAssessor.Selected(provider, new HashSet<>(apps), new HashSet<>(partners));
    }

    /** Device CAs and CRLs re-read on the timer: a device revoked after start is unmanaged. */
    private static void reloadOnChange(TrustBundleFiles files, DeviceCertificateProvider provider,
            Duration interval, ScheduledExecutorService timer) {
        long ms = interval.toMillis();
        timer.scheduleWithFixedDelay(() -> {
            try {
                files.reloadIfChanged().ifPresent(provider::trust);
            } catch (RuntimeException e) {
                LOG.warn("device trust reload failed provider={} error={}", provider.name(),
                        e.toString());
            }
        }, ms, ms, TimeUnit.MILLISECONDS);
    }

    private static DeviceCertificateProvider.Config certificateConfig(
            PostureSettings.DeviceCertificates d, TrustBundle bundle) {
        var field = DeviceCertificateProvider.DeviceIdField.valueOf(
                d.deviceId().toUpperCase(Locale.ROOT).replace('-', '_'));
        return new DeviceCertificateProvider.Config(d.name(), bundle, field, d.extensions());
    }

    private static PostureAssertionProvider.Config assertionConfig(GatewayConfig config,
            PostureSettings.Assertions a, Clock clock, List<AutoCloseable> closeables,
            List<ProviderHealth> health) throws IOException {
        AssertionKeys keys;
        if (a.jwksFile() != null) {
            // Read once at start, refused then if it does not load: usable for the process's life.
            keys = AssertionKeys.load(config.resolve(a.jwksFile()));
            health.add(new ProviderHealth("assertion_keys", a.name(), () -> true, () -> 0));
        } else {
            ScheduledExecutorService fetches = Executors.newSingleThreadScheduledExecutor(
                    daemon("pep-posture-jwks"));
            closeables.add(fetches::shutdownNow);
            JwksSource source = new JwksSource(a.issuer(), a.jwksUri(), HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(5)).build(), fetches, clock,
                    JwksSource.Settings.defaults());
            source.start();
            closeables.add(source);
            health.add(new ProviderHealth("assertion_keys", a.name(), source::usable,
                    source::failureCount));
            keys = AssertionKeys.of(source);
        }
        Map<String, String> claims = new LinkedHashMap<>(PostureAssertionProvider.DEFAULT_CLAIMS);
        claims.putAll(a.claims());
        return new PostureAssertionProvider.Config(a.name(), a.issuer(), keys,
                new HashSet<>(a.audiences()), new HashSet<>(a.algorithms()), a.header(), a.cookie(),
                a.maxAge(), Duration.ofSeconds(60), a.deviceIdClaim(), claims);
    }

    private static PostureServiceProvider service(GatewayConfig config, PostureSettings.Service s,
            DeviceBindings bindings, Clock clock, ExecutorService workers) throws IOException {
        HttpClient.Builder http = HttpClient.newBuilder().connectTimeout(s.timeout());
        if (s.clientCertificate() != null || s.caBundle() != null) {
            http.sslContext(ServiceTls.context(path(config, s.clientCertificate()),
                    path(config, s.clientKey()), path(config, s.caBundle())));
        }
        Optional<String> token = s.tokenFile() == null ? Optional.empty()
                : Optional.of(readToken(config.resolve(s.tokenFile())));
        var c = new PostureServiceProvider.Config(s.name(), s.url(), () -> token, s.timeout(),
                s.cacheMaxAge(), s.maxAge());
        return new PostureServiceProvider(c, bindings, http.build(), clock, workers);
    }

    private static NetworkSets networkSets(GatewayConfig config, PostureSettings p,
            ScheduledExecutorService timer) throws IOException {
        if (p.networks().isEmpty()) {
            return null;
        }
        Map<String, Path> files = new LinkedHashMap<>();
        p.networks().forEach(n -> files.put(n.name(), config.resolve(n.file())));
        NetworkSets sets = NetworkSets.load(files);
        long ms = p.reloadInterval().toMillis();
        timer.scheduleWithFixedDelay(() -> {
            try {
                sets.reloadIfChanged();
            } catch (RuntimeException e) {
                LOG.warn("network set reload failed error={}", e.toString());
            }
        }, ms, ms, TimeUnit.MILLISECONDS);
        return sets;
    }

    private static String readToken(Path file) throws IOException {
        String token = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (token.isEmpty() || token.chars().anyMatch(ch -> ch < 0x21 || ch > 0x7e)) {
            // Never echo the content: it is a secret.
            throw new IOException("token file " + file + " must hold one printable token");
        }
        return token;
    }

    private static Path path(GatewayConfig config, String path) {
        return path == null ? null : config.resolve(path);
    }

    private static void closeAll(List<AutoCloseable> closeables) {
        for (AutoCloseable c : closeables) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.debug("posture resource close failed error={}", e.toString());
            }
        }
    }

    private static ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
