package dev.pep.proxy.config;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/** Checks what binding cannot: ranges, files that must exist, hosts named by two apps. */
final class ConfigValidator {

    private static final long MIN_SPOOL_BYTES = 8 * 1024;
    private static final Pattern HOST = Pattern.compile(
            "(\\*\\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*");
    private static final Pattern APP_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

    private final String file;
    private final KeyLocations locations;
    private final List<ConfigProblem> problems = new ArrayList<>();

    ConfigValidator(String file, KeyLocations locations) {
        this.file = file;
        this.locations = locations;
    }

    List<ConfigProblem> check(GatewayConfig c) {
        port("listener.port", c.listener().port(), false);
        port("admin.port", c.admin().port(), true);
        if (c.admin().tokenFile() != null && !Files.isReadable(c.resolve(c.admin().tokenFile()))) {
            add("admin.token-file", "cannot read file '" + c.admin().tokenFile() + "'");
        }
        checkTls(c);
        checkLimits(c);
        checkApps(c);
        checkPolicy(c);
        checkAudit(c);
        checkTracing(c);
        positiveDuration("sessions.redecide-interval", c.sessions().redecideInterval());
        positiveDuration("sessions.check-interval", c.sessions().checkInterval());
        checkIdentity(c);
        checkConnectors(c);
        positiveDurations(c);
        new PostureValidator(this::add, path -> Files.isReadable(c.resolve(path))).check(c.posture());
        return problems;
    }

    private void checkTls(GatewayConfig c) {
        TlsConfig tls = c.tls();
        if (tls.certificates().isEmpty() && tls.developmentCa() == null) {
            add("tls", "no certificate; expected 'certificates' or 'development-ca'");
        }
        for (int i = 0; i < tls.certificates().size(); i++) {
            TlsConfig.CertificateConfig cert = tls.certificates().get(i);
            String key = "tls.certificates." + i;
            if (cert.hosts().isEmpty()) {
                add(key, "no hosts; expected the host names this certificate serves");
            }
            cert.hosts().forEach(h -> host(key + ".hosts", h));
            file(c, key + ".certificate", cert.certificate());
            file(c, key + ".key", cert.key());
        }
        caBundle(c, "tls.upstream-ca", tls.upstreamCa());
        new UpstreamCertificateValidator(this::add, c::resolve).check(tls.upstreamClientCertificates());
        if (tls.developmentCa() != null) {
            tls.developmentCa().hosts().forEach(h -> host("tls.development-ca.hosts", h));
        }
    }

    private void checkLimits(GatewayConfig c) {
        positive("limits.max-connections", c.limits().maxConnections());
        positive("limits.max-connections-per-address", c.limits().maxConnectionsPerAddress());
        positive("limits.max-token-checks-per-second", c.limits().maxTokenChecksPerSecond());
        positive("limits.max-headers", c.limits().maxHeaders());
        positive("http2.max-concurrent-streams", c.http2().maxConcurrentStreams());
        positive("http2.max-resets-per-window", c.http2().maxResetsPerWindow());
        positive("http2.reset-window-seconds", c.http2().resetWindowSeconds());
        long window = c.http2().initialWindowSize().bytes();
        if (window < 65_535 || window > Integer.MAX_VALUE) {
            add("http2.initial-window-size", "expected between 65535 and 2147483647 bytes, got " + window);
        }
        long connectionWindow = c.http2().connectionWindowSize().bytes();
        if (connectionWindow < 2 * window || connectionWindow > Integer.MAX_VALUE) {
            add("http2.connection-window-size", "expected between twice initial-window-size ("
                    + 2 * window + ") and 2147483647 bytes, got " + connectionWindow);
        }
    }

    private void checkApps(GatewayConfig c) {
        Map<String, String> owner = new HashMap<>();
        c.apps().forEach((name, app) -> {
            String key = "apps." + name;
            if (!APP_NAME.matcher(name).matches()) {
                add(key, "invalid app name '" + name + "'; expected lower-case letters, digits, '-' or '_'");
            }
            if (app.hosts().isEmpty()) {
                add(key + ".hosts", "no hosts; expected at least one host name");
            }
            for (String h : app.hosts()) {
                String norm = h.toLowerCase(Locale.ROOT);
                host(key + ".hosts", h);
                String previous = owner.putIfAbsent(norm, name);
                if (previous != null) {
                    add(key + ".hosts", "host '" + h + "' is already served by app '" + previous + "'");
                }
            }
            upstream(key + ".upstream", app.upstream());
            positive(key + ".max-connections", app.maxConnections());
        });
    }

    private void checkPolicy(GatewayConfig c) {
        if (c.policy() == null) {
            return;
        }
        if (c.policy().directory() == null) {
            add("policy.directory", "missing; expected the directory of the policy files");
        } else if (!Files.isDirectory(c.resolve(c.policy().directory()))) {
            add("policy.directory", "not a directory: '" + c.policy().directory() + "'");
        }
        if (!c.apps().isEmpty()) {
            add("apps", "apps come from the policy files when 'policy' is set; move them there");
        }
        Path runtimeApps = c.resolve(c.policy().runtimeAppsDirectory());
        if (Files.exists(runtimeApps) && !Files.isDirectory(runtimeApps)) {
            add("policy.runtime-apps-directory", "not a directory: '" + c.policy().runtimeAppsDirectory() + "'");
        }
        PolicyConfig.DecisionPoint dp = c.policy().decisionPoint();
        if (dp != null) {
            String key = "policy.decision-point";
            if (dp.url() == null || dp.url().getHost() == null
                    || !List.of("http", "https").contains(String.valueOf(dp.url().getScheme()))) {
                add(key + ".url", "expected an http or https URL of the decision point, got '" + dp.url() + "'");
            }
            if (dp.tokenFile() != null && !Files.isReadable(c.resolve(dp.tokenFile()))) {
                add(key + ".token-file", "cannot read file '" + dp.tokenFile() + "'");
            }
            if (dp.timeout().isNegative() || dp.timeout().isZero()) {
                add(key + ".timeout", "expected a positive duration, got " + dp.timeout());
            }
            if (dp.cacheSize() < 0) {
                add(key + ".cache-size", "expected 0 or more, got " + dp.cacheSize());
            }
        }
    }

    private void checkIdentity(GatewayConfig c) {
        IdentitySettings id = c.identity();
        if (id == null) {
            return;
        }
        Duration timeout = id.providerTimeout();
        if (timeout.compareTo(Duration.ofSeconds(1)) < 0 || timeout.compareTo(Duration.ofMinutes(1)) > 0) {
            add("identity.provider-timeout", "expected between 1s and 1m, got " + timeout);
        }
        if (id.localUsers() != null && !Files.isReadable(c.resolve(id.localUsers()))) {
            add("identity.local-users", "cannot read file '" + id.localUsers() + "'");
        }
        for (int i = 0; i < id.bearer().size(); i++) {
            IdentitySettings.BearerIssuer b = id.bearer().get(i);
            String key = "identity.bearer." + i;
            if (b.issuer() == null || b.issuer().isBlank()) {
                add(key + ".issuer", "missing; expected the issuer's exact iss value");
            }
            if (b.jwksUri() == null || !"https".equals(b.jwksUri().getScheme())
                    && !"127.0.0.1".equals(b.jwksUri().getHost()) && !"localhost".equals(b.jwksUri().getHost())) {
                add(key + ".jwks-uri", "expected an https URL (http only on loopback)");
            }
            if (b.audiences().isEmpty()) {
                add(key + ".audiences", "expected at least one audience");
            }
        }
        checkClientCertificates(c, id);
        ProviderValidator providers = new ProviderValidator(this::add, path -> Files.isReadable(c.resolve(path)),
                System::getenv);
        providers.check(id.providers());
        providers.checkBearer(id.bearer());
    }

    private void checkClientCertificates(GatewayConfig c, IdentitySettings id) {
        Map<String, String> byHost = new HashMap<>();
        for (int i = 0; i < id.clientCertificates().size(); i++) {
            IdentitySettings.ClientCertificates cc = id.clientCertificates().get(i);
            String key = "identity.client-certificates." + i;
            file(c, key + ".ca-bundle", cc.caBundle());
            cc.crls().forEach(crl -> file(c, key + ".crls", crl));
            if (!List.of("common-name", "san-email", "subject-dn").contains(cc.subjectId())) {
                add(key + ".subject-id", "expected common-name, san-email or subject-dn, got '"
                        + cc.subjectId() + "'");
            }
            if (cc.hosts().isEmpty()) {
                add(key + ".hosts", "no hosts; expected the app hosts that accept these certificates");
            }
            for (String h : cc.hosts()) {
                host(key + ".hosts", h);
                String before = byHost.putIfAbsent(h.toLowerCase(Locale.ROOT), key);
                if (before != null) {
                    add(key + ".hosts", "host '" + h + "' is already in " + before
                            + "; put the CAs of one host in one bundle");
                }
            }
        }
    }

    private void positiveDurations(GatewayConfig c) {
        positiveDuration("tcp.idle-timeout", c.tcp().idleTimeout());
        positiveDuration("tcp.max-duration", c.tcp().maxDuration());
    }

    private void checkAudit(GatewayConfig c) {
        AuditSettings a = c.audit();
        positive("audit.batch-size", a.batchSize());
        if (a.maxSpoolSize().bytes() < MIN_SPOOL_BYTES) {
            add("audit.max-spool-size", "expected at least 8KiB, got " + a.maxSpoolSize());
        }
        if (a.retryBackoff().isZero() || a.retryBackoff().isNegative()) {
            add("audit.retry-backoff", "expected a positive duration, got " + a.retryBackoff());
        } else if (a.retryMaxBackoff().compareTo(a.retryBackoff()) < 0) {
            add("audit.retry-max-backoff", "expected at least retry-backoff ("
                    + a.retryBackoff() + "), got " + a.retryMaxBackoff());
        }
        for (int i = 0; i < a.sinks().size(); i++) {
            checkSink(c, "audit.sinks." + i, a.sinks().get(i));
        }
        long names = a.sinks().stream().map(AuditSettings.Sink::name).distinct().count();
        if (names != a.sinks().size()) {
            add("audit.sinks", "two sinks have the same name; give each a distinct 'name'");
        }
    }

    private void checkSink(GatewayConfig c, String key, AuditSettings.Sink sink) {
        if (!sink.name().matches("[a-z0-9_-]{1,64}")) {
            add(key + ".name", "invalid sink name '" + sink.name()
                    + "'; expected 1 to 64 of a-z, 0-9, '_' or '-'");
        }
        switch (sink.type()) {
            case WEBHOOK, OTLP -> httpUrl(key + ".url", sink.url(), sink.type());
            case SYSLOG -> {
                hostPort(key + ".address", sink.address(), "a syslog sink needs the receiver's address");
                optionalFile(c, key + ".ca", sink.ca());
                optionalFile(c, key + ".client-certificate", sink.clientCertificate());
                optionalFile(c, key + ".client-key", sink.clientKey());
                if ((sink.clientCertificate() == null) != (sink.clientKey() == null)) {
                    add(key + ".client-key", "client-certificate and client-key go together");
                }
            }
            case KAFKA -> {
                if (sink.bootstrapServers().isEmpty()) {
                    add(key + ".bootstrap-servers", "a kafka sink needs at least one host:port");
                }
                sink.bootstrapServers().forEach(b -> hostPort(key + ".bootstrap-servers", b,
                        "expected host:port"));
                if (sink.topic() == null || sink.topic().isBlank()) {
                    add(key + ".topic", "a kafka sink needs a topic");
                }
            }
            default -> { }
        }
        if (sink.timeout().isZero() || sink.timeout().isNegative()) {
            add(key + ".timeout", "expected a positive duration, got " + sink.timeout());
        }
    }

    private void checkConnectors(GatewayConfig c) {
        ConnectorsConfig k = c.connectors();
        if (k == null) {
            return;
        }
        port("connectors.port", k.port(), false);
        if (k.address().isBlank()) {
            add("connectors.address", "expected the address to bind, for example 127.0.0.1 or 0.0.0.0");
        }
        if (k.stateDirectory().isBlank()) {
            add("connectors.state-directory", "expected a directory for the connector CA and enrolments");
        }
        if (k.port() != 0 && k.port().equals(c.listener().port())) {
            add("connectors.port", "the same port as listener.port; connectors need a port of their own");
        }
        positiveDuration("connectors.handshake-timeout", k.handshakeTimeout());
        positive("connectors.max-unauthenticated-connections", k.maxUnauthenticatedConnections());
        positive("connectors.max-unauthenticated-connections-per-address",
                k.maxUnauthenticatedConnectionsPerAddress());
    }

    private void positiveDuration(String key, java.time.Duration d) {
        if (d.isZero() || d.isNegative()) {
            add(key, "expected a positive duration, got " + d);
        }
    }

    private void checkTracing(GatewayConfig c) {
        TracingSettings t = c.tracing();
        if (!(t.sampleRatio() >= 0 && t.sampleRatio() <= 1)) {
            add("tracing.sample-ratio", "expected a number from 0 to 1, got " + t.sampleRatio());
        }
        if (t.otlpEndpoint() != null) {
            httpUrl("tracing.otlp-endpoint", t.otlpEndpoint(), null);
        }
        positive("tracing.max-queued-spans", t.maxQueuedSpans());
    }

    private void httpUrl(String key, URI url, AuditSettings.SinkType type) {
        if (url == null || url.getHost() == null
                || !("https".equals(url.getScheme()) || "http".equals(url.getScheme()))) {
            add(key, (type == null ? "expected" : "a " + type.toString().toLowerCase(Locale.ROOT)
                    + " sink needs") + " an http or https url");
        }
    }

    private void hostPort(String key, String value, String missing) {
        int colon = value == null ? -1 : value.lastIndexOf(':');
        if (colon <= 0) {
            add(key, missing + (value == null ? "" : "; got '" + value + "'"));
            return;
        }
        try {
            int port = Integer.parseInt(value.substring(colon + 1));
            if (port < 1 || port > 65_535) {
                add(key, "expected a port between 1 and 65535 in '" + value + "'");
            }
        } catch (NumberFormatException e) {
            add(key, "expected host:port, got '" + value + "'");
        }
    }

    private void optionalFile(GatewayConfig c, String key, String path) {
        if (path != null && !Files.isReadable(c.resolve(path))) {
            add(key, "cannot read file '" + Path.of(path) + "'");
        }
    }

    /** A PEM file that must hold at least one certificate. */
    private void caBundle(GatewayConfig c, String key, String path) {
        if (path == null) {
            return;
        }
        optionalFile(c, key, path);
        if (!Files.isReadable(c.resolve(path))) {
            return;
        }
        try (var in = Files.newInputStream(c.resolve(path))) {
            if (CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
                add(key, "no certificate in '" + Path.of(path) + "'; expected PEM CA certificates");
            }
        } catch (IOException | CertificateException e) {
            add(key, "cannot read certificates from '" + Path.of(path) + "'; expected PEM CA certificates");
        }
    }

    private void upstream(String key, String upstream) {
        if (upstream == null) {
            add(key, "missing; expected http://host:port, https://host:port, connector:NAME or pep:echo");
            return;
        }
        if (upstream.equals("pep:echo")) {
            return;
        }
        if (upstream.startsWith("connector:")) {
            if (!APP_NAME.matcher(upstream.substring("connector:".length())).matches()) {
                add(key, "invalid connector in '" + upstream + "'; expected connector:NAME");
            }
            return;
        }
        try {
            URI u = new URI(upstream);
            boolean ok = ("http".equals(u.getScheme()) || "https".equals(u.getScheme()))
                    && u.getHost() != null && u.getUserInfo() == null
                    && (u.getRawPath() == null || u.getRawPath().isEmpty() || u.getRawPath().equals("/"))
                    && u.getRawQuery() == null && u.getRawFragment() == null;
            if (!ok) {
                add(key, "invalid upstream '" + upstream
                        + "'; expected http://host:port or https://host:port without path, or pep:echo");
            }
        } catch (URISyntaxException e) {
            add(key, "invalid upstream '" + upstream + "': " + e.getReason());
        }
    }

    private void host(String key, String h) {
        if (!HOST.matcher(h).matches()) {
            add(key, "invalid host name '" + h + "'; expected lower-case DNS labels, "
                    + "optionally starting with '*.', without port or trailing dot");
        }
    }

    private void file(GatewayConfig c, String key, String path) {
        if (path == null) {
            add(key, "missing; expected a PEM file");
        } else if (!Files.isReadable(c.resolve(path))) {
            add(key, "cannot read file '" + Path.of(path) + "'");
        }
    }

    private void port(String key, int port, boolean allowDisabled) {
        int min = allowDisabled ? -1 : 0;
        if (port < min || port > 65_535) {
            add(key, "expected a port between " + min + " and 65535, got " + port);
        }
    }

    private void positive(String key, int value) {
        if (value <= 0) {
            add(key, "expected a positive number, got " + value);
        }
    }

    void add(String key, String message) {
        int[] pos = locations.of(key);
        problems.add(new ConfigProblem(file, pos[0], pos[1], key, message));
    }
}
